// The runtime clients' HTTP bounds against real servers on 127.0.0.1: a body trickled byte by byte,
// a 50 MB line without a newline, an answer over the size limit, and the normal answers unchanged.
// Each route answers as Ollama does (ollama/ollama server/routes.go at
// 00188139f12f1dff0920b6be98a4e7097232cf9f: ListHandler answers {"models":[…]} with c.JSON,
// streamResponse writes application/x-ndjson, one JSON object and "\n" per write); the broken ones
// then send what a stuck or hostile server would.
import * as assert from 'node:assert/strict';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { DEFAULT_MAX_BODY_BYTES, DEFAULT_MAX_LINE_BYTES } from '../../../../src/core/runtimes/http';
import { OllamaClient, PullProgress, RuntimeError } from '../../../../src/core/runtimes/ollama';
import { OpenAiClient } from '../../../../src/core/runtimes/openai';

const isRuntimeError = (kind: RuntimeError['kind'], re: RegExp) => (e: unknown) => e instanceof RuntimeError && e.kind === kind && re.test(e.message);

const MODEL = { name: 'tiny:q8', model: 'tiny:q8', modified_at: '2025-01-01T00:00:00Z', size: 1234, digest: 'sha256:abc', details: { format: 'gguf', family: 'llama' } };

interface Served {
  readonly base: string;
  /** Resolves when the connection of the request to this path has closed, with the bytes written to it. */
  closed(path: string): Promise<number>;
  close(): Promise<void>;
}

/** One promise per key, resolved by the server's side, awaited by the test's. */
class Signals<T> {
  private readonly map = new Map<string, { promise: Promise<T>; resolve: (v: T) => void }>();
  of(key: string): { promise: Promise<T>; resolve: (v: T) => void } {
    let s = this.map.get(key);
    if (!s) {
      let resolve!: (v: T) => void;
      const promise = new Promise<T>((r) => (resolve = r));
      s = { promise, resolve };
      this.map.set(key, s);
    }
    return s;
  }
}

type Route = (res: http.ServerResponse, written: { bytes: number }) => void;

