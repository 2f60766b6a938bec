// The service on TCP (llmstack serve --listen): every route refused without a live token of the
// right role, from a foreign Host or from a browser Origin, with nothing done; allowed with one;
// 10,000 generated malformed requests answered without a crash and none accepted; a listen
// address other than loopback refused without --allow-remote.
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as https from 'node:https';
import * as path from 'node:path';
import type * as tls from 'node:tls';
import * as net from 'node:net';
import parsePrometheus from 'parse-prometheus-text-format';
import { PERMISSIONS, type Role } from '../../../src/service/permissions';
import { createTestContainer, engine, removeTestContainers, uniqueName } from '../../support/engine';
import { cli, newHome, serve, stopServed, type Home, type Served } from './support';

interface Answer {
  status: number;
  body: { error?: { code: string; message: string } } & Record<string, unknown>;
}

describe('the service on TCP with tokens and roles (integration)', function () {
  this.timeout(180_000);
  let home: Home;
  let served: Served;
  let port: number;
  const tokens: Record<string, string> = {};

  const request = (method: string, path: string, o: { token?: string; host?: string; origin?: string; body?: string } = {}): Promise<Answer> =>
    new Promise((resolve, reject) => {
      const headers: Record<string, string> = { host: o.host ?? `127.0.0.1:${port}`, 'content-type': 'application/json' };
      if (o.token) headers.authorization = `Bearer ${o.token}`;
      if (o.origin) headers.origin = o.origin;
      const req = http.request({ host: '127.0.0.1', port, method, path, headers, agent: false, timeout: 30_000 }, (res) => {
        let text = '';
        res.setEncoding('utf8');
        // Event streams: the status line is the answer.
        if ((res.headers['content-type'] ?? '').startsWith('text/event-stream')) {
          res.destroy();
          return resolve({ status: res.statusCode ?? 0, body: {} });
        }
        res.on('data', (d: string) => (text += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text ? (JSON.parse(text) as Answer['body']) : {} }));
      });
      req.on('error', reject);
      req.end(o.body ?? (method === 'POST' ? '{}' : undefined));
    });

  /** Every route, as its method and path. */
  const routes = Object.keys(PERMISSIONS).map((key) => (key.includes(' ') ? { key, method: key.split(' ')[0], path: key.split(' ')[1] } : { key, method: 'POST', path: `/v1/${key.replace('.', '/')}` }));

  before(async () => {
    home = newHome();
    served = await serve(home, ['--listen', '127.0.0.1:0']);
    port = (await home.client().get<{ tcp: { port: number } }>('/v1/status')).tcp.port;
    for (const role of ['viewer', 'operator', 'admin'] as const) tokens[role] = (await home.client().call<{ token: string }>('tokens.create', { name: role, role })).token;
    tokens.revoked = (await home.client().call<{ token: string }>('tokens.create', { name: 'gone', role: 'admin' })).token;
    await home.client().call('tokens.revoke', { name: 'gone' });
    tokens.expired = (await home.client().call<{ token: string }>('tokens.create', { name: 'old', role: 'admin', expiresInDays: 1e-9 })).token;
    tokens.chatOnly = (await home.client().call<{ token: string }>('tokens.create', { name: 'chat-only', role: 'operator', models: ['chat:1b'] })).token;
  });
  after(async () => {
    await removeTestContainers().catch(() => undefined);
    await stopServed(served);
    home?.cleanup();
  });

  it('keeps tokens as hashes only, 0600, and never lists them', async () => {
    assert.match(tokens.viewer, /^llmstack_[A-Za-z0-9_-]{43}$/, '256 random bits');
    const file = (await import('node:fs')).readFileSync(`${home.paths.dataDir}/tokens.json`, 'utf8');
    for (const t of Object.values(tokens)) assert.ok(!file.includes(t), 'no token in the file');
    const listed = await home.client().call<{ tokens: Record<string, unknown>[] }>('tokens.list', {});
    assert.deepEqual(listed.tokens.map((t) => t.name), ['viewer', 'operator', 'admin', 'gone', 'old', 'chat-only']);
    assert.ok(listed.tokens.every((t) => !('hash' in t) && !('token' in t)));
    const human = await cli(home, ['token', 'list']);
    assert.match(human.stdout, /^NAME\s+ROLE\s+CREATED\s+EXPIRES\s+STATE\s+MODELS/m);
    assert.match(human.stdout, /gone\s+admin.*revoked/);
  });

  it('refuses every route without a live token, from a foreign Host or a browser Origin, and a role too low; nothing is done', async () => {
    const name = uniqueName('guarded');
    const c = await createTestContainer({ name });
    const wrong = `llmstack_${'A'.repeat(43)}`;
    const refusals: string[] = [];
    const expect = async (what: string, a: Promise<Answer>, status: number, code: string) => {
      const r = await a;
      if (r.status !== status || r.body.error?.code !== code) refusals.push(`${what}: ${r.status} ${r.body.error?.code ?? JSON.stringify(r.body).slice(0, 100)}`);
    };
    // A body that would do something if it got through: stop the container, delete, import…
    const body = JSON.stringify({ action: 'stop', targets: [{ id: c.id }], id: c.id, ids: [c.id], name: 'x', names: ['x'], file: '/etc/passwd', models: [{ runtimeId: 'x', name: 'x' }] });
    for (const r of routes) {
      const o = { body: r.method === 'POST' ? body : undefined };
      await expect(`${r.key} without a token`, request(r.method, r.path, o), 401, 'unauthorized');
      await expect(`${r.key} with a wrong token`, request(r.method, r.path, { ...o, token: wrong }), 401, 'unauthorized');
      await expect(`${r.key} with an expired token`, request(r.method, r.path, { ...o, token: tokens.expired }), 401, 'unauthorized');
      await expect(`${r.key} with a revoked token`, request(r.method, r.path, { ...o, token: tokens.revoked }), 401, 'unauthorized');
      await expect(`${r.key} from a foreign Host`, request(r.method, r.path, { ...o, token: tokens.admin, host: `evil.example:${port}` }), 403, 'bad_host');
      await expect(`${r.key} from a browser Origin`, request(r.method, r.path, { ...o, token: tokens.admin, origin: 'http://evil.example' }), 403, 'origin_refused');
      const needed = PERMISSIONS[r.key];
      const lower: Role | undefined = needed === 'admin' ? 'operator' : needed === 'operator' ? 'viewer' : undefined;
      if (lower) await expect(`${r.key} as ${lower}`, request(r.method, r.path, { ...o, token: tokens[lower] }), 403, 'forbidden');
      if (needed === 'admin') await expect(`${r.key} as viewer`, request(r.method, r.path, { ...o, token: tokens.viewer }), 403, 'forbidden');
    }
    assert.deepEqual(refusals, []);
    assert.equal((await engine().getContainer(c.id).inspect()).State.Running, true, 'the container still runs');
    assert.equal((await home.client().call<{ tokens: unknown[] }>('tokens.list', {})).tokens.length, 6, 'no token was made or revoked');
    // A model outside the token's list, even with the role for the route.
    await expect('models.load of a model not allowed', request('POST', '/v1/models/load', { token: tokens.chatOnly, body: JSON.stringify({ models: [{ runtimeId: 'r', name: 'other:7b' }] }) }), 403, 'model_not_allowed');
    assert.deepEqual(refusals, []);
    // Refusals are in the audit log.
    const { entries } = await home.client().call<{ entries: { operation: string; target: string; error: string | null }[] }>('registry.audit', { limit: 20 });
    assert.ok(entries.some((e) => e.operation === 'api models.load' && /^chat-only \(operator\) 403 \d+ ms$/.test(e.target)), JSON.stringify(entries.slice(0, 3)));
    assert.ok(entries.some((e) => e.operation === 'api POST /v1/service/stop' && e.target === 'refused 403' && e.error === 'forbidden'));
  });

  it('answers with the right role, and audits who called what', async () => {
    const list = await request('POST', '/v1/containers/list', { token: tokens.viewer });
    assert.equal(list.status, 200);
    assert.ok(Array.isArray(list.body.runtimes));
    assert.equal((await request('GET', '/v1/status', { token: tokens.viewer, host: `localhost:${port}` })).status, 200, 'localhost is the same address');
    assert.equal((await request('GET', '/v1/events', { token: tokens.viewer })).status, 200);
    const name = uniqueName('operated');
    const c = await createTestContainer({ name });
    const stop = await request('POST', '/v1/containers/action', { token: tokens.operator, body: JSON.stringify({ action: 'stop', targets: [{ id: c.id }] }) });
    assert.equal(stop.status, 200, JSON.stringify(stop.body));
    assert.equal((await engine().getContainer(c.id).inspect()).State.Running, false);
    const { entries } = await home.client().call<{ entries: { operation: string; target: string }[] }>('registry.audit', { limit: 50 });
    assert.ok(entries.some((e) => e.operation === 'api containers.action' && /^operator \(operator\) 200 \d+ ms$/.test(e.target)), JSON.stringify(entries.slice(0, 5)));
  });

  it('GET /metrics: Prometheus text a real parser reads, with the service\'s own request figures; a token is needed unless the setting opens it on loopback', async () => {
    assert.equal((await request('GET', '/metrics')).status, 401);
    assert.equal((await request('POST', '/v1/containers/list', { token: tokens.viewer })).status, 200);
    const text = await new Promise<string>((resolve, reject) => {
      http.get({ host: '127.0.0.1', port, path: '/metrics', headers: { host: `127.0.0.1:${port}`, authorization: `Bearer ${tokens.viewer}` } }, (res) => {
        assert.equal(res.statusCode, 200);
        assert.match(String(res.headers['content-type']), /^text\/plain; version=0\.0\.4/);
        let t = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (t += d));
        res.on('end', () => resolve(t));
      }).on('error', reject);
    });
    const families = parsePrometheus(text);
    const requests = families.find((f) => f.name === 'llmstack_service_requests_total');
    assert.equal(requests?.type, 'COUNTER');
    assert.ok(requests.metrics.some((m) => m.labels?.route === 'containers.list' && m.labels.transport === 'tcp' && m.labels.status === '200' && Number(m.value) >= 1), JSON.stringify(requests.metrics.slice(0, 5)));
    assert.ok(requests.metrics.some((m) => m.labels?.status === '401'), 'refusals are counted too');
    assert.ok(requests.metrics.every((m) => m.labels?.route === 'other' || (m.labels?.route ?? '') in PERMISSIONS), 'route labels are routes, never raw paths');
    const durations = families.find((f) => f.name === 'llmstack_service_request_duration_seconds');
    assert.equal(durations?.type, 'HISTOGRAM');
    assert.ok(durations.metrics.some((m) => Object.keys(m.buckets ?? {}).length === 14 && Number(m.buckets?.['+Inf']) >= 1), JSON.stringify(durations.metrics.slice(0, 2)));
    assert.ok(families.some((f) => f.name === 'llmstack_gateway_overhead_seconds'));

    // Opened by the setting on a loopback listener: no token needed, Host and Origin still checked.
    const open = newHome();
    open.config({ service: { metricsWithoutToken: true } });
    const s = await serve(open, ['--listen', '127.0.0.1:0']);
    try {
      const p = (await open.client().get<{ tcp: { port: number } }>('/v1/status')).tcp.port;
      const plain = await new Promise<number>((resolve, reject) => http.get({ host: '127.0.0.1', port: p, path: '/metrics', headers: { host: `127.0.0.1:${p}` } }, (res) => (res.resume(), resolve(res.statusCode ?? 0))).on('error', reject));
      assert.equal(plain, 200);
      const fromPage = await new Promise<number>((resolve, reject) => http.get({ host: '127.0.0.1', port: p, path: '/metrics', headers: { host: `127.0.0.1:${p}`, origin: 'http://evil.example' } }, (res) => (res.resume(), resolve(res.statusCode ?? 0))).on('error', reject));
      assert.equal(fromPage, 403);
      const other = await new Promise<number>((resolve, reject) => http.get({ host: '127.0.0.1', port: p, path: '/v1/status', headers: { host: `127.0.0.1:${p}` } }, (res) => (res.resume(), resolve(res.statusCode ?? 0))).on('error', reject));
      assert.equal(other, 401, 'only /metrics is opened');
    } finally {
      await stopServed(s);
      open.cleanup();
    }
  });

  it('10,000 generated malformed requests: every one answered, none accepted, and the service still serves', async () => {
    let seed = 42;
    const rnd = (n: number) => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff), seed % n);
    const pick = <T>(xs: readonly T[]) => xs[rnd(xs.length)];
    const word = () => Array.from({ length: 1 + rnd(30) }, () => pick([...'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.~'])).join('');
    const bytes = () => Array.from({ length: rnd(60) }, () => String.fromCharCode(rnd(0x7f))).join('');
    const useCasePaths = routes.filter((r) => r.method === 'POST').map((r) => r.path);
    const anyPath = () => pick([...routes.map((r) => r.path), '/', '/v1', '/v1/../etc/passwd', '/v1/models/pull%00', `/${encodeURIComponent(bytes())}`, `/v1/containers/list?x=${'a'.repeat(5000)}`]);
    // Never valid JSON for a use case, never empty: each request below has at least one defect.
    const malformed = () => pick(['{', 'null', '[]', '42', 'true', '{"id":', '"x"', `{"x":${word()}`, bytes() + '{', 'x'.repeat(2_000_000)]);
    const statuses = new Map<number, number>();
    const agent = new http.Agent({ keepAlive: true, maxSockets: 8 });
    const one = () =>
      new Promise<void>((resolve) => {
        let method = pick(['GET', 'POST', 'PUT', 'DELETE', 'OPTIONS', 'PATCH']);
        let path = anyPath();
        let body: string | undefined = rnd(2) ? malformed() : undefined;
        const headers: Record<string, string> = { host: `127.0.0.1:${port}`, 'content-type': pick(['application/json', 'text/plain', word()]) };
        switch (rnd(6)) {
          case 0: // no token
            break;
          case 1: // a wrong, expired or revoked token
            headers.authorization = `Bearer ${pick([tokens.expired, tokens.revoked, `llmstack_${word()}`, word()])}`;
            break;
          case 2: // a foreign Host, with a good token
            headers.authorization = `Bearer ${tokens.admin}`;
            headers.host = pick([word(), `${word()}:${port}`, `127.0.0.2:${port}`]);
            break;
          case 3: // a browser Origin, with a good token
            headers.authorization = `Bearer ${tokens.admin}`;
            headers.origin = pick(['null', `http://${word()}`, `vscode-webview://${word()}`]);
            break;
          case 4: // a good token, a use case, a body that is not valid input
            headers.authorization = `Bearer ${tokens.viewer}`;
            method = 'POST';
            path = pick(useCasePaths);
            body = malformed();
            break;
          default: // a good token, a method or path that is not a route
            headers.authorization = `Bearer ${tokens.viewer}`;
            method = pick(['PUT', 'DELETE', 'PATCH']);
            path = rnd(2) ? anyPath() : `/v1/${word()}/${word()}`;
        }
        const req = http.request({ host: '127.0.0.1', port, agent, method, path, headers, timeout: 15_000 }, (res) => {
          statuses.set(res.statusCode ?? 0, (statuses.get(res.statusCode ?? 0) ?? 0) + 1);
          res.resume();
          res.on('end', resolve);
          res.on('error', () => resolve());
        });
        req.on('error', () => {
          statuses.set(-1, (statuses.get(-1) ?? 0) + 1);
          resolve();
        });
        req.on('timeout', () => req.destroy());
        req.end(body);
      });
    const total = 10_000;
    let next = 0;
    await Promise.all(Array.from({ length: 8 }, async () => {
      while (next < total) {
        next++;
        await one();
      }
    }));
    agent.destroy();
    // Raw garbage on bare sockets, too.
    for (let i = 0; i < 200; i++) {
      await new Promise<void>((resolve) => {
        const s = net.connect(port, '127.0.0.1', () => s.end(`${bytes()}\r\n\r\n`));
        s.on('error', () => resolve());
        s.on('close', () => resolve());
        s.resume();
      });
    }
    const accepted = [...statuses].filter(([s]) => s >= 200 && s < 300).reduce((n, [, c]) => n + c, 0);
    assert.equal(accepted, 0, `statuses: ${JSON.stringify([...statuses])}`);
    assert.equal([...statuses.values()].reduce((a, b) => a + b, 0), total);
    // A connection cut while a 2 MB body was still being sent (after its 413 or 401) counts as -1.
    assert.ok((statuses.get(-1) ?? 0) < total / 20, `statuses: ${JSON.stringify([...statuses])}`);
    assert.equal(served.child.exitCode, null, 'still running');
    assert.equal((await request('POST', '/v1/containers/list', { token: tokens.viewer })).status, 200, 'and serving');
  });

  it('refuses to listen on an address other than loopback without --allow-remote (exit 2)', async () => {
    const other = newHome();
    try {
      const r = await cli(other, ['serve', '--listen', '0.0.0.0:0']);
      assert.equal(r.code, 2);
      assert.match(r.stderr, /would open the stack to other machines; pass --allow-remote/);
      const bad = await cli(other, ['serve', '--listen', 'nonsense']);
      assert.equal(bad.code, 2);
      assert.match(bad.stderr, /is not HOST:PORT/);
    } finally {
      other.cleanup();
    }
  });

  it('speaks HTTPS with a given certificate (a plain HTTP request gets no answer), and refuses a missing key (exit 2)', async () => {
    const other = newHome();
    let tlsServed: Served | undefined;
    try {
      const cert = path.join(other.dir, 'cert.pem');
      const key = path.join(other.dir, 'key.pem');
      const made = spawnSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1', '-subj', '/CN=localhost', '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost', '-keyout', key, '-out', cert], { encoding: 'utf8' });
      assert.equal(made.status, 0, `openssl (Debian's openssl package) makes the test certificate: ${made.stderr}`);
      const noKey = await cli(other, ['serve', '--listen', '127.0.0.1:0', '--tls-cert', cert]);
      assert.equal(noKey.code, 2);
      assert.match(noKey.stderr, /needs both a certificate and its key/);
      const notPem = await cli(other, ['serve', '--listen', '127.0.0.1:0', '--tls-cert', cert, '--tls-key', path.join(other.dir, 'absent.pem')]);
      assert.equal(notPem.code, 2);
      assert.match(notPem.stderr, /TLS key .*absent\.pem could not be read/);

      tlsServed = await serve(other, ['--listen', '127.0.0.1:0', '--tls-cert', cert, '--tls-key', key]);
      const st = await other.client().get<{ tcp: { port: number; tls: boolean } }>('/v1/status');
      assert.equal(st.tcp.tls, true);
      const viewer = (await other.client().call<{ token: string }>('tokens.create', { name: 'v', role: 'viewer' })).token;
      const answer = await new Promise<{ status: number; body: string; protocol: string }>((resolve, reject) => {
        const req = https.request({ host: '127.0.0.1', port: st.tcp.port, path: '/v1/version', ca: fs.readFileSync(cert), headers: { host: `127.0.0.1:${st.tcp.port}`, authorization: `Bearer ${viewer}` } }, (res) => {
          let body = '';
          const protocol = (res.socket as tls.TLSSocket).getProtocol() ?? '';
          res.on('data', (d: Buffer) => (body += d.toString()));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body, protocol }));
        });
        req.on('error', reject);
        req.end();
      });
      assert.equal(answer.status, 200, answer.body);
      assert.match(answer.protocol, /^TLSv1\.[23]$/);
      // Plain HTTP to the HTTPS port: the TLS server answers with no HTTP status line.
      const plain = await new Promise<string>((resolve) => {
        const s = net.connect(st.tcp.port, '127.0.0.1', () => s.write(`GET /v1/version HTTP/1.1\r\nHost: 127.0.0.1:${st.tcp.port}\r\nAuthorization: Bearer ${viewer}\r\n\r\n`));
        let got = '';
        s.on('data', (d) => (got += d.toString('latin1')));
        s.on('close', () => resolve(got));
        s.on('error', () => resolve(got));
        s.setTimeout(10_000, () => s.destroy());
      });
      assert.doesNotMatch(plain, /^HTTP\/1\.1 200/);
    } finally {
      await stopServed(tlsServed);
      other.cleanup();
    }
  });
});
