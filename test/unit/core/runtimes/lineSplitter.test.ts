// The NDJSON line splitter: any cutting of the bytes into chunks gives the lines of the whole text
// (property, against String.split), the line limit holds across chunks, and a long line is linear.
import * as assert from 'node:assert/strict';
import fc from 'fast-check';
import { LineSplitter, LineTooLongError } from '../../../../src/core/runtimes/lineSplitter';

/** Every line the splitter gives for these chunks, then what is left at the end. */
function split(chunks: readonly Uint8Array[], max = 1 << 20): { lines: string[]; rest: string } {
  const s = new LineSplitter(max);
  const lines = chunks.flatMap((c) => s.push(c));
  return { lines, rest: s.rest() };
}

/** The bytes cut at these offsets. */
function cut(bytes: Uint8Array, at: readonly number[]): Uint8Array[] {
  const points = [...new Set(at.map((a) => a % (bytes.length + 1)))].sort((a, b) => a - b);
  const out: Uint8Array[] = [];
  let from = 0;
  for (const p of [...points, bytes.length]) {
    out.push(bytes.subarray(from, p));
    from = p;
  }
  return out;
}

describe('NDJSON line splitter (unit)', () => {
  it('gives the lines of the whole text however the bytes are cut (UTF-8 sequences and CRLF included)', () => {
    const text = fc.array(fc.oneof(fc.string({ unit: 'grapheme' }), fc.constantFrom('\n', '\r\n', 'é', '✓', '😀')), { maxLength: 30 }).map((parts) => parts.join(''));
    fc.assert(
      fc.property(text, fc.array(fc.nat(), { maxLength: 12 }), (t, at) => {
        const { lines, rest } = split(cut(Buffer.from(t, 'utf8'), at));
        const expected = t.split('\n');
        assert.deepEqual(lines, expected.slice(0, -1).map((l) => l.replace(/\r$/, '')));
        assert.equal(rest, expected[expected.length - 1]);
      }),
    );
  });

  it('refuses a line longer than the limit, whether it comes in one chunk or many, and accepts one at the limit', () => {
    assert.deepEqual(split([Buffer.from('abcd\n')], 4).lines, ['abcd']);
    assert.throws(() => split([Buffer.from('abcde\n')], 4), (e: unknown) => e instanceof LineTooLongError && e.limit === 4);
    assert.throws(() => split([Buffer.from('ab'), Buffer.from('cd'), Buffer.from('e')], 4), LineTooLongError, 'no newline yet: refused as soon as it is too long');
    assert.throws(() => split([Buffer.from('abc'), Buffer.from('de\n')], 4), LineTooLongError);
    assert.deepEqual(split([Buffer.from('ab'), Buffer.from('cd\nefgh\ni')], 4), { lines: ['abcd', 'efgh'], rest: 'i' });
  });

  it('a 50 MB line in 64 KiB chunks is joined once (each chunk is searched once)', () => {
    const chunk = Buffer.alloc(64 * 1024, 0x61);
    const s = new LineSplitter(64 * 1024 * 1024);
    for (let i = 0; i < 800; i++) assert.deepEqual(s.push(chunk), []);
    assert.equal(s.unfinishedBytes, 800 * chunk.length);
    const [line] = s.push(Buffer.from('b\n'));
    assert.equal(line.length, 800 * chunk.length + 1);
    assert.equal(line.at(-1), 'b');
    assert.equal(s.unfinishedBytes, 0);
  });
});
