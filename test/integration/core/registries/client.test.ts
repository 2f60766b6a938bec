// What a tag points to, asked of a real distribution registry (Debian's docker-registry on
// 127.0.0.1) after the real engine pushed an image to it, and again after a new image was pushed
// under the same tag; and the answers a registry can give that are not a digest (local servers
// answering as distribution's token auth spec, docs/spec/auth/token.md, says they may).
import * as assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { hasDigest, parseChallenge, RegistryClient, RegistryError } from '../../../../src/core/registries/client';
import { parseReference, repoName } from '../../../../src/core/registries/reference';
import { engine, localServer } from '../../../support/engine';
import { buildLabelled, pushImage, useRegistry } from '../../../support/registry';

const isRegistryError = (kind: RegistryError['kind'], re?: RegExp) => (e: unknown) => e instanceof RegistryError && e.kind === kind && (!re || re.test(e.message));

describe('registry client against a real distribution registry (integration)', function () {
  this.timeout(120_000);
  const docker = engine();
  const fixture = useRegistry(docker);
  const images = fixture.images;

  it('resolves a pushed tag to the digest the engine pushed, and sees a newer image pushed under the same tag', async () => {
    const registry = fixture.registry;
    const tag = `${registry.host}/llmstack/check:1`;
    const ref = parseReference(tag);
    assert.deepEqual(ref, { registry: registry.host, repository: 'llmstack/check', tag: '1', digest: undefined });
    images.push(await buildLabelled(docker, tag, '1'));
    const pushed = await pushImage(docker, tag);
    const client = new RegistryClient();
    const first = await client.resolve(ref);
    assert.deepEqual([first.digest, first.mediaType, first.requests], [pushed, 'application/vnd.docker.distribution.manifest.v2+json', 1]);
    // The local image knows that digest: up to date.
    const local = (await docker.getImage(tag).inspect()).RepoDigests;
    assert.ok(hasDigest(local, repoName(ref), first.digest), local.join());

    // A new image under the same tag, pushed from elsewhere (here: the same engine, built again).
    images.push(await buildLabelled(docker, tag, '2'));
    const newer = await pushImage(docker, tag);
    const second = await client.resolve(ref);
    assert.equal(second.digest, newer);
    assert.notEqual(second.digest, first.digest);
    // The first image (now untagged, as on a machine that has not pulled) does not have it: an update.
    const old = (await docker.getImage(images[0]).inspect()).RepoDigests;
    assert.ok(!hasDigest(old, repoName(ref), second.digest));
    // By digest, and a tag it does not have.
    assert.equal((await client.resolve({ ...ref, tag: undefined, digest: first.digest })).digest, first.digest);
    await assert.rejects(client.resolve({ ...ref, tag: 'nope' }), isRegistryError('not-found', /no such image or tag/));
  });
});

