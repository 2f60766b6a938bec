// The OpenAI-compatible client against the real test runtime (llama.cpp in a container, with
// metrics and an API key as llama.cpp's --metrics and --api-key give), and against local servers
// that answer as vLLM, LM Studio and TGI do, or break: HTML, malformed JSON, hangs, refused ports.
import * as assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import type * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import { metricValue, OpenAiClient, RuntimeError } from '../../../../src/core/runtimes/openai';
import { localServer, TestContainers } from '../../../support/engine';
import { tinyParameterCount, writeTinyGguf } from '../../../support/gguf';
import { buildRuntimeImage, startRuntime } from '../../../support/runtime';
import { freePort } from '../../../support/net';

const isRuntimeError = (kind: RuntimeError['kind'], re?: RegExp) => (e: unknown) => e instanceof RuntimeError && e.kind === kind && (!re || re.test(e.message));

/** A local server that answers each path from a table: [status, body, content-type?]. */
async function routes(table: Record<string, [number, string, string?]>, seen?: http.IncomingMessage[]) {
  const srv = await localServer((q, r) => {
    seen?.push(q);
    const [status, body, type] = table[`${q.method} ${q.url}`] ?? [404, '{"detail":"Not Found"}'];
    r.writeHead(status, { 'content-type': type ?? 'application/json' });
    r.end(body);
  });
  return { ...srv, url: srv.url.replace('tcp:', 'http:') };
}

