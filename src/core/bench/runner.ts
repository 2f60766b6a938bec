// Benchmarks a model through its runtime's own API, with the method and names of llama-bench
// (pp = prompt processing, tg = text generation, tokens/s) and of vLLM's benchmark_serving (TTFT,
// TPOT, ITL, E2EL, with p50/p90/p99): one warm-up request, then for each concurrency level rounds
// of that many simultaneous requests until the coefficient of variation of the generation speed
// is under the bound (3 % by default) or a bound on rounds or time is reached. Every request's raw
// sample is kept, so a result can be compared, charted and checked later.
import { summarize, type Summary } from './stats';

/** One streamed generation as a target runs it: chunks as they come, then the runtime's own figures. */
interface GenerationTarget {
  generate(prompt: string, maxTokens: number, onChunk: () => void, signal: AbortSignal): Promise<{ promptTokens?: number; outputTokens?: number; promptMs?: number; generationMs?: number }>;
}

interface Sample {
  readonly ttftMs: number | null;
  readonly e2elMs: number;
  /** (E2EL - TTFT) / (output tokens - 1): time per output token after the first. */
  readonly tpotMs: number | null;
  /** Gaps between streamed chunks after the first. */
  readonly itlMs: readonly number[];
  readonly promptTokens: number | null;
  readonly outputTokens: number | null;
  /** Prompt processing tokens/s: the runtime's own timing when it gives one. */
  readonly ppTps: number | null;
  /** Generation tokens/s: the runtime's own timing, else from the stream. */
  readonly tgTps: number | null;
}

export interface LevelResult {
  readonly concurrency: number;
  readonly rounds: number;
  readonly stoppedBy: 'cv' | 'rounds' | 'time';
  readonly samples: readonly Sample[];
  readonly ttftMs?: Summary;
  readonly tpotMs?: Summary;
  readonly itlMs?: Summary;
  readonly e2elMs?: Summary;
  readonly ppTps?: Summary;
  /** Per-request generation speed. */
  readonly tgTps?: Summary;
  /**
   * The CV of the result: the relative standard error of the mean generation speed (cvPct / √n),
   * what the CV target bounds. The per-request CV is the machine's noise and does not shrink with
   * more rounds; the CV of the mean does, so repeating until it is under the target is what makes
   * the figure as precise as asked.
   */
  readonly tgMeanCvPct?: number;
  /** All output tokens of the level over its wall time: what the runtime serves at this concurrency. */
  readonly throughputTps: number;
}

interface BenchOptions {
  readonly concurrency?: readonly number[];
  /** Words of the prompt (llama-bench's pp512: about 512 tokens). */
  readonly promptWords?: number;
  /** Tokens to generate (llama-bench's tg128). */
  readonly maxTokens?: number;
  readonly cvTargetPct?: number;
  readonly minRounds?: number;
  readonly maxRounds?: number;
  readonly maxSecondsPerLevel?: number;
  readonly signal?: AbortSignal;
  readonly progress?: (message: string, fraction: number) => void;
  readonly now?: () => number;
}

/** A prompt of `words` plain words (the runtime reports how many tokens it was). */
export function benchPrompt(words: number): string {
  const vocabulary = ['the', 'river', 'carries', 'light', 'across', 'a', 'valley', 'of', 'stone', 'and', 'quiet', 'fields', 'where', 'old', 'roads', 'meet'];
  const out: string[] = [];
  for (let i = 0; i < words; i++) out.push(vocabulary[(i * 7 + (i >> 3)) % vocabulary.length]);
  return `${out.join(' ')}.\nContinue the text:`;
}

async function one(target: GenerationTarget, prompt: string, maxTokens: number, signal: AbortSignal, now: () => number): Promise<Sample> {
  const t0 = now();
  const chunks: number[] = [];
  const r = await target.generate(prompt, maxTokens, () => chunks.push(now()), signal);
  const e2el = now() - t0;
  const ttft = chunks.length ? chunks[0] - t0 : null;
  const itl = chunks.slice(1).map((t, i) => t - chunks[i]);
  const out = r.outputTokens ?? (chunks.length || null);
  const tpot = ttft !== null && out !== null && out > 1 ? (e2el - ttft) / (out - 1) : null;
  const tg = r.generationMs && r.outputTokens ? (r.outputTokens / r.generationMs) * 1000 : tpot ? 1000 / tpot : null;
  const pp = r.promptMs && r.promptTokens ? (r.promptTokens / r.promptMs) * 1000 : null;
  return { ttftMs: ttft, e2elMs: e2el, tpotMs: tpot, itlMs: itl, promptTokens: r.promptTokens ?? null, outputTokens: out, ppTps: pp, tgTps: tg };
}

