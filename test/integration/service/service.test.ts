// The local service as its clients see it: one per user (a second is refused, a killed one's lock is
// taken over), the HTTP API on its Unix socket (schemas, errors, streamed progress, events, the
// OpenAPI document), and no registry write lost with several writers at once or with kill -9.
import * as assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import { PROTOCOL } from '../../../src/service/wire';
import * as net from 'node:net';
import * as path from 'node:path';
import { connectService, SERVICE_RUNTIME_FLAGS, ServiceError, startCommandFor, stopService } from '../../../src/service/client';
import type { ServiceEvent } from '../../../src/service/protocol';
import { CLI, cli, newHome, serve, stopServed, type Home, type Served } from './support';

/** A raw request on the socket, for what the client never sends (bad JSON, wrong method, huge bodies). */
function raw(home: Home, method: string, route: string, body?: string | Buffer, headers: http.OutgoingHttpHeaders = {}): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ socketPath: home.paths.socket, method, path: route, headers: { host: 'llmstack', 'content-type': 'application/json', ...headers } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** Sends only the headers of a request that declares `length` body bytes, and reads the answer. */
function declaredOnly(home: Home, route: string, length: number): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ socketPath: home.paths.socket, method: 'POST', path: route, headers: { host: 'llmstack', 'content-type': 'application/json', 'content-length': String(length) } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => {
        resolve({ status: res.statusCode ?? 0, text });
        req.destroy();
      });
    });
    req.on('error', reject);
    req.flushHeaders();
  });
}

