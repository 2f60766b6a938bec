// Hardware-aware `auto` values: the rules on fixed machines with exact explanation texts, literal
// values kept, GGUF facts from real tiny files, model paths mapped through bind mounts, and properties.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import fc from 'fast-check';
import {
  ALL_GPU_LAYERS,
  formatBytesGB,
  ggufPathForService,
  type ModelFacts,
  modelFactsFromGguf,
  resolveStack,
  stackModelInfo,
} from '../../../../src/core/stack/resolve';
import type { GpuSpec, RuntimeSpec, StackFile } from '../../../../src/core/stack/schema';
import { stackFileSchema } from '../../../../src/core/stack/schema';
import type { GpuInfo, HardwareInfo } from '../../../../src/core/stack/types';
import { writeTinyGguf } from '../../../support/gguf';

const GIB = 1024 ** 3;
const MIB = 1024 ** 2;
const KIB = 1024;

const gpu = (index: number, totalMiB: number, freeMiB: number, name = 'NVIDIA GeForce RTX 4090'): GpuInfo => ({
  index,
  uuid: `GPU-0000000${index}-1111-2222-3333-444444444444`,
  name,
  memoryTotal: totalMiB * MIB,
  memoryFree: freeMiB * MIB,
});

const cpuOnly: HardwareInfo = {
  cpuCores: 16,
  memoryBytes: 32 * GIB,
  freeMemoryBytes: 20 * GIB,
  gpus: [],
  gpuNote: 'No NVIDIA GPU found (nvidia-smi is not installed).',
};
const oneGpu: HardwareInfo = { cpuCores: 16, memoryBytes: 64 * GIB, freeMemoryBytes: 60 * GIB, gpus: [gpu(0, 24576, 20480)] };
const twoGpus: HardwareInfo = { cpuCores: 32, memoryBytes: 64 * GIB, freeMemoryBytes: 60 * GIB, gpus: [gpu(0, 24576, 23552), gpu(1, 24576, 21504)] };

/** Llama 3.1 8B Q4_K_M-like. */
const llama8b: ModelFacts = { layers: 32, sizeBytes: 4.5 * GIB, trainedContext: 131072, kvBytesPerToken: 128 * KIB, name: 'Llama 3.1 8B' };
/** Llama 3.1 70B Q4-like: 0.5 GB per layer. */
const llama70b: ModelFacts = { layers: 80, sizeBytes: 40 * GIB, trainedContext: 131072, kvBytesPerToken: 320 * KIB };

const allAuto = { threads: 'auto', gpuLayers: 'auto', contextSize: 'auto' } as const;

function stack(runtimes: Record<string, Partial<RuntimeSpec>>, uis?: StackFile['uis']): StackFile {
  const rt: Record<string, RuntimeSpec> = {};
  for (const [k, v] of Object.entries(runtimes)) rt[k] = { kind: 'llamacpp', image: 'ghcr.io/ggml-org/llama.cpp:server', ...v } as RuntimeSpec;
  // Every file here must be one the schema accepts.
  return stackFileSchema.parse({ name: 'test', runtimes: rt, ...(uis ? { uis } : {}) });
}

const textOf = (r: ReturnType<typeof resolveStack>, service: string, field: string) =>
  r.explanations.find((e) => e.service === service && e.field === field)?.text;

/** The value at a path in the file, to check explanations point at the `auto`. */
function at(file: unknown, p: readonly (string | number)[]): unknown {
  return p.reduce<unknown>((v, k) => (v as Record<string | number, unknown> | undefined)?.[k], file);
}

