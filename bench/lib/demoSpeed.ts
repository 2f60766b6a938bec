// Generation speed of the demo runtime as a newcomer meets it: started by scripts/demo-stack.mjs (what
// `npm start` runs), prompted through its published port with the extension's own Ollama client and
// Try a Prompt's request (64 tokens), then removed with everything it made.
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { OllamaClient } from '../../src/core/runtimes/ollama';
import { engine, waitUntil } from '../../test/support/engine';
import { benchRunId, interruptCleanups } from './benchContainers';
import { percentile, round } from './stats';

const run = promisify(execFile);
const repoRoot = path.resolve(__dirname, '..', '..', '..');

export interface DemoSpeed {
  /** Median of samples: tokens per second of generation, from Ollama's eval_count / eval_duration. */
  tokensPerSecond: number;
  samples: number[];
  /** Median tokens per second over the client's wall time of each request (prompt, HTTP and stream included). */
  wallTokensPerSecond: number;
  wallSamples: number[];
  model: string;
  /** Wall time of the first prompt once the runtime answers: model load and all its tokens. */
  firstPromptMs: number;
}

export interface DemoSpeedOptions {
  /** Timed generations after the first prompt and one warm-up (default 7). */
  runs?: number;
  /** Tokens per generation (default 64, as Try a Prompt asks). */
  tokens?: number;
  log?: (msg: string) => void;
}

/** The demo's smallest model (scripts/demo-stack.mjs) and Try a Prompt's default prompt. */
const MODEL = 'tiny-llama:latest';
const PROMPT = 'Why is the sky blue?';

export async function measureDemoTokensPerSecond(o: DemoSpeedOptions = {}): Promise<DemoSpeed> {
  const runs = o.runs ?? 7;
  const tokens = o.tokens ?? 64;
  const log = o.log ?? (() => undefined);
  const name = `llmstack-demo-bench-${benchRunId}`;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'llmstack-demo-bench-'));
  const cleanup = async () => {
    await engine()
      .getContainer(name)
      .remove({ force: true, v: true })
      .catch((e: { statusCode?: number }) => {
        if (e.statusCode !== 404) throw e;
      });
    fs.rmSync(dir, { recursive: true, force: true });
  };
  interruptCleanups.add(cleanup);
  try {
    log(`starting the demo runtime ${name} with scripts/demo-stack.mjs`);
    const env = { ...process.env, LLMSTACK_DEMO_NAME: name, LLMSTACK_DEMO_DIR: dir, LLMSTACK_DEMO_PORT: '0' };
    const started = await run(process.execPath, [path.join(repoRoot, 'scripts', 'demo-stack.mjs')], { cwd: repoRoot, env, timeout: 600_000 }).catch((e: { stdout?: string; stderr?: string; message: string }) => {
      throw new Error(`scripts/demo-stack.mjs failed: ${(e.stderr || e.stdout || e.message).trim()}`);
    });
    const binding = (await engine().getContainer(name).inspect()).NetworkSettings.Ports['11434/tcp']?.[0];
    if (!binding) throw new Error(`scripts/demo-stack.mjs published no port for ${name}: ${started.stdout.trim()}`);
    const base = `http://127.0.0.1:${binding.HostPort}`;
    // Short tries while it starts: a connection made before the server listens can stall.
    const probe = new OllamaClient(base, { timeoutMs: 2000 });
    await waitUntil('the demo runtime to answer', async () => !!(await probe.version()), 60_000, 100);
    const client = new OllamaClient(base, { timeoutMs: 120_000 });

    const generate = async () => {
      const t0 = performance.now();
      const r = await client.generate(MODEL, PROMPT, { maxTokens: tokens });
      const wallMs = performance.now() - t0;
      // A fixed count keeps samples comparable. Ollama's API has no ignore_eos; this model decodes
      // greedily past 64 tokens on this prompt, so an early end means the model or sampling changed.
      if (r.eval_count !== tokens || !r.eval_duration) throw new Error(`${MODEL} answered ${r.eval_count ?? '?'} tokens (${r.done_reason ?? 'no reason'}) where ${tokens} were asked`);
      return { evalRate: tokens / (r.eval_duration / 1e9), wallRate: tokens / (wallMs / 1000), wallMs, loadMs: (r.load_duration ?? 0) / 1e6 };
    };
    const first = await generate();
    log(`first prompt: ${round(first.wallMs, 0)} ms (model load ${round(first.loadMs, 0)} ms)`);
    await generate();
    const samples: number[] = [];
    const wallSamples: number[] = [];
    for (let i = 0; i < runs; i++) {
      const s = await generate();
      samples.push(round(s.evalRate, 1));
      wallSamples.push(round(s.wallRate, 1));
    }
    log(`eval tokens/s ${samples.join(', ')}; wall tokens/s ${wallSamples.join(', ')}`);
    return {
      tokensPerSecond: percentile(samples, 50),
      samples,
      wallTokensPerSecond: percentile(wallSamples, 50),
      wallSamples,
      model: MODEL,
      firstPromptMs: round(first.wallMs, 0),
    };
  } finally {
    interruptCleanups.delete(cleanup);
    await cleanup();
  }
}
