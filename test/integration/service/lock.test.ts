// The one-service-per-user lock with real processes: a live owner refuses the next, a dead owner's
// lock is taken over, and when several starters race for a stale lock exactly one wins.
import * as assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { acquireLock, ServiceRunning } from '../../../src/service/lock';

const LOCK_JS = path.resolve(__dirname, '..', '..', '..', 'src', 'service', 'lock.js');

/** A pid that belonged to a process that has exited. */
function deadPid(): number {
  const r = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']);
  return Number(r.stdout.toString());
}

describe('the service lock (integration)', () => {
  let dir: string;
  let lock: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'llmstack-lock-'));
    lock = path.join(dir, 'service.lock');
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('a live owner refuses the next taker, naming its pid; released, it can be taken again', () => {
    const release = acquireLock(lock);
    assert.equal(fs.readFileSync(lock, 'utf8').trim(), String(process.pid));
    // Another process (pid 1 is alive and not us) holds it.
    fs.rmSync(lock);
    fs.writeFileSync(lock, '1\n');
    assert.throws(() => acquireLock(lock), (e: unknown) => e instanceof ServiceRunning && e.pid === 1 && /pid 1/.test(e.message));
    assert.equal(fs.readFileSync(lock, 'utf8').trim(), '1', 'the live owner keeps its lock');
    fs.rmSync(lock);
    release(); // not ours any more: releasing leaves others' locks alone
    const again = acquireLock(lock);
    again();
    assert.equal(fs.existsSync(lock), false);
  });

  it('takes over a lock whose owner died (kill -9), and an unreadable one', () => {
    fs.writeFileSync(lock, `${deadPid()}\n`);
    const release = acquireLock(lock);
    assert.equal(fs.readFileSync(lock, 'utf8').trim(), String(process.pid));
    release();
    fs.writeFileSync(lock, 'garbage');
    acquireLock(lock)();
  });

  it('8 processes racing for a stale lock: exactly one wins, the others name the winner', async () => {
    for (let round = 0; round < 5; round++) {
      fs.writeFileSync(lock, `${deadPid()}\n`);
      // The winner holds the lock until the test closes its stdin, after every racer has answered.
      const script = `const { acquireLock } = require(${JSON.stringify(LOCK_JS)});
        try { acquireLock(${JSON.stringify(lock)}); process.stdout.write('won\\n'); process.stdin.resume(); process.stdin.on('end', () => process.exit(0)); }
        catch (e) { process.stdout.write((e.name === 'ServiceRunning' ? 'lost:' + e.pid : 'error:' + e.message) + '\\n'); }`;
      const children = Array.from({ length: 8 }, () => spawn(process.execPath, ['-e', script], { stdio: ['pipe', 'pipe', 'inherit'] }));
      const exits = children.map((c) => new Promise<void>((r) => c.on('exit', () => r())));
      const results = await Promise.all(
        children.map(
          (child) =>
            new Promise<{ pid: number; out: string }>((resolve) => {
              let out = '';
              child.stdout!.on('data', (d: Buffer) => {
                out += d.toString();
                if (out.endsWith('\n')) resolve({ pid: child.pid!, out: out.trim() });
              });
              child.on('exit', () => resolve({ pid: child.pid!, out: out.trim() }));
            }),
        ),
      );
      for (const c of children) c.stdin!.end();
      await Promise.all(exits);
      const winners = results.filter((r) => r.out === 'won');
      assert.equal(winners.length, 1, `round ${round}: ${JSON.stringify(results)}`);
      for (const r of results.filter((x) => x !== winners[0])) assert.equal(r.out, `lost:${winners[0].pid}`, `round ${round}`);
      fs.rmSync(lock, { force: true });
    }
  });
});
