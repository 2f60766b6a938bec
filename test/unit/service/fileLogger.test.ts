import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileLogger } from '../../../src/service/service';

describe('the service log file (unit)', () => {
  it('is bounded: past its size the file moves to .1 and a new one starts; at most two files', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'llmstack-log-'));
    try {
      const file = path.join(dir, 'service.log');
      const log = fileLogger(file, false, 2_000);
      for (let i = 0; i < 200; i++) log.info(`line ${i} ${'x'.repeat(40)}`);
      assert.deepEqual(fs.readdirSync(dir).sort(), ['service.log', 'service.log.1']);
      assert.ok(fs.statSync(file).size <= 2_000 && fs.statSync(`${file}.1`).size <= 2_000);
      assert.match(fs.readFileSync(file, 'utf8').trim().split('\n').pop()!, /info line 199 x+$/, 'the newest line is in the current file');
      assert.equal(fs.statSync(file).mode & 0o077, 0, 'readable by its user only');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