describe('the local service on its socket (integration)', function () {
  this.timeout(120_000);
  let home: Home;
  let served: Served;

  before(async () => {
    home = newHome();
    served = await serve(home);
  });
  after(async () => {
    await stopServed(served);
    home?.cleanup();
  });

  it('keeps its socket and data in private folders: 0700 folders, a 0600 socket', () => {
    for (const d of [home.paths.runDir, home.paths.dataDir]) assert.equal(fs.statSync(d).mode & 0o777, 0o700, d);
    const st = fs.lstatSync(home.paths.socket);
    assert.ok(st.isSocket());
    assert.equal(st.mode & 0o077, 0, 'no access for group or others');
  });

  it('answers its version and protocol, and a second `llmstack serve` is refused with exit code 3 naming the running one', async () => {
    const v = await home.client().version();
    assert.equal(v.name, 'llmstack');
    assert.equal(v.pid, served.child.pid);
    assert.equal(v.idleExitMinutes, null, 'started by hand: it stays');
    const second = await cli(home, ['serve']);
    assert.equal(second.code, 3);
    assert.match(second.stderr, new RegExp(`Another llmstack service is running \\(pid ${served.child.pid}`));
    // The refused one did not disturb the running one.
    assert.equal((await home.client().version()).pid, served.child.pid);
  });

  it('serves an OpenAPI 3.1 document generated from the use cases: every route with its input schema', async () => {
    const doc = await home.client().get<{ openapi: string; paths: Record<string, { post?: { operationId: string; requestBody: { content: Record<string, { schema: { properties?: Record<string, unknown>; required?: string[] } }> } } }> }>('/openapi.json');
    assert.equal(doc.openapi, '3.1.0');
    for (const route of ['/v1/containers/list', '/v1/models/pull', '/v1/registry/import', '/v1/stack/apply', '/v1/swarm/deploy', '/v1/registry/recordAudit']) assert.ok(doc.paths[route]?.post, route);
    const pull = doc.paths['/v1/models/pull'].post!;
    assert.equal(pull.operationId, 'models.pull');
    const schema = pull.requestBody.content['application/json'].schema;
    assert.deepEqual(Object.keys(schema.properties ?? {}).sort(), ['names', 'runtimeId']);
    assert.deepEqual([...(schema.required ?? [])].sort(), ['names', 'runtimeId']);
    // The checked-in copy (docs/openapi.json) is this document.
    const checkedIn = JSON.parse(fs.readFileSync(path.resolve(__dirname, '..', '..', '..', '..', 'docs', 'openapi.json'), 'utf8')) as { paths: object };
    assert.deepEqual(Object.keys(checkedIn.paths).sort(), Object.keys(doc.paths).sort(), 'docs/openapi.json is up to date (npm run build writes it)');
  });

  it('refuses bad requests with a status and a message that says what to fix', async () => {
    const bad = await raw(home, 'POST', '/v1/registry/audit', JSON.stringify({ limit: 'ten' }));
    assert.equal(bad.status, 400);
    const body = JSON.parse(bad.text) as { error: { code: string; issues: string[] } };
    assert.equal(body.error.code, 'invalid_input');
    assert.match(body.error.issues[0], /^limit: /);
    const notJson = await raw(home, 'POST', '/v1/registry/stats', '{"no');
    assert.equal(notJson.status, 400);
    assert.match(notJson.text, /not JSON/);
    const missing = await raw(home, 'POST', '/v1/nothing/here', '{}');
    assert.equal(missing.status, 404);
    assert.match(missing.text, /openapi\.json/);
    const get = await raw(home, 'GET', '/v1/registry/stats');
    assert.equal(get.status, 405);
    // A body declared too large is refused before it is read. The client sends its headers and
    // waits: a client that keeps writing after the answer meets a closed socket (EPIPE), as with
    // any HTTP server that closes after a 413.
    const huge = await declaredOnly(home, '/v1/registry/audit', 2 * 1024 * 1024);
    assert.equal(huge.status, 413);
    assert.match(huge.text, /at most \d+ are accepted/);
    // A client error is one for the client: the service still answers.
    assert.equal((await home.client().version()).pid, served.child.pid);
    // Through the client, the same failure arrives as a ServiceError with the issues.
    await assert.rejects(home.client().call('registry.audit', { limit: 0 }), (e: unknown) => e instanceof ServiceError && e.status === 400 && e.code === 'invalid_input' && /limit/.test(e.issues?.join() ?? ''));
  });

  it('cuts off a client that trickles its body: 408 within the body timeout (10 s), and goes on serving', async () => {
    const t0 = Date.now();
    const answer = await new Promise<string>((resolve, reject) => {
      const sock = net.connect(home.paths.socket);
      let text = '';
      sock.on('data', (d) => (text += d.toString()));
      sock.on('close', () => resolve(text));
      sock.on('error', reject);
      // Says 100 bytes are coming, sends one, and then nothing.
      sock.write('POST /v1/registry/stats HTTP/1.1\r\nHost: llmstack\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{');
      setTimeout(() => sock.destroy(), 30_000).unref();
    });
    assert.match(answer, /^HTTP\/1\.1 408/);
    assert.match(answer, /did not arrive within 10000 ms/);
    assert.ok(Date.now() - t0 < 20_000, 'within the bound');
    assert.equal((await home.client().version()).pid, served.child.pid);
  });

  it('answers a streamed request with its result line, and tells subscribers of /v1/events what changed', async () => {
    const events: ServiceEvent[] = [];
    let woke: () => void = () => {};
    const sub = home.client().events((e) => {
      events.push(e);
      woke();
    });
    try {
      const hello = new Promise<void>((r) => (woke = r));
      await hello;
      assert.equal(events[0].type, 'hello');
      const progress: unknown[] = [];
      const registryEvent = new Promise<void>((r) => (woke = () => events.some((e) => e.type === 'registry') && r()));
      const result = await home.client().call<{ file: string }>('registry.backup', { reason: 'stream-test' }, { progress: (p) => progress.push(p) });
      assert.match(path.basename(result.file), /stream-test/);
      await registryEvent;
      assert.deepEqual(
        events.filter((e) => e.type === 'registry'),
        [{ type: 'registry', operation: 'registry.backup' }],
      );
    } finally {
      sub.dispose();
    }
  });

  it('writes from many clients at once are all kept: 4 processes and the CLI, 40 audit entries each, none lost', async () => {
    const writers = 4;
    const each = 40;
    const script = `
      const { ServiceClient } = require(${JSON.stringify(path.resolve(__dirname, '..', '..', '..', 'src', 'service', 'client.js'))});
      const c = new ServiceClient(process.env.SOCK);
      (async () => { for (let i = 0; i < ${each}; i++) await c.call('registry.recordAudit', { operation: 'test.write', target: process.env.WHO + '-' + i }); })()
        .then(() => process.exit(0), (e) => { console.error(e.message); process.exit(1); });`;
    const runs = Array.from({ length: writers }, (_, w) =>
      new Promise<number>((resolve) => {
        const child = spawn(process.execPath, ['-e', script], { env: { ...home.env, SOCK: home.paths.socket, WHO: `w${w}` }, stdio: ['ignore', 'inherit', 'inherit'] });
        child.on('exit', (code) => resolve(code ?? -1));
      }),
    );
    const viaCli = (async () => {
      const codes: number[] = [];
      for (let i = 0; i < 5; i++) codes.push((await cli(home, ['registry', 'backup', '--json'])).code);
      return codes;
    })();
    assert.deepEqual(await Promise.all(runs), Array(writers).fill(0));
    assert.deepEqual(await viaCli, [0, 0, 0, 0, 0]);
    const { entries } = await home.client().call<{ entries: { operation: string; target: string }[] }>('registry.audit', { limit: 1000 });
    const written = new Set(entries.filter((e) => e.operation === 'test.write').map((e) => e.target));
    assert.equal(written.size, writers * each, 'every acknowledged write is in the registry');
    assert.equal(entries.filter((e) => e.operation === 'registry.backup').length >= 5, true);
  });
});

