// The events-fed container cache against the real Docker Engine.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ContainerCache } from '../../../../src/core/docker/containerCache';
import { createClassifier } from '../../../../src/core/docker/containers';
import { buildContainerTree } from '../../../../src/core/docker/containerTree';
import { summarizeHealth } from '../../../../src/core/docker/health';
import { OLLAMA_LIKE, slowLinkToEngine, uniqueName, waitUntil } from '../../../support/engine';
import { connect, useEngine } from '../../../support/engineFixture';

describe('container cache on a real engine (integration)', function () {
  this.timeout(90_000);
  const env = useEngine();

  const byName = (cache: ContainerCache, name: string) => cache.list().find((r) => r.name === name);

  it('reports the engine it connected to', () => {
    const s = env.connection.state;
    assert.equal(s.kind, 'connected');
    if (s.kind !== 'connected') return;
    assert.equal(s.engine.name, 'Docker');
    assert.match(s.engine.apiVersion, /^1\.\d+$/);
  });

  it('sees a container start, stop and disappear through events alone', async () => {
    const name = uniqueName('cache');
    const c = await env.own.create({ name, image: OLLAMA_LIKE, ports: [11434] });
    await env.cache.waitFor((cache) => byName(cache, name)?.state === 'running', 20_000);
    const rec = byName(env.cache, name)!;
    assert.equal(rec.image, OLLAMA_LIKE);
    assert.equal(rec.ports.length, 1);
    assert.equal(rec.ports[0].hostIp, '127.0.0.1');
    assert.equal(rec.ports[0].containerPort, 11434);
    assert.ok(rec.startedAt !== undefined && Date.now() - rec.startedAt < 120_000);
    const tree = buildContainerTree(env.cache.list(), createClassifier(), Date.now());
    const node = tree.runtimes.find((n) => n.name === name);
    assert.ok(node, 'a container of ollama/ollama is listed among the runtimes');
    assert.equal(node.runtime, 'ollama');
    assert.match(node.contextValue, /container:running/);
    assert.match(node.description, /^running/);

    await c.stop({ t: 1 });
    await env.cache.waitFor((cache) => byName(cache, name)?.state === 'exited', 20_000);
    await c.remove();
    await env.cache.waitFor((cache) => !byName(cache, name), 20_000);
  });

  it('shows an unhealthy container from its Docker healthcheck, and the summary turns to error', async () => {
    const name = uniqueName('unhealthy');
    await env.own.create({ name, image: OLLAMA_LIKE, healthcheck: { test: 'exit 1', intervalMs: 500, retries: 1 } });
    await env.cache.waitFor((cache) => byName(cache, name)?.health === 'unhealthy', 30_000);
    const s = summarizeHealth(env.connection.state, env.cache.list(), createClassifier());
    assert.equal(s.level, 'error');
    assert.match(s.text, /1 unhealthy/);
  });

  it('puts non-runtime containers under others, and user patterns promote them', async () => {
    const name = uniqueName('plain');
    await env.own.create({ name });
    await env.cache.waitFor((cache) => !!byName(cache, name), 20_000);
    const plain = buildContainerTree(env.cache.list(), createClassifier(), Date.now());
    assert.ok(plain.others.some((n) => n.name === name));
    const promoted = buildContainerTree(env.cache.list(), createClassifier({ 'llmstack-test/*': 'localai' }), Date.now());
    assert.equal(promoted.runtimes.find((n) => n.name === name)?.runtime, 'localai');
  });

  it('a container removed while its refresh is on the way does not come back from that late answer', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'llmstack-slow-'));
    const link = await slowLinkToEngine(dir);
    const slow = connect(link.url);
    try {
      await slow.connection.connect();
      await slow.cache.waitFor((c) => c.isLoaded, 20_000);
      const name = uniqueName('ghost');
      const c = await env.own.create({ name });
      await slow.cache.waitFor((cache) => byName(cache, name)?.state === 'running', 20_000);
      // From now on the engine's answers about this container arrive late: its kill and die events
      // send the cache to read it, and the destroy event overtakes those answers.
      link.hold((method, p) => method === 'GET' && p.includes(`/containers/${c.id}/json`));
      await c.remove({ force: true });
      await slow.cache.waitFor((cache) => !byName(cache, name), 20_000);
      assert.ok(link.held > 0, 'the cache asked about the container while it was being removed');
      await link.release();
      // A later container seen through the same link: by then the late answers were handled.
      const marker = uniqueName('marker');
      await env.own.create({ name: marker });
      await slow.cache.waitFor((cache) => byName(cache, marker)?.state === 'running', 20_000);
      assert.equal(byName(slow.cache, name), undefined, 'the removed container is not listed again');
    } finally {
      slow.dispose();
      await link.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a full reload gives the same list the events built', async () => {
    const names = [uniqueName('a'), uniqueName('b')];
    await Promise.all(names.map((name) => env.own.create({ name })));
    await env.cache.waitFor((cache) => names.every((n) => byName(cache, n)?.state === 'running'), 20_000);
    const before = env.cache.list().map((r) => `${r.id}:${r.state}`).sort();
    await env.cache.reload();
    const after = env.cache.list().map((r) => `${r.id}:${r.state}`).sort();
    assert.deepEqual(after, before);
  });

  it('a second cache built later starts from the same full list', async () => {
    const name = uniqueName('late');
    await env.own.create({ name });
    await env.cache.waitFor((cache) => !!byName(cache, name), 20_000);
    const other = connect();
    try {
      await other.connection.connect();
      await other.cache.waitFor((c) => c.isLoaded, 20_000);
      await waitUntil('same ids', () => JSON.stringify(other.cache.list().map((r) => r.id).sort()) === JSON.stringify(env.cache.list().map((r) => r.id).sort()), 10_000);
    } finally {
      other.dispose();
    }
  });
});
