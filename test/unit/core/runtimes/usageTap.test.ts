// What the gateway reads from a generation's answer as it streams past. The answers below have the
// shapes the servers send:
// - Ollama: GenerateResponse / ChatResponse with Metrics (prompt_eval_count, eval_count) on the
//   final object (done: true), NDJSON when streaming; ollama/ollama api/types.go at
//   b8761ab020a91873a4f27e6008deeace9b2d101f.
// - OpenAI-compatible (vLLM, llama.cpp's server): UsageInfo (prompt_tokens, completion_tokens) in
//   the JSON answer, or in a last SSE chunk with "choices": [] when stream_options.include_usage is
//   set (continuous_usage_stats puts a running total in every chunk); vllm-project/vllm
//   vllm/entrypoints/openai/protocol.py at ec3b890c14b00f6670515d9df8d503b5270e95ca.
import * as assert from 'node:assert/strict';
import { UsageTap } from '../../../../src/core/runtimes/usageTap';

const body = (o: unknown) => Buffer.from(JSON.stringify(o));
/** Feeds `text` in pieces of `size` bytes (lines split across chunks), at times t0+10, t0+20… */
function feed(tap: UsageTap, text: string, size = 7, t0 = 1000): number {
  let t = t0;
  for (let i = 0; i < text.length; i += size) tap.chunk(Buffer.from(text.slice(i, i + size)), (t += 10));
  return t;
}

describe('usage read from a generation through the gateway (unit)', () => {
  it("Ollama streamed: counts from the final object, time to the first byte", () => {
    const tap = UsageTap.for('/api/generate', body({ model: 'llama3.2:1b', prompt: 'Hi' }), 1000)!;
    const lines = [
      { model: 'llama3.2:1b', created_at: '2026-12-07T00:00:00Z', response: 'Hel', done: false },
      { model: 'llama3.2:1b', created_at: '2026-12-07T00:00:00Z', response: 'lo', done: false },
      { model: 'llama3.2:1b', created_at: '2026-12-07T00:00:01Z', response: '', done: true, done_reason: 'stop', total_duration: 5e8, prompt_eval_count: 26, prompt_eval_duration: 1e8, eval_count: 2, eval_duration: 3e8 },
    ];
    const end = feed(tap, lines.map((l) => JSON.stringify(l)).join('\n') + '\n');
    assert.deepEqual(tap.end(end + 5), { model: 'llama3.2:1b', durationMs: end + 5 - 1000, promptTokens: 26, outputTokens: 2, ttftMs: 10 });
  });

  it('Ollama chat, not streamed: the counts, and no time to first token', () => {
    const tap = UsageTap.for('/api/chat', body({ model: 'qwen3:0.6b', messages: [], stream: false }), 0)!;
    feed(tap, JSON.stringify({ model: 'qwen3:0.6b', message: { role: 'assistant', content: 'Hi' }, done: true, prompt_eval_count: 9, eval_count: 4 }), 1000, 0);
    const u = tap.end(50);
    assert.deepEqual([u.promptTokens, u.outputTokens, u.ttftMs], [9, 4, undefined]);
  });

  it('OpenAI-compatible streamed with include_usage: the usage chunk; without it, the content chunks', () => {
    const sse = (o: unknown) => `data: ${JSON.stringify(o)}\n\n`;
    const chunk = (content: string) => ({ id: 'c', object: 'chat.completion.chunk', model: 'm', choices: [{ index: 0, delta: { content }, finish_reason: null }] });
    const withUsage = UsageTap.for('/v1/chat/completions', body({ model: 'm', messages: [], stream: true, stream_options: { include_usage: true } }), 0)!;
    feed(withUsage, [sse({ ...chunk(''), choices: [{ index: 0, delta: { role: 'assistant' } }] }), sse(chunk('A')), sse(chunk('B')), sse({ id: 'c', object: 'chat.completion.chunk', model: 'm', choices: [], usage: { prompt_tokens: 12, completion_tokens: 2, total_tokens: 14 } }), 'data: [DONE]\n\n'].join(''), 5, 0);
    assert.deepEqual([withUsage.end().promptTokens, withUsage.end().outputTokens], [12, 2]);

    const without = UsageTap.for('/v1/chat/completions', body({ model: 'm', messages: [], stream: true }), 0)!;
    feed(without, [sse(chunk('A')), sse(chunk('B')), sse(chunk('C')), sse({ ...chunk(''), choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] }), 'data: [DONE]\n\n'].join(''), 11, 0);
    const u = without.end();
    assert.deepEqual([u.promptTokens, u.outputTokens, u.ttftMs], [undefined, 3, 10]);

    // continuous_usage_stats: a running total in every chunk; the last one counts.
    const running = UsageTap.for('/v1/completions', body({ model: 'm', prompt: 'x', stream: true }), 0)!;
    feed(running, [1, 2, 3].map((n) => sse({ choices: [{ index: 0, text: 'x' }], usage: { prompt_tokens: 4, completion_tokens: n } })).join(''), 3, 0);
    assert.equal(running.end().outputTokens, 3);
  });

  it('OpenAI-compatible, not streamed: the usage object (a base path before /v1 is fine)', () => {
    const tap = UsageTap.for('/proxy/v1/completions', body({ model: 'm', prompt: 'x' }), 0)!;
    feed(tap, JSON.stringify({ choices: [{ text: 'abc', index: 0 }], usage: { completion_tokens: 3, prompt_tokens: 2, total_tokens: 5 } }), 64, 0);
    const u = tap.end(100);
    assert.deepEqual([u.promptTokens, u.outputTokens, u.ttftMs, u.durationMs], [2, 3, undefined, 100]);
  });

  it('no tap for routes that do not generate, bodies that are not JSON or name no model', () => {
    assert.equal(UsageTap.for('/api/tags', body({ model: 'm' })), undefined);
    assert.equal(UsageTap.for('/v1/embeddings', body({ model: 'm' })), undefined);
    assert.equal(UsageTap.for('/api/generate', Buffer.from('{"model": ')), undefined);
    assert.equal(UsageTap.for('/api/generate', Buffer.from('model=m')), undefined);
    assert.equal(UsageTap.for('/api/generate', body({ prompt: 'x' })), undefined);
    assert.equal(UsageTap.for('/api/generate', Buffer.alloc(0)), undefined);
  });

  it('stays bounded on hostile answers: garbage lines, numbers that are not counts, a line over 1 MiB', () => {
    const tap = UsageTap.for('/api/generate', body({ model: 'm' }), 0)!;
    feed(tap, 'not json\n{"done": true, "eval_count": -5, "prompt_eval_count": "many"}\n{broken\n', 9, 0);
    tap.chunk(Buffer.alloc(2 * 1024 * 1024, 0x61), 1);
    tap.chunk(Buffer.from('aaaa\n{"done": true, "eval_count": 7, "prompt_eval_count": 3}\n'), 2);
    const u = tap.end(3);
    assert.deepEqual([u.promptTokens, u.outputTokens], [3, 7]);
    // A final line with no newline is read at the end.
    const last = UsageTap.for('/api/generate', body({ model: 'm' }), 0)!;
    last.chunk(Buffer.from('{"done": true, "eval_count": 1, "prompt_eval_count": 1}'), 1);
    assert.equal(last.end(2).outputTokens, 1);
  });
});
