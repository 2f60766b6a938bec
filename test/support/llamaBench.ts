// A llama-bench test record in the shape its json_printer writes (ggml-org/llama.cpp
// tools/llama-bench/llama-bench.cpp at 0104b151c56d54143e2e3554aabe9e2b2b8dbdba: test::get_fields,
// then samples_ns and samples_ts), for the import tests.
/** One test as llama-bench prints it (values of a CPU run of a 1B Q4_K_M model). */
export function llamaBenchRecord(nPrompt: number, nGen: number, avgTs: number): Record<string, unknown> {
  return {
    build_commit: '0104b151', build_number: 7000, cpu_info: 'AMD EPYC 7B13', gpu_info: '', backends: 'CPU',
    model_filename: '/models/llama-3.2-1b-q4_k_m.gguf', model_type: 'llama 1B Q4_K - Medium', model_size: 807694336, model_n_params: 1235814432,
    n_batch: 2048, n_ubatch: 512, n_threads: 2, cpu_mask: '0x0', cpu_strict: false, poll: 50, type_k: 'f16', type_v: 'f16', n_gpu_layers: 99, n_cpu_moe: 0,
    split_mode: 'layer', main_gpu: 0, no_kv_offload: false, flash_attn: 0, devices: 'auto', tensor_split: '0.00', tensor_buft_overrides: 'none', load_mode: 'mmap',
    embeddings: false, no_op_offload: 0, no_host: false, fit_target: 0, fit_min_ctx: 0, n_prompt: nPrompt, n_gen: nGen, n_depth: 0,
    test_time: '2026-12-01T10:00:00Z', avg_ns: Math.round(((nPrompt + nGen) / avgTs) * 1e9), stddev_ns: 1000, avg_ts: avgTs, stddev_ts: 0.4,
    samples_ns: [1, 2, 3, 4, 5].map(() => Math.round(((nPrompt + nGen) / avgTs) * 1e9)), samples_ts: [avgTs, avgTs, avgTs, avgTs, avgTs],
  };
}
