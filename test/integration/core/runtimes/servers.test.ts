// What the real servers send, through the real clients: the test runtime (real llama.cpp) run as a
// host process in the modes that imitate a long-running llama-server's /metrics, an Ollama
// thinking model, an Ollama runner that dies in the middle of a stream, and llama-server in
// router mode (several models, each with its own status and load/unload endpoints), and the routes
// by which LocalAI, LM Studio and TGI differ (readiness, model state, server limits, metrics).
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ModelThroughput } from '../../../../src/core/metrics/models';
import { OllamaRuntime, OpenAiRuntime } from '../../../../src/core/runtimes/adapters';
import { CatalogError, ModelCatalog } from '../../../../src/core/runtimes/catalog';
import { RuntimeError } from '../../../../src/core/runtimes/http';
import { OllamaClient } from '../../../../src/core/runtimes/ollama';
import { OpenAiClient } from '../../../../src/core/runtimes/openai';
import { defaultProbe } from '../../../../src/core/runtimes/probes';
import { modelNode, runtimeNode } from '../../../../src/core/runtimes/modelTree';
import { modelInput } from '../../../../src/core/runtimes/registrySync';
import { localServer } from '../../../support/engine';
import { writeTinyGguf } from '../../../support/gguf';
import { type RuntimeProcess, startRuntimeProcess } from '../../../support/runtimeProcess';
import { testEndpoint } from '../../../support/fixtures';