describe('resolveStack (unit)', () => {
  it('CPU-only machine: no GPU, cores − 1 threads, context capped by free RAM after the weights', () => {
    const file = stack({ llm: { gpu: 'auto', params: allAuto } });
    const r = resolveStack(file, cpuOnly, { modelInfo: () => llama8b });
    assert.deepEqual(r.params.get('llm'), { threads: 15, gpuLayers: 0, contextSize: 65536, gpu: { kind: 'none' } });
    assert.equal(textOf(r, 'llm', 'gpu'), 'No NVIDIA GPU found (nvidia-smi is not installed) → CPU only');
    assert.equal(textOf(r, 'llm', 'threads'), '16 cores → 15 threads (one left for the system)');
    // 20 GB × 0.9 − 4.5 GB = 13.5 GB = 110592 tokens at 128 KB → 65536.
    assert.equal(
      textOf(r, 'llm', 'contextSize'),
      '4.5 GB model in 20 of 32 GB RAM free: room for 110592 tokens of KV cache (128 KB/token) → ctx 65536 (memory-bound; trained for 131072)',
    );
    assert.equal(textOf(r, 'llm', 'gpuLayers'), 'no NVIDIA GPU → CPU only, 0 layers on GPU');
  });

  it('one GPU that holds the whole model: every layer (999) and the context left after the weights', () => {
    const file = stack({ llm: { gpu: 'auto', params: allAuto } });
    const r = resolveStack(file, oneGpu, { modelInfo: (s) => (s === 'llm' ? llama8b : undefined) });
    assert.deepEqual(r.params.get('llm'), { threads: 15, gpuLayers: ALL_GPU_LAYERS, contextSize: 65536, gpu: { kind: 'all' } });
    assert.equal(textOf(r, 'llm', 'gpu'), '1 NVIDIA GPU found (NVIDIA GeForce RTX 4090, 24 GB VRAM) → all GPUs');
    // 20 GB × 0.9 = 18 GB usable; 18 − 4.5 = 13.5 GB of KV cache.
    assert.equal(
      textOf(r, 'llm', 'contextSize'),
      '4.5 GB model fits in 20 of 24 GB VRAM free: room for 110592 tokens of KV cache (128 KB/token) → ctx 65536 (memory-bound; trained for 131072)',
    );
    assert.equal(
      textOf(r, 'llm', 'gpuLayers'),
      '20 of 24 GB VRAM free → 32 of 32 layers on GPU (999: all, output layer included), ctx 65536 (4.5 GB model, 0.14 GB per layer, 8 GB KV cache)',
    );
  });

  it('a model larger than VRAM is partially offloaded, with exact figures', () => {
    const hw: HardwareInfo = { ...oneGpu, gpus: [gpu(0, 24576, 22528)] };
    const r = resolveStack(stack({ big: { gpu: 'all', params: allAuto } }), hw, { modelInfo: () => llama70b });
    // usable 22 × 0.9 = 19.8 GB; KV ≤ 9.9 GB → 32440 tokens → ctx 16384 = 5 GB; (19.8 − 5) / 0.5 = 29 layers.
    assert.deepEqual(r.params.get('big'), { threads: 15, gpuLayers: 29, contextSize: 16384, gpu: { kind: 'all' } });
    assert.equal(
      textOf(r, 'big', 'contextSize'),
      '40 GB model > 20 GB usable VRAM, KV cache kept within half of it: room for 32440 tokens of KV cache (320 KB/token) → ctx 16384 (memory-bound; trained for 131072)',
    );
    assert.equal(textOf(r, 'big', 'gpuLayers'), '22 of 24 GB VRAM free → 29 of 80 layers on GPU, ctx 16384 (40 GB model, 0.5 GB per layer, 5 GB KV cache)');
    assert.equal(textOf(r, 'big', 'gpu'), undefined, 'gpu: all is not an auto');
  });

  it('two GPUs: free VRAM is summed over the GPUs the container gets', () => {
    const r = resolveStack(stack({ big: { gpu: 'auto', params: allAuto } }), twoGpus, { modelInfo: () => llama70b });
    // usable 44 × 0.9 = 39.6 GB < 40 GB; KV ≤ 19.8 GB → 64880 tokens → 32768 = 10 GB; 29.6 / 0.5 = 59 layers.
    assert.deepEqual(r.params.get('big'), { threads: 16, gpuLayers: 59, contextSize: 32768, gpu: { kind: 'all' } });
    assert.equal(textOf(r, 'big', 'gpu'), '2 NVIDIA GPUs found (2× NVIDIA GeForce RTX 4090, 48 GB VRAM) → all GPUs');
    assert.equal(textOf(r, 'big', 'gpuLayers'), '44 of 48 GB VRAM free on 2 GPUs → 59 of 80 layers on GPU, ctx 32768 (40 GB model, 0.5 GB per layer, 10 GB KV cache)');
    assert.equal(textOf(r, 'big', 'threads'), '32 cores → 16 threads (one left for the system; at most 16: generation is memory-bound beyond that)');
  });

  it('a count or a device list budgets only those GPUs', () => {
    const facts = () => llama70b;
    const first = resolveStack(stack({ big: { gpu: { count: 1 }, params: { gpuLayers: 'auto', contextSize: 4096 } } }), twoGpus, { modelInfo: facts });
    // GPU 0: 23 GB × 0.9 = 20.7 GB; 4096 tokens × 320 KB = 1.25 GB; 19.45 / 0.5 = 38.
    assert.equal(first.params.get('big')!.gpuLayers, 38);
    assert.match(textOf(first, 'big', 'gpuLayers')!, /^23 of 24 GB VRAM free → 38 of 80 layers on GPU, ctx 4096 /);
    const second = resolveStack(stack({ big: { gpu: { devices: ['1'] }, params: { gpuLayers: 'auto', contextSize: 4096 } } }), twoGpus, { modelInfo: facts });
    // GPU 1: 21 GB × 0.9 = 18.9 GB; (18.9 − 1.25) / 0.5 = 35.
    assert.equal(second.params.get('big')!.gpuLayers, 35);
    assert.deepEqual(second.params.get('big')!.gpu, { kind: 'devices', devices: ['1'] });
    const byUuid = resolveStack(stack({ big: { gpu: { devices: [twoGpus.gpus[1].uuid] }, params: { gpuLayers: 'auto', contextSize: 4096 } } }), twoGpus, { modelInfo: facts });
    assert.equal(byUuid.params.get('big')!.gpuLayers, 35);
  });

  it('without model facts: all layers with a hint, and the default context', () => {
    const r = resolveStack(stack({ llm: { gpu: 'auto', params: allAuto } }), oneGpu);
    assert.deepEqual(r.params.get('llm'), { threads: 15, gpuLayers: 999, contextSize: 8192, gpu: { kind: 'all' } });
    assert.equal(textOf(r, 'llm', 'contextSize'), 'model size unknown → ctx 8192 (the default)');
    assert.equal(textOf(r, 'llm', 'gpuLayers'), '20 of 24 GB VRAM free, model size unknown → all layers on GPU (999), ctx 8192; set a number if the model does not fit');
    const trainedOnly = resolveStack(stack({ llm: { params: { contextSize: 'auto' } } }), oneGpu, { modelInfo: () => ({ trainedContext: 131072 }) });
    assert.equal(trainedOnly.params.get('llm')!.contextSize, 8192);
    assert.equal(textOf(trainedOnly, 'llm', 'contextSize'), 'trained for 131072, model size unknown → ctx 8192 (the default)');
  });

  it('machines under 8 GB RAM default to 4096', () => {
    const small: HardwareInfo = { cpuCores: 2, memoryBytes: 6 * GIB, freeMemoryBytes: 4 * GIB, gpus: [] };
    const r = resolveStack(stack({ llm: { params: allAuto } }), small);
    assert.deepEqual(r.params.get('llm'), { threads: 1, gpuLayers: 0, contextSize: 4096, gpu: { kind: 'none' } });
    assert.equal(textOf(r, 'llm', 'contextSize'), 'model size unknown → ctx 4096 (the default with 6 GB RAM, under 8 GB)');
    assert.equal(textOf(r, 'llm', 'threads'), '2 cores → 1 thread (one left for the system)');
    const one = resolveStack(stack({ llm: { params: { threads: 'auto' } } }), { ...small, cpuCores: 1 });
    assert.equal(one.params.get('llm')!.threads, 1);
    assert.equal(textOf(one, 'llm', 'threads'), '1 core → 1 thread');
  });

  it('uses the trained context when memory allows, rounded down to a power of two', () => {
    const facts: ModelFacts = { layers: 28, sizeBytes: 2 * GIB, trainedContext: 40960, kvBytesPerToken: 56 * KIB };
    const r = resolveStack(stack({ llm: { gpu: 'all', params: { contextSize: 'auto' } } }), oneGpu, { modelInfo: () => facts });
    assert.equal(r.params.get('llm')!.contextSize, 32768);
    assert.match(textOf(r, 'llm', 'contextSize')!, /→ ctx 32768 \(trained context 40960 rounded down\)$/);
    const tiny = resolveStack(stack({ llm: { params: { contextSize: 'auto' } } }), cpuOnly, { modelInfo: () => ({ ...facts, trainedContext: 512 }) });
    assert.equal(tiny.params.get('llm')!.contextSize, 512, 'never beyond a trained context under 2048');
    assert.equal(textOf(tiny, 'llm', 'contextSize'), 'trained for 512 tokens → ctx 512');
  });

  it('says when memory is too tight for even 2048 tokens', () => {
    const hw: HardwareInfo = { cpuCores: 4, memoryBytes: 16 * GIB, freeMemoryBytes: 5 * GIB, gpus: [] };
    const r = resolveStack(stack({ llm: { params: { contextSize: 'auto' } } }), hw, { modelInfo: () => llama8b });
    assert.equal(r.params.get('llm')!.contextSize, 2048);
    assert.match(textOf(r, 'llm', 'contextSize')!, /^4.5 GB model in 5 of 16 GB RAM free: room for 0 tokens .* → ctx 2048 \(tight: /);
  });

  it('estimates the KV cache from the layer count when the attention shape is unknown', () => {
    const facts: ModelFacts = { layers: 32, sizeBytes: 4.5 * GIB, trainedContext: 131072 };
    const r = resolveStack(stack({ llm: { params: { contextSize: 'auto' } } }), cpuOnly, { modelInfo: () => facts });
    // 32 layers × 4 KB = 128 KB per token, as for llama8b.
    assert.equal(r.params.get('llm')!.contextSize, 65536);
    assert.match(textOf(r, 'llm', 'contextSize')!, /\(128 KB\/token estimated\)/);
  });

  it('keeps numbers written in the file, explaining only what deserves a look', () => {
    const file = stack({
      a: { gpu: 'all', params: { threads: 4, gpuLayers: 20, contextSize: 4096, parallel: 2 } },
      b: { gpu: 'all', params: { gpuLayers: 40 } },
      c: { params: { gpuLayers: 20 } },
    });
    const r = resolveStack(file, oneGpu, { modelInfo: () => llama8b });
    assert.deepEqual(r.params.get('a'), { threads: 4, gpuLayers: 20, contextSize: 4096, parallel: 2, gpu: { kind: 'all' } });
    assert.deepEqual(r.params.get('b'), { gpuLayers: 40, gpu: { kind: 'all' } });
    assert.deepEqual(r.params.get('c'), { gpuLayers: 20, gpu: { kind: 'none' } }, 'an absent gpu is none, as in Docker');
    assert.deepEqual(
      r.explanations.map((e) => [e.service, e.field, e.path, e.text]),
      [
        ['b', 'gpuLayers', ['runtimes', 'b', 'params', 'gpuLayers'], 'the model has 32 layers: 40 puts all of them on GPU'],
        ['c', 'gpuLayers', ['runtimes', 'c', 'params', 'gpuLayers'], 'no GPU given to the container → 20 GPU layers have no effect; set gpu: auto or all'],
      ],
    );
  });

  it('leaves to the runtime what its kind does not take, and gives UIs no params', () => {
    const file = stack(
      {
        ol: { kind: 'ollama', image: 'ollama/ollama', gpu: 'auto', params: allAuto },
        vl: { kind: 'vllm', image: 'vllm/vllm-openai', gpu: 'auto', params: allAuto },
        la: { kind: 'localai', image: 'localai/localai', params: allAuto },
        ot: { kind: 'other', image: 'x', params: allAuto },
      },
      { webui: { kind: 'openwebui', image: 'ghcr.io/open-webui/open-webui', runtime: 'ol' } },
    );
    const r = resolveStack(file, oneGpu, { modelInfo: () => llama8b });
    assert.deepEqual([...r.params.keys()], ['ol', 'vl', 'la', 'ot']);
    assert.deepEqual(r.params.get('ol'), { contextSize: 65536, gpu: { kind: 'all' } });
    // LocalAI without a GPU: 60 GB × 0.9 − 4.5 GB of RAM holds the whole trained context.
    assert.deepEqual(r.params.get('la'), { threads: 15, contextSize: 131072, gpu: { kind: 'none' } });
    assert.deepEqual(r.params.get('ot'), { gpu: { kind: 'none' } });
    assert.equal(textOf(r, 'ol', 'threads'), 'Ollama sets threads per model (num_thread) → left to the runtime');
    assert.equal(textOf(r, 'ol', 'gpuLayers'), 'Ollama offloads layers itself (num_gpu per model) → left to the runtime');
    assert.equal(textOf(r, 'vl', 'gpuLayers'), 'vLLM keeps the whole model on the GPU → no layer count');
    assert.equal(textOf(r, 'vl', 'threads'), 'vLLM takes no thread count flag → left to the runtime');
    assert.equal(textOf(r, 'la', 'gpuLayers'), "LocalAI sets GPU layers per model (gpu_layers in the model's config) → left to the runtime");
    assert.equal(textOf(r, 'ot', 'contextSize'), 'kind other → left to the image');
  });

  it('says so when a GPU is requested but none was detected', () => {
    const r = resolveStack(stack({ llm: { gpu: 'all', params: allAuto } }), cpuOnly, { modelInfo: () => llama8b });
    assert.equal(r.params.get('llm')!.gpuLayers, 999);
    assert.equal(
      textOf(r, 'llm', 'gpuLayers'),
      'GPU requested but none detected (No NVIDIA GPU found (nvidia-smi is not installed)) → all layers on GPU (999), ctx 8192; set a number if the model does not fit',
    );
    assert.equal(textOf(r, 'llm', 'contextSize'), 'trained for 131072, VRAM size unknown → ctx 8192 (the default)');
  });

  it('points every explanation of an auto at that auto in the file', () => {
    const file = stack({
      a: { gpu: 'auto', params: allAuto },
      b: { kind: 'ollama', image: 'ollama/ollama', gpu: 'auto', params: { contextSize: 'auto', threads: 'auto' } },
      c: { params: { threads: 3 } },
    });
    for (const hw of [cpuOnly, oneGpu, twoGpus]) {
      const r = resolveStack(file, hw, { modelInfo: () => llama8b });
      assert.equal(r.explanations.length, 4 + 3);
      for (const e of r.explanations) {
        assert.equal(at(file, e.path), 'auto', `${e.path.join('.')} holds an auto`);
        assert.equal(e.path[1], e.service);
        assert.equal(e.path[e.path.length - 1], e.field);
      }
      assert.equal(r.file, file);
    }
  });

  it('formats bytes for the texts', () => {
    assert.equal(formatBytesGB(16 * GIB), '16 GB');
    assert.equal(formatBytesGB(16376 * MIB), '16 GB');
    assert.equal(formatBytesGB(7.5 * GIB), '7.5 GB');
    assert.equal(formatBytesGB(8 * GIB), '8 GB');
    assert.equal(formatBytesGB(0.49 * GIB), '0.49 GB');
    assert.equal(formatBytesGB(50 * MIB), '50 MB');
    assert.equal(formatBytesGB(512), '1 KB');
    assert.equal(formatBytesGB(0), '0 GB');
  });
});

describe('resolveStack properties (unit)', () => {
  const gpuArb = fc.record({
    index: fc.nat(7),
    totalMiB: fc.integer({ min: 0, max: 200_000 }),
    freeShare: fc.double({ min: 0, max: 1, noNaN: true }),
  });
  const hwArb = fc
    .record({
      cpuCores: fc.integer({ min: 1, max: 512 }),
      memoryGiB: fc.double({ min: 0.5, max: 2048, noNaN: true }),
      freeShare: fc.double({ min: 0, max: 1, noNaN: true }),
      gpus: fc.array(gpuArb, { maxLength: 4 }),
    })
    .map(
      (h): HardwareInfo => ({
        cpuCores: h.cpuCores,
        memoryBytes: Math.round(h.memoryGiB * GIB),
        freeMemoryBytes: Math.round(h.memoryGiB * GIB * h.freeShare),
        gpus: h.gpus.map((g, i) => ({ ...gpu(i, g.totalMiB, Math.floor(g.totalMiB * g.freeShare)) })),
      }),
    );
  const factsArb = fc.record(
    {
      layers: fc.integer({ min: 1, max: 200 }),
      sizeBytes: fc.integer({ min: MIB, max: 800 * GIB }),
      trainedContext: fc.integer({ min: 128, max: 2_000_000 }),
      kvBytesPerToken: fc.integer({ min: 64, max: 4 * MIB }),
    },
    { requiredKeys: [] },
  );
  const gpuSpecArb = fc.constantFrom<GpuSpec | undefined>(undefined, 'auto', 'none', 'all', { count: 1 }, { count: 2 }, { devices: ['0'] }, { devices: ['3'] });

  it('gpuLayers is 999 (all) or in [0, layers), never negative; 999 only when the whole model fits or facts are missing', () => {
    fc.assert(
      fc.property(hwArb, factsArb, gpuSpecArb, (hw, facts, g) => {
        const r = resolveStack(stack({ llm: { ...(g !== undefined ? { gpu: g } : {}), params: allAuto } }), hw, { modelInfo: () => facts });
        const p = r.params.get('llm')!;
        const n = p.gpuLayers!;
        assert.ok(Number.isInteger(n) && n >= 0);
        if (p.gpu.kind === 'none') assert.equal(n, 0);
        const known = facts.layers !== undefined && facts.sizeBytes !== undefined;
        if (known && n !== ALL_GPU_LAYERS) {
          assert.ok(n < facts.layers!, `${n} of ${facts.layers}`);
          if (p.gpu.kind !== 'none') assert.match(textOf(r, 'llm', 'gpuLayers')!, new RegExp(`→ ${n} of ${facts.layers} layers on GPU, ctx `));
        }
        if (n === ALL_GPU_LAYERS && known && /VRAM free →/.test(textOf(r, 'llm', 'gpuLayers')!)) {
          assert.match(textOf(r, 'llm', 'gpuLayers')!, new RegExp(` ${facts.layers} of ${facts.layers} layers on GPU`));
        }
        assert.ok(p.threads! >= 1 && p.threads! <= 16 && p.threads! <= Math.max(1, hw.cpuCores - 1));
      }),
      { numRuns: 500 },
    );
  });

  it('context is a power of two ≥ 2048 and within the trained context, unless that is under 2048', () => {
    fc.assert(
      fc.property(hwArb, factsArb, gpuSpecArb, fc.constantFrom('llamacpp', 'ollama', 'vllm', 'tgi', 'localai') as fc.Arbitrary<RuntimeSpec['kind']>, (hw, facts, g, kind) => {
        const file = stack({ llm: { kind, ...(g !== undefined ? { gpu: g } : {}), params: { contextSize: 'auto' } } });
        const r = resolveStack(file, hw, { modelInfo: () => facts });
        const c = r.params.get('llm')!.contextSize!;
        if (facts.trainedContext !== undefined && facts.trainedContext < 2048) {
          assert.equal(c, facts.trainedContext);
        } else {
          assert.ok(c >= 2048 && Number.isInteger(Math.log2(c)), `ctx ${c}`);
          if (facts.trainedContext !== undefined) assert.ok(c <= facts.trainedContext);
        }
        assert.deepEqual(resolveStack(file, hw, { modelInfo: () => facts }), r, 'deterministic');
      }),
      { numRuns: 500 },
    );
  });
});

describe('model facts and paths (unit)', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'llmstack-resolve-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('reads layers, size, trained context and KV bytes per token from a real GGUF file', async () => {
    const file = path.join(dir, 'tiny.gguf');
    writeTinyGguf(file, { layers: 3, embedding: 64, heads: 4, contextLength: 4096, name: 'tiny' });
    // 2 bytes × (4 KV heads × 3 layers) × (16 + 16) per token.
    assert.deepEqual(await modelFactsFromGguf(file), { layers: 3, sizeBytes: fs.statSync(file).size, trainedContext: 4096, name: 'tiny', kvBytesPerToken: 768 });
  });

  it('sums the parts of a split model, reading the metadata from the first', async () => {
    const p1 = path.join(dir, 'big-00001-of-00002.gguf');
    const p2 = path.join(dir, 'big-00002-of-00002.gguf');
    writeTinyGguf(p1, { layers: 2 });
    fs.writeFileSync(p2, Buffer.alloc(10_000));
    const total = fs.statSync(p1).size + 10_000;
    assert.equal((await modelFactsFromGguf(p1))?.sizeBytes, total);
    assert.equal((await modelFactsFromGguf(p2))?.sizeBytes, total, 'any part names the whole model');
    assert.equal((await modelFactsFromGguf(p2))?.layers, 2);
    fs.rmSync(p2);
    const f = (await modelFactsFromGguf(p1))!;
    assert.equal(f.sizeBytes, undefined, 'a missing part leaves the size unknown');
    assert.equal(f.layers, 2);
  });

  it('answers undefined for a file that is missing or not GGUF', async () => {
    assert.equal(await modelFactsFromGguf(path.join(dir, 'none.gguf')), undefined);
    fs.writeFileSync(path.join(dir, 'x.gguf'), 'not a model');
    assert.equal(await modelFactsFromGguf(path.join(dir, 'x.gguf')), undefined);
  });

  const llamacpp = (command: RuntimeSpec['command'], volumes?: string[], extra: Partial<RuntimeSpec> = {}) =>
    stack({ llm: { command, ...(volumes ? { volumes } : {}), ...extra } });

  it('maps -m/--model through a bind mount back to the host', () => {
    const f = llamacpp(['-m', '/models/llama.gguf', '--port', '8080'], ['./models:/models:ro']);
    assert.equal(ggufPathForService(f, 'llm', dir), path.join(dir, 'models', 'llama.gguf'));
    const s = llamacpp('--host 0.0.0.0 --model /models/sub/x.gguf', ['../shared/models:/models']);
    assert.equal(ggufPathForService(s, 'llm', dir), path.resolve(dir, '../shared/models/sub/x.gguf'));
    const eq = llamacpp(['--model=/models/a.gguf'], ['/srv/models:/models']);
    assert.equal(ggufPathForService(eq, 'llm', dir), path.join('/srv/models', 'a.gguf'));
    const home = llamacpp(['-m', '/m/a.gguf'], ['~/models:/m']);
    assert.equal(ggufPathForService(home, 'llm', dir), path.join(os.homedir(), 'models', 'a.gguf'));
    const env = llamacpp(undefined, ['./models:/models'], { env: { LLAMA_ARG_MODEL: '/models/e.gguf' } });
    assert.equal(ggufPathForService(env, 'llm', dir), path.join(dir, 'models', 'e.gguf'));
  });

  it('takes the most specific mount, as Docker does', () => {
    const f = llamacpp(['-m', '/models/big/x.gguf'], ['./models:/models', '/data/big:/models/big']);
    assert.equal(ggufPathForService(f, 'llm', dir), path.join('/data/big', 'x.gguf'));
    const g = llamacpp(['-m', '/models/big/x.gguf'], ['/data/big:/models/big', './models:/models']);
    assert.equal(ggufPathForService(g, 'llm', dir), path.join('/data/big', 'x.gguf'), 'order does not matter');
  });

  it('answers undefined when the path cannot be mapped', () => {
    assert.equal(ggufPathForService(llamacpp(['-m', '/models/x.gguf'], ['models:/models']), 'llm', dir), undefined, 'named volume');
    assert.equal(ggufPathForService(llamacpp(['-m', '/opt/x.gguf'], ['./models:/models']), 'llm', dir), undefined, 'in the image');
    assert.equal(ggufPathForService(llamacpp(['-m', '/models2/x.gguf'], ['./models:/models']), 'llm', dir), undefined, 'a prefix is not a folder');
    assert.equal(ggufPathForService(llamacpp(['-m', 'x.gguf'], ['./models:/models']), 'llm', dir), undefined, 'relative path');
    assert.equal(ggufPathForService(llamacpp(['--port', '8080'], ['./models:/models']), 'llm', dir), undefined, 'no model');
    assert.equal(ggufPathForService(llamacpp(['-m', '/models/x.gguf'], ['./models:/models']), 'other', dir), undefined, 'no such service');
    const ollama = stack({ ol: { kind: 'ollama', image: 'ollama/ollama', command: ['-m', '/models/x.gguf'], volumes: ['./models:/models'] } });
    assert.equal(ggufPathForService(ollama, 'ol', dir), undefined, 'not llama.cpp');
  });

  it('feeds a real GGUF behind a bind mount into resolveStack', async () => {
    fs.mkdirSync(path.join(dir, 'models'));
    writeTinyGguf(path.join(dir, 'models', 'tiny.gguf'), { layers: 2, contextLength: 512 });
    const file = llamacpp(['-m', '/models/tiny.gguf'], ['./models:/models:ro'], { gpu: 'auto', params: allAuto });
    const r = resolveStack(file, oneGpu, { modelInfo: await stackModelInfo(file, dir) });
    assert.deepEqual(r.params.get('llm'), { threads: 15, gpuLayers: ALL_GPU_LAYERS, contextSize: 512, gpu: { kind: 'all' } });
    assert.match(textOf(r, 'llm', 'gpuLayers')!, /^20 of 24 GB VRAM free → 2 of 2 layers on GPU \(999: all, output layer included\), ctx 512 \(\d+ KB model, /);
  });
});
