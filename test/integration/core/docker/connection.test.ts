// Connecting to real and to broken endpoints: clear reasons, bounded time, automatic retry.
import * as assert from 'node:assert/strict';
import * as net from 'node:net';
import { EngineConnection } from '../../../../src/core/docker/connection';
import { localServer, waitUntil } from '../../../support/engine';
import { resolutionFor } from '../../../support/engineFixture';
import { freePort } from '../../../support/net';

describe('engine connection (integration)', function () {
  this.timeout(60_000);
  const disposables: { dispose(): void }[] = [];
  afterEach(() => disposables.splice(0).forEach((d) => d.dispose()));

  function conn(url: string, requestTimeoutMs = 1500) {
    const c = new EngineConnection({ resolve: () => resolutionFor(url), initialBackoffMs: 100, maxBackoffMs: 400, requestTimeoutMs });
    disposables.push(c);
    return c;
  }

  it('names a missing socket and what to do', async () => {
    const c = conn('unix:///nonexistent/llmstack/docker.sock');
    await c.connect();
    assert.equal(c.state.kind, 'disconnected');
    if (c.state.kind !== 'disconnected') return;
    assert.match(c.state.failures[0].reason, /no socket at \/nonexistent\/llmstack\/docker\.sock/);
    assert.ok(c.state.nextAttemptAt! > Date.now() - 10);
  });

  it('names a refused TCP port', async () => {
    const port = await freePort();
    const c = conn(`tcp://127.0.0.1:${port}`);
    await c.connect();
    assert.equal(c.state.kind, 'disconnected');
    if (c.state.kind === 'disconnected') assert.match(c.state.failures[0].reason, /connection refused/);
  });

  it('gives up on an endpoint that hangs, within the request bound', async () => {
    const srv = await localServer(() => {
      /* never answers */
    });
    try {
      const c = conn(srv.url, 800);
      const t0 = Date.now();
      await c.connect();
      assert.equal(c.state.kind, 'disconnected');
      if (c.state.kind === 'disconnected') assert.match(c.state.failures[0].reason, /did not answer in time/);
      assert.ok(Date.now() - t0 < 10_000);
    } finally {
      await srv.close();
    }
  });

  it('rejects an endpoint that answers HTML instead of the Engine API', async () => {
    const srv = await localServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end('<html><body>hello</body></html>');
    });
    try {
      const c = conn(srv.url);
      await c.connect();
      assert.equal(c.state.kind, 'disconnected');
      if (c.state.kind === 'disconnected') assert.match(c.state.failures[0].reason, /not .*Docker Engine API|Unexpected token|JSON/i);
    } finally {
      await srv.close();
    }
  });

  it('retries by itself with backoff and connects once the endpoint appears', async () => {
    // A proxy socket that only exists after a while stands in for an engine that starts late.
    const fs = await import('node:fs');
    const os = await import('node:os');
    const path = await import('node:path');
    const sock = path.join(os.tmpdir(), `llmstack-late-${process.pid}.sock`);
    fs.rmSync(sock, { force: true });
    const c = conn(`unix://${sock}`);
    const states: string[] = [];
    disposables.push(c.onDidChangeState((s) => states.push(s.kind)));
    await c.connect();
    assert.equal(c.state.kind, 'disconnected');
    const proxy = net.createServer((client) => {
      const up = net.connect('/var/run/docker.sock');
      client.pipe(up).pipe(client);
      up.on('error', () => client.destroy());
      client.on('error', () => up.destroy());
    });
    await new Promise<void>((r) => proxy.listen(sock, r));
    try {
      await waitUntil('reconnect', () => c.state.kind === 'connected', 20_000);
      assert.ok(states.filter((s) => s === 'disconnected').length >= 1);
    } finally {
      c.dispose();
      await new Promise<void>((r) => proxy.close(() => r()));
      fs.rmSync(sock, { force: true });
    }
  });
});