describe('runtime clients on what the real servers send (integration)', function () {
  this.timeout(300_000);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'llmstack-servers-'));
  const procs: RuntimeProcess[] = [];

  /** A runtime process over its own models folder holding the given models, with the given environment. */
  async function start(name: string, models: string[], env: Record<string, string>): Promise<RuntimeProcess> {
    const modelsDir = path.join(dir, name, 'models');
    fs.mkdirSync(modelsDir, { recursive: true });
    for (const m of models) writeTinyGguf(path.join(modelsDir, `${m}.gguf`), { name: m, contextLength: 256 });
    const p = await startRuntimeProcess({ modelsDir, env });
    procs.push(p);
    return p;
  }

  after(async () => {
    await Promise.all(procs.map((p) => p.stop()));
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('tokens/s of a llama-server past ten million tokens: a rate after every generation, not 0, 0, 100 from a 6-digit counter', async () => {
    const rt = await start('metrics', ['tiny__q8'], { METRICS: '1', METRICS_START_TOKENS: '12345678' });
    const text = await (await fetch(`${rt.base}/metrics`)).text();
    // As llama.cpp prints it: a C++ double with 6 significant digits.
    assert.match(text, /^llamacpp:tokens_predicted_total 1\.23457e\+07$/m);
    const client = new OpenAiClient(rt.base);
    const ep = testEndpoint('llamacpp', rt.base);
    const throughput = new ModelThroughput({ timeoutMs: 10_000 });
    throughput.setRuntimes([{ endpoint: ep, models: [{ name: 'tiny:q8' }] }]);
    assert.deepEqual(await throughput.sample(), [], 'a first read only starts the count');
    // llama.cpp keeps the bucket's time in whole milliseconds, so a generation faster than 1 ms
    // (a couple of tokens of this tiny model on one thread) gives inf: generations here are long
    // enough to take a few milliseconds, and those that stopped early (an end token) are left out.
    const seen: number[] = [];
    for (let i = 0; i < 3; i++) {
      const c = await client.complete('tiny:q8', 'hello world', { maxTokens: 48 });
      assert.ok(c.completionTokens! >= 1);
      const [rate] = await throughput.sample();
      if (c.completionTokens! >= 8) seen.push(rate?.tokensPerSecond ?? NaN);
    }
    assert.ok(seen.length > 0, 'at least one generation of 8 tokens or more');
    assert.ok(
      seen.every((r) => Number.isFinite(r) && r > 0),
      `each sample after a generation shows its rate (${seen.join(', ')} tokens/s)`,
    );
    const [idle] = await throughput.sample();
    assert.equal(idle?.tokensPerSecond, 0, 'nothing generated since the last read: 0');
  });

  it('an Ollama thinking model: the reasoning comes apart from the answer, even when the budget ends inside it', async () => {
    const rt = await start('thinking', ['tiny__latest'], { THINKING: '1', THINK_TOKENS: '2' });
    const runtime = new OllamaRuntime(testEndpoint('ollama', rt.base));
    const short = await runtime.generate('tiny', 'why is the sky blue?', { maxTokens: 2 });
    assert.ok(short.thinking && short.thinking.length > 0, 'the tokens went to thinking, and they are returned');
    assert.equal(short.text, '', 'no answer yet');
    const longer = await runtime.generate('tiny', 'why is the sky blue?', { maxTokens: 4 });
    assert.ok(longer.thinking, 'thinking first');
    // Random weights may sample the end token early; past the thinking tokens the rest is the answer.
    if (longer.outputTokens! > 2) assert.ok(longer.text.length > 0, `thinking "${longer.thinking}" and answer "${longer.text}"`);
    // think: false turns it off, as Ollama does for a model with the capability.
    const plain = await new OllamaClient(rt.base).generate('tiny', 'hi', { maxTokens: 2, think: false });
    assert.equal(plain.thinking, undefined);
    assert.ok(plain.text.length > 0);
  });

  it('asking a model without the thinking capability to think is refused with Ollama\'s message', async () => {
    const rt = await start('nothinking', ['tiny__latest'], {});
    await assert.rejects(new OllamaClient(rt.base).generate('tiny', 'hi', { maxTokens: 1, think: true }), (e: unknown) => e instanceof RuntimeError && /"tiny:latest" does not support thinking/.test(e.message));
  });

  it("a generation and a pull that fail mid-stream report the runtime's own message, not an unexpected line", async () => {
    const rt = await start('midstream', ['tiny__latest'], { FAIL_MIDSTREAM_AFTER: '1' });
    writeTinyGguf(path.join(dir, 'midstream', 'source', 'other__latest.gguf'), { name: 'other', contextLength: 256 });
    const client = new OllamaClient(rt.base);
    const chunks: string[] = [];
    await assert.rejects(
      client.generate('tiny', 'hello', { maxTokens: 4, onText: (t) => chunks.push(t) }),
      (e: unknown) => e instanceof RuntimeError && e.kind === 'runtime' && e.message === 'Generating with tiny failed: an error was encountered while running the model: unexpected EOF',
    );
    assert.equal(chunks.length, 1, 'the line before the failure was delivered');
    const progress: number[] = [];
    await assert.rejects(
      client.pull('other', (p) => p.completed !== undefined && progress.push(p.completed)),
      (e: unknown) => e instanceof RuntimeError && /^Pulling other failed: max retries exceeded: /.test(e.message),
    );
    assert.equal(progress.length, 1);
  });

  it('a llama.cpp router: real status per model, no context length of 0, loads and unloads through its own endpoints', async () => {
    const rt = await start('router', ['tiny__q8', 'small__q4'], { MODE: 'llamacpp-router', ROUTER_LOAD_DELAY_MS: '300' });
    const ep = testEndpoint('llamacpp', rt.base);
    const catalog = new ModelCatalog();
    try {
      catalog.setEndpoints([ep]);
      await catalog.waitFor((c) => c.get(ep.id)?.status === 'ok', 60_000);
      let state = catalog.get(ep.id)!;
      assert.deepEqual(
        state.models.map((m) => [m.name, !!m.loaded, m.contextLength]),
        [
          ['small:q4', false, undefined],
          ['tiny:q8', false, undefined],
        ],
      );
      assert.equal(modelInput(state.models[0]!).contextLength, null, 'unknown is stored as unknown, not 0');
      assert.deepEqual(state.capabilities && [state.capabilities.load, state.capabilities.unload], [true, true]);

      await catalog.load(ep.id, 'tiny:q8');
      state = catalog.get(ep.id)!;
      const tiny = state.models.find((m) => m.name === 'tiny:q8')!;
      assert.ok(tiny.loaded, 'loaded once the router says so');
      assert.equal(tiny.contextLength, 256, "the loaded model's own context, from /props?model=");
      assert.equal(state.models.find((m) => m.name === 'small:q4')!.loaded, undefined);

      await catalog.unload(ep.id, 'tiny:q8');
      assert.equal(catalog.get(ep.id)!.models.find((m) => m.name === 'tiny:q8')!.loaded, undefined);
      await assert.rejects(catalog.load(ep.id, 'nope'), (e: unknown) => e instanceof RuntimeError && /Loading nope failed: model is not found/.test(e.message));
    } finally {
      catalog.dispose();
    }
    // A single-model llama-server has no such endpoints: load stays unsupported there.
    const single = await start('single', ['tiny__q8'], {});
    const plain = new OpenAiRuntime(testEndpoint('llamacpp', single.base));
    const listing = await plain.list();
    assert.equal(plain.capabilities.load, false);
    assert.equal(listing.models[0]!.contextLength, 256);
    assert.ok(listing.models[0]!.loaded);
    const c2 = new ModelCatalog();
    try {
      c2.setEndpoints([testEndpoint('llamacpp', single.base)]);
      await c2.waitFor((c) => c.get(`llamacpp@${single.base}`)?.status === 'ok', 60_000);
      await assert.rejects(c2.load(`llamacpp@${single.base}`, 'tiny:q8'), (e: unknown) => e instanceof CatalogError && e.kind === 'unsupported');
    } finally {
      c2.dispose();
    }
  });

  it('LocalAI: health says "loading" while /readyz answers 503, though /v1/models already answers; ok once ready', async () => {
    const ready = path.join(dir, 'localai-ready');
    const rt = await start('localai', ['tiny__q8'], { FLAVOR: 'localai', READY_FILE: ready });
    const client = new OpenAiClient(rt.base);
    assert.equal((await client.models()).length, 1);
    assert.deepEqual(await client.health('localai'), { status: 'loading', detail: 'starting (GET /readyz answers 503)' });
    assert.deepEqual(await defaultProbe(testEndpoint('localai', rt.base), { timeoutMs: 5000 }), { ok: true, detail: 'starting (GET /readyz answers 503)' });
    fs.writeFileSync(ready, '');
    assert.deepEqual(await client.health('localai'), { status: 'ok' });
  });

  it('LM Studio: which models are loaded and their context lengths, from /api/v0/models', async () => {
    const rt = await start('lmstudio', ['tiny__q8', 'small__q4'], { FLAVOR: 'lmstudio' });
    // LM Studio loads a model when it is first used.
    await new OpenAiClient(rt.base).complete('tiny:q8', 'hi', { maxTokens: 1 });
    const catalog = new ModelCatalog();
    try {
      const ep = testEndpoint('lmstudio', rt.base);
      catalog.setEndpoints([ep]);
      await catalog.waitFor((c) => c.get(ep.id)?.status === 'ok', 60_000);
      const state = catalog.get(ep.id)!;
      assert.deepEqual(
        state.models.map((m) => [m.name, m.loaded, m.contextLength, m.quantization]),
        [
          ['small:q4', undefined, 256, 'F32'],
          ['tiny:q8', { contextLength: 256 }, 256, 'F32'],
        ],
      );
      const times = { lastUsed: () => undefined };
      assert.match(runtimeNode(state, {}, times, Date.now()).description, /2 models · 1 loaded$/);
      assert.match(modelNode(state, state.models[1]!, times, Date.now()).description, /\bloaded\b/);
    } finally {
      catalog.dispose();
    }
  });

  it('TGI: version and token limits from /info, context length from max_total_tokens, tokens/s from its tgi_* metrics', async () => {
    const rt = await start('tgi', ['tiny__q8'], { FLAVOR: 'tgi' });
    const ep = testEndpoint('tgi', rt.base);
    const listing = await new OpenAiRuntime(ep).list();
    assert.equal(listing.version, '2.0.4');
    assert.deepEqual(listing.info, [
      ['Model', 'tiny:q8'],
      ['Max total tokens', '256'],
      ['Max input tokens', '255'],
      ['Max concurrent requests', '128'],
    ]);
    assert.equal(listing.models[0]!.contextLength, 256);
    const throughput = new ModelThroughput({ timeoutMs: 10_000 });
    throughput.setRuntimes([{ endpoint: ep, models: [{ name: 'tiny:q8' }] }]);
    assert.deepEqual(await throughput.sample(), []);
    await new OpenAiClient(rt.base).complete('tiny:q8', 'hello', { maxTokens: 2 });
    const [rate] = await throughput.sample();
    assert.ok(rate && rate.tokensPerSecond > 0, `tokens/s ${rate?.tokensPerSecond}`);
  });
});

