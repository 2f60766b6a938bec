// Tokens per second per model, from runtimes' /metrics (llama.cpp's gauges, vLLM's and TGI's counters) and from generations run here.
import { errorMessage, type Logger, silentLogger } from '../lifecycle';
import { modelKey } from '../runtimes/catalog';
import { metricValue, OpenAiClient } from '../runtimes/openai';
import type { RuntimeEndpoint } from '../runtimes/runtime';
import type { SeriesInfo } from './types';

/** What the throughput reader needs of a runtime (ModelCatalog.list() entries fit). */
export interface RuntimeInfo {
  readonly endpoint: RuntimeEndpoint;
  readonly models: readonly { readonly name: string }[];
}

interface ModelRate {
  readonly runtimeId: string;
  readonly runtimeName: string;
  readonly model: string;
  readonly tokensPerSecond: number;
  /** Prompt tokens processed per second, where the runtime reports it (llama.cpp). */
  readonly promptTokensPerSecond?: number;
  /** metrics: from the runtime's gauges or counters between two reads; generation: the last generation run here. */
  readonly source: 'metrics' | 'generation';
}

export interface ModelThroughputOptions {
  readonly log?: Logger;
  readonly now?: () => number;
  /** Reads an endpoint's /metrics; undefined where it serves none. Default: OpenAiClient.metrics(). */
  readonly readMetrics?: (endpoint: RuntimeEndpoint) => Promise<ReadonlyMap<string, number> | undefined>;
  /** The API key of an endpoint, for the default reader. */
  readonly apiKey?: (endpoint: RuntimeEndpoint) => Promise<string | undefined>;
  /** How long a recorded generation's rate is shown (default 60 s). */
  readonly generationTtlMs?: number;
  /** Bound on each /metrics read (default 2 s). */
  readonly timeoutMs?: number;
  /** After an endpoint answered without metrics (llama.cpp without --metrics) or failed, it is asked again only after this (default 60 s). */
  readonly retryAfterMs?: number;
}

const LLAMA_TOTAL = 'llamacpp:tokens_predicted_total';
// llama.cpp's gauges: tokens/s over the tokens generated since the previous /metrics read (each
// read empties that bucket). Its counters cannot give a rate on a busy server: they print with 6
// significant digits, so past a million tokens they move in steps of 10, 100, 1000…
const LLAMA_RATE = 'llamacpp:predicted_tokens_seconds';
const LLAMA_PROMPT_RATE = 'llamacpp:prompt_tokens_seconds';
const VLLM_TOTAL = 'vllm:generation_tokens_total';
// TGI counts generated tokens in a histogram (router/src/infer: tgi_request_generated_tokens); its sum is a counter.
const TGI_TOTAL = 'tgi_request_generated_tokens_sum';

/** Whether this runtime's /metrics carries generation counters we understand. */
function servesTokenMetrics(endpoint: RuntimeEndpoint): boolean {
  return endpoint.api === 'openai' && (endpoint.kind === 'llamacpp' || endpoint.kind === 'vllm' || endpoint.kind === 'tgi');
}

/**
 * Cumulative generated tokens per model from a /metrics map. llama.cpp serves one model without a
 * label (named by `served`); vLLM labels its counter with model_name.
 */
export function generatedTokens(metrics: ReadonlyMap<string, number>, served: string): Map<string, { total?: number; rate?: number; promptRate?: number }> {
  const out = new Map<string, { total?: number; rate?: number; promptRate?: number }>();
  const llamaTotal = metricValue(metrics, LLAMA_TOTAL);
  // A bucket whose time rounded to 0 ms makes llama.cpp print inf: no figure rather than a wrong one.
  const finite = (v: number | undefined) => (v !== undefined && Number.isFinite(v) && v >= 0 ? v : undefined);
  const llamaRate = finite(metricValue(metrics, LLAMA_RATE));
  const promptRate = finite(metricValue(metrics, LLAMA_PROMPT_RATE));
  if (llamaTotal !== undefined || llamaRate !== undefined) out.set(served, { total: llamaTotal, rate: llamaRate, promptRate });
  const tgiTotal = metricValue(metrics, TGI_TOTAL);
  if (tgiTotal !== undefined) out.set(served, { total: tgiTotal });
  for (const [key, value] of metrics) {
    if (key !== VLLM_TOTAL && !key.startsWith(`${VLLM_TOTAL}{`)) continue;
    const name = labelValue(key, 'model_name') ?? served;
    const e = out.get(name) ?? {};
    out.set(name, { ...e, total: (e.total ?? 0) + value });
  }
  return out;
}

