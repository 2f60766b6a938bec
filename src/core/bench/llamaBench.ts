// Results of llama.cpp's own benchmark, llama-bench (-o json or -o jsonl), read as its JSON printer
// writes them: one object per test with the build, the machine (cpu_info, gpu_info, backends), the
// model file, the settings (n_threads, n_gpu_layers, n_batch, type_k, flash_attn…), n_prompt,
// n_gen, n_depth, avg_ts and stddev_ts, and the samples (tools/llama-bench/llama-bench.cpp,
// json_printer and test::get_fields, ggml-org/llama.cpp at 0104b151c56d54143e2e3554aabe9e2b2b8dbdba).
// Bounded: at most 8 MiB of text and 10,000 tests; a record that does not parse is reported by its
// position and left out.
import { z } from 'zod';

const num = z.number().finite();
const recordSchema = z.looseObject({
  build_commit: z.string().optional(),
  build_number: num.optional(),
  cpu_info: z.string().optional(),
  gpu_info: z.string().optional(),
  backends: z.string().optional(),
  model_filename: z.string(),
  model_type: z.string().optional(),
  model_size: num.optional(),
  model_n_params: num.optional(),
  n_batch: num.optional(),
  n_ubatch: num.optional(),
  n_threads: num.optional(),
  type_k: z.string().optional(),
  type_v: z.string().optional(),
  n_gpu_layers: num.optional(),
  flash_attn: z.union([num, z.boolean()]).optional(),
  n_prompt: num.int().nonnegative(),
  n_gen: num.int().nonnegative(),
  n_depth: num.int().nonnegative().optional(),
  test_time: z.string().optional(),
  avg_ts: num.nonnegative(),
  stddev_ts: num.nonnegative().optional(),
  samples_ts: z.array(num).max(10_000).optional(),
});
type LlamaBenchRecord = z.infer<typeof recordSchema>;

/** llama-bench's name for a test: pp512, tg128, pp512+tg128, with " @ d4096" for a depth. */
export function llamaBenchTestName(r: Pick<LlamaBenchRecord, 'n_prompt' | 'n_gen' | 'n_depth'>): string {
  const base = r.n_prompt > 0 && r.n_gen === 0 ? `pp${r.n_prompt}` : r.n_gen > 0 && r.n_prompt === 0 ? `tg${r.n_gen}` : `pp${r.n_prompt}+tg${r.n_gen}`;
  return r.n_depth ? `${base} @ d${r.n_depth}` : base;
}

export const MAX_LLAMA_BENCH_BYTES = 8 * 1024 * 1024;

export function parseLlamaBench(text: string): { records: LlamaBenchRecord[]; problems: string[] } {
  if (Buffer.byteLength(text) > MAX_LLAMA_BENCH_BYTES) return { records: [], problems: [`the file is over ${MAX_LLAMA_BENCH_BYTES / 1024 / 1024} MiB; llama-bench writes a few KiB per test`] };
  const trimmed = text.trim();
  const problems: string[] = [];
  let items: unknown[];
  if (trimmed.startsWith('[')) {
    try {
      const parsed: unknown = JSON.parse(trimmed);
      items = Array.isArray(parsed) ? parsed : [];
    } catch (e) {
      return { records: [], problems: [`not JSON: ${e instanceof Error ? e.message : String(e)} (llama-bench -o json writes an array, -o jsonl one object per line)`] };
    }
  } else {
    items = [];
    for (const [i, line] of trimmed.split('\n').entries()) {
      if (!line.trim()) continue;
      try {
        items.push(JSON.parse(line));
      } catch {
        problems.push(`line ${i + 1} is not JSON`);
        items.push(undefined);
      }
    }
    if (problems.length === items.length) return { records: [], problems: problems.length ? problems.slice(0, 20) : ['no test in the file'] };
  }
  const records: LlamaBenchRecord[] = [];
  for (const [i, item] of items.slice(0, 10_000).entries()) {
    if (item === undefined) continue;
    const r = recordSchema.safeParse(item);
    if (r.success) records.push(r.data);
    else problems.push(`test ${i + 1}: ${r.error.issues.map((x) => `${x.path.join('.') || 'the record'}: ${x.message}`).join('; ')}`);
  }
  if (items.length > 10_000) problems.push(`only the first 10,000 of ${items.length} tests were read`);
  if (!records.length && !problems.length) problems.push('no test in the file');
  return { records, problems: problems.slice(0, 50) };
}
