// Reads what a generation cost from a runtime's answer as it streams past (the gateway forwards it
// unchanged): Ollama's final object (prompt_eval_count, eval_count, in NDJSON or one JSON), an
// OpenAI-compatible answer's usage (in the JSON, or in the last SSE chunk when the caller asked for
// stream_options.include_usage; otherwise the content chunks are counted), and the time to the first
// streamed byte. Bounded: one line at a time, at most 1 MiB of it, nothing else kept.
import type { UsageDetail } from './catalog';

const MAX_LINE = 1024 * 1024;

type Api = 'ollama' | 'openai';

/** The generation routes whose answers carry token counts, by the runtime's own path. */
function apiOf(path: string): Api | undefined {
  if (/\/api\/(generate|chat)$/.test(path)) return 'ollama';
  if (/\/v1\/(chat\/)?completions$/.test(path)) return 'openai';
  return undefined;
}

export interface GenerationUsage extends UsageDetail {
  readonly model: string;
}

export class UsageTap {
  private partial = '';
  private skipping = false;
  private firstByteAt: number | undefined;
  private promptTokens: number | undefined;
  private outputTokens: number | undefined;
  private chunks = 0;

  private constructor(
    private readonly api: Api,
    private readonly model: string,
    private readonly streamed: boolean,
    private readonly startedAt: number,
  ) {}

  /**
   * A tap for a request to `path` with JSON `body`, or undefined when the route is not a generation
   * (or names no model).
   */
  static for(path: string, body: Buffer, startedAt = performance.now()): UsageTap | undefined {
    const api = apiOf(path);
    if (!api || !body.length || body[0] !== 0x7b) return undefined;
    let o: { model?: unknown; stream?: unknown };
    try {
      o = JSON.parse(body.toString('utf8')) as typeof o;
    } catch {
      return undefined;
    }
    if (typeof o.model !== 'string') return undefined;
    // Ollama streams unless told not to; an OpenAI-compatible server only when told to.
    const streamed = api === 'ollama' ? o.stream !== false : o.stream === true;
    return new UsageTap(api, o.model, streamed, startedAt);
  }

  chunk(c: Buffer, now = performance.now()): void {
    this.firstByteAt ??= now;
    const text = this.partial + c.toString('utf8');
    const lines = text.split('\n');
    this.partial = lines.pop() ?? '';
    for (const l of lines) this.line(l);
    if (this.partial.length > MAX_LINE) {
      // A line this long is not one to read counts from (a non-streamed answer is read at the end).
      this.partial = '';
      this.skipping = true;
    }
  }

  private line(raw: string): void {
    if (this.skipping) {
      this.skipping = false;
      return;
    }
    let l = raw.trim();
    if (this.api === 'openai') {
      if (!l.startsWith('data:') && this.streamed) return;
      l = l.replace(/^data:\s*/, '');
      if (l === '[DONE]') return;
    }
    if (!l.startsWith('{')) return;
    let o: Record<string, unknown>;
    try {
      o = JSON.parse(l) as Record<string, unknown>;
    } catch {
      return;
    }
    const num = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) && v >= 0 ? v : undefined);
    if (this.api === 'ollama') {
      if (o.done === true) {
        this.promptTokens = num(o.prompt_eval_count) ?? this.promptTokens;
        this.outputTokens = num(o.eval_count) ?? this.outputTokens;
      }
      return;
    }
    const usage = o.usage as { prompt_tokens?: unknown; completion_tokens?: unknown } | null | undefined;
    if (usage && typeof usage === 'object') {
      this.promptTokens = num(usage.prompt_tokens) ?? this.promptTokens;
      this.outputTokens = num(usage.completion_tokens) ?? this.outputTokens;
    }
    const choices = o.choices as { delta?: { content?: unknown }; text?: unknown }[] | undefined;
    if (this.streamed && Array.isArray(choices) && choices.some((ch) => (typeof ch?.delta?.content === 'string' && ch.delta.content) || (typeof ch?.text === 'string' && ch.text))) this.chunks++;
  }

  /** What the generation cost, once the answer has ended. */
  end(now = performance.now()): GenerationUsage {
    if (this.partial) this.line(this.partial);
    this.partial = '';
    return {
      model: this.model,
      durationMs: now - this.startedAt,
      promptTokens: this.promptTokens,
      // Without a usage object, each streamed content chunk is one token (as the servers send them).
      outputTokens: this.outputTokens ?? (this.chunks || undefined),
      ttftMs: this.streamed && this.firstByteAt !== undefined ? this.firstByteAt - this.startedAt : undefined,
    };
  }
}