describe('OpenAI-compatible client on the real test runtime (integration)', function () {
  this.timeout(300_000);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'llmstack-openai-'));
  const plainDir = fs.mkdtempSync(path.join(os.tmpdir(), 'llmstack-openai-plain-'));
  const key = `sk-test-${randomBytes(8).toString('hex')}`;
  const own = new TestContainers();
  const model = { name: 'tiny', contextLength: 256 };
  let base = '';
  let plainBase = '';
  let client: OpenAiClient;

  before(async () => {
    buildRuntimeImage();
    for (const d of [dir, plainDir]) {
      fs.mkdirSync(path.join(d, 'models'), { recursive: true });
      writeTinyGguf(path.join(d, 'models', 'tiny__q8.gguf'), model);
    }
    [base, plainBase] = (await Promise.all([startRuntime(dir, ['METRICS=1', `API_KEY=${key}`], own), startRuntime(plainDir, [], own)])).map((r) => r.base);
    client = new OpenAiClient(base, { apiKey: `${key}\n`, displayName: 'llama.cpp server' });
  });
  after(async () => {
    await own.removeAll();
    fs.rmSync(dir, { recursive: true, force: true });
    fs.rmSync(plainDir, { recursive: true, force: true });
  });

  it('reports health, lists the model with llama.cpp meta read from the GGUF, and reads /props', async () => {
    assert.deepEqual(await client.health(), { status: 'ok' });
    const size = fs.statSync(path.join(dir, 'models', 'tiny__q8.gguf')).size;
    const models = await client.models();
    assert.equal(models.length, 1);
    assert.equal(models[0]!.id, 'tiny:q8');
    assert.equal(models[0]!.owned_by, 'llamacpp');
    assert.equal(models[0]!.meta?.size, size);
    assert.equal(models[0]!.meta?.n_ctx_train, 256);
    assert.equal(models[0]!.meta?.n_params, tinyParameterCount(model));
    const props = await client.props();
    assert.equal(props?.default_generation_settings?.n_ctx, 256);
    assert.equal(props?.total_slots, 1);
    assert.match(props?.model_path ?? '', /tiny__q8\.gguf$/);
    assert.match(props?.build_info ?? '', /\S/);
  });

  it('generates real text with token counts, and the metrics count it', async () => {
    const before = await client.metrics();
    assert.ok(before, 'metrics are on');
    const c = await client.complete('tiny:q8', 'hello world', { maxTokens: 6 });
    assert.ok(c.completionTokens! >= 1 && c.completionTokens! <= 6, `completion tokens ${c.completionTokens}`);
    assert.ok(c.text.length > 0);
    assert.ok(c.promptTokens! >= 1);
    assert.ok(c.durationMs >= 0);
    assert.match(c.finishReason ?? '', /^(length|stop)$/);
    const after = (await client.metrics())!;
    assert.equal(metricValue(after, 'llamacpp:tokens_predicted_total')! - metricValue(before, 'llamacpp:tokens_predicted_total')!, c.completionTokens);
    assert.equal(metricValue(after, 'llamacpp:prompt_tokens_total')! - metricValue(before, 'llamacpp:prompt_tokens_total')!, c.promptTokens);
    assert.equal(metricValue(after, 'llamacpp:requests_processing'), 0);
    assert.equal(metricValue(after, 'llamacpp:requests_deferred'), 0);
    assert.ok(metricValue(after, 'llamacpp:n_decode_total')! > metricValue(before, 'llamacpp:n_decode_total')!);
    await assert.rejects(client.complete('nope', 'x', { maxTokens: 2 }), isRuntimeError('not-found', /Generating with nope failed: model 'nope' not found/));
  });

  it('streams a completion: each piece as it comes, then the usage and llama.cpp timings of the last chunk', async () => {
    const before = (await client.metrics())!;
    const pieces: { text: string; at: number }[] = [];
    const t0 = performance.now();
    const c = await client.stream('tiny:q8', 'hello world', { maxTokens: 8, onText: (text) => pieces.push({ text, at: performance.now() - t0 }) });
    assert.ok(pieces.length >= 1, 'at least one piece streamed');
    assert.equal(pieces.map((p) => p.text).join(''), c.text);
    assert.ok(pieces[0].at <= c.durationMs, 'the first piece came before the end');
    assert.ok(c.completionTokens! >= 1 && c.completionTokens! <= 8);
    assert.ok(c.promptTokens! >= 1);
    assert.ok(c.promptMs! >= 0 && c.generationMs! >= 0, 'timings read from the final chunk');
    assert.match(c.finishReason ?? '', /^(length|stop)$/);
    const after = (await client.metrics())!;
    assert.equal(metricValue(after, 'llamacpp:tokens_predicted_total')! - metricValue(before, 'llamacpp:tokens_predicted_total')!, c.completionTokens);
    await assert.rejects(client.stream('nope', 'x', { maxTokens: 2 }), isRuntimeError('not-found', /model 'nope' not found/));
  });

  it('names a missing or wrong API key as unauthorized, and never puts the key in the message', async () => {
    const none = new OpenAiClient(base);
    const wrong = new OpenAiClient(base, { apiKey: `${key}-wrong` });
    await assert.rejects(none.props(), isRuntimeError('unauthorized', /rejected the request \(HTTP 401: Invalid API Key\): it needs an API key and none is set\. Set it with 'LLM Stack: Set Runtime API Key…'/));
    await assert.rejects(none.metrics(), isRuntimeError('unauthorized'));
    for (const call of [() => wrong.complete('tiny:q8', 'hi', { maxTokens: 2 }), () => wrong.props(), () => wrong.metrics()]) {
      await assert.rejects(call(), (e: unknown) => isRuntimeError('unauthorized', /the API key is wrong/)(e) && !(e as Error).message.includes(key));
    }
    // As llama.cpp does, /health and /v1/models answer without a key.
    assert.deepEqual(await none.health(), { status: 'ok' });
    assert.equal((await wrong.models()).length, 1);
  });

  it('answers undefined for metrics when the server runs without --metrics, and needs no key there', async () => {
    const plain = new OpenAiClient(plainBase);
    assert.equal(await plain.metrics(), undefined);
    assert.equal((await plain.props())?.total_slots, 1);
    const c = await plain.complete('tiny:q8', 'once upon', { maxTokens: 3 });
    assert.ok(c.completionTokens! >= 1 && c.completionTokens! <= 3);
  });
});

