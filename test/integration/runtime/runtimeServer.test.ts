// The test runtime image: the Ollama API over real llama.cpp (node-llama-cpp) in a container built
// from local files, on a generated GGUF model, reached only through a port published on 127.0.0.1.
import * as assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { TestContainers } from '../../support/engine';
import { writeTinyGguf } from '../../support/gguf';
import { buildRuntimeImage, startRuntime } from '../../support/runtime';


// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;

async function json(url: string, init?: RequestInit): Promise<{ status: number; body: Json }> {
  const res = await fetch(url, { ...init, signal: AbortSignal.timeout(60_000) });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined };
}

async function ndjson(url: string, body: unknown): Promise<Json[]> {
  const res = await fetch(url, { method: 'POST', body: JSON.stringify(body), signal: AbortSignal.timeout(120_000) });
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /application\/x-ndjson/);
  return (await res.text()).trim().split('\n').map((l) => JSON.parse(l));
}

describe('test runtime server over real llama.cpp (integration)', function () {
  this.timeout(300_000);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'llmstack-runtime-'));
  const source = path.join(dir, 'source', 'tiny__latest.gguf');
  let base = '';
  const own = new TestContainers();

  before(async () => {
    buildRuntimeImage();
    fs.mkdirSync(path.join(dir, 'source'), { recursive: true });
    writeTinyGguf(source, { name: 'tiny', contextLength: 512 });
    const runtime = await startRuntime(dir);
    own.add(runtime.id);
    base = runtime.base;
  });
  after(async () => {
    await own.removeAll();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('answers /api/version and an empty /api/tags', async () => {
    assert.match((await json(`${base}/api/version`)).body.version, /^\d+\.\d+\.\d+$/);
    assert.deepEqual((await json(`${base}/api/tags`)).body, { models: [] });
  });

  it('pulls from the local model source with streamed progress, and lists the model with its digest', async () => {
    const lines = await ndjson(`${base}/api/pull`, { model: 'tiny' });
    assert.equal(lines[0].status, 'pulling manifest');
    const size = fs.statSync(source).size;
    const progress = lines.filter((l) => typeof l.completed === 'number');
    assert.ok(progress.length >= 1 && progress.every((l) => l.total === size));
    assert.equal(progress[progress.length - 1].completed, size);
    assert.deepEqual(lines.slice(-3).map((l) => l.status), ['verifying sha256 digest', 'writing manifest', 'success']);
    const sha = createHash('sha256').update(fs.readFileSync(source)).digest('hex');
    const tags = (await json(`${base}/api/tags`)).body.models;
    assert.equal(tags.length, 1);
    assert.equal(tags[0].name, 'tiny:latest');
    assert.equal(tags[0].digest, sha);
    assert.equal(tags[0].size, size);
  });

  it('generates tokens with llama.cpp, streamed as NDJSON with Ollama timings, then unloads and loads', async () => {
    // Greedy decoding: this model on this prompt runs past 8 tokens (no end token before 256).
    const lines = await ndjson(`${base}/api/generate`, { model: 'tiny', prompt: 'hello world', options: { num_predict: 8, temperature: 0 } });
    const final = lines[lines.length - 1];
    assert.equal(final.done, true);
    // Tokens, as Ollama counts them, not streamed pieces (a piece holds the byte tokens of one character).
    assert.equal(final.eval_count, 8);
    assert.equal(final.done_reason, 'length');
    assert.ok(final.prompt_eval_count >= 1);
    assert.ok(final.total_duration > 0 && Number.isInteger(final.eval_duration));
    // One line per text piece; Ollama holds back byte tokens until they form a whole UTF-8 character.
    const pieces = lines.filter((l) => !l.done).length;
    assert.ok(pieces >= 1 && pieces <= final.eval_count, `${pieces} pieces for eval_count ${final.eval_count}`);
    const ps = (await json(`${base}/api/ps`)).body.models;
    assert.equal(ps[0]?.name, 'tiny:latest');
    assert.ok(Date.parse(ps[0].expires_at) > Date.now());
    const unload = (await json(`${base}/api/generate`, { method: 'POST', body: JSON.stringify({ model: 'tiny', keep_alive: 0 }) })).body;
    assert.equal(unload.done_reason, 'unload');
    assert.deepEqual((await json(`${base}/api/ps`)).body, { models: [] });
    const load = (await json(`${base}/api/generate`, { method: 'POST', body: JSON.stringify({ model: 'tiny' }) })).body;
    assert.equal(load.done_reason, 'load');
    assert.equal((await json(`${base}/api/ps`)).body.models.length, 1);
  });

  it('answers bad requests with Ollama-style error bodies and status codes', async () => {
    assert.deepEqual(await json(`${base}/api/show`, { method: 'POST', body: JSON.stringify({ model: 'nope' }) }), { status: 404, body: { error: "model 'nope:latest' not found" } });
    const bad = await json(`${base}/api/generate`, { method: 'POST', body: 'not json' });
    assert.equal(bad.status, 400);
    assert.match(bad.body.error, /not JSON/);
    assert.equal((await json(`${base}/api/pull`, { method: 'POST', body: JSON.stringify({ model: 'missing', stream: false }) })).status, 500);
  });

  it("answers llama.cpp's /v1/models, /props, /v1/completions and, without METRICS=1, a 501 for /metrics", async () => {
    const models = (await json(`${base}/v1/models`)).body;
    assert.equal(models.object, 'list');
    assert.deepEqual(
      models.data.map((m: Json) => [m.id, m.object, m.owned_by, m.meta.size, m.meta.n_ctx_train]),
      [['tiny:latest', 'model', 'llamacpp', fs.statSync(source).size, 512]],
    );
    const props = (await json(`${base}/props`)).body;
    assert.equal(props.total_slots, 1);
    assert.equal(props.default_generation_settings.n_ctx, 512);
    assert.equal(props.model_path, '/models/tiny__latest.gguf');
    const c = await json(`${base}/v1/completions`, { method: 'POST', body: JSON.stringify({ model: 'tiny', prompt: 'hello world', max_tokens: 4 }) });
    assert.equal(c.status, 200);
    assert.equal(c.body.object, 'text_completion');
    assert.equal(typeof c.body.choices[0].text, 'string');
    assert.ok(c.body.usage.completion_tokens >= 1 && c.body.usage.completion_tokens <= 4);
    assert.equal(c.body.usage.total_tokens, c.body.usage.prompt_tokens + c.body.usage.completion_tokens);
    assert.deepEqual(await json(`${base}/v1/completions`, { method: 'POST', body: JSON.stringify({ model: 'tiny' }) }), {
      status: 400,
      body: { error: { code: 400, message: '"prompt" must be provided', type: 'invalid_request_error' } },
    });
    assert.deepEqual(await json(`${base}/metrics`), {
      status: 501,
      body: { error: { code: 501, message: 'This server does not support metrics endpoint. Start it with `--metrics`', type: 'not_supported_error' } },
    });
  });

  it('deletes a model, and a second delete is a 404', async () => {
    const res = await fetch(`${base}/api/delete`, { method: 'DELETE', body: JSON.stringify({ model: 'tiny' }), signal: AbortSignal.timeout(30_000) });
    assert.equal(res.status, 200);
    assert.deepEqual((await json(`${base}/api/tags`)).body, { models: [] });
    assert.equal((await fetch(`${base}/api/delete`, { method: 'DELETE', body: JSON.stringify({ model: 'tiny' }), signal: AbortSignal.timeout(30_000) })).status, 404);
  });
});
