// Fit and speed estimates: the memory of a model at a context from its real GGUF header (layers,
// size, KV bytes per token), placed on the GPU, partly, on the CPU or nowhere; a quantized KV cache;
// a model of unknown size; and the speed from this machine's history or a stated first guess.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { calibrate, DEFAULT_OVERHEAD_BYTES, estimateFit, predictSpeed } from '../../../../src/core/bench/fit';
import { modelFactsFromGguf, modelFactsFromMetadata } from '../../../../src/core/stack/resolve';
import type { HardwareInfo } from '../../../../src/core/stack/types';
import { writeTinyGguf } from '../../../support/gguf';

const GiB = 1024 ** 3;
const cpuOnly = (freeGiB: number): HardwareInfo => ({ cpuCores: 8, memoryBytes: 32 * GiB, freeMemoryBytes: freeGiB * GiB, gpus: [] });
const withGpu = (vramFreeGiB: number, freeGiB = 24): HardwareInfo => ({ ...cpuOnly(freeGiB), gpus: [{ index: 0, uuid: 'GPU-1', name: 'NVIDIA RTX 4090', memoryTotal: 24 * GiB, memoryFree: vramFreeGiB * GiB }] });

describe('fit and speed estimates (unit)', () => {
  // A Llama 3.1 8B Q4_K_M: 32 layers, 4.58 GiB, 8 KV heads of 128 → 128 KiB of f16 KV cache per token.
  const llama8b = { layers: 32, sizeBytes: 4.58 * GiB, trainedContext: 131072, kvBytesPerToken: 2 * 32 * 8 * 256 };

  it('weights, KV cache and overhead: all on a GPU that holds them, else the layers that fit, else the CPU', () => {
    const gpu = estimateFit(llama8b, { contextSize: 8192 }, withGpu(20));
    assert.equal(gpu.verdict, 'gpu');
    assert.equal(gpu.kvBytes, 8192 * 131072, '1 GiB of KV cache at ctx 8192');
    assert.equal(gpu.gpuLayers, 32);
    assert.equal(gpu.vramBytes, Math.round(4.58 * GiB + GiB + DEFAULT_OVERHEAD_BYTES / 2));
    assert.match(gpu.text, /^fits in VRAM with ctx 8192: 5\.8 GB of 18 GB usable$/);

    const partial = estimateFit(llama8b, { contextSize: 8192 }, withGpu(4));
    assert.equal(partial.verdict, 'partial');
    assert.ok(partial.gpuLayers > 0 && partial.gpuLayers < 32, String(partial.gpuLayers));
    assert.ok(partial.vramBytes <= 4 * GiB * 0.9, 'within the usable VRAM');
    assert.equal(partial.vramBytes + partial.ramBytes, Math.round(4.58 * GiB + GiB + DEFAULT_OVERHEAD_BYTES), 'nothing lost between the two');
    assert.match(partial.text, /^\d+ of 32 layers on the GPU with ctx 8192/);

    const cpu = estimateFit(llama8b, { contextSize: 8192 }, cpuOnly(16));
    assert.deepEqual([cpu.verdict, cpu.gpuLayers, cpu.vramBytes], ['cpu', 0, 0]);
    assert.match(cpu.text, /^runs on the CPU with ctx 8192: 6\.\d GB of 14 GB usable RAM$/);
    assert.equal(estimateFit(llama8b, { contextSize: 8192, useGpu: false }, withGpu(20)).verdict, 'cpu', 'CPU only when asked');

    const big = estimateFit(llama8b, { contextSize: 131072 }, cpuOnly(8));
    assert.equal(big.verdict, 'too-big');
    assert.match(big.text, /^does not fit with ctx 131072: needs 21 GB of RAM, 7\.2 GB usable; try a smaller quantization or context$/);
  });

  it('a quantized KV cache takes about half (q8_0) or a quarter (q4_0); GPU layers asked for are kept', () => {
    const f16 = estimateFit(llama8b, { contextSize: 32768 }, cpuOnly(30));
    const q8 = estimateFit(llama8b, { contextSize: 32768, cacheType: 'q8_0' }, cpuOnly(30));
    const q4 = estimateFit(llama8b, { contextSize: 32768, cacheType: 'q4_0' }, cpuOnly(30));
    assert.ok(Math.abs(q8.kvBytes / f16.kvBytes - 0.53) < 0.01 && Math.abs(q4.kvBytes / f16.kvBytes - 0.28) < 0.01);
    assert.equal(estimateFit(llama8b, { contextSize: 4096, gpuLayers: 10 }, withGpu(20)).gpuLayers, 10);
  });

  it('reads the facts from a real GGUF header; without a size it says what it can', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'llmstack-fit-'));
    try {
      const file = path.join(dir, 'tiny.gguf');
      writeTinyGguf(file, { name: 'tiny', layers: 4, heads: 4, embedding: 64, contextLength: 512 });
      const facts = (await modelFactsFromGguf(file))!;
      assert.deepEqual([facts.layers, facts.sizeBytes, facts.trainedContext], [4, fs.statSync(file).size, 512]);
      const e = estimateFit(facts, { contextSize: 512 }, cpuOnly(8));
      assert.equal(e.kvEstimated, false, 'from the attention shape in the header');
      assert.equal(e.kvBytes, facts.kvBytesPerToken! * 512);
      const unknown = estimateFit({ layers: 4 }, { contextSize: 2048 }, cpuOnly(8));
      assert.equal(unknown.verdict, 'unknown');
      assert.match(unknown.text, /^model size unknown: the KV cache alone needs \d+ MB at ctx 2048$/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('predicts the speed from this machine\'s history (tokens/s × bytes), else a stated first guess', () => {
    // 40 tokens/s for a 2 GB model and 20 for a 4 GB one on this machine: 80 GB/s; a 1 GB model → 80.
    const s = predictSpeed([{ genTps: 40, sizeBytes: 2e9 }, { genTps: 20, sizeBytes: 4e9 }, { genTps: 0, sizeBytes: 1e9 }], 1e9, true);
    assert.deepEqual([s.basis, s.tokensPerSecond, s.low, s.high], ['history', 80, 80, 80]);
    assert.match(s.text, /^about 80\.0 tokens\/s here \(80\.0–80\.0, from 2 benchmarks on this machine\)$/);
    const guess = predictSpeed([], 4e9, false);
    assert.deepEqual([guess.basis, guess.tokensPerSecond], ['first guess', 5]);
    assert.match(guess.text, /first guess from typical CPU memory bandwidth/);
  });

  it('calibrates the overhead on measured loads and reports the error of each load estimated from the others', () => {
    const MiB = 2 ** 20;
    // Figures measured by npm run bench -- fit (real llama.cpp, resident set after the load).
    const loads = [
      { weightsBytes: 14_200_640, kvBytes: 2_097_152, measuredBytes: 156_938_240 },
      { weightsBytes: 110_199_680, kvBytes: 134_217_728, measuredBytes: 379_928_576 },
      { weightsBytes: 341_481_440, kvBytes: 301_989_888, measuredBytes: 779_862_016 },
    ];
    const c = calibrate(loads)!;
    assert.equal(c.measurements, 3);
    assert.ok(Math.abs(c.overheadBytes / MiB - 130.7) < 10, `${c.overheadBytes / MiB} MiB`);
    assert.ok(c.errorPct !== undefined && c.errorPct < 5, `${c.errorPct} %`);
    assert.match(c.text, /^calibrated on 3 measured loads here, within [\d.]+ % \(median\)$/);
    // The calibrated overhead makes the estimate match; the default one is far off for a small runtime.
    const facts = { layers: 4, sizeBytes: loads[0].weightsBytes, kvBytesPerToken: loads[0].kvBytes / 512 };
    const cal = estimateFit(facts, { contextSize: 512, overheadBytes: c.overheadBytes }, cpuOnly(8)).ramBytes;
    const raw = estimateFit(facts, { contextSize: 512 }, cpuOnly(8)).ramBytes;
    assert.ok(Math.abs(cal - loads[0].measuredBytes) / loads[0].measuredBytes < 0.05);
    assert.ok(Math.abs(raw - loads[0].measuredBytes) / loads[0].measuredBytes > 1);
    // One load: an overhead, no error to report; none (or nonsense): nothing.
    assert.deepEqual([calibrate(loads.slice(0, 1))!.errorPct, calibrate(loads.slice(0, 1))!.text], [undefined, 'calibrated on 1 measured load here']);
    assert.equal(calibrate([]), undefined);
    assert.equal(calibrate([{ weightsBytes: 1, kvBytes: 1, measuredBytes: 0 }]), undefined);
    // A runtime that reports less than the weights (mmap not counted): the overhead is never negative.
    assert.equal(calibrate([{ weightsBytes: 100, kvBytes: 10, measuredBytes: 50 }])!.overheadBytes, 0);
  });

  it('reads the same facts from a runtime\'s model_info as from the GGUF header; without an architecture, none', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'llmstack-fit-meta-'));
    try {
      const file = path.join(dir, 'm.gguf');
      writeTinyGguf(file, { name: 'm', embedding: 256, layers: 4, heads: 8, contextLength: 1024 });
      const fromFile = (await modelFactsFromGguf(file))!;
      // As Ollama's /api/show sends it: the header's keys, arrays empty, numbers as JSON numbers.
      const info = { 'general.architecture': 'llama', 'llama.block_count': 4, 'llama.context_length': 1024, 'llama.embedding_length': 256, 'llama.attention.head_count': 8, 'llama.attention.head_count_kv': 8, 'tokenizer.ggml.tokens': [], 'general.file_type': 0 };
      const fromInfo = modelFactsFromMetadata(info, fromFile.sizeBytes)!;
      assert.deepEqual([fromInfo.layers, fromInfo.trainedContext, fromInfo.kvBytesPerToken, fromInfo.sizeBytes], [fromFile.layers, fromFile.trainedContext, fromFile.kvBytesPerToken, fromFile.sizeBytes]);
      // Per-layer KV heads (an array, when sent whole) are summed.
      assert.equal(modelFactsFromMetadata({ ...info, 'llama.attention.head_count_kv': [8, 8, 4, 4] })!.kvBytesPerToken, 2 * 24 * (32 + 32));
      assert.equal(modelFactsFromMetadata({ 'llama.block_count': 4 }), undefined);
      assert.deepEqual(modelFactsFromMetadata({ 'general.architecture': 'llama', 'llama.block_count': 'x' }), {});
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