describe('runtime clients on the failure answers of those servers (integration)', function () {
  this.timeout(30_000);
  const servers: { close: () => Promise<void> }[] = [];
  after(() => Promise.all(servers.map((s) => s.close())));

  /** A local server answering "METHOD path" from a table, in the shapes the upstream files above name. */
  async function serve(table: Record<string, () => [number, string]>): Promise<string> {
    const s = await localServer((q, r) => {
      const [status, body] = table[`${q.method} ${q.url}`]?.() ?? [404, '{"message":"Not Found"}'];
      r.writeHead(status, { 'content-type': 'application/json' });
      r.end(body);
    });
    servers.push(s);
    return `http://127.0.0.1:${s.port}`;
  }

  it('LocalAI before /readyz existed counts as up when /v1/models answers; a /readyz failing otherwise is unavailable', async () => {
    const models = (): [number, string] => [200, '{"object":"list","data":[{"id":"m","object":"model"}]}'];
    const old = await serve({ 'GET /v1/models': models });
    assert.deepEqual(await new OpenAiClient(old).health('localai'), { status: 'ok', detail: 'no /health endpoint; /v1/models answered' });
    const broken = await serve({ 'GET /readyz': () => [500, '{"error":{"code":500,"message":"backend crashed","type":""}}'], 'GET /v1/models': models });
    assert.deepEqual(await new OpenAiClient(broken).health('localai'), { status: 'unavailable', detail: 'backend crashed' });
  });

  it('a llama.cpp router whose model fails to load: the load says so with the exit code, and the listing marks it failed', async () => {
    // server-models.cpp: a child that exits while loading leaves status unloaded with failed and exit_code.
    let status = '{"value":"unloaded","args":[]}';
    const base = await serve({
      'GET /v1/models': () => [200, `{"data":[{"id":"big","object":"model","owned_by":"llamacpp","created":1,"status":${status}}],"object":"list"}`],
      'GET /props': () => [200, '{"role":"router","model_path":"none","default_generation_settings":{"params":{},"n_ctx":0}}'],
      'POST /models/load': () => {
        status = '{"value":"unloaded","args":[],"exit_code":1,"failed":true}';
        return [200, '{"success":true}'];
      },
    });
    const runtime = new OpenAiRuntime(testEndpoint('llamacpp', base));
    assert.equal((await runtime.list()).models[0]!.status, undefined);
    await assert.rejects(runtime.load('big'), (e: unknown) => e instanceof RuntimeError && /Loading big failed: llamacpp-test reports it failed \(exit code 1\)/.test(e.message));
    const m = (await runtime.list()).models[0]!;
    assert.deepEqual(m.status, { value: 'failed', failed: true, detail: 'its process exited with code 1' });
  });

  it('a router model that stays "loading" past the bound is a timeout, not a hang', async () => {
    const base = await serve({
      'GET /v1/models': () => [200, '{"data":[{"id":"slow","object":"model","status":{"value":"loading","args":[]}}],"object":"list"}'],
      'POST /models/load': () => [200, '{"success":true}'],
    });
    const runtime = new OpenAiRuntime(testEndpoint('llamacpp', base), { idleTimeoutMs: 600 });
    await assert.rejects(runtime.load('slow'), (e: unknown) => e instanceof RuntimeError && e.kind === 'timeout' && /slow did not load within 1 s .*\(still loading\)/.test(e.message));
  });
});
