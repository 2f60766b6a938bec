// Traces through the real service: a caller's W3C traceparent is the parent of the request's span,
// and the runtime (the real test runtime) gets the service's own span as its parent, both through
// the gateway and for a use case that calls the runtime. The spans reach an OTLP/HTTP receiver on
// 127.0.0.1, a generation named and described after the GenAI semantic conventions.
import * as assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as path from 'node:path';
import { writeTinyGguf } from '../../support/gguf';
import { OtlpReceiver } from '../../support/otlpReceiver';
import { type RuntimeProcess, startRuntimeProcess } from '../../support/runtimeProcess';
import { newHome, serve, stopServed, type Home, type Served } from './support';

describe('traces through the service (integration)', function () {
  this.timeout(90_000);
  let home: Home;
  let served: Served;
  let rt: RuntimeProcess;
  let receiver: OtlpReceiver;
  let traceLog: string;

  const post = (route: string, body: unknown, traceparent: string) =>
    new Promise<string>((resolve, reject) => {
      const req = http.request({ socketPath: home.paths.socket, method: 'POST', path: route, headers: { host: 'llmstack', 'content-type': 'application/json', traceparent } }, (res) => {
        let text = '';
        res.on('data', (d: Buffer) => (text += d.toString()));
        res.on('end', () => (res.statusCode === 200 ? resolve(text) : reject(new Error(`${res.statusCode}: ${text}`))));
      });
      req.on('error', reject);
      req.end(JSON.stringify(body));
    });
  const ids = () => ({ trace: randomBytes(16).toString('hex'), parent: randomBytes(8).toString('hex') });

  before(async () => {
    home = newHome();
    const dir = path.join(home.dir, 'models');
    fs.mkdirSync(dir, { recursive: true });
    writeTinyGguf(path.join(dir, 'chat__1b.gguf'), { name: 'chat', contextLength: 256, seed: 13 });
    traceLog = path.join(home.dir, 'runtime-traces.log');
    rt = await startRuntimeProcess({ modelsDir: dir, env: { TRACE_LOG: traceLog } });
    receiver = await OtlpReceiver.start();
    home.config({ runtimes: { endpoints: [{ url: rt.base, kind: 'ollama', name: 'traced' }] }, tracing: { otlpEndpoint: receiver.url } });
    // Spans are sent in batches; a short delay keeps the test short.
    home.env.OTEL_BSP_SCHEDULE_DELAY = '100';
    served = await serve(home);
  });
  after(async () => {
    await stopServed(served);
    await rt?.stop();
    await receiver?.close();
    home?.cleanup();
  });

  it('a generation through the gateway: caller → service span → GenAI span → the runtime, with token counts', async () => {
    const { trace, parent } = ids();
    const answer = await post('/runtimes/traced/api/generate', { model: 'chat:1b', prompt: 'Hi', stream: true, options: { num_predict: 3 } }, `00-${trace}-${parent}-01`);
    const final = JSON.parse(answer.trim().split('\n').at(-1)!) as { eval_count: number; prompt_eval_count: number };
    const spans = await receiver.until(trace, (s) => s.some((x) => x.name === 'text_completion chat:1b') && s.some((x) => x.name === 'POST /runtimes/*'));
    const server = spans.find((s) => s.name === 'POST /runtimes/*')!;
    const gen = spans.find((s) => s.name === 'text_completion chat:1b')!;
    assert.equal(server.parentSpanId, parent, 'the caller is the parent of the request span');
    assert.equal(server.kind, 2, 'SERVER');
    assert.equal(gen.parentSpanId, server.spanId);
    assert.equal(gen.kind, 3, 'CLIENT');
    assert.equal(gen.service, 'llmstack');
    assert.deepEqual(
      [gen.attributes['gen_ai.operation.name'], gen.attributes['gen_ai.request.model'], gen.attributes['gen_ai.provider.name'], gen.attributes['gen_ai.usage.input_tokens'], gen.attributes['gen_ai.usage.output_tokens']],
      ['text_completion', 'chat:1b', 'ollama', final.prompt_eval_count, final.eval_count],
    );
    // The runtime saw the gateway's span as its parent, in the caller's trace.
    const seen = fs.readFileSync(traceLog, 'utf8').split('\n').filter((l) => l.startsWith('POST /api/generate'));
    assert.ok(seen.some((l) => l.endsWith(` 00-${trace}-${gen.spanId}-01`)), seen.join('\n'));
    assert.ok(receiver.contentTypes.every((c) => c.startsWith('application/json')));
  });

  it("a use case that calls the runtime (models.load) passes the caller's trace on to it", async () => {
    const { trace, parent } = ids();
    await post('/v1/models/load', { models: [{ runtimeId: `ollama@${rt.base}`, name: 'chat:1b' }] }, `00-${trace}-${parent}-01`);
    const spans = await receiver.until(trace, (s) => s.some((x) => x.name === 'POST models.load') && s.some((x) => x.kind === 3));
    const server = spans.find((s) => s.name === 'POST models.load')!;
    assert.equal(server.parentSpanId, parent);
    const client = spans.filter((s) => s.kind === 3);
    assert.ok(client.every((c) => c.parentSpanId === server.spanId), JSON.stringify(spans));
    const seen = fs.readFileSync(traceLog, 'utf8');
    assert.ok(client.some((c) => seen.includes(`00-${trace}-${c.spanId}-01`)), 'the runtime got the client span as its parent');
  });

  it('without an endpoint, no span is made and the caller\'s traceparent reaches the runtime as it came', async () => {
    const plain = newHome();
    plain.config({ runtimes: { endpoints: [{ url: rt.base, kind: 'ollama', name: 'traced' }] } });
    const other = await serve(plain);
    try {
      const { trace, parent } = ids();
      await new Promise<void>((resolve, reject) => {
        const req = http.request({ socketPath: plain.paths.socket, method: 'POST', path: '/runtimes/traced/api/generate', headers: { host: 'llmstack', 'content-type': 'application/json', traceparent: `00-${trace}-${parent}-01` } }, (res) => {
          res.resume();
          res.on('end', () => (res.statusCode === 200 ? resolve() : reject(new Error(String(res.statusCode)))));
        });
        req.on('error', reject);
        req.end(JSON.stringify({ model: 'chat:1b', prompt: 'Hi', stream: false, options: { num_predict: 2 } }));
      });
      assert.ok(fs.readFileSync(traceLog, 'utf8').includes(`POST /api/generate 00-${trace}-${parent}-01`));
      assert.equal(receiver.spans.filter((s) => s.traceId === trace).length, 0);
    } finally {
      await stopServed(other);
      plain.cleanup();
    }
  });
});
