// updates.images on the real engine and a real distribution registry (Debian's docker-registry on
// 127.0.0.1): a runtime container runs an image pushed to the registry; it is up to date; a newer
// image is pushed under the same tag while this machine keeps the old one (as a machine that has
// not pulled): an update, with the registry's digest; an image built here has nothing to compare.
import * as assert from 'node:assert/strict';
import { checkImageUpdates } from '../../../src/app/updates/useCases';
import { call } from '../../../src/app/useCase';
import { createClassifier } from '../../../src/core/docker/containers';
import { RegistryClient } from '../../../src/core/registries/client';
import { BUSYBOX, createTestContainer, engine } from '../../support/engine';
import { useEngine } from '../../support/engineFixture';
import { buildLabelled, pushImage, useRegistry } from '../../support/registry';

describe('image updates against a real registry (integration)', function () {
  this.timeout(120_000);
  const env = useEngine({ removeEach: false });
  const docker = engine();
  const fixture = useRegistry(docker);
  const images = fixture.images;

  it('says up to date, then update once the registry has a newer image under the tag; an image built here has nothing to compare', async () => {
    const registry = fixture.registry;
    const tag = `${registry.host}/llmstack/runtime:1`;
    const v1 = await buildLabelled(docker, tag, '1');
    images.push(v1);
    const d1 = await pushImage(docker, tag);
    const c = await createTestContainer({ image: tag, labels: { 'io.llmstack.runtime': 'ollama' } });
    env.own.add(c.id);
    const plain = await createTestContainer({ image: BUSYBOX });
    env.own.add(plain.id);
    await env.cache.waitFor((x) => x.get(c.id)?.state === 'running' && x.get(plain.id)?.state === 'running', 30_000);
    const deps = { containers: env.cache, engine: env.connection, classifier: () => createClassifier(), registry: new RegistryClient() };

    const first = await call(checkImageUpdates, deps, {});
    const mine = first.images.find((i) => i.image === tag)!;
    assert.deepEqual([mine.status, mine.remoteDigest, mine.containers], ['up-to-date', d1, [(await c.inspect()).Name.replace(/^\//, '')]]);
    assert.ok(!first.images.some((i) => i.image === BUSYBOX), 'runtimes only by default');

    // A newer image under the same tag, pushed from elsewhere; this machine's tag stays on the old one.
    const v2 = await buildLabelled(docker, tag, '2');
    images.push(v2);
    const d2 = await pushImage(docker, tag);
    await docker.getImage(v1).tag({ repo: `${registry.host}/llmstack/runtime`, tag: '1' });
    const second = await call(checkImageUpdates, deps, { all: true });
    const now = second.images.find((i) => i.image === tag)!;
    assert.deepEqual([now.status, now.remoteDigest], ['update', d2]);
    assert.match(now.message ?? '', /has a newer image for 1/);
    // One request per image checked: the registry needs no token.
    assert.equal(second.requests, 1);
    // The busybox test image was built here: no registry digest to compare.
    assert.equal(second.images.find((i) => i.image === BUSYBOX)?.status, 'local');
  });

  it('reports a registry that is not reachable per image, without failing the rest', async () => {
    const c = await createTestContainer({ image: BUSYBOX, labels: { 'io.llmstack.runtime': 'ollama' } });
    env.own.add(c.id);
    await env.cache.waitFor((x) => x.get(c.id)?.state === 'running', 30_000);
    // The pushed image's tag points at a registry that is gone.
    const registry = fixture.registry;
    await registry.stop();
    const r = await call(checkImageUpdates, { containers: env.cache, engine: env.connection, classifier: () => createClassifier(), registry: new RegistryClient({ timeoutMs: 2000 }) }, { all: true });
    const gone = r.images.find((i) => i.image.startsWith(registry.host));
    assert.equal(gone?.status, 'error');
    assert.match(gone?.message ?? '', /cannot reach 127\.0\.0\.1:\d+ \(ECONNREFUSED\)/);
  });
});
