// Benchmark "bounds": how long hostile inputs take to be answered (matched, refused or read).
//
//   npm run bench -- bounds
//
// glob8StarsMs         createClassifier({'*a*a*a*a*a*a*a*b': …}).classify() on a 60-character image name
//                      that almost matches (a `.*` regular expression backtracks for seconds here).
// lineSplit50MBMs      LineSplitter on one 50 MB line in 64 KiB chunks, accepted (limit 64 MiB): linear.
// longLineRefusedMs    OllamaClient.pull against a server on 127.0.0.1 that sends 50 MB without a newline,
//                      until the "line longer than" error; rssGrowthMB is the process RSS growth meanwhile.
// ggufFifoMs           readGgufInfo on a FIFO without a writer, until its "named pipe" error (POSIX only).
// ggufSparseClaimMs    readGgufInfo on a sparse 300 MB file whose header claims 30 million strings.
// ggufSparseTensorsMs  readGgufInfo on a sparse 300 MB file whose zeros are 2.5 million valid tensor infos
//                      (timeoutMs 60 s, so that the figure is the reading, not the bound).
//
// Env: BENCH_BOUNDS_RUNS (runs of the fast figures, default 20).
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { createClassifier } from '../src/core/docker/containers';
import { errorMessage } from '../src/core/lifecycle';
import { readGgufInfo } from '../src/core/runtimes/gguf';
import { LineSplitter } from '../src/core/runtimes/lineSplitter';
import { OllamaClient } from '../src/core/runtimes/ollama';
import { envNumber } from './lib/params';
import { collectGarbage, round, summarize } from './lib/stats';

const log = (msg: string) => process.stderr.write(`[bench:bounds] ${msg}\n`);
const MB = 2 ** 20;

async function timed(runs: number, f: () => unknown): Promise<ReturnType<typeof summarize>> {
  const samples: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    await f();
    samples.push(performance.now() - t0);
  }
  return summarize(samples);
}

/** A GGUF v3 header with `tensors` tensor infos to follow and these metadata entries. */
function ggufHeader(tensors: bigint, kvs: Buffer[]): Buffer {
  const h = Buffer.alloc(24);
  h.write('GGUF', 0, 'latin1');
  h.writeUInt32LE(3, 4);
  h.writeBigUInt64LE(tensors, 8);
  h.writeBigUInt64LE(BigInt(kvs.length), 16);
  return Buffer.concat([h, ...kvs]);
}

function stringArrayEntry(n: bigint): Buffer {
  const b = Buffer.alloc(25);
  b.writeBigUInt64LE(1n, 0);
  b.write('k', 8);
  b.writeUInt32LE(9, 9);
  b.writeUInt32LE(8, 13);
  b.writeBigUInt64LE(n, 17);
  return b;
}

async function refusedLongLine(): Promise<{ ms: number; rssGrowthMB: number; message: string }> {
  const total = 50 * MB;
  const chunk = Buffer.alloc(64 * 1024, 0x61);
  const server = http.createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/x-ndjson' });
    let sent = 0;
    let open = true;
    res.on('close', () => (open = false));
    const pump = () => {
      while (open && sent < total) {
        sent += chunk.length;
        if (!res.write(chunk)) return void res.once('drain', pump);
      }
      if (open) res.end('\n');
    };
    pump();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  try {
    const client = new OllamaClient(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
    await collectGarbage();
    const rss0 = process.memoryUsage().rss;
    const t0 = performance.now();
    let message = 'no error';
    await client.pull('x', () => undefined).catch((e: unknown) => (message = errorMessage(e)));
    return { ms: round(performance.now() - t0, 1), rssGrowthMB: round((process.memoryUsage().rss - rss0) / MB, 1), message };
  } finally {
    server.closeAllConnections();
    await new Promise<void>((r) => server.close(() => r()));
  }
}

async function ggufFigure(file: string, timeoutMs?: number): Promise<{ ms: number; outcome: string }> {
  const t0 = performance.now();
  let outcome: string;
  try {
    const info = await readGgufInfo(file, timeoutMs ? { timeoutMs } : {});
    outcome = `read: ${info.tensorCount} tensors, ${info.headerBytes} header bytes`;
  } catch (e) {
    outcome = errorMessage(e);
  }
  return { ms: round(performance.now() - t0, 1), outcome };
}

export async function run(): Promise<Record<string, unknown>> {
  const runs = envNumber('BENCH_BOUNDS_RUNS', 20);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'llmstack-bench-bounds-'));
  try {
    log('long line over HTTP');
    const longLineRefused = await refusedLongLine();

    log('glob');
    const classifier = createClassifier({ '*a*a*a*a*a*a*a*b': 'vllm' });
    const name = 'a'.repeat(60);
    const glob8StarsMs = await timed(runs, () => classifier.classify({ image: name, labels: {} }));

    log('line splitter');
    const chunk = Buffer.alloc(64 * 1024, 0x61);
    const lineSplit50MBMs = await timed(Math.max(3, Math.round(runs / 4)), () => {
      const s = new LineSplitter(64 * MB);
      for (let i = 0; i < 800; i++) s.push(chunk);
      return s.push(Buffer.from('\n'));
    });

    log('GGUF');
    let ggufFifo: { ms: number; outcome: string } | string = 'skipped (no mkfifo)';
    if (process.platform !== 'win32') {
      const fifo = path.join(dir, 'pipe.gguf');
      execFileSync('mkfifo', [fifo]);
      ggufFifo = await ggufFigure(fifo);
    }
    const claim = path.join(dir, 'claim.gguf');
    fs.writeFileSync(claim, ggufHeader(0n, [stringArrayEntry(30_000_000n)]));
    fs.truncateSync(claim, 300 * MB);
    const tensors = path.join(dir, 'tensors.gguf');
    fs.writeFileSync(tensors, ggufHeader(2_500_000n, []));
    fs.truncateSync(tensors, 300 * MB);

    return {
      runs,
      glob8StarsMs,
      lineSplit50MBMs,
      longLineRefusedMs: longLineRefused.ms,
      longLineRssGrowthMB: longLineRefused.rssGrowthMB,
      longLineMessage: longLineRefused.message,
      ggufFifo,
      ggufSparseClaim: await ggufFigure(claim),
      ggufSparseTensors: await ggufFigure(tensors, 60_000),
    };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
