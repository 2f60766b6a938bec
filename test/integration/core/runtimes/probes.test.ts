// The runtime health prober against local HTTP servers (no Docker): a server that answers 200,
// then 503, then refuses connections raises probe-failed after two failures and clears it when it
// answers again; Ollama is probed through /api/version; probes are bounded, never overlap, and run
// only while started.
import * as assert from 'node:assert/strict';
import * as http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { AlertMonitor, type AlertNotice } from '../../../../src/core/docker/alerts';
import type { ContainerState } from '../../../../src/core/docker/containers';
import { defaultProbe, HealthProber, type ProbeOutcome, type ProbeSettings } from '../../../../src/core/runtimes/probes';
import type { RuntimeEndpoint } from '../../../../src/core/runtimes/runtime';
import { waitUntil } from '../../../support/engine';
import { testEndpoint } from '../../../support/fixtures';

type Handler = (req: http.IncomingMessage, res: http.ServerResponse) => void;

/** An HTTP server on 127.0.0.1 that can be closed (connections refused) and opened again on its port. */
class SwitchableServer {
  handler: Handler = (_q, r) => r.end();
  private server: http.Server | undefined;
  private readonly sockets = new Set<Socket>();
  port = 0;

  async open(): Promise<void> {
    const server = http.createServer((q, r) => this.handler(q, r));
    server.on('connection', (s) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', () => resolve());
    });
    this.port = (server.address() as AddressInfo).port;
    this.server = server;
  }

  async close(): Promise<void> {
    const s = this.server;
    this.server = undefined;
    if (!s) return;
    for (const sock of this.sockets) sock.destroy();
    await new Promise<void>((r) => s.close(() => r()));
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }
}

const json = (status: number, body: unknown): Handler => (_q, r) => {
  r.writeHead(status, { 'content-type': 'application/json' });
  r.end(JSON.stringify(body));
};

function endpoint(over: Partial<RuntimeEndpoint> & { baseUrl: string }): RuntimeEndpoint {
  return testEndpoint(over.kind ?? 'llamacpp', over.baseUrl, { name: 'llama-test', source: 'container', containerId: 'c0ffee', ...over });
}

const settings = (over: Partial<ProbeSettings> = {}) => () => ({ intervalMs: 0, failureThreshold: 2, timeoutMs: 2000, ...over });

