// The Ollama client against the real test runtime (llama.cpp in a container), and against broken
// endpoints on 127.0.0.1: an HTML page, malformed JSON, a hang, a refused port, a cut stream.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { OllamaClient, PullProgress, RuntimeError } from '../../../../src/core/runtimes/ollama';
import { localServer, TestContainers } from '../../../support/engine';
import { writeTinyGguf } from '../../../support/gguf';
import { buildRuntimeImage, startRuntime } from '../../../support/runtime';
import { freePort } from '../../../support/net';

const isRuntimeError = (kind: RuntimeError['kind'], re?: RegExp) => (e: unknown) => e instanceof RuntimeError && e.kind === kind && (!re || re.test(e.message));

describe('Ollama client on the real test runtime (integration)', function () {
  this.timeout(300_000);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'llmstack-ollama-'));
  const own = new TestContainers();
  let client: OllamaClient;

  before(async () => {
    buildRuntimeImage();
    fs.mkdirSync(path.join(dir, 'source'), { recursive: true });
    writeTinyGguf(path.join(dir, 'source', 'tiny__q8.gguf'), { name: 'tiny', contextLength: 256 });
    client = new OllamaClient((await startRuntime(dir, [], own)).base);
  });
  after(async () => {
    await own.removeAll();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('pulls with progress, lists, generates, loads and unloads, shows and deletes', async () => {
    assert.match(await client.version(), /^\d+\.\d+/);
    const progress: PullProgress[] = [];
    await client.pull('tiny:q8', (p) => progress.push(p));
    const size = fs.statSync(path.join(dir, 'source', 'tiny__q8.gguf')).size;
    assert.equal(progress.filter((p) => p.total === size).pop()?.completed, size);
    const tags = await client.tags();
    assert.deepEqual(tags.map((t) => [t.name, t.size]), [['tiny:q8', size]]);
    const chunks: string[] = [];
    const result = await client.generate('tiny:q8', 'hello world', { maxTokens: 6, onText: (t) => chunks.push(t) });
    assert.equal(result.done, true);
    assert.equal(result.text, chunks.join(''));
    assert.ok((result.eval_count ?? 0) >= 1);
    assert.equal((await client.ps())[0]?.name, 'tiny:q8');
    await client.unload('tiny:q8');
    assert.deepEqual(await client.ps(), []);
    await client.load('tiny:q8');
    assert.equal((await client.ps()).length, 1);
    await assert.rejects(client.show('nope'), isRuntimeError('not-found', /Showing nope failed: model 'nope:latest' not found/));
    await client.delete('tiny:q8');
    assert.deepEqual(await client.tags(), []);
    await assert.rejects(client.delete('tiny:q8'), isRuntimeError('not-found'));
    await assert.rejects(client.pull('missing', () => undefined), isRuntimeError('runtime', /file does not exist/));
  });
});

describe('Ollama client on broken endpoints (integration)', function () {
  this.timeout(60_000);

  it('names an HTML page and malformed JSON as protocol errors', async () => {
    const html = await localServer((_q, r) => {
      r.writeHead(502, { 'content-type': 'text/html' });
      r.end('<html><body>Bad gateway</body></html>');
    });
    const bad = await localServer((_q, r) => r.end('{"models": [ oops'));
    try {
      await assert.rejects(new OllamaClient(html.url.replace('tcp:', 'http:')).tags(), isRuntimeError('protocol', /answered an HTML page \(HTTP 502\)/));
      await assert.rejects(new OllamaClient(bad.url.replace('tcp:', 'http:')).tags(), isRuntimeError('protocol', /not JSON/));
    } finally {
      await html.close();
      await bad.close();
    }
  });

  it('gives up on a hung endpoint within its bound, and names a refused port', async () => {
    const hang = await localServer(() => undefined);
    try {
      const t0 = Date.now();
      await assert.rejects(new OllamaClient(hang.url.replace('tcp:', 'http:'), { timeoutMs: 500 }).version(), isRuntimeError('timeout', /did not answer within 500 ms/));
      assert.ok(Date.now() - t0 < 5000);
    } finally {
      await hang.close();
    }
    const port = await freePort();
    await assert.rejects(new OllamaClient(`http://127.0.0.1:${port}`).version(), isRuntimeError('unreachable', /Cannot reach the Ollama runtime/));
  });

  it('cancels a pull in the middle when asked', async () => {
    let timer: NodeJS.Timeout | undefined;
    const slow = await localServer((_q, r) => {
      r.writeHead(200, { 'content-type': 'application/x-ndjson' });
      let n = 0;
      timer = setInterval(() => r.write(`{"status":"pulling abc","total":1000,"completed":${++n}}\n`), 50);
      r.on('close', () => clearInterval(timer));
    });
    try {
      const ac = new AbortController();
      const seen: PullProgress[] = [];
      await assert.rejects(
        new OllamaClient(slow.url.replace('tcp:', 'http:')).pull('x', (p) => {
          seen.push(p);
          if (seen.length === 3) ac.abort();
        }, ac.signal),
        isRuntimeError('cancelled'),
      );
      assert.equal(seen.length, 3);
    } finally {
      clearInterval(timer);
      await slow.close();
    }
  });

  it('reports a pull whose stream is cut before success, and a stream that goes silent', async () => {
    const cut = await localServer((_q, r) => {
      r.writeHead(200, { 'content-type': 'application/x-ndjson' });
      r.write('{"status":"pulling manifest"}\n{"status":"pulling abc","total":100,"completed":10}\n');
      setTimeout(() => r.destroy(), 50);
    });
    const silent = await localServer((_q, r) => {
      r.writeHead(200, { 'content-type': 'application/x-ndjson' });
      r.write('{"response":"a","done":false}\n');
    });
    try {
      const seen: PullProgress[] = [];
      await assert.rejects(new OllamaClient(cut.url.replace('tcp:', 'http:')).pull('x', (p) => seen.push(p)), (e: unknown) => e instanceof RuntimeError && /before it reported success|stopped|terminated|closed/.test(e.message));
      assert.equal(seen.length, 2);
      await assert.rejects(new OllamaClient(silent.url.replace('tcp:', 'http:'), { idleTimeoutMs: 300 }).generate('x', 'y'), isRuntimeError('timeout', /sent nothing for 300 ms/));
    } finally {
      await cut.close();
      await silent.close();
    }
  });
});