function labelValue(key: string, label: string): string | undefined {
  const m = new RegExp(`[{,]${label}="((?:[^"\\\\]|\\\\.)*)"`).exec(key);
  return m ? m[1].replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c)) : undefined;
}

function modelSeriesKey(runtimeId: string, model: string): string {
  return `model.${modelKey(runtimeId, model)}.tps`;
}

export function modelSeries(rate: ModelRate): SeriesInfo {
  return {
    key: modelSeriesKey(rate.runtimeId, rate.model),
    group: 'model',
    entity: `${rate.model} · ${rate.runtimeName}`,
    entityId: modelKey(rate.runtimeId, rate.model),
    metric: 'tps',
    unit: 'tok/s',
  };
}

interface Scrape {
  /** The counter per model at the last read. */
  last?: { at: number; totals: Map<string, number> };
  promptRates: Map<string, number>;
  inFlight?: Promise<void>;
  /** No reads before this (no metrics served, or a failure). */
  quietUntil?: number;
  warned?: boolean;
  rates: Map<string, number>;
}

export class ModelThroughput {
  private readonly log: Logger;
  private readonly now: () => number;
  private readonly readMetrics: (endpoint: RuntimeEndpoint) => Promise<ReadonlyMap<string, number> | undefined>;
  private readonly generationTtlMs: number;
  private readonly timeoutMs: number;
  private readonly retryAfterMs: number;
  private runtimes: readonly RuntimeInfo[] = [];
  private readonly scrapes = new Map<string, Scrape>();
  private readonly generations = new Map<string, { runtimeId: string; model: string; tps: number; at: number }>();
  private readonly clients = new Map<string, { key: string | undefined; client: OpenAiClient }>();

  constructor(private readonly options: ModelThroughputOptions = {}) {
    this.log = options.log ?? silentLogger;
    this.now = options.now ?? Date.now;
    this.generationTtlMs = options.generationTtlMs ?? 60_000;
    this.timeoutMs = options.timeoutMs ?? 2000;
    this.retryAfterMs = options.retryAfterMs ?? 60_000;
    this.readMetrics = options.readMetrics ?? ((e) => this.defaultRead(e));
  }

  /** The runtimes of the moment (ModelCatalog.list()); ones gone are forgotten. */
  setRuntimes(runtimes: readonly RuntimeInfo[]): void {
    this.runtimes = runtimes;
    const ids = new Set(runtimes.map((r) => r.endpoint.id));
    for (const id of this.scrapes.keys()) if (!ids.has(id)) this.scrapes.delete(id);
    for (const id of this.clients.keys()) if (!ids.has(id)) this.clients.delete(id);
    for (const [k, g] of this.generations) if (!ids.has(g.runtimeId)) this.generations.delete(k);
  }

  /** A generation the extension ran: its rate is reported for generationTtlMs unless the runtime's counters say more. */
  recordGeneration(runtimeId: string, model: string, outputTokens: number, durationMs: number): void {
    if (!(outputTokens > 0) || !(durationMs > 0)) return;
    this.generations.set(modelKey(runtimeId, model), { runtimeId, model, tps: (outputTokens * 1000) / durationMs, at: this.now() });
  }

  /** Forgets counters, so the first read after a pause does not average over the pause. */
  reset(): void {
    for (const s of this.scrapes.values()) {
      s.last = undefined;
      s.rates.clear();
      s.promptRates.clear();
    }
  }

  /** Reads the counters of every runtime that serves them (at most one read per runtime in flight) and answers the rates. */
  async sample(): Promise<ModelRate[]> {
    const reads: Promise<void>[] = [];
    for (const r of this.runtimes) {
      if (!servesTokenMetrics(r.endpoint)) continue;
      let s = this.scrapes.get(r.endpoint.id);
      if (!s) this.scrapes.set(r.endpoint.id, (s = { rates: new Map(), promptRates: new Map() }));
      if (s.inFlight || (s.quietUntil !== undefined && this.now() < s.quietUntil)) continue;
      const p = this.scrape(r, s).finally(() => (s.inFlight = undefined));
      s.inFlight = p;
      reads.push(p);
    }
    if (reads.length) {
      // A slow runtime must not hold the tick: its read goes on, and its rate lands in a later tick.
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([Promise.all(reads), new Promise<void>((resolve) => (timer = setTimeout(resolve, this.timeoutMs)))]);
      clearTimeout(timer);
    }
    return this.rates();
  }