/** Thrown when the signal aborts a benchmark (the use case answers "cancelled"). */
export class BenchmarkAborted extends Error {
  override readonly name = 'BenchmarkAborted';
  constructor() {
    super('The benchmark was cancelled.');
  }
}

const nums = (xs: readonly (number | null)[]) => xs.filter((x): x is number => x !== null);

/** The relative standard error of the mean, in %: 100 (unknown) for fewer than two samples. */
function meanCv(s: Summary | undefined): number {
  return s && s.n >= 2 ? s.cvPct / Math.sqrt(s.n) : 100;
}

export async function runBenchmark(target: GenerationTarget, o: BenchOptions = {}): Promise<{ levels: LevelResult[]; warmup: Sample; prompt: { words: number; maxTokens: number } }> {
  const now = o.now ?? (() => performance.now());
  const levels = [...new Set(o.concurrency ?? [1, 2, 4, 8])].filter((c) => Number.isInteger(c) && c >= 1 && c <= 64);
  if (!levels.length) throw new Error('No concurrency level between 1 and 64 was given.');
  const words = o.promptWords ?? 512;
  const maxTokens = o.maxTokens ?? 128;
  const cvTarget = o.cvTargetPct ?? 3;
  const minRounds = Math.max(1, o.minRounds ?? 3);
  const maxRounds = Math.max(minRounds, o.maxRounds ?? 10);
  const maxMs = (o.maxSecondsPerLevel ?? 120) * 1000;
  const controller = new AbortController();
  const onAbort = () => controller.abort();
  o.signal?.addEventListener('abort', onAbort, { once: true });
  const check = () => {
    if (o.signal?.aborted) throw new BenchmarkAborted();
  };
  try {
    const prompt = benchPrompt(words);
    check();
    o.progress?.('warming up', 0);
    const warmup = await one(target, prompt, maxTokens, controller.signal, now);
    const results: LevelResult[] = [];
    for (const [li, c] of levels.entries()) {
      const samples: Sample[] = [];
      const started = now();
      let rounds = 0;
      let stoppedBy: LevelResult['stoppedBy'] = 'rounds';
      for (;;) {
        check();
        samples.push(...(await Promise.all(Array.from({ length: c }, () => one(target, prompt, maxTokens, controller.signal, now)))));
        rounds++;
        const cv = meanCv(summarize(nums(samples.map((s) => s.tgTps))));
        o.progress?.(`concurrency ${c}: round ${rounds}, CV of the mean ${cv.toFixed(1)} %`, (li + Math.min(1, rounds / maxRounds)) / levels.length);
        if (rounds >= minRounds && cv < cvTarget) {
          stoppedBy = 'cv';
          break;
        }
        if (rounds >= maxRounds) break;
        if (now() - started >= maxMs) {
          stoppedBy = 'time';
          break;
        }
      }
      const wall = now() - started;
      const tg = summarize(nums(samples.map((s) => s.tgTps)));
      const outputs = nums(samples.map((s) => s.outputTokens)).reduce((a, b) => a + b, 0);
      results.push({
        concurrency: c,
        rounds,
        stoppedBy,
        samples,
        ttftMs: summarize(nums(samples.map((s) => s.ttftMs))),
        tpotMs: summarize(nums(samples.map((s) => s.tpotMs))),
        itlMs: summarize(samples.flatMap((s) => s.itlMs)),
        e2elMs: summarize(samples.map((s) => s.e2elMs)),
        ppTps: summarize(nums(samples.map((s) => s.ppTps))),
        tgTps: tg,
        tgMeanCvPct: tg ? meanCv(tg) : undefined,
        throughputTps: wall > 0 ? (outputs / wall) * 1000 : 0,
      });
    }
    o.progress?.('done', 1);
    return { levels: results, warmup, prompt: { words, maxTokens } };
  } catch (e) {
    if (o.signal?.aborted) throw new BenchmarkAborted();
    throw e;
  } finally {
    o.signal?.removeEventListener('abort', onAbort);
  }
}

/**
 * Whether a new generation speed is slower than the history beyond its noise: below the history's
 * mean by more than twice its standard deviation and by more than `minDropPct` (5 % by default).
 */
export function isRegression(history: readonly number[], value: number, minDropPct = 5): { regression: boolean; baseline?: number; dropPct?: number } {
  const s = summarize(history);
  if (!s || s.n < 2) return { regression: false };
  const dropPct = ((s.mean - value) / s.mean) * 100;
  return { regression: value < s.mean - 2 * s.stddev && dropPct > minDropPct, baseline: s.mean, dropPct };
}