describe('OpenAI-compatible client on other servers and broken endpoints (integration)', function () {
  this.timeout(60_000);

  it('reads health as llama.cpp (loading), vLLM (empty 200), LM Studio (no /health) and a failing server give it', async () => {
    const models = '{"object":"list","data":[{"id":"m","object":"model"}]}';
    const loading = await routes({ 'GET /health': [503, '{"error":{"code":503,"message":"Loading model","type":"unavailable_error"}}'] });
    const oldLoading = await routes({ 'GET /health': [503, '{"status":"loading model"}'] });
    const vllm = await routes({ 'GET /health': [200, ''] });
    const noHealth = await routes({ 'GET /v1/models': [200, models] });
    const lmStudio = await routes({ 'GET /health': [200, '{"error":"Unexpected endpoint or method. (GET /health)"}'], 'GET /v1/models': [200, models] });
    const failing = await routes({ 'GET /health': [500, '{"error":"CUDA out of memory"}'] });
    const proxy = await routes({ 'GET /health': [502, '<html><body>Bad gateway</body></html>', 'text/html'] });
    try {
      assert.deepEqual(await new OpenAiClient(loading.url).health(), { status: 'loading', detail: 'Loading model' });
      assert.deepEqual(await new OpenAiClient(oldLoading.url).health(), { status: 'loading', detail: 'loading model' });
      assert.deepEqual(await new OpenAiClient(vllm.url).health(), { status: 'ok' });
      assert.equal((await new OpenAiClient(noHealth.url).health()).status, 'ok');
      assert.equal((await new OpenAiClient(lmStudio.url).health()).status, 'ok');
      assert.deepEqual(await new OpenAiClient(failing.url).health(), { status: 'unavailable', detail: 'CUDA out of memory' });
      assert.deepEqual(await new OpenAiClient(proxy.url).health(), { status: 'unavailable', detail: 'HTTP 502 with an HTML page' });
    } finally {
      await Promise.all([loading, oldLoading, vllm, noHealth, lmStudio, failing, proxy].map((s) => s.close()));
    }
  });

  it('reads model lists of vLLM and TGI, and answers undefined where /props and /metrics do not exist', async () => {
    const vllm = await routes({
      'GET /v1/models': [200, '{"object":"list","data":[{"id":"Qwen/Qwen2.5-0.5B","object":"model","created":1,"owned_by":"vllm","root":"Qwen/Qwen2.5-0.5B","parent":null,"max_model_len":32768,"permission":[]}]}'],
      'GET /metrics': [200, '# HELP vllm:num_requests_running x\n# TYPE vllm:num_requests_running gauge\nvllm:num_requests_running{model_name="Qwen/Qwen2.5-0.5B"} 2.0\n', 'text/plain'],
    });
    const tgi = await routes({ 'GET /v1/models': [200, '{"id":"tgi-model","object":"model","created":0,"owned_by":"tgi"}'] });
    const llama = await routes({
      'GET /v1/models': [200, '{"object":"list","data":[{"id":"m.gguf","object":"model","created":1,"owned_by":"llamacpp","meta":null}]}'],
      'GET /metrics': [501, '{"error":{"code":501,"message":"This server does not support metrics endpoint. Start it with `--metrics`","type":"not_supported_error"}}'],
    });
    const lmStudio = await routes({ 'GET /props': [200, '{"error":"Unexpected endpoint or method. (GET /props)"}'], 'GET /metrics': [200, '{"error":"Unexpected endpoint or method. (GET /metrics)"}'] });
    try {
      const v = new OpenAiClient(vllm.url);
      const [m] = await v.models();
      assert.equal(m!.max_model_len, 32768);
      assert.equal(m!.root, 'Qwen/Qwen2.5-0.5B');
      assert.equal(await v.props(), undefined);
      assert.equal(metricValue((await v.metrics())!, 'vllm:num_requests_running'), 2);
      assert.deepEqual((await new OpenAiClient(tgi.url).models()).map((x) => x.id), ['tgi-model']);
      const l = new OpenAiClient(llama.url);
      assert.equal((await l.models())[0]!.meta, undefined, 'null meta (model loading) reads as undefined');
      assert.equal(await l.metrics(), undefined);
      const s = new OpenAiClient(lmStudio.url);
      assert.equal(await s.props(), undefined);
      assert.equal(await s.metrics(), undefined);
    } finally {
      await Promise.all([vllm, tgi, llama, lmStudio].map((x) => x.close()));
    }
  });

  it('sends the key as a bearer token only when one is set, and refuses a key no header can carry', async () => {
    const seen: http.IncomingMessage[] = [];
    const srv = await routes({ 'GET /v1/models': [200, '{"data":[]}'] }, seen);
    try {
      await new OpenAiClient(srv.url, { apiKey: '  sk-abc  ' }).models();
      await new OpenAiClient(srv.url).models();
      await new OpenAiClient(srv.url, { apiKey: '   ' }).models();
      assert.deepEqual(seen.map((q) => q.headers.authorization), ['Bearer sk-abc', undefined, undefined]);
      const secret = 'sk-line\nbreak';
      await assert.rejects(new OpenAiClient(srv.url, { apiKey: secret }).models(), (e: unknown) => isRuntimeError('unauthorized', /cannot carry/)(e) && !(e as Error).message.includes('sk-line'));
      assert.equal(seen.length, 3, 'nothing was sent with the bad key');
    } finally {
      await srv.close();
    }
  });

  it('takes the message out of OpenAI, plain, vLLM and FastAPI error bodies', async () => {
    const srv = await routes({
      'POST /v1/completions': [404, '{"error":{"message":"The model `gpt-x` does not exist","type":"invalid_request_error","code":"model_not_found"}}'],
      'GET /v1/models': [500, '{"error":"model runner crashed"}'],
      'GET /props': [400, '{"object":"error","message":"bad props request","type":"BadRequestError","param":null,"code":400}'],
      'GET /metrics': [422, '{"detail":[{"loc":["query"],"msg":"field required","type":"missing"}]}'],
    });
    const proxy401 = await routes({ 'GET /v1/models': [401, '<html><body>401 Authorization Required</body></html>', 'text/html'] });
    const forbidden = await routes({ 'GET /v1/models': [403, '{"error":{"message":"Forbidden","type":"permission_error"}}'] });
    try {
      const c = new OpenAiClient(srv.url, { apiKey: 'sk-abcdef' });
      await assert.rejects(c.complete('gpt-x', 'hi'), isRuntimeError('not-found', /Generating with gpt-x failed: The model `gpt-x` does not exist$/));
      await assert.rejects(c.models(), isRuntimeError('runtime', /Listing models failed: model runner crashed/));
      await assert.rejects(c.props(), isRuntimeError('runtime', /failed: bad props request/));
      await assert.rejects(c.metrics(), isRuntimeError('runtime', /failed: field required/));
      await assert.rejects(new OpenAiClient(proxy401.url).models(), isRuntimeError('unauthorized', /HTTP 401/));
      await assert.rejects(new OpenAiClient(forbidden.url, { apiKey: 'sk-abcdef' }).models(), isRuntimeError('unauthorized', /HTTP 403: Forbidden\): the API key is wrong/));
    } finally {
      await Promise.all([srv, proxy401, forbidden].map((x) => x.close()));
    }
  });

  it('names an HTML page and malformed JSON as protocol errors', async () => {
    const html = await routes({ 'GET /v1/models': [200, '<!doctype html><html><body>Open WebUI</body></html>', 'text/html'], 'GET /metrics': [200, '<html></html>', 'text/html'] });
    const bad = await routes({ 'GET /v1/models': [200, '{"data": [ oops'], 'POST /v1/completions': [200, '{"choices":[]}'] });
    try {
      await assert.rejects(new OpenAiClient(html.url, { displayName: 'vLLM' }).models(), isRuntimeError('protocol', /answered an HTML page \(HTTP 200\); is that really vLLM\?/));
      await assert.rejects(new OpenAiClient(html.url).metrics(), isRuntimeError('protocol', /an HTML page instead of Prometheus metrics/));
      await assert.rejects(new OpenAiClient(bad.url).models(), isRuntimeError('protocol', /not JSON/));
      await assert.rejects(new OpenAiClient(bad.url).complete('m', 'p'), isRuntimeError('protocol', /unexpected shape \(choices:/));
    } finally {
      await html.close();
      await bad.close();
    }
  });

  it('reads server-sent events as vLLM and LM Studio send them, and refuses a broken or silent stream', async () => {
    // vLLM (vllm/entrypoints/openai/serving_completion.py completion_stream_generator at
    // 2d5f987dff069848e428593c21df021d02d4282a): pieces, then with stream_options.include_usage a
    // chunk with no choices carrying the usage, then [DONE]; SSE comments and event lines are skipped.
    const piece = (text: string, finish: string | null = null) => `data: {"id":"cmpl-1","object":"text_completion","choices":[{"index":0,"text":${JSON.stringify(text)},"finish_reason":${JSON.stringify(finish)}}]}\n\n`;
    const good = [': ping\n\n', piece('Hel'), 'event: message\n', piece('lo'), piece('', 'length'), 'data: {"id":"cmpl-1","choices":[],"usage":{"prompt_tokens":3,"completion_tokens":2}}\n\n', 'data: [DONE]\n\n', piece('after done')].join('');
    const srv = await routes({
      'POST /v1/completions': [200, good, 'text/event-stream'],
    });
    const broken = await routes({ 'POST /v1/completions': [200, `${piece('a')}data: {not json\n\n`, 'text/event-stream'] });
    const silent = await localServer((_q, r) => {
      r.writeHead(200, { 'content-type': 'text/event-stream' });
      r.write(piece('first'));
    });
    try {
      const seen: string[] = [];
      const c = await new OpenAiClient(srv.url).stream('m', 'p', { onText: (t) => seen.push(t) });
      assert.deepEqual(seen, ['Hel', 'lo']);
      assert.deepEqual([c.text, c.promptTokens, c.completionTokens, c.finishReason, c.promptMs], ['Hello', 3, 2, 'length', undefined]);
      await assert.rejects(new OpenAiClient(broken.url).stream('m', 'p'), isRuntimeError('protocol', /a line that is not JSON: \{not json/));
      const t0 = Date.now();
      await assert.rejects(new OpenAiClient(silent.url.replace('tcp:', 'http:'), { idleTimeoutMs: 600 }).stream('m', 'p'), isRuntimeError('timeout', /nothing for 600 ms/));
      assert.ok(Date.now() - t0 < 5000);
    } finally {
      await srv.close();
      await broken.close();
      await silent.close();
    }
  });

  it('gives up on a hung endpoint within its bound, cancels a completion, and names a refused port', async () => {
    const hang = await localServer(() => undefined);
    const url = hang.url.replace('tcp:', 'http:');
    try {
      let t0 = Date.now();
      await assert.rejects(new OpenAiClient(url, { timeoutMs: 500 }).health(), isRuntimeError('timeout', /GET .*\/health did not answer within 500 ms/));
      assert.ok(Date.now() - t0 < 5000);
      t0 = Date.now();
      await assert.rejects(new OpenAiClient(url, { idleTimeoutMs: 700 }).complete('m', 'p'), isRuntimeError('timeout', /did not answer within 700 ms/));
      await assert.rejects(new OpenAiClient(url).complete('m', 'p', { timeoutMs: 300 }), isRuntimeError('timeout', /within 300 ms/));
      assert.ok(Date.now() - t0 < 5000);
      const ac = new AbortController();
      setTimeout(() => ac.abort(), 100);
      await assert.rejects(new OpenAiClient(url).complete('m', 'p', { signal: ac.signal }), isRuntimeError('cancelled'));
    } finally {
      await hang.close();
    }
    const port = await freePort();
    await assert.rejects(new OpenAiClient(`http://127.0.0.1:${port}`, { displayName: 'vLLM' }).health(), isRuntimeError('unreachable', /Cannot reach vLLM at http:\/\/127\.0\.0\.1:\d+ \(ECONNREFUSED\)/));
    await assert.rejects(new OpenAiClient(`http://127.0.0.1:${port}`).models(), isRuntimeError('unreachable', /Cannot reach the OpenAI-compatible server/));
  });
});