describe('the local service killed with SIGKILL (integration)', function () {
  this.timeout(300_000);
  let home: Home;
  before(() => (home = newHome()));
  after(() => home?.cleanup());

  it('100 times in the middle of writes: every acknowledged write is there after a restart, the file opens, the stale lock is taken over', async () => {
    const acked: string[] = [];
    let served: Served | undefined;
    const rounds = Number(process.env.LLMSTACK_KILL_ROUNDS ?? 100);
    for (let round = 0; round < rounds; round++) {
      served = await serve(home);
      const c = home.client();
      // Writes go on until the kill; each one acknowledged is recorded. The kill comes after 1 to 4
      // acknowledged writes of this round, so it lands in the middle of the stream.
      const want = acked.length + 1 + (round % 4);
      let reached: () => void = () => {};
      const enough = new Promise<void>((r) => (reached = r));
      let stop = false;
      let failure: unknown;
      const writer = (async () => {
        for (let i = 0; !stop; i++) {
          const target = `r${round}-${i}`;
          try {
            await c.call('registry.recordAudit', { operation: 'kill.write', target });
          } catch (e) {
            failure = e;
            return;
          }
          acked.push(target);
          if (acked.length >= want) reached();
        }
      })();
      await Promise.race([enough, writer]);
      assert.ok(acked.length >= want, `round ${round}: the writes failed before the kill: ${String(failure)} ${served.output()}`);
      served.child.kill('SIGKILL');
      await served.exited;
      stop = true;
      await writer;
    }
    served = await serve(home);
    try {
      const { entries } = await home.client().call<{ entries: { operation: string; target: string }[] }>('registry.audit', { limit: 1000 });
      const present = new Set(entries.filter((e) => e.operation === 'kill.write').map((e) => e.target));
      const lost = acked.filter((t) => !present.has(t));
      assert.ok(acked.length >= rounds, `at least one write per round (${acked.length})`);
      assert.deepEqual(lost, [], `${lost.length} of ${acked.length} acknowledged writes lost`);
    } finally {
      await stopServed(served);
    }
  });
});

