// Unit tests for src/core/docker/actions.ts: toActionError, LogDemuxer (incl. split-stream properties) and runBatch.
import * as assert from 'node:assert/strict';
import fc from 'fast-check';
import { ActionError, LogChunk, LogDemuxer, runBatch, toActionError } from '../../../../src/core/docker/actions';

/** One frame of Docker's multiplexed stream: type byte, 3 zero bytes, big-endian payload length, payload. */
function frame(type: number, payload: Buffer | string): Buffer {
  const body = typeof payload === 'string' ? Buffer.from(payload, 'utf8') : payload;
  const header = Buffer.alloc(8);
  header[0] = type;
  header.writeUInt32BE(body.length, 4);
  return Buffer.concat([header, body]);
}

/** Splits a buffer at the given (sorted, deduplicated) offsets. */
function splitAt(buf: Buffer, cuts: number[]): Buffer[] {
  const points = [...new Set(cuts.map((c) => c % (buf.length + 1)))].sort((a, b) => a - b);
  const parts: Buffer[] = [];
  let prev = 0;
  for (const p of points) {
    parts.push(buf.subarray(prev, p));
    prev = p;
  }
  parts.push(buf.subarray(prev));
  return parts;
}

function demux(parts: Buffer[]): LogChunk[] {
  const out: LogChunk[] = [];
  const d = new LogDemuxer((c) => out.push(c));
  for (const p of parts) d.push(p);
  return out;
}

/** Joins consecutive chunks of the same stream: what a reader of each stream sees. */
function perStream(chunks: LogChunk[]): { stdout: string; stderr: string } {
  return {
    stdout: chunks.filter((c) => c.stream === 'stdout').map((c) => c.text).join(''),
    stderr: chunks.filter((c) => c.stream === 'stderr').map((c) => c.text).join(''),
  };
}

const frameArb = fc.record({
  type: fc.constantFrom(0, 1, 2, 3),
  text: fc.string({ unit: 'grapheme', maxLength: 40 }),
});

