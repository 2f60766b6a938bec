// The pure helpers of exportRunning: names made from container names, and engine durations.
import * as assert from 'node:assert/strict';
import { formatNs, toStackName } from '../../../../src/core/stack/exportRunning';
import { nameSchema } from '../../../../src/core/stack/schema';

describe('export running containers: names and durations (unit)', () => {
  it('makes a valid stack name from any container name', () => {
    for (const [raw, want] of [
      ['My Ollama', 'my-ollama'],
      ['/_private', 'private'],
      ['__', 'service'],
      ['日本語', 'service'],
      ['x'.repeat(80), 'x'.repeat(63)],
    ]) {
      const got = toStackName(raw);
      assert.equal(got, want, raw);
      assert.ok(nameSchema.safeParse(got).success, `${got} is a valid name`);
    }
  });

  it('writes zero and sub-millisecond durations as "0s"', () => {
    assert.equal(formatNs(0), '0s');
    assert.equal(formatNs(400_000), '0s');
    assert.equal(formatNs(60e9), '1m');
  });
});