describe('runtime health probes (integration)', function () {
  this.timeout(30_000);
  const servers: SwitchableServer[] = [];
  const disposables: { dispose(): void }[] = [];
  const track = <T extends { dispose(): void }>(d: T) => (disposables.push(d), d);
  async function server(handler: Handler): Promise<SwitchableServer> {
    const s = new SwitchableServer();
    s.handler = handler;
    await s.open();
    servers.push(s);
    return s;
  }
  afterEach(async () => {
    for (const d of disposables.splice(0)) d.dispose();
    await Promise.all(servers.splice(0).map((s) => s.close()));
  });

  it('200, then 503, then refused: probe-failed after two failures for the container; cleared on recovery', async () => {
    const srv = await server(json(200, { status: 'ok' }));
    const monitor = track(new AlertMonitor());
    const notices: AlertNotice[] = [];
    monitor.onAlert((n) => notices.push(n));
    const ep = endpoint({ baseUrl: srv.url });
    const prober = track(new HealthProber({ endpoints: () => [ep], settings: settings(), alerts: monitor }));

    await prober.probeNow();
    assert.equal(prober.status(ep.id)?.ok, true);
    assert.equal(prober.status(ep.id)?.consecutiveFailures, 0);

    srv.handler = json(503, { error: { code: 503, message: 'Service Unavailable', type: 'unavailable_error' } });
    await prober.probeNow();
    assert.equal(prober.status(ep.id)?.ok, false);
    assert.equal(prober.status(ep.id)?.consecutiveFailures, 1);
    assert.deepEqual(monitor.active(), [], 'one failure is not an alert yet');

    await srv.close();
    await prober.probeNow();
    assert.equal(prober.status(ep.id)?.consecutiveFailures, 2);
    const [alert] = monitor.active();
    assert.ok(alert, 'two failures in a row raise the alert');
    assert.equal(alert.kind, 'probe-failed');
    assert.equal(alert.containerId, 'c0ffee');
    assert.equal(alert.containerName, 'llama-test');
    assert.equal(alert.target, 'container');
    assert.equal(alert.endpointId, ep.id);
    assert.equal(alert.severity, 'warning');
    assert.match(alert.message, /^llama-test: not answering its health probe \(2 failures in a row: Cannot reach llama-test at http:\/\/127\.0\.0\.1:\d+ \((ECONNREFUSED|UND_ERR_SOCKET|ECONNRESET)\)/);
    assert.deepEqual(
      notices.map((n) => n.notify),
      [true],
    );

    // Still failing (the pooled keep-alive connection gone, now refused): no second alert.
    await prober.probeNow();
    assert.match(prober.status(ep.id)?.detail ?? '', /ECONNREFUSED/);
    assert.equal(prober.status(ep.id)?.consecutiveFailures, 3);
    assert.equal(monitor.active().length, 1);
    assert.equal(notices.length, 1);

    await srv.open();
    srv.handler = json(200, { status: 'ok' });
    await prober.probeNow();
    assert.deepEqual(monitor.active(), []);
    assert.equal(prober.status(ep.id)?.ok, true);
  });

  it('an endpoint without a container gets an endpoint alert; a loading model counts as up', async () => {
    const srv = await server(json(503, { error: { code: 503, message: 'Loading model', type: 'unavailable_error' } }));
    const monitor = track(new AlertMonitor());
    const ep = endpoint({ baseUrl: srv.url, kind: 'openai', name: 'remote', source: 'user', containerId: undefined });
    const prober = track(new HealthProber({ endpoints: () => [ep], settings: settings({ failureThreshold: 1 }), alerts: monitor }));
    await prober.probeNow();
    assert.equal(prober.status(ep.id)?.ok, true);
    assert.equal(prober.status(ep.id)?.detail, 'Loading model');
    srv.handler = json(500, { error: 'boom' });
    await prober.probeNow();
    const [a] = monitor.active();
    assert.equal(a?.containerId, ep.id);
    assert.equal(a?.target, 'endpoint');
    assert.equal(a?.message, 'remote: not answering its health probe (1 failures in a row: boom)');
  });

  it('probes Ollama through /api/version and sends the API key to OpenAI-compatible servers', async () => {
    const seen: string[] = [];
    const srv = await server((q, r) => {
      seen.push(`${q.method} ${q.url} ${q.headers.authorization ?? '-'}`);
      if (q.url === '/api/version') return json(200, { version: '0.5.7' })(q, r);
      if (q.url === '/health') return json(200, { status: 'ok' })(q, r);
      json(404, { error: 'not found' })(q, r);
    });
    const ollama = endpoint({ baseUrl: srv.url, kind: 'ollama', id: 'ollama@x' });
    const vllm = endpoint({ baseUrl: srv.url, kind: 'vllm', id: 'vllm@x', requiresKey: true });
    const gguf = testEndpoint('gguf', '/models', { name: 'models' });
    const prober = track(new HealthProber({ endpoints: () => [ollama, vllm, gguf], settings: settings(), apiKey: async (e) => (e.id === 'vllm@x' ? 'sk-123456' : undefined) }));
    await prober.probeNow();
    assert.deepEqual(seen.sort(), ['GET /api/version -', 'GET /health Bearer sk-123456']);
    assert.equal(prober.status('ollama@x')?.detail, 'version 0.5.7');
    assert.equal(prober.status('gguf@/models'), undefined, 'GGUF folders are not servers');
  });

  it('a server that never answers fails within the timeout', async () => {
    const srv = await server(() => undefined);
    const ep = endpoint({ baseUrl: srv.url });
    const prober = track(new HealthProber({ endpoints: () => [ep], settings: settings({ timeoutMs: 300 }) }));
    const started = Date.now();
    await prober.probeNow();
    assert.ok(Date.now() - started < 2000, `took ${Date.now() - started} ms`);
    assert.equal(prober.status(ep.id)?.ok, false);
    assert.match(prober.status(ep.id)?.detail ?? '', /did not answer within 300 ms/);
    // A probe function that hangs is cut off too.
    const hung = track(new HealthProber({ endpoints: () => [ep], settings: settings({ timeoutMs: 100 }), probe: () => new Promise<ProbeOutcome>(() => undefined) }));
    await hung.probeNow();
    assert.match(hung.status(ep.id)?.detail ?? '', /did not answer within 1100 ms/);
  });

  it('runs at the interval only while started, one round at a time', async () => {
    let inFlight = 0;
    let maxInFlight = 0;
    let calls = 0;
    const probe = async (): Promise<ProbeOutcome> => {
      calls++;
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      await new Promise((r) => setTimeout(r, 80));
      inFlight--;
      return { ok: true };
    };
    let interval = 30;
    const ep = endpoint({ baseUrl: 'http://127.0.0.1:9' });
    const prober = track(new HealthProber({ endpoints: () => [ep], settings: () => ({ intervalMs: interval, failureThreshold: 2, timeoutMs: 1000 }), probe }));
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(calls, 0, 'nothing before start()');
    // Concurrent requests share the round in flight.
    const a = prober.probeNow();
    const b = prober.probeNow();
    assert.equal(a, b);
    await a;
    assert.equal(calls, 1);

    prober.start();
    assert.equal(prober.isRunning, true);
    await waitUntil('three rounds', () => calls >= 4, 5000, 10);
    assert.equal(maxInFlight, 1, 'rounds never overlap although a probe takes longer than the interval');
    prober.stop();
    await new Promise((r) => setTimeout(r, 120));
    const stoppedAt = calls;
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(calls, stoppedAt, 'nothing after stop()');

    // Interval 0 turns it off; reschedule() applies a new interval.
    interval = 0;
    prober.start();
    await new Promise((r) => setTimeout(r, 150));
    assert.equal(calls, stoppedAt);
    interval = 20;
    prober.reschedule();
    await waitUntil('a round after the interval came back', () => calls > stoppedAt, 5000, 10);
    prober.dispose();
    assert.equal(prober.isRunning, false);
  });

  it('an endpoint that goes away, or whose container stops, loses its alert', async () => {
    const monitor = track(new AlertMonitor());
    const a = endpoint({ baseUrl: 'http://127.0.0.1:9', id: 'a', containerId: 'ca' });
    const b = endpoint({ baseUrl: 'http://127.0.0.1:9', id: 'b', containerId: 'cb' });
    let list = [a, b];
    const states: Record<string, ContainerState> = { ca: 'running', cb: 'running' };
    const prober = track(
      new HealthProber({ endpoints: () => list, settings: settings({ failureThreshold: 1 }), alerts: monitor, containerState: (id) => states[id], probe: async () => ({ ok: false, detail: 'down' }) }),
    );
    await prober.probeNow();
    assert.deepEqual(monitor.active().map((x) => x.containerId).sort(), ['ca', 'cb']);
    list = [b];
    states.cb = 'exited';
    await prober.probeNow();
    assert.deepEqual(monitor.active(), []);
    assert.deepEqual(prober.statuses(), []);
    // Back and still failing: alerted again (also when the container's own alerts cleared it meanwhile).
    states.cb = 'running';
    await prober.probeNow();
    assert.deepEqual(monitor.active().map((x) => x.containerId), ['cb']);
    monitor.resolve('cb');
    await prober.probeNow();
    assert.deepEqual(monitor.active().map((x) => x.containerId), ['cb']);
  });

  it('the default probe reports an unavailable server as a failure with its detail', async () => {
    const srv = await server(json(503, { status: 'error' }));
    const out = await defaultProbe(endpoint({ baseUrl: srv.url }), { timeoutMs: 1000 });
    assert.equal(out.ok, false);
    assert.match(out.detail ?? '', /error|503/);
  });
});