/** A server with these routes; a request to another path gets Ollama's 404. */
async function serve(routes: Record<string, Route>): Promise<Served> {
  const closes = new Signals<number>();
  const server = http.createServer((req, res) => {
    const route = routes[req.url ?? ''];
    if (!route) {
      res.writeHead(404, { 'content-type': 'application/json; charset=utf-8' });
      res.end('{"error":"404 page not found"}');
      return;
    }
    const written = { bytes: 0 };
    res.on('close', () => closes.of(req.url!).resolve(written.bytes));
    req.resume();
    route(res, written);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    closed: (p) => closes.of(p).promise,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

/** Ollama's ListHandler answer. */
const tags: Route = (res) => {
  res.writeHead(200, { 'content-type': 'application/json; charset=utf-8' });
  res.end(JSON.stringify({ models: [MODEL] }));
};

/** Headers, then one byte every 200 ms for as long as the connection lasts; onByte(n) after the nth. */
function trickle(contentType: string, first: string, onByte?: (n: number) => void): Route {
  return (res) => {
    res.writeHead(200, { 'content-type': contentType });
    res.write(first);
    let n = 0;
    const timer = setInterval(() => {
      res.write(' ');
      onByte?.(++n);
    }, 200);
    res.on('close', () => clearInterval(timer));
  };
}

/** `total` bytes of `byte`, written as the client takes them, then `tail`; stops when the connection closes. */
function flood(contentType: string, head: string, total: number, byte: number, tail: string): Route {
  return (res, written) => {
    res.writeHead(200, { 'content-type': contentType });
    const chunk = Buffer.alloc(64 * 1024, byte);
    let open = true;
    res.on('close', () => (open = false));
    res.write(head);
    const pump = () => {
      while (open && written.bytes < total) {
        const n = Math.min(chunk.length, total - written.bytes);
        written.bytes += n;
        if (!res.write(chunk.subarray(0, n))) return void res.once('drain', pump);
      }
      if (open) res.end(tail);
    };
    pump();
  };
}

describe('runtime HTTP bounds (unit)', function () {
  this.timeout(30_000);

  describe('a server that sends headers and then trickles one byte every 200 ms', () => {
    it('a JSON answer rejects after the request bound, the connection is closed, and later calls go through', async () => {
      const s = await serve({ '/api/tags': trickle('application/json; charset=utf-8', '{"models":['), '/api/version': (res) => res.end('{"version":"0.5.7"}') });
      try {
        const client = new OllamaClient(s.base, { timeoutMs: 1000 });
        const t0 = Date.now();
        await assert.rejects(client.tags(), isRuntimeError('timeout', new RegExp(`Listing models: ${s.base}/api/tags did not finish sending its answer within 1000 ms`)));
        assert.ok(Date.now() - t0 < 10_000, 'bounded by the request timeout, not by the server');
        await s.closed('/api/tags'); // the request was aborted: the server sees its connection close
        assert.equal(await client.version(), '0.5.7');
      } finally {
        await s.close();
      }
    });

    it('a stream without a newline rejects after idleTimeoutMs, though bytes keep coming', async () => {
      const s = await serve({ '/api/pull': trickle('application/x-ndjson', '{"status":"pulling manifest"}\n{"status"'), '/api/tags': tags });
      try {
        const client = new OllamaClient(s.base, { idleTimeoutMs: 1000 });
        const seen: PullProgress[] = [];
        await assert.rejects(client.pull('x', (p) => seen.push(p)), isRuntimeError('timeout', /Pulling x: http:\/\/127\.0\.0\.1:\d+ sent no complete line for 1000 ms \(\d+ bytes of an unfinished line\)/));
        assert.deepEqual(seen, [{ status: 'pulling manifest' }]);
        await s.closed('/api/pull');
        assert.deepEqual((await client.tags()).map((m) => m.name), ['tiny:q8']);
      } finally {
        await s.close();
      }
    });
  });

  it('a 50 MB line without a newline is refused once it passes the line limit, without reading the rest', async () => {
    const total = 50 * 1024 * 1024;
    const s = await serve({ '/api/pull': flood('application/x-ndjson', '{"status":"', total, 0x61, '"}\n') });
    try {
      await assert.rejects(
        new OllamaClient(s.base).pull('x', () => undefined),
        isRuntimeError('protocol', new RegExp(`Pulling x: ${s.base}/api/pull sent a line longer than 4\\.19 MB without a line break; stopped reading`)),
      );
      const written = await s.closed('/api/pull');
      // What was sent before the client hung up: its limit plus what the sockets buffer, far from all.
      assert.ok(written < total / 2, `the server wrote ${written} bytes before the connection closed`);
      assert.ok(written > DEFAULT_MAX_LINE_BYTES);
    } finally {
      await s.close();
    }
  });

  describe('an answer larger than the body limit', () => {
    it('sent without a length: refused once it passes the limit', async () => {
      const total = 4 * DEFAULT_MAX_BODY_BYTES;
      const s = await serve({ '/api/tags': flood('application/json; charset=utf-8', '{"models":[],"padding":"', total, 0x61, '"}') });
      try {
        await assert.rejects(new OllamaClient(s.base).tags(), isRuntimeError('protocol', new RegExp(`Listing models: ${s.base}/api/tags sent an answer larger than 16\\.8 MB; stopped reading`)));
        assert.ok((await s.closed('/api/tags')) < total / 2, 'the rest was not read');
      } finally {
        await s.close();
      }
    });

    it('with a Content-Length over the limit: refused before reading, as is an error page over it', async () => {
      const body = JSON.stringify({ models: [MODEL], padding: 'a'.repeat(4096) });
      const s = await serve({
        '/api/tags': (res) => {
          res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body) });
          res.end(body);
        },
        '/api/pull': (res) => {
          res.writeHead(500, { 'content-type': 'application/json; charset=utf-8' });
          res.end(JSON.stringify({ error: 'x'.repeat(4096) }));
        },
      });
      try {
        const client = new OllamaClient(s.base, { maxBodyBytes: 1024 });
        await assert.rejects(client.tags(), isRuntimeError('protocol', /sent an answer larger than 1\.02 kB/));
        await assert.rejects(client.pull('x', () => undefined), isRuntimeError('protocol', /Pulling x: .*\/api\/pull sent an answer larger than 1\.02 kB/));
        assert.deepEqual((await new OllamaClient(s.base, { maxBodyBytes: 8192 }).tags()).map((m) => m.name), ['tiny:q8']);
      } finally {
        await s.close();
      }
    });
  });

  describe('normal answers are unchanged', () => {
    it('a list in many writes, a stream whose lines are cut across writes (in a UTF-8 sequence too), and a 1 MB last line', async () => {
      const list = JSON.stringify({ models: [MODEL, { ...MODEL, name: 'ünïcode:latest' }] });
      const lines = [
        JSON.stringify({ response: 'héllo ', done: false }),
        JSON.stringify({ response: 'wörld ✓', done: false }),
        // Ollama's last line of a generation carries the whole context (a token id array).
        JSON.stringify({ response: '', done: true, eval_count: 3, context: Array.from({ length: 150_000 }, (_, i) => i) }),
      ];
      const stream = Buffer.from(lines.join('\n') + '\n');
      const s = await serve({
        '/api/tags': (res) => {
          res.writeHead(200, { 'content-type': 'application/json; charset=utf-8' });
          const b = Buffer.from(list);
          for (let i = 0; i < b.length; i += 7) res.write(b.subarray(i, i + 7));
          res.end();
        },
        '/api/generate': (res) => {
          res.writeHead(200, { 'content-type': 'application/x-ndjson' });
          // Cut inside "é", "ö" and "✓" and across every line end.
          const cuts = [2, 15, 16, 30, 41, 42, 55, 1000, 100_000];
          let at = 0;
          for (const c of cuts) {
            res.write(stream.subarray(at, c));
            at = c;
          }
          res.end(stream.subarray(at));
        },
      });
      try {
        const client = new OllamaClient(s.base);
        assert.deepEqual((await client.tags()).map((m) => m.name), ['tiny:q8', 'ünïcode:latest']);
        const chunks: string[] = [];
        const result = await client.generate('tiny:q8', 'hi', { onText: (t) => chunks.push(t) });
        assert.deepEqual(chunks, ['héllo ', 'wörld ✓']);
        assert.equal(result.text, 'héllo wörld ✓');
        assert.equal(result.eval_count, 3);
      } finally {
        await s.close();
      }
    });

    it('an answer cut off by the server, and a line that is not JSON, keep their errors', async () => {
      const s = await serve({
        '/api/tags': (res) => {
          res.writeHead(200, { 'content-type': 'application/json; charset=utf-8' });
          res.write('{"models":[');
          setImmediate(() => res.destroy());
        },
        '/api/pull': (res) => {
          res.writeHead(200, { 'content-type': 'application/x-ndjson' });
          res.end('{"status":"pulling manifest"}\n<html>oops</html>\n');
        },
      });
      try {
        await assert.rejects(new OllamaClient(s.base).tags(), isRuntimeError('unreachable', /Listing models: http:\/\/127\.0\.0\.1:\d+ stopped sending its answer/));
        await assert.rejects(new OllamaClient(s.base).pull('x', () => undefined), isRuntimeError('protocol', /sent a line that is not JSON: <html>oops<\/html>/));
      } finally {
        await s.close();
      }
    });

    it('a stream that stops in the middle of a line is still named as such', async () => {
      const s = await serve({
        '/api/pull': (res) => {
          res.writeHead(200, { 'content-type': 'application/x-ndjson' });
          res.end('{"status":"pulling manifest"}\n{"status":"pull');
        },
      });
      try {
        await assert.rejects(new OllamaClient(s.base).pull('x', () => undefined), isRuntimeError('protocol', /ended in the middle of a line/));
      } finally {
        await s.close();
      }
    });

    it('a caller that cancels while a JSON answer trickles in gets "cancelled" at once, and the connection is closed', async () => {
      // llama.cpp answers a non-streamed /v1/completions only when done; this one never finishes.
      let trickling!: () => void;
      const midBody = new Promise<void>((r) => (trickling = r));
      const s = await serve({ '/v1/completions': trickle('application/json; charset=utf-8', '{"choices":', (n) => n === 2 && trickling()) });
      try {
        const ac = new AbortController();
        const completion = new OpenAiClient(s.base, { timeoutMs: 20_000, idleTimeoutMs: 20_000 }).complete('tiny', 'hi', { signal: ac.signal });
        await midBody; // the headers are long there: the client is reading the body
        ac.abort();
        await assert.rejects(completion, isRuntimeError('cancelled', /cancelled/i));
        await s.closed('/v1/completions');
      } finally {
        await s.close();
      }
    });
  });
});
