// The gateway to the runtimes (/runtimes/<name>/…) with the real test runtime (llama.cpp behind
// Ollama's API, requiring an API key as `ollama serve` behind a proxy or vLLM --api-key would): the
// runtime's own routes answered through the service, a generation streamed line by line, the
// runtime's key added by the service and the caller's never forwarded, every route refused on TCP
// without a token, a model outside the token's list refused before anything is sent.
import * as assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as path from 'node:path';
import { waitUntil } from '../../support/engine';
import { writeTinyGguf } from '../../support/gguf';
import { type RuntimeProcess, startRuntimeProcess } from '../../support/runtimeProcess';
import { newHome, serve, stopServed, type Home, type Served } from './support';

interface Got {
  status: number;
  headers: http.IncomingHttpHeaders;
  chunks: string[];
}

describe('the gateway to the runtimes (integration)', function () {
  this.timeout(120_000);
  let home: Home;
  let served: Served;
  let rt: RuntimeProcess;
  let port: number;
  const key = `sk-gw-${randomBytes(6).toString('hex')}`;
  const tokens: Record<string, string> = {};

  const viaSocket = (method: string, p: string, body?: unknown, headers: Record<string, string> = {}): Promise<Got> => send({ socketPath: home.paths.socket, method, path: p, headers: { host: 'llmstack', ...headers } }, body);
  const viaTcp = (method: string, p: string, token: string | undefined, body?: unknown): Promise<Got> =>
    send({ host: '127.0.0.1', port, method, path: p, headers: { host: `127.0.0.1:${port}`, ...(token ? { authorization: `Bearer ${token}` } : {}) } }, body);
  const send = (o: http.RequestOptions, body?: unknown): Promise<Got> =>
    new Promise((resolve, reject) => {
      const req = http.request({ ...o, agent: false, timeout: 60_000, headers: { 'content-type': 'application/json', ...o.headers } }, (res) => {
        const chunks: string[] = [];
        res.setEncoding('utf8');
        res.on('data', (d: string) => chunks.push(d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, chunks }));
      });
      req.on('error', reject);
      req.end(body === undefined ? undefined : JSON.stringify(body));
    });

  before(async () => {
    home = newHome();
    const dir = path.join(home.dir, 'models');
    fs.mkdirSync(dir, { recursive: true });
    writeTinyGguf(path.join(dir, 'chat__1b.gguf'), { name: 'chat', contextLength: 256, seed: 11 });
    rt = await startRuntimeProcess({ modelsDir: dir, env: { API_KEY: key } });
    home.config({ runtimes: { endpoints: [{ url: rt.base, kind: 'ollama', name: 'gw' }] } });
    served = await serve(home, ['--listen', '127.0.0.1:0']);
    port = (await home.client().get<{ tcp: { port: number } }>('/v1/status')).tcp.port;
    await home.client().call('runtimes.setApiKey', { endpointId: `ollama@${rt.base}`, key });
    for (const [name, role, models] of [['v', 'viewer'], ['op', 'operator'], ['other', 'operator', ['other:7b']]] as const) {
      tokens[name] = (await home.client().call<{ token: string }>('tokens.create', { name, role, models })).token;
    }
  });
  after(async () => {
    await stopServed(served);
    await rt?.stop();
    home?.cleanup();
  });

  it("answers the runtime's own routes through the service, adding the runtime's key and its own time", async () => {
    const direct = await send({ host: '127.0.0.1', port: Number(new URL(rt.base).port), method: 'GET', path: '/api/tags', headers: { authorization: `Bearer ${key}` } });
    const through = await viaSocket('GET', '/runtimes/gw/api/tags');
    assert.equal(through.status, 200);
    assert.deepEqual(JSON.parse(through.chunks.join('')), JSON.parse(direct.chunks.join('')));
    assert.match(String(through.headers['x-llmstack-gateway-ms']), /^\d+\.\d\d$/);
    // By id too; an unknown runtime is a 404 that says where to look.
    assert.equal((await viaSocket('GET', `/runtimes/${encodeURIComponent(`ollama@${rt.base}`)}/api/version`)).status, 200);
    const none = await viaSocket('GET', '/runtimes/nowhere/api/tags');
    assert.equal(none.status, 404);
    assert.match((JSON.parse(none.chunks.join('')) as { error: { message: string } }).error.message, /No runtime "nowhere"/);
  });

  it('streams a generation line by line, and never forwards the caller\'s Authorization', async () => {
    const r = await viaSocket('POST', '/runtimes/gw/api/generate', { model: 'chat:1b', prompt: 'Hello', stream: true, options: { num_predict: 4 } }, { authorization: 'Bearer not-the-runtime-key' });
    assert.equal(r.status, 200, r.chunks.join(''));
    const lines = r.chunks.join('').split('\n').filter(Boolean).map((l) => JSON.parse(l) as { done: boolean; response?: string });
    assert.ok(lines.length >= 2, `${lines.length} lines`);
    assert.equal(lines.at(-1)!.done, true);
    assert.ok(r.chunks.length >= 2, 'the answer came in several chunks, not at once');
  });

  it('on TCP: every runtime route needs a token (not only /v1), a viewer only reads, and a model outside the list is refused', async () => {
    const tags = await viaTcp('GET', '/runtimes/gw/api/tags', undefined);
    assert.equal(tags.status, 401, 'a route outside /v1 refused without a token');
    assert.equal((await viaTcp('GET', '/runtimes/gw/api/tags', tokens.v)).status, 200);
    const gen = { model: 'chat:1b', prompt: 'Hi', stream: false, options: { num_predict: 2 } };
    assert.equal((await viaTcp('POST', '/runtimes/gw/api/generate', tokens.v, gen)).status, 403, 'a viewer does not generate');
    const ok = await viaTcp('POST', '/runtimes/gw/api/generate', tokens.op, gen);
    assert.equal(ok.status, 200, ok.chunks.join(''));
    assert.equal((JSON.parse(ok.chunks.join('')) as { done: boolean }).done, true);
    const refused = await viaTcp('POST', '/runtimes/gw/api/generate', tokens.other, gen);
    assert.equal(refused.status, 403);
    assert.match(refused.chunks.join(''), /may not use chat:1b/);
  });

  it("records each generation through it in the registry: tokens in and out, time to first token", async () => {
    const endpoint = { id: `ollama@${rt.base}`, kind: 'ollama', api: 'ollama', name: 'gw', baseUrl: rt.base, source: 'user' };
    const generated = () => home.client().call<{ usage: { kind: string; count: number; outputTokens: number; promptTokens: number; ttftMs: number | null }[] }>('registry.modelHistory', { endpoint, name: 'chat:1b' });
    const before = (await generated()).usage.find((u) => u.kind === 'generate');
    const r = await viaTcp('POST', '/runtimes/gw/api/generate', tokens.op, { model: 'chat:1b', prompt: 'Count to three', stream: true, options: { num_predict: 3 } });
    assert.equal(r.status, 200, r.chunks.join(''));
    const final = JSON.parse(r.chunks.join('').trim().split('\n').at(-1)!) as { eval_count: number; prompt_eval_count: number };
    const after = await waitUntil('the usage recorded', async () => {
      const u = (await generated()).usage.find((x) => x.kind === 'generate');
      return u && u.count > (before?.count ?? 0) ? u : undefined;
    }, 10_000, 50);
    assert.equal(after.outputTokens - (before?.outputTokens ?? 0), final.eval_count);
    assert.equal(after.promptTokens - (before?.promptTokens ?? 0), final.prompt_eval_count);
    assert.ok(after.ttftMs !== null && after.ttftMs >= 0, `ttft ${after.ttftMs}`);
  });

  it('holds a token to its rate limits: requests a minute, and model tokens a minute through the gateway (429 with Retry-After)', async () => {
    const limited = (await home.client().call<{ token: string }>('tokens.create', { name: 'rpm', role: 'operator', requestsPerMinute: 2 })).token;
    assert.equal((await viaTcp('GET', '/runtimes/gw/api/tags', limited)).status, 200);
    assert.equal((await viaTcp('GET', '/runtimes/gw/api/tags', limited)).status, 200);
    const third = await viaTcp('GET', '/runtimes/gw/api/tags', limited);
    assert.equal(third.status, 429);
    assert.match(third.chunks.join(''), /over its limit of 2 requests a minute; try again in \d+ s/);
    assert.ok(Number(third.headers['retry-after']) >= 1 && Number(third.headers['retry-after']) <= 30, String(third.headers['retry-after']));
    // Other tokens are not held back.
    assert.equal((await viaTcp('GET', '/runtimes/gw/api/tags', tokens.v)).status, 200);

    const tpm = (await home.client().call<{ token: string }>('tokens.create', { name: 'tpm', role: 'operator', tokensPerMinute: 4 })).token;
    const gen = { model: 'chat:1b', prompt: 'A longer prompt than four tokens, surely', stream: false, options: { num_predict: 4 } };
    assert.equal((await viaTcp('POST', '/runtimes/gw/api/generate', tpm, gen)).status, 200, 'the first passes and spends more than the minute holds');
    const over = await waitUntil('the spend counted', async () => {
      const r = await viaTcp('POST', '/runtimes/gw/api/generate', tpm, gen);
      return r.status === 429 ? r : undefined;
    }, 10_000, 50);
    assert.match(over.chunks.join(''), /over its limit of 4 model tokens a minute/);
    assert.equal((await viaTcp('GET', '/runtimes/gw/api/tags', tpm)).status, 200, 'reading is not generating');
    const list = await home.client().call<{ tokens: { name: string; requestsPerMinute?: number; tokensPerMinute?: number }[] }>('tokens.list', {});
    assert.deepEqual(list.tokens.filter((t) => t.name === 'rpm' || t.name === 'tpm').map((t) => [t.name, t.requestsPerMinute, t.tokensPerMinute]), [['rpm', 2, undefined], ['tpm', undefined, 4]]);
  });

  it('says so when the runtime cannot be reached (502), in bounded time', async () => {
    await rt.stop();
    const r = await viaSocket('GET', '/runtimes/gw/api/tags');
    assert.equal(r.status, 502);
    assert.match(r.chunks.join(''), /gw \(http:\/\/127\.0\.0\.1:\d+\) could not be reached/);
  });
});
