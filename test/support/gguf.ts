// Writes tiny but real GGUF v3 model files (architecture llama, F32 weights) for tests: llama.cpp
// loads them and generates tokens (noise, with real compute). See ../shared/notes/test-models.md.
import * as fs from 'node:fs';

export interface TinyModelOptions {
  name?: string;
  embedding?: number;
  layers?: number;
  feedForward?: number;
  heads?: number;
  contextLength?: number;
  /** general.file_type; 0 = all F32 (what the tensors really are); null leaves the key out. */
  fileType?: number | null;
  seed?: number;
  version?: 2 | 3;
}

type Kv = [key: string, type: number, value: unknown];

class Writer {
  private parts: Buffer[] = [];
  length = 0;
  push(b: Buffer): void {
    this.parts.push(b);
    this.length += b.length;
  }
  u32(v: number): void {
    const b = Buffer.alloc(4);
    b.writeUInt32LE(v);
    this.push(b);
  }
  i32(v: number): void {
    const b = Buffer.alloc(4);
    b.writeInt32LE(v);
    this.push(b);
  }
  u64(v: number | bigint): void {
    const b = Buffer.alloc(8);
    b.writeBigUInt64LE(BigInt(v));
    this.push(b);
  }
  f32(v: number): void {
    const b = Buffer.alloc(4);
    b.writeFloatLE(v);
    this.push(b);
  }
  str(s: string): void {
    const b = Buffer.from(s, 'utf8');
    this.u64(b.length);
    this.push(b);
  }
  pad(align: number): void {
    const rem = this.length % align;
    if (rem) this.push(Buffer.alloc(align - rem));
  }
  toBuffer(): Buffer {
    return Buffer.concat(this.parts);
  }
}

/** The vocabulary: control tokens, the 256 byte tokens, and a few ▁-prefixed word pieces. */
function vocabulary(): { tokens: string[]; types: number[] } {
  const tokens = ['<unk>', '<s>', '</s>'];
  const types = [2, 3, 3];
  for (let i = 0; i < 256; i++) {
    tokens.push(`<0x${i.toString(16).toUpperCase().padStart(2, '0')}>`);
    types.push(6);
  }
  for (const w of ['the', 'a', 'model', 'hello', 'world', 'llm', 'stack', 'local', 'test', 'token']) {
    tokens.push(`▁${w}`);
    types.push(1);
  }
  return { tokens, types };
}

export function tinyGguf(o: TinyModelOptions = {}): Buffer {
  const embd = o.embedding ?? 64;
  const layers = o.layers ?? 2;
  const ff = o.feedForward ?? embd * 2;
  const heads = o.heads ?? 4;
  const { tokens, types } = vocabulary();
  const vocab = tokens.length;
  let seed = o.seed ?? 1;
  const rand = () => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return (seed / 0x7fffffff - 0.5) * 0.04;
  };
  const kvs: Kv[] = [
    ['general.architecture', 8, 'llama'],
    ['general.name', 8, o.name ?? 'tiny-test-model'],
    ['general.alignment', 4, 32],
    ...(o.fileType === null ? [] : ([['general.file_type', 4, o.fileType ?? 0]] as Kv[])),
    ['llama.context_length', 4, o.contextLength ?? 512],
    ['llama.embedding_length', 4, embd],
    ['llama.block_count', 4, layers],
    ['llama.feed_forward_length', 4, ff],
    ['llama.attention.head_count', 4, heads],
    ['llama.attention.head_count_kv', 4, heads],
    ['llama.rope.dimension_count', 4, embd / heads],
    ['llama.attention.layer_norm_rms_epsilon', 6, 1e-5],
    ['tokenizer.ggml.model', 8, 'llama'],
    ['tokenizer.ggml.tokens', 9, { type: 8, values: tokens }],
    ['tokenizer.ggml.scores', 9, { type: 6, values: tokens.map((_, i) => -i) }],
    ['tokenizer.ggml.token_type', 9, { type: 5, values: types }],
    ['tokenizer.ggml.bos_token_id', 4, 1],
    ['tokenizer.ggml.eos_token_id', 4, 2],
    ['tokenizer.ggml.unknown_token_id', 4, 0],
  ];
  const tensors: [string, number[], 'norm' | 'weight'][] = [['token_embd.weight', [embd, vocab], 'weight']];
  for (let l = 0; l < layers; l++) {
    tensors.push([`blk.${l}.attn_norm.weight`, [embd], 'norm']);
    for (const t of ['attn_q', 'attn_k', 'attn_v', 'attn_output']) tensors.push([`blk.${l}.${t}.weight`, [embd, embd], 'weight']);
    tensors.push([`blk.${l}.ffn_norm.weight`, [embd], 'norm']);
    tensors.push([`blk.${l}.ffn_gate.weight`, [embd, ff], 'weight']);
    tensors.push([`blk.${l}.ffn_up.weight`, [embd, ff], 'weight']);
    tensors.push([`blk.${l}.ffn_down.weight`, [ff, embd], 'weight']);
  }
  tensors.push(['output_norm.weight', [embd], 'norm'], ['output.weight', [embd, vocab], 'weight']);

  const w = new Writer();
  w.push(Buffer.from('GGUF', 'latin1'));
  w.u32(o.version ?? 3);
  w.u64(tensors.length);
  w.u64(kvs.length);
  for (const [key, type, value] of kvs) {
    w.str(key);
    w.u32(type);
    if (type === 8) w.str(value as string);
    else if (type === 4) w.u32(value as number);
    else if (type === 6) w.f32(value as number);
    else {
      const arr = value as { type: number; values: (string | number)[] };
      w.u32(arr.type);
      w.u64(arr.values.length);
      for (const v of arr.values) {
        if (arr.type === 8) w.str(v as string);
        else if (arr.type === 6) w.f32(v as number);
        else w.i32(v as number);
      }
    }
  }
  let offset = 0;
  const sizes: number[] = [];
  for (const [name, dims] of tensors) {
    w.str(name);
    w.u32(dims.length);
    for (const d of dims) w.u64(d);
    w.u32(0); // F32
    w.u64(offset);
    const bytes = dims.reduce((a, b) => a * b, 1) * 4;
    sizes.push(bytes);
    offset += Math.ceil(bytes / 32) * 32;
  }
  w.pad(32);
  tensors.forEach(([, dims, kind], i) => {
    const n = dims.reduce((a, b) => a * b, 1);
    const b = Buffer.alloc(Math.ceil(sizes[i] / 32) * 32);
    for (let j = 0; j < n; j++) b.writeFloatLE(kind === 'norm' ? 1 : rand(), j * 4);
    w.push(b);
  });
  return w.toBuffer();
}

/** Parameter count of the model tinyGguf(o) writes. */
export function tinyParameterCount(o: TinyModelOptions = {}): number {
  const embd = o.embedding ?? 64;
  const layers = o.layers ?? 2;
  const ff = o.feedForward ?? embd * 2;
  const vocab = vocabulary().tokens.length;
  return 2 * embd * vocab + embd + layers * (2 * embd + 4 * embd * embd + 3 * embd * ff);
}

export function writeTinyGguf(file: string, o: TinyModelOptions = {}): void {
  fs.writeFileSync(file, tinyGguf(o));
}