describe('registry client: what registries answer besides a digest (integration)', function () {
  this.timeout(60_000);
  const digest = `sha256:${'a'.repeat(64)}`;
  const manifest = 'application/vnd.oci.image.manifest.v1+json';

  it('follows a bearer challenge to the token realm with the credentials, and reuses the token', async () => {
    const seen: string[] = [];
    let tokenRequests = 0;
    const srv = await localServer((q, r) => {
      seen.push(`${q.method} ${q.url} ${q.headers.authorization ?? '-'}`);
      if (q.url?.startsWith('/token')) {
        tokenRequests++;
        const u = new URL(q.url, 'http://x');
        if (q.headers.authorization !== `Basic ${Buffer.from('ann:pw').toString('base64')}` || u.searchParams.get('scope') !== 'repository:team/img:pull' || u.searchParams.get('service') !== 'reg') return r.writeHead(401).end();
        return r.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ token: 'tok', expires_in: 300 }));
      }
      if (q.headers.authorization !== 'Bearer tok') {
        return r.writeHead(401, { 'www-authenticate': `Bearer realm="http://127.0.0.1:${(q.socket.localPort ?? 0)}/token",service="reg",scope="repository:team/img:pull"` }).end();
      }
      r.writeHead(200, { 'content-type': manifest, 'docker-content-digest': digest }).end();
    });
    try {
      const host = `127.0.0.1:${srv.port}`;
      const client = new RegistryClient({ credentials: async (h) => (h === host ? { username: 'ann', password: 'pw' } : undefined) });
      const r = await client.resolve(parseReference(`${host}/team/img:2`));
      assert.deepEqual([r.digest, r.requests], [digest, 3]);
      const again = await client.resolve(parseReference(`${host}/team/img:2`));
      assert.deepEqual([again.digest, again.requests, tokenRequests], [digest, 1, 1], 'the token is reused: one request');
      await assert.rejects(new RegistryClient().resolve(parseReference(`${host}/team/img:2`)), isRegistryError('unauthorized', /refused an anonymous pull/));
    } finally {
      await srv.close();
    }
  });

  it('resolves a multi-platform index to this platform\'s manifest; computes the digest where HEAD gives none', async () => {
    const amd = `sha256:${'1'.repeat(64)}`;
    const arm = `sha256:${'2'.repeat(64)}`;
    const index = JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests: [{ digest: arm, platform: { os: 'linux', architecture: 'arm64' } }, { digest: amd, platform: { os: 'linux', architecture: 'amd64' } }] });
    const body = '{"schemaVersion":2}';
    const srv = await localServer((q, r) => {
      if (q.url?.includes('/multi/')) return r.writeHead(200, { 'content-type': 'application/vnd.oci.image.index.v1+json', 'docker-content-digest': digest }).end(q.method === 'GET' ? index : undefined);
      // No Docker-Content-Digest (a registry may leave it out of HEAD): the body's sha256 is the digest.
      r.writeHead(200, { 'content-type': manifest }).end(q.method === 'GET' ? body : undefined);
    });
    try {
      const host = `127.0.0.1:${srv.port}`;
      const multi = await new RegistryClient({ platform: { os: 'linux', architecture: 'amd64' } }).resolve(parseReference(`${host}/multi/img:1`));
      assert.deepEqual([multi.digest, multi.platformDigest, multi.requests], [digest, amd, 2]);
      assert.equal((await new RegistryClient({ platform: { os: 'linux', architecture: 's390x' } }).resolve(parseReference(`${host}/multi/img:1`))).platformDigest, undefined);
      const plain = await new RegistryClient().resolve(parseReference(`${host}/plain/img:1`));
      assert.equal(plain.digest, `sha256:${createHash('sha256').update(body).digest('hex')}`);
    } finally {
      await srv.close();
    }
  });

  it('names basic auth without credentials, a rate limit with its wait, a page that is not a registry, and a hung one', async () => {
    const srv = await localServer((q, r) => {
      if (q.url?.includes('/basic/')) return r.writeHead(401, { 'www-authenticate': 'Basic realm="reg"' }).end();
      if (q.url?.includes('/limited/')) return r.writeHead(429, { 'retry-after': '120' }).end();
      if (q.url?.includes('/html/')) return r.writeHead(200, { 'content-type': 'text/html', 'docker-content-digest': digest }).end('<html></html>');
      if (q.url?.includes('/garbage/')) return r.writeHead(200, { 'content-type': manifest, 'docker-content-digest': 'md5:xyz' }).end();
      // /hung/: never answers
    });
    try {
      const host = `127.0.0.1:${srv.port}`;
      const client = new RegistryClient({ timeoutMs: 500 });
      await assert.rejects(client.resolve(parseReference(`${host}/basic/img:1`)), isRegistryError('unauthorized', /wants a user name and password; log in with `docker login 127\.0\.0\.1:\d+`/));
      await assert.rejects(client.resolve(parseReference(`${host}/limited/img:1`)), (e: unknown) => e instanceof RegistryError && e.kind === 'rate-limited' && e.retryAfterS === 120 && /wait 120 s/.test(e.message));
      await assert.rejects(client.resolve(parseReference(`${host}/html/img:1`)), isRegistryError('protocol', /"text\/html", not an image manifest/));
      await assert.rejects(client.resolve(parseReference(`${host}/garbage/img:1`)), isRegistryError('protocol', /digest that is not sha256/));
      const t0 = Date.now();
      await assert.rejects(client.resolve(parseReference(`${host}/hung/img:1`)), isRegistryError('timeout', /did not answer within 0\.5 s/));
      assert.ok(Date.now() - t0 < 5000);
    } finally {
      await srv.close();
    }
  });

  it('parses references as the engine does, and challenges as registries send them', () => {
    assert.deepEqual(parseReference('ollama/ollama:0.5.7'), { registry: 'registry-1.docker.io', repository: 'ollama/ollama', tag: '0.5.7', digest: undefined });
    assert.deepEqual(parseReference('ubuntu'), { registry: 'registry-1.docker.io', repository: 'library/ubuntu', tag: 'latest', digest: undefined });
    assert.equal(repoName(parseReference('ubuntu')), 'ubuntu');
    assert.deepEqual(parseReference('ghcr.io/ggml-org/llama.cpp:server'), { registry: 'ghcr.io', repository: 'ggml-org/llama.cpp', tag: 'server', digest: undefined });
    assert.equal(parseReference(`localhost:5000/a@sha256:${'b'.repeat(64)}`).tag, undefined);
    assert.throws(() => parseReference('UPPER/case'), /not a valid repository name/);
    assert.throws(() => parseReference('a@sha256:short'), /digest that is not/);
    assert.deepEqual(parseChallenge('Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/ubuntu:pull"'), {
      scheme: 'bearer',
      params: { realm: 'https://auth.docker.io/token', service: 'registry.docker.io', scope: 'repository:library/ubuntu:pull' },
    });
    assert.equal(parseChallenge(null), undefined);
  });
});