describe('the local service started by a client (integration)', function () {
  this.timeout(60_000);
  let home: Home;
  beforeEach(() => (home = newHome()));
  afterEach(() => home?.cleanup());

  it('exits once idle with no client, and not while a client holds its event stream', async () => {
    // 0.05 minutes: 3 s without a client.
    const served = await serve(home, ['--idle-exit-minutes', '0.05']);
    let events = 0;
    const sub = home.client().events(() => events++);
    try {
      // Held for longer than the idle time: the subscriber keeps it (a check that nothing happens).
      await new Promise((r) => setTimeout(r, 4_500));
      assert.equal(served.child.exitCode, null, 'still running while a window is subscribed');
      assert.ok(events >= 1, 'the subscriber got its hello');
    } finally {
      sub.dispose();
    }
    const t0 = Date.now();
    assert.equal(await served.exited, 0);
    assert.ok(Date.now() - t0 >= 2_000, 'it waited its idle time after the last client left');
    assert.equal(fs.existsSync(home.paths.lockFile), false, 'it released its lock');
    assert.equal(fs.existsSync(home.paths.socket), false, 'and removed its socket');
  });

  it('a client starts it with the lean V8 flags; where the runtime refuses a flag, with the plain command instead', async () => {
    const start = startCommandFor(CLI, 1, home.env);
    assert.deepEqual(start.args.slice(0, SERVICE_RUNTIME_FLAGS.length), [...SERVICE_RUNTIME_FLAGS]);
    const lean = await connectService(home.paths, { start });
    assert.equal(lean.started, true);
    assert.match(fs.readFileSync(`/proc/${lean.version.pid}/cmdline`, 'utf8'), /--single-threaded/);
    await stopService(home.paths);
    // A runtime that does not know a flag exits at once (Node: code 9); the fallback answers.
    const refusing = { ...start, args: ['--no-such-runtime-flag', ...start.args] };
    const plain = await connectService(home.paths, { start: refusing });
    assert.equal(plain.started, true);
    assert.doesNotMatch(fs.readFileSync(`/proc/${plain.version.pid}/cmdline`, 'utf8'), /no-such-runtime-flag|single-threaded/);
    await stopService(home.paths);
  });

  it('a socket that resets the connection (a service killed while it accepts) counts as no service: a new one is started', async () => {
    fs.mkdirSync(home.paths.runDir, { recursive: true, mode: 0o700 });
    const dying = net.createServer((s) => s.destroy());
    await new Promise<void>((r) => dying.listen(home.paths.socket, r));
    try {
      const c = await connectService(home.paths, { start: startCommandFor(CLI, 1, home.env) });
      assert.equal(c.started, true);
      assert.equal((await c.client.version()).pid, c.version.pid);
    } finally {
      dying.close();
      await stopService(home.paths).catch(() => undefined);
    }
  });

  it('a service of another protocol is asked to stop and replaced; with --no-start the CLI refuses and says why', async () => {
    // An "older" service: answers with protocol 999 and stops when asked, as a real one does.
    fs.mkdirSync(home.paths.runDir, { recursive: true, mode: 0o700 });
    fs.writeFileSync(home.paths.lockFile, `${process.pid}\n`);
    let stopped = false;
    const old = http.createServer((req, res) => {
      if (req.url === '/v1/version') {
        res.setHeader('content-type', 'application/json');
        return res.end(JSON.stringify({ name: 'llmstack', version: '0.0.1', protocol: 999, pid: process.pid, startedAt: Date.now(), idleExitMinutes: 10 }));
      }
      if (req.url === '/v1/service/stop') {
        stopped = true;
        res.statusCode = 202;
        res.end('{}');
        old.close();
        old.closeAllConnections();
        fs.rmSync(home.paths.lockFile, { force: true });
        return;
      }
      res.statusCode = 404;
      res.end('{}');
    });
    await new Promise<void>((r) => old.listen(home.paths.socket, r));
    try {
      const refused = await cli(home, ['--no-start', 'status']);
      assert.equal(refused.code, 3);
      assert.ok(refused.stderr.includes(`speaks another protocol than this client (protocol ${PROTOCOL})`), refused.stderr);
      assert.equal(stopped, false, 'a refusing client stops nothing');
      const status = await cli(home, ['--json', 'status']);
      assert.equal(status.code, 0, status.stderr);
      assert.equal(stopped, true, 'the old service was asked to stop');
      const s = JSON.parse(status.stdout) as { protocol: number; pid: number };
      assert.equal(s.protocol, PROTOCOL);
      assert.notEqual(s.pid, process.pid);
    } finally {
      old.close();
      await cli(home, ['service', 'stop']);
    }
  });
});
