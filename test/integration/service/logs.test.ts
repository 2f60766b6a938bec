// The service's log through the real CLI: `llmstack logs` shows the JSON lines readable,
// `--level` filters, and `logs -f` shows each new line as it is written, across rotations, with
// the request id a caller sent (X-Request-Id), which the answer carries too.
import * as assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as http from 'node:http';
import { CLI, cli, newHome, serve, stopServed, type Home, type Served } from './support';

describe("the service's log (integration)", function () {
  this.timeout(60_000);
  let home: Home;
  let served: Served;

  const get = (route: string, reqId: string) =>
    new Promise<http.IncomingHttpHeaders>((resolve, reject) => {
      http
        .get({ socketPath: home.paths.socket, path: route, headers: { host: 'llmstack', 'x-request-id': reqId } }, (res) => {
          res.resume();
          res.on('end', () => resolve(res.headers));
        })
        .on('error', reject);
    });

  before(async () => {
    home = newHome();
    // A line per request, and a file of 20 KB: a few hundred requests rotate it.
    home.config({ logs: { level: 'debug', maxMegabytes: 0.02, keep: 2 } });
    served = await serve(home);
  });
  after(async () => {
    await stopServed(served);
    home?.cleanup();
  });

  it('shows the JSON lines readable, filters by level, and answers the request id it logged', async () => {
    const headers = await get('/v1/version', 'first-request');
    assert.equal(headers['x-request-id'], 'first-request');
    const generated = await get('/v1/version', 'has spaces, so not used');
    assert.match(String(generated['x-request-id']), /^[0-9a-f-]{36}$/);
    const all = await cli(home, ['logs', '-n', '200']);
    assert.equal(all.code, 0, all.stderr);
    assert.match(all.stdout, /^\S+Z info llmstack service .* listening on/m);
    assert.match(all.stdout, /debug request reqId=first-request method=GET route=GET \/v1\/version transport=socket status=200 ms=\d+/);
    const warnings = await cli(home, ['logs', '--level', 'warn']);
    assert.doesNotMatch(warnings.stdout, /debug request/);
    const raw = await cli(home, ['logs', '--json', '-n', '5']);
    for (const l of (JSON.parse(raw.stdout) as { lines: string[] }).lines) assert.equal(typeof (JSON.parse(l) as { level: string }).level, 'string');
  });

  it('follows new lines as they are written, across a rotation, until interrupted', async () => {
    const follower = spawn(process.execPath, [CLI, 'logs', '-f', '-n', '1'], { env: home.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let seen = '';
    const waitFor = (what: RegExp) =>
      new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`not followed: ${what}; got ${seen.slice(-500)}`)), 20_000);
        const check = () => {
          if (!what.test(seen)) return;
          clearTimeout(timer);
          follower.stdout.off('data', check);
          resolve();
        };
        follower.stdout.on('data', (d: Buffer) => {
          seen += d.toString();
          check();
        });
        check();
      });
    try {
      await waitFor(/\n/);
      await get('/v1/version', 'followed-1');
      await waitFor(/reqId=followed-1/);
      // Enough requests to rotate the 20 KB file at least once; the last one still arrives.
      for (let i = 0; i < 150; i++) await get('/v1/version', `burst-${i}`);
      await get('/v1/version', 'after-rotation');
      await waitFor(/reqId=after-rotation/);
      assert.ok((await cli(home, ['logs', '-n', '1'])).code === 0);
    } finally {
      follower.kill('SIGINT');
    }
    const code = await new Promise<number | null>((r) => follower.once('exit', (c) => r(c)));
    assert.notEqual(code, null, 'it exits on Ctrl+C');
  });
});