describe('container actions (unit)', () => {
  describe('toActionError', () => {
    it('404 means the container is gone', () => {
      const e = toActionError('Stopping', 'ollama', { statusCode: 404, json: { message: 'No such container: abc' } });
      assert.ok(e instanceof ActionError);
      assert.ok(e instanceof Error);
      assert.equal(e.name, 'ActionError');
      assert.equal(e.kind, 'gone');
      assert.equal(e.message, 'Stopping "ollama" failed: the container no longer exists (it was removed meanwhile). The list is up to date again.');
    });

    it('409 is a conflict with the engine’s message', () => {
      const e = toActionError('Removing', 'db', { statusCode: 409, json: { message: 'removal of container db is already in progress' } });
      assert.equal(e.kind, 'conflict');
      assert.equal(e.message, 'Removing "db" failed: removal of container db is already in progress.');
    });

    it('connection errors mean the engine stopped answering', () => {
      for (const code of ['ECONNREFUSED', 'ENOENT', 'ECONNRESET', 'EPIPE']) {
        const e = toActionError('Starting', 'web', Object.assign(new Error(`connect ${code}`), { code }));
        assert.equal(e.kind, 'disconnected', code);
        assert.equal(e.message, `Starting "web" failed: the engine stopped answering (${code}). The extension reconnects by itself.`);
      }
    });

    it('other codes and status codes are engine errors with the best detail available', () => {
      const withJson = toActionError('Starting', 'gpu', { statusCode: 500, json: { message: 'could not select device driver "nvidia"' }, reason: 'server error', message: '(HTTP code 500) server error' });
      assert.equal(withJson.kind, 'engine');
      assert.equal(withJson.message, 'Starting "gpu" failed: could not select device driver "nvidia"');
      assert.equal(toActionError('Starting', 'gpu', { statusCode: 500, json: null, reason: 'server error', message: 'm' }).message, 'Starting "gpu" failed: server error');
      assert.equal(toActionError('Starting', 'gpu', { statusCode: 500, message: 'plain message' }).message, 'Starting "gpu" failed: plain message');
      assert.equal(toActionError('Starting', 'x', Object.assign(new Error('timeout'), { code: 'ETIMEDOUT' })).kind, 'engine');
      assert.equal(toActionError('Starting', 'x', 'just text').message, 'Starting "x" failed: just text');
      assert.equal(toActionError('Starting', 'x', undefined).message, 'Starting "x" failed: undefined');
      assert.equal(toActionError('Starting', 'x', null).kind, 'engine');
    });
  });

  describe('LogDemuxer', () => {
    it('splits frames into stdout and stderr chunks in order', () => {
      const chunks = demux([Buffer.concat([frame(1, 'hello\n'), frame(2, 'oops\n'), frame(1, 'bye\n')])]);
      assert.deepEqual(chunks, [
        { stream: 'stdout', text: 'hello\n' },
        { stream: 'stderr', text: 'oops\n' },
        { stream: 'stdout', text: 'bye\n' },
      ]);
    });

    it('drops stdin (0) and system error (3) frames', () => {
      const chunks = demux([Buffer.concat([frame(0, 'in'), frame(3, 'sys'), frame(1, 'out')])]);
      assert.deepEqual(chunks, [{ stream: 'stdout', text: 'out' }]);
    });

    it('waits for the rest of a frame split across pushes, header included', () => {
      const all = Buffer.concat([frame(1, 'first line\n'), frame(2, 'second\n')]);
      const out: LogChunk[] = [];
      const d = new LogDemuxer((c) => out.push(c));
      d.push(all.subarray(0, 3));
      assert.deepEqual(out, []);
      d.push(all.subarray(3, 12));
      assert.deepEqual(out, []);
      d.push(all.subarray(12, 19));
      assert.deepEqual(out, [{ stream: 'stdout', text: 'first line\n' }]);
      d.push(all.subarray(19));
      assert.deepEqual(out, [
        { stream: 'stdout', text: 'first line\n' },
        { stream: 'stderr', text: 'second\n' },
      ]);
    });

    it('handles a payload larger than 64 KiB (32-bit length)', () => {
      const big = 'x'.repeat(70_000);
      assert.deepEqual(demux(splitAt(frame(1, big), [1, 8, 65_536])), [{ stream: 'stdout', text: big }]);
    });

    it('keeps a multi-byte character that a program wrote in two frames whole', () => {
      // llama.cpp and friends print tokens as they come; a token may end inside a UTF-8 sequence.
      const euro = Buffer.from('€', 'utf8');
      const chunks = demux([Buffer.concat([frame(1, Buffer.concat([Buffer.from('price: '), euro.subarray(0, 1)])), frame(1, Buffer.concat([euro.subarray(1), Buffer.from('5\n')]))])]);
      assert.equal(perStream(chunks).stdout, 'price: €5\n');
      assert.ok(chunks.every((c) => !c.text.includes('\uFFFD')));
    });

    it('decodes stdout and stderr independently when their characters interleave', () => {
      const a = Buffer.from('ä', 'utf8');
      const b = Buffer.from('ö', 'utf8');
      const bytes = Buffer.concat([frame(1, a.subarray(0, 1)), frame(2, b.subarray(0, 1)), frame(1, a.subarray(1)), frame(2, b.subarray(1))]);
      assert.deepEqual(perStream(demux([bytes])), { stdout: 'ä', stderr: 'ö' });
    });

    it('yields the same chunks however the byte stream is split (property)', () => {
      fc.assert(
        fc.property(fc.array(frameArb, { maxLength: 12 }), fc.array(fc.nat(), { maxLength: 20 }), (frames, cuts) => {
          const bytes = Buffer.concat(frames.map((f) => frame(f.type, f.text)));
          const whole = demux([bytes]);
          assert.deepEqual(demux(splitAt(bytes, cuts)), whole);
          assert.deepEqual(demux([...bytes].map((b) => Buffer.from([b]))), whole);
        }),
      );
    });

    it('gives each stream exactly the text written to it (property)', () => {
      fc.assert(
        fc.property(fc.array(frameArb, { maxLength: 12 }), fc.array(fc.nat(), { maxLength: 20 }), (frames, cuts) => {
          const bytes = Buffer.concat(frames.map((f) => frame(f.type, f.text)));
          assert.deepEqual(perStream(demux(splitAt(bytes, cuts))), {
            stdout: frames.filter((f) => f.type === 1).map((f) => f.text).join(''),
            stderr: frames.filter((f) => f.type === 2).map((f) => f.text).join(''),
          });
        }),
      );
    });

    it('gives each stream its text even when frames split characters anywhere (property)', () => {
      const writes = fc.array(fc.record({ stream: fc.constantFrom(1, 2), text: fc.string({ unit: 'grapheme', minLength: 1, maxLength: 20 }) }), { maxLength: 8 });
      fc.assert(
        fc.property(writes, fc.array(fc.nat(), { maxLength: 10 }), (ws, cuts) => {
          // Each stream's bytes are cut into several frames at arbitrary byte offsets, then the frames interleave.
          const frames: Buffer[] = [];
          for (const w of ws) for (const piece of splitAt(Buffer.from(w.text, 'utf8'), cuts)) if (piece.length) frames.push(frame(w.stream, piece));
          assert.deepEqual(perStream(demux([Buffer.concat(frames)])), {
            stdout: ws.filter((w) => w.stream === 1).map((w) => w.text).join(''),
            stderr: ws.filter((w) => w.stream === 2).map((w) => w.text).join(''),
          });
        }),
      );
    });
  });

  describe('runBatch', () => {
    it('collects successes and failures in item order, running all items', async () => {
      const ran: string[] = [];
      const result = await runBatch(['a', 'bad', 'c', 'worse'], async (item) => {
        ran.push(item);
        await new Promise((r) => setTimeout(r, item === 'a' ? 10 : 0));
        if (item === 'bad') throw new Error('bad failed');
        if (item === 'worse') throw 'plain string';
      });
      assert.deepEqual(ran, ['a', 'bad', 'c', 'worse']);
      assert.deepEqual(result, {
        succeeded: ['a', 'c'],
        failed: [
          { item: 'bad', error: 'bad failed' },
          { item: 'worse', error: 'plain string' },
        ],
      });
    });

    it('runs the items in parallel', async () => {
      let running = 0;
      let peak = 0;
      await runBatch([1, 2, 3, 4], async () => {
        running++;
        peak = Math.max(peak, running);
        await new Promise((r) => setTimeout(r, 5));
        running--;
      });
      assert.equal(peak, 4);
    });

    it('handles an empty list', async () => {
      assert.deepEqual(await runBatch([], async () => undefined), { succeeded: [], failed: [] });
    });

    it('counts a synchronous throw as a failure of that item instead of rejecting the batch', async () => {
      const result = await runBatch([1, 2, 3], (n) => {
        if (n === 2) throw new Error('sync failure');
        return Promise.resolve();
      });
      assert.deepEqual(result, { succeeded: [1, 3], failed: [{ item: 2, error: 'sync failure' }] });
    });

    it('puts every item in exactly one of the two lists (property)', async () => {
      await fc.assert(
        fc.asyncProperty(fc.array(fc.tuple(fc.integer(), fc.boolean()), { maxLength: 20 }), async (items) => {
          const result = await runBatch(items, async ([n, ok]) => {
            if (!ok) throw new Error(`no ${n}`);
          });
          assert.deepEqual(result.succeeded, items.filter(([, ok]) => ok));
          assert.deepEqual(
            result.failed,
            items.filter(([, ok]) => !ok).map((item) => ({ item, error: `no ${item[0]}` })),
          );
        }),
      );
    });
  });
});