  /** The rates known now, without reading anything. */
  rates(): ModelRate[] {
    const out = new Map<string, ModelRate>();
    const names = new Map(this.runtimes.map((r) => [r.endpoint.id, r.endpoint.name]));
    for (const [id, s] of this.scrapes) {
      for (const [model, tps] of s.rates) {
        out.set(modelKey(id, model), { runtimeId: id, runtimeName: names.get(id) ?? id, model, tokensPerSecond: tps, promptTokensPerSecond: s.promptRates.get(model), source: 'metrics' });
      }
    }
    const now = this.now();
    for (const [k, g] of this.generations) {
      if (now - g.at > this.generationTtlMs) {
        this.generations.delete(k);
        continue;
      }
      if (!out.has(k)) out.set(k, { runtimeId: g.runtimeId, runtimeName: names.get(g.runtimeId) ?? g.runtimeId, model: g.model, tokensPerSecond: g.tps, source: 'generation' });
    }
    return [...out.values()];
  }

  private async scrape(r: RuntimeInfo, s: Scrape): Promise<void> {
    const id = r.endpoint.id;
    let metrics: ReadonlyMap<string, number> | undefined;
    try {
      metrics = await this.readMetrics(r.endpoint);
    } catch (e) {
      s.rates.clear();
      s.promptRates.clear();
      s.last = undefined;
      s.quietUntil = this.now() + Math.min(this.retryAfterMs, 10_000);
      if (!s.warned) {
        s.warned = true;
        this.log.warn(`Reading the metrics of ${r.endpoint.name} failed (${errorMessage(e)}); its tokens/s chart shows a gap.`);
      }
      return;
    }
    s.warned = false;
    if (!this.scrapes.has(id)) return;
    if (!metrics) {
      s.rates.clear();
      s.promptRates.clear();
      s.last = undefined;
      s.quietUntil = this.now() + this.retryAfterMs;
      this.log.debug(`${r.endpoint.name} serves no /metrics (llama.cpp needs --metrics); tokens/s comes from generations run here only.`);
      return;
    }
    s.quietUntil = undefined;
    const at = this.now();
    const served = r.models[0]?.name ?? r.endpoint.name;
    const counters = generatedTokens(metrics, served);
    const totals = new Map<string, number>();
    const prev = s.last;
    s.rates.clear();
    s.promptRates.clear();
    for (const [model, c] of counters) {
      if (c.total !== undefined) totals.set(model, c.total);
      const before = prev?.totals.get(model);
      const delta = c.total !== undefined && before !== undefined && prev && at > prev.at && c.total >= before ? ((c.total - before) * 1000) / (at - prev.at) : undefined;
      // The gauge covers what was generated since the previous read (of anyone's): after a pause
      // (no previous read of ours) it would average over the pause, so it waits for a second read.
      // A gauge of 0 while the counter moved means another scraper emptied the bucket: the counter then.
      const gauge = prev && c.rate !== undefined && !(c.rate === 0 && delta) ? c.rate : undefined;
      const rate = gauge ?? delta ?? (c.total === undefined ? c.rate : undefined);
      if (rate !== undefined) s.rates.set(model, rate);
      if (prev && c.promptRate !== undefined) s.promptRates.set(model, c.promptRate);
    }
    s.last = { at, totals };
  }

  private defaultRead(endpoint: RuntimeEndpoint): Promise<ReadonlyMap<string, number> | undefined> {
    const get = async () => {
      const key = await this.options.apiKey?.(endpoint);
      let c = this.clients.get(endpoint.id);
      if (!c || c.key !== key) {
        c = { key, client: new OpenAiClient(endpoint.baseUrl, { apiKey: key, timeoutMs: this.timeoutMs, displayName: endpoint.name }) };
        this.clients.set(endpoint.id, c);
      }
      return c.client.metrics();
    };
    return get();
  }
}
