// The service log: JSON lines with level, time, pid and fields; secrets redacted in fields and in
// message text; rotation by size keeping a bounded number of files, 0600, never through a link; and
// the readable form `llmstack logs` prints.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { readableLine, scrub, serviceLogger } from '../../../src/service/logging';

describe('the service log (unit)', () => {
  let dir: string;
  let file: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'llmstack-log-'));
    file = path.join(dir, 'service.log');
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));
  const lines = (f = file) => fs.readFileSync(f, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);

  it('writes JSON lines with time, level, pid, message and fields; below the level nothing', () => {
    const log = serviceLogger(file, { level: 'info' });
    log.debug('not written');
    log.info('started');
    log.event('warn', 'request', { reqId: 'r-1', route: 'models.pull', status: 502, ms: 12 });
    const [a, b] = lines();
    assert.equal(lines().length, 2);
    assert.deepEqual([a.level, a.msg, a.pid], ['info', 'started', process.pid]);
    assert.match(String(a.time), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    assert.deepEqual([b.level, b.msg, b.reqId, b.status], ['warn', 'request', 'r-1', 502]);
    assert.equal(fs.statSync(file).mode & 0o777, 0o600);
  });

  it('redacts secrets: in fields by name, in messages by shape', () => {
    const log = serviceLogger(file);
    const token = `llmstack_${'A'.repeat(43)}`;
    log.event('info', `token ${token} and Bearer abcdefghijkl and sk-abc123456789 and whsec_${'b'.repeat(40)} and url?api_key=xyz123&x=1`, { authorization: 'Bearer secret-value', nested: { token: 't0ps3cret', apiKey: 'k' }, secret: 's' });
    const text = fs.readFileSync(file, 'utf8');
    for (const s of [token, 'abcdefghijkl', 'sk-abc123456789', 'whsec_bbbb', 'xyz123', 'secret-value', 't0ps3cret']) assert.ok(!text.includes(s), `${s} is not in ${text}`);
    const [l] = lines();
    assert.equal(l.msg, 'token [redacted] and Bearer [redacted] and [redacted] and [redacted] and url?api_key=[redacted]&x=1');
    assert.deepEqual([l.authorization, (l.nested as Record<string, string>).token, l.secret], ['[redacted]', '[redacted]', '[redacted]']);
    assert.equal(scrub('nothing secret here: 42 tokens'), 'nothing secret here: 42 tokens');
  });

  it('rotates past its size and keeps a bounded number of old files, the newest line in the current file', () => {
    const log = serviceLogger(file, { maxBytes: 2_000, keep: 2 });
    for (let i = 0; i < 300; i++) log.info(`line ${i} ${'x'.repeat(40)}`);
    assert.deepEqual(fs.readdirSync(dir).sort(), ['service.log', 'service.log.1', 'service.log.2']);
    for (const f of fs.readdirSync(dir)) assert.ok(fs.statSync(path.join(dir, f)).size <= 2_000, f);
    assert.match(String(lines().at(-1)!.msg), /^line 299 /);
    assert.match(String(lines(`${file}.1`).at(-1)!.msg), /^line \d+ /);
  });

  it('does not write through a link put where the log goes', () => {
    const target = path.join(dir, 'elsewhere');
    fs.writeFileSync(target, '');
    fs.symlinkSync(target, file);
    assert.throws(() => serviceLogger(file), /ELOOP|symbolic link/);
    assert.equal(fs.readFileSync(target, 'utf8'), '');
  });

  it('reads a JSON line back readable; other lines as they are', () => {
    assert.equal(readableLine('{"level":"warn","time":"2026-12-07T08:00:00.000Z","pid":7,"msg":"slow","reqId":"r1","ms":12}'), '2026-12-07T08:00:00.000Z warn slow reqId=r1 ms=12');
    assert.equal(readableLine('2026-12-01T00:00:00.000Z info an old line'), '2026-12-01T00:00:00.000Z info an old line');
    assert.equal(readableLine('{broken'), '{broken');
  });
});
