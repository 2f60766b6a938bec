// Unit tests for src/core/docker/containers.ts: parsing, records, image normalisation, classification and formatting.
import * as assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  ClassifierOwner,
  builtinImagePatterns,
  ContainerRecord,
  containerInspectSchema,
  containerSummarySchema,
  inspectToRecord,
  createClassifier,
  displayState,
  formatDuration,
  formatPorts,
  LABEL_MANAGED,
  LABEL_RUNTIME,
  normalizeImage,
  parseHealth,
  parseUpDuration,
  portUrl,
  runtimeDisplayNames,
  runtimeKinds,
  toRecord,
} from '../../../../src/core/docker/containers';

const SEC = 1000;
const MIN = 60 * SEC;
const HOUR = 60 * MIN;
const DAY = 24 * HOUR;

const NOW = Date.UTC(2025, 0, 15, 12, 0, 0);

function summary(over: Record<string, unknown> = {}) {
  return containerSummarySchema.parse({ Id: 'a'.repeat(64), ...over });
}

/** Lower-case repository path components that are not registry defaults. */
const pathComponent = fc.stringMatching(/^[a-z0-9]+(?:[._-][a-z0-9]+)*$/).filter((s) => s.length <= 20 && s !== 'library' && !/\.docker\.io$|^docker\.io$/.test(s));
const repoPath = fc.array(pathComponent, { minLength: 1, maxLength: 3 }).map((parts) => parts.join('/'));
const tag = fc.stringMatching(/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,20}$/);
const digest = fc.stringMatching(/^[0-9a-f]{64}$/).map((h) => `@sha256:${h}`);
const dockerHubPrefix = fc.constantFrom('', 'docker.io/', 'index.docker.io/', 'registry-1.docker.io/', 'DOCKER.IO/');
const otherRegistry = fc.constantFrom('ghcr.io/', 'quay.io/', 'localhost:5000/', 'registry.example.com:443/', 'nvcr.io/');

/** An image reference as users and engines write it: optional registry, repository, optional tag and digest. */
const imageRef = fc.record({
  registry: fc.oneof(dockerHubPrefix, otherRegistry),
  repo: repoPath,
  tag: fc.option(tag, { nil: undefined }),
  digest: fc.option(digest, { nil: undefined }),
});
function refText(r: { registry: string; repo: string; tag?: string; digest?: string }): string {
  return `${r.registry}${r.repo}${r.tag ? `:${r.tag}` : ''}${r.digest ?? ''}`;
}

describe('containers (unit)', () => {
  describe('parseUpDuration', () => {
    const cases: [string, number | undefined][] = [
      ['Up 5 minutes', 5 * MIN],
      ['Up 1 minute', MIN],
      ['Up 30 seconds', 30 * SEC],
      ['Up 3 hours (healthy)', 3 * HOUR],
      ['Up 2 days (unhealthy)', 2 * DAY],
      ['Up 3 weeks', 3 * 7 * DAY],
      ['Up 2 months', 2 * 30 * DAY],
      ['Up 1 year', 365 * DAY],
      ['Up About an hour', HOUR],
      ['Up About a minute (health: starting)', MIN],
      ['Up Less than a second', 0],
      ['up 7 minutes', 7 * MIN],
      ['  Up 10 minutes (Paused)  ', 10 * MIN],
      ['Exited (0) 5 minutes ago', undefined],
      ['Created', undefined],
      ['Restarting (1) 3 seconds ago', undefined],
      ['Up', undefined],
      ['Up forever', undefined],
      ['', undefined],
    ];
    for (const [text, expected] of cases) {
      it(`${JSON.stringify(text)} → ${expected}`, () => assert.equal(parseUpDuration(text), expected));
    }

    it('scales linearly with the count for every unit', () => {
      fc.assert(
        fc.property(fc.integer({ min: 2, max: 500 }), fc.constantFrom('second', 'minute', 'hour', 'day', 'week', 'month', 'year'), (n, unit) => {
          const one = parseUpDuration(`Up 1 ${unit}`)!;
          assert.equal(parseUpDuration(`Up ${n} ${unit}s`), n * one);
        }),
      );
    });
  });

  describe('parseHealth', () => {
    it('reads the health suffix of the status text', () => {
      assert.equal(parseHealth('Up 5 minutes (healthy)'), 'healthy');
      assert.equal(parseHealth('Up 5 minutes (unhealthy)'), 'unhealthy');
      assert.equal(parseHealth('Up 2 seconds (health: starting)'), 'starting');
      assert.equal(parseHealth('Up 5 minutes (HEALTHY)'), 'healthy');
      assert.equal(parseHealth('Up 5 minutes'), undefined);
      assert.equal(parseHealth('Exited (1) 2 hours ago'), undefined);
      assert.equal(parseHealth(''), undefined);
    });
  });

  describe('containerSummarySchema', () => {
    it('fills the defaults of a minimal entry', () => {
      const s = containerSummarySchema.parse({ Id: 'abc' });
      assert.equal(s.Image, '');
      assert.equal(s.State, 'unknown');
      assert.equal(s.Status, '');
    });

    it('defaults a port type to tcp and keeps unknown keys', () => {
      const s = containerSummarySchema.parse({ Id: 'abc', Ports: [{ PrivatePort: 80 }], Mounts: [] });
      assert.equal(s.Ports?.[0].Type, 'tcp');
      assert.deepEqual((s as Record<string, unknown>).Mounts, []);
    });

    it('rejects entries without an id or with wrong types', () => {
      assert.equal(containerSummarySchema.safeParse({}).success, false);
      assert.equal(containerSummarySchema.safeParse({ Id: '' }).success, false);
      assert.equal(containerSummarySchema.safeParse({ Id: 'x', Ports: [{ PrivatePort: '80' }] }).success, false);
      assert.equal(containerSummarySchema.safeParse({ Id: 'x', Labels: { a: 1 } }).success, false);
    });

    it('accepts null Names, Ports and Labels (Podman)', () => {
      assert.equal(containerSummarySchema.safeParse({ Id: 'x', Names: null, Ports: null, Labels: null }).success, true);
    });
  });

  describe('toRecord', () => {
    it('builds a record of a running container', () => {
      const r = toRecord(
        summary({
          Id: 'f00dbabe'.repeat(8),
          Names: ['/ollama'],
          Image: 'ollama/ollama:latest',
          State: 'running',
          Status: 'Up 5 minutes (healthy)',
          Created: 1_700_000_000,
          Ports: [
            { IP: '0.0.0.0', PrivatePort: 11434, PublicPort: 11434, Type: 'tcp' },
            { IP: '::', PrivatePort: 11434, PublicPort: 11434, Type: 'tcp' },
            { PrivatePort: 9999, Type: 'tcp' },
            { IP: '127.0.0.1', PrivatePort: 53, PublicPort: 5353, Type: 'udp' },
            { IP: '127.0.0.1', PrivatePort: 80, PublicPort: 8080, Type: 'tcp' },
          ],
          Labels: { 'com.example': 'yes' },
        }),
        NOW,
      );
      assert.deepEqual(r, {
        id: 'f00dbabe'.repeat(8),
        name: 'ollama',
        image: 'ollama/ollama:latest',
        state: 'running',
        health: 'healthy',
        statusText: 'Up 5 minutes (healthy)',
        startedAt: NOW - 5 * MIN,
        createdAt: 1_700_000_000_000,
        ports: [
          { hostIp: '127.0.0.1', hostPort: 5353, containerPort: 53, protocol: 'udp' },
          { hostIp: '127.0.0.1', hostPort: 8080, containerPort: 80, protocol: 'tcp' },
          { hostIp: '0.0.0.0', hostPort: 11434, containerPort: 11434, protocol: 'tcp' },
        ],
        labels: { 'com.example': 'yes' },
      } satisfies ContainerRecord);
    });

    it('keeps a tcp and a udp binding of the same host port apart', () => {
      const r = toRecord(
        summary({
          State: 'running',
          Ports: [
            { IP: '0.0.0.0', PrivatePort: 53, PublicPort: 53, Type: 'udp' },
            { IP: '0.0.0.0', PrivatePort: 53, PublicPort: 53, Type: 'tcp' },
          ],
        }),
        NOW,
      );
      assert.deepEqual(
        r.ports.map((p) => p.protocol),
        ['udp', 'tcp'],
      );
    });

    it('has no start time for stopped containers, and falls back to the short id for the name', () => {
      const id = '0123456789abcdef'.repeat(4);
      const r = toRecord(summary({ Id: id, Names: null, State: 'exited', Status: 'Exited (0) 5 minutes ago', Ports: null, Labels: null }), NOW);
      assert.equal(r.name, '0123456789ab');
      assert.equal(r.state, 'exited');
      assert.equal(r.startedAt, undefined);
      assert.equal(r.createdAt, undefined);
      assert.equal(r.health, undefined);
      assert.deepEqual(r.ports, []);
      assert.deepEqual(r.labels, {});
    });

    it('computes the start time of a paused container too', () => {
      const r = toRecord(summary({ State: 'paused', Status: 'Up 2 hours (Paused)' }), NOW);
      assert.equal(r.startedAt, NOW - 2 * HOUR);
    });

    it('has no start time when the running status text is not understood', () => {
      assert.equal(toRecord(summary({ State: 'running', Status: 'Up for a while' }), NOW).startedAt, undefined);
    });

    it('maps states it does not know to unknown and keeps the known ones', () => {
      assert.equal(toRecord(summary({ State: 'stopped' }), NOW).state, 'unknown');
      assert.equal(toRecord(summary({}), NOW).state, 'unknown');
      for (const s of ['running', 'exited', 'restarting', 'paused', 'created', 'dead', 'removing']) {
        assert.equal(toRecord(summary({ State: s }), NOW).state, s);
      }
    });

    it('uses an empty host IP for a published port without IP, and the short id when Names is empty', () => {
      const r = toRecord(summary({ Id: 'b'.repeat(64), Names: [], State: 'running', Ports: [{ PrivatePort: 8000, PublicPort: 8001 }] }), NOW);
      assert.equal(r.name, 'b'.repeat(12));
      assert.deepEqual(r.ports, [{ hostIp: '', hostPort: 8001, containerPort: 8000, protocol: 'tcp' }]);
    });

    it('strips only the leading slash of the first name', () => {
      assert.equal(toRecord(summary({ Names: ['/a/b', '/other'] }), NOW).name, 'a/b');
      assert.equal(toRecord(summary({ Names: ['podman-name'] }), NOW).name, 'podman-name');
    });
  });

  describe('normalizeImage', () => {
    const cases: [string, string][] = [
      ['ollama/ollama', 'ollama/ollama'],
      ['ollama/ollama:latest', 'ollama/ollama'],
      ['docker.io/ollama/ollama:0.3.14', 'ollama/ollama'],
      ['docker.io/library/ubuntu:24.04@sha256:' + 'ab'.repeat(32), 'ubuntu'],
      ['library/busybox', 'busybox'],
      ['index.docker.io/library/nginx', 'nginx'],
      ['registry-1.docker.io/vllm/vllm-openai:v0.6.0', 'vllm/vllm-openai'],
      ['GHCR.IO/GGML-ORG/llama.cpp:server-cuda', 'ghcr.io/ggml-org/llama.cpp'],
      ['localhost:5000/my/image', 'localhost:5000/my/image'],
      ['localhost:5000/my/image:dev', 'localhost:5000/my/image'],
      ['quay.io/go-skynet/local-ai@sha256:' + '0'.repeat(64), 'quay.io/go-skynet/local-ai'],
      ['  ollama/ollama:latest  ', 'ollama/ollama'],
      ['sha256:' + 'c'.repeat(64), 'sha256'],
      ['', ''],
    ];
    for (const [input, expected] of cases) {
      it(`${JSON.stringify(input)} → ${JSON.stringify(expected)}`, () => assert.equal(normalizeImage(input), expected));
    }

    it('ignores tag, digest and Docker Hub prefixes (property)', () => {
      fc.assert(
        fc.property(repoPath, dockerHubPrefix, fc.boolean(), fc.option(tag, { nil: undefined }), fc.option(digest, { nil: undefined }), (repo, prefix, library, t, d) => {
          const lib = library && !repo.includes('/') ? 'library/' : '';
          assert.equal(normalizeImage(refText({ registry: prefix + lib, repo, tag: t, digest: d })), repo);
        }),
      );
    });

    it('keeps other registries and drops only tag and digest (property)', () => {
      fc.assert(
        fc.property(otherRegistry, repoPath, fc.option(tag, { nil: undefined }), fc.option(digest, { nil: undefined }), (registry, repo, t, d) => {
          assert.equal(normalizeImage(refText({ registry, repo, tag: t, digest: d })), registry + repo);
        }),
      );
    });

    it('is idempotent (property)', () => {
      fc.assert(
        fc.property(imageRef, (r) => {
          const once = normalizeImage(refText(r));
          assert.equal(normalizeImage(once), once);
        }),
      );
    });

    it('is case-insensitive (property)', () => {
      fc.assert(
        fc.property(imageRef, (r) => {
          const text = refText(r);
          assert.equal(normalizeImage(text.toUpperCase()), normalizeImage(text));
        }),
      );
    });
  });

  describe('createClassifier', () => {
    const none: Record<string, string> = {};
    const classify = (image: string, labels: Record<string, string> = none, patterns?: Record<string, string>) =>
      createClassifier(patterns).classify({ image, labels });

    it('recognises every built-in runtime image, with or without tag, digest and registry defaults', () => {
      for (const [repo, kind] of builtinImagePatterns) {
        assert.equal(classify(repo), kind, repo);
        assert.equal(classify(`${repo}:latest`), kind, `${repo}:latest`);
        assert.equal(classify(`${repo}:v1@sha256:${'e'.repeat(64)}`), kind);
        if (!repo.includes('.')) assert.equal(classify(`docker.io/${repo}:1`), kind);
      }
      assert.equal(classify('ghcr.io/ggml-org/llama.cpp:server-cuda'), 'llamacpp');
      assert.equal(classify('ghcr.io/open-webui/open-webui:main'), 'openwebui');
    });

    it('leaves other images unclassified', () => {
      assert.equal(classify('postgres:16'), undefined);
      assert.equal(classify('ollama'), undefined);
      assert.equal(classify('myregistry/ollama/ollama'), undefined);
      assert.equal(classify(''), undefined);
    });

    it('the runtime label wins over the image, and an unknown label value is "other"', () => {
      assert.equal(classify('postgres:16', { [LABEL_RUNTIME]: 'vllm' }), 'vllm');
      assert.equal(classify('ollama/ollama', { [LABEL_RUNTIME]: 'tgi' }), 'tgi');
      assert.equal(classify('postgres:16', { [LABEL_RUNTIME]: 'mystery' }), 'other');
      assert.equal(classify('ollama/ollama', { [LABEL_RUNTIME]: '' }), 'ollama');
    });

    it('a managed container with an unknown image is "other"; unmanaged ones are not runtimes', () => {
      assert.equal(classify('busybox', { [LABEL_MANAGED]: 'true' }), 'other');
      assert.equal(classify('busybox', { [LABEL_MANAGED]: 'false' }), undefined);
      assert.equal(classify('ollama/ollama', { [LABEL_MANAGED]: 'true' }), 'ollama');
    });

    it('applies the user’s exact patterns, normalised, and they override the built-ins', () => {
      const patterns = { 'docker.io/acme/llm-server:latest': 'llamacpp', 'ollama/ollama': 'other', 'acme/bad': 'not-a-kind' };
      assert.equal(classify('acme/llm-server:v2', none, patterns), 'llamacpp');
      assert.equal(classify('ollama/ollama:0.3', none, patterns), 'other');
      assert.equal(classify('acme/bad', none, patterns), 'other');
      assert.equal(classify('acme/llm-server-2', none, patterns), undefined);
    });

    it('applies the user’s glob patterns, with * as the only wildcard', () => {
      const patterns = { 'myregistry.io/ollama-cuda*': 'ollama', '*/text-gen*': 'tgi', 'a.b/c+d*': 'vllm' };
      assert.equal(classify('myregistry.io/ollama-cuda:12', none, patterns), 'ollama');
      assert.equal(classify('myregistry.io/ollama-cuda-experimental', none, patterns), 'ollama');
      assert.equal(classify('myregistryXio/ollama-cuda', none, patterns), undefined);
      assert.equal(classify('other.io/ollama-cuda', none, patterns), undefined);
      assert.equal(classify('quay.io/acme/text-generation:1', none, patterns), 'tgi');
      assert.equal(classify('text-generation', none, patterns), undefined);
      assert.equal(classify('a.b/c+d-x', none, patterns), 'vllm');
      assert.equal(classify('a.b/cccd', none, patterns), undefined);
    });

    it('a glob with an unknown kind classifies as "other"', () => {
      assert.equal(classify('acme/anything', none, { 'acme/*': 'nonsense' }), 'other');
    });

    it('does not depend on the image tag or digest (property)', () => {
      const userPatterns = { 'acme/llm*': 'vllm', 'corp.example.com/inference': 'tgi' };
      const repos = fc.oneof(
        fc.constantFrom(...builtinImagePatterns.map(([p]) => p), 'acme/llm-box', 'corp.example.com/inference', 'postgres', 'redis'),
        repoPath,
      );
      fc.assert(
        fc.property(repos, tag, fc.option(digest, { nil: undefined }), (repo, t, d) => {
          const c = createClassifier(userPatterns);
          const bare = c.classify({ image: repo, labels: {} });
          assert.equal(c.classify({ image: `${repo}:${t}${d ?? ''}`, labels: {} }), bare);
        }),
      );
    });

    it('classifies any label value to a known kind or "other" (property)', () => {
      fc.assert(
        fc.property(fc.string({ minLength: 1 }), repoPath, (label, image) => {
          const kind = createClassifier().classify({ image, labels: { [LABEL_RUNTIME]: label } });
          assert.equal(kind, (runtimeKinds as readonly string[]).includes(label) ? label : 'other');
        }),
      );
    });
  });

  describe('displayState', () => {
    it('lets health decide for running containers', () => {
      assert.deepEqual(displayState({ state: 'running', health: undefined }), { text: 'running', severity: 'ok' });
      assert.deepEqual(displayState({ state: 'running', health: 'healthy' }), { text: 'running', severity: 'ok' });
      assert.deepEqual(displayState({ state: 'running', health: 'unhealthy' }), { text: 'unhealthy', severity: 'error' });
      assert.deepEqual(displayState({ state: 'running', health: 'starting' }), { text: 'starting', severity: 'warning' });
    });

    it('maps the other states', () => {
      assert.deepEqual(displayState({ state: 'restarting', health: undefined }), { text: 'restarting', severity: 'warning' });
      assert.deepEqual(displayState({ state: 'paused', health: 'unhealthy' }), { text: 'paused', severity: 'warning' });
      assert.deepEqual(displayState({ state: 'dead', health: undefined }), { text: 'dead', severity: 'error' });
      assert.deepEqual(displayState({ state: 'exited', health: 'unhealthy' }), { text: 'exited', severity: 'idle' });
      assert.deepEqual(displayState({ state: 'created', health: undefined }), { text: 'created', severity: 'idle' });
      assert.deepEqual(displayState({ state: 'removing', health: undefined }), { text: 'removing', severity: 'idle' });
      assert.deepEqual(displayState({ state: 'unknown', health: undefined }), { text: 'unknown', severity: 'idle' });
    });
  });

  describe('formatDuration', () => {
    const cases: [number, string][] = [
      [-5000, '0 s'],
      [0, '0 s'],
      [999, '0 s'],
      [59_999, '59 s'],
      [MIN, '1 min'],
      [59 * MIN + 59 * SEC, '59 min'],
      [HOUR, '1 h'],
      [3 * HOUR + 12 * MIN, '3 h 12 min'],
      [23 * HOUR + 59 * MIN, '23 h 59 min'],
      [DAY, '1 d'],
      [2 * DAY + 5 * HOUR + 30 * MIN, '2 d 5 h'],
      [400 * DAY, '400 d'],
    ];
    for (const [ms, text] of cases) {
      it(`${ms} ms → ${text}`, () => assert.equal(formatDuration(ms), text));
    }

    it('always yields one or two number-unit pairs (property)', () => {
      fc.assert(
        fc.property(fc.integer({ min: -DAY, max: 1000 * DAY }), (ms) => {
          assert.match(formatDuration(ms), /^(\d+ s|\d+ min|\d+ h( \d+ min)?|\d+ d( \d+ h)?)$/);
        }),
      );
    });
  });

  describe('portUrl and formatPorts', () => {
    it('opens wildcard binds on loopback and brackets IPv6 hosts', () => {
      assert.equal(portUrl({ hostIp: '0.0.0.0', hostPort: 11434, containerPort: 11434, protocol: 'tcp' }), 'http://127.0.0.1:11434/');
      assert.equal(portUrl({ hostIp: '::', hostPort: 8080, containerPort: 80, protocol: 'tcp' }), 'http://127.0.0.1:8080/');
      assert.equal(portUrl({ hostIp: '', hostPort: 3000, containerPort: 8080, protocol: 'tcp' }), 'http://127.0.0.1:3000/');
      assert.equal(portUrl({ hostIp: '192.168.1.20', hostPort: 8000, containerPort: 8000, protocol: 'tcp' }), 'http://192.168.1.20:8000/');
      assert.equal(portUrl({ hostIp: '::1', hostPort: 8000, containerPort: 8000, protocol: 'tcp' }), 'http://[::1]:8000/');
    });

    it('lists host→container ports, naming non-tcp protocols', () => {
      assert.equal(
        formatPorts([
          { hostIp: '', hostPort: 8080, containerPort: 80, protocol: 'tcp' },
          { hostIp: '', hostPort: 5353, containerPort: 53, protocol: 'udp' },
        ]),
        '8080→80, 5353→53/udp',
      );
      assert.equal(formatPorts([]), '');
    });
  });

  describe('runtime names', () => {
    it('every runtime kind has a display name', () => {
      assert.deepEqual(Object.keys(runtimeDisplayNames).sort(), [...runtimeKinds].sort());
      for (const k of runtimeKinds) assert.ok(runtimeDisplayNames[k].length > 0);
      assert.equal(runtimeDisplayNames.llamacpp, 'llama.cpp server');
    });

    it('every built-in pattern maps to a runtime kind and is already normalised', () => {
      for (const [p, k] of builtinImagePatterns) {
        assert.ok(runtimeKinds.includes(k));
        assert.equal(normalizeImage(p), p);
      }
    });
  });
});

describe('inspectToRecord (unit)', () => {
  const NOW = Date.UTC(2026, 0, 1, 12, 0, 0);
  const base = {
    Id: 'a'.repeat(64),
    Name: '/ollama',
    Created: '2026-01-01T11:00:00.000000000Z',
    State: { Status: 'running', StartedAt: '2026-01-01T11:55:00.5Z', FinishedAt: '0001-01-01T00:00:00Z', ExitCode: 0, Health: { Status: 'unhealthy' } },
    Config: { Image: 'ollama/ollama:0.5', Labels: { a: 'b' } },
    NetworkSettings: { Ports: { '11434/tcp': [{ HostIp: '127.0.0.1', HostPort: '11434' }, { HostIp: '::1', HostPort: '11434' }], '9000/udp': null, '80/tcp': [{ HostIp: '0.0.0.0', HostPort: '8080' }] } },
  };

  it('maps state, health, start time, ports and labels', () => {
    const r = inspectToRecord(containerInspectSchema.parse(base), NOW);
    assert.equal(r.name, 'ollama');
    assert.equal(r.state, 'running');
    assert.equal(r.health, 'unhealthy');
    assert.equal(r.startedAt, Date.UTC(2026, 0, 1, 11, 55, 0, 500));
    assert.equal(r.createdAt, Date.UTC(2026, 0, 1, 11, 0, 0));
    assert.deepEqual(r.ports, [
      { hostIp: '0.0.0.0', hostPort: 8080, containerPort: 80, protocol: 'tcp' },
      { hostIp: '127.0.0.1', hostPort: 11434, containerPort: 11434, protocol: 'tcp' },
    ]);
    assert.equal(r.statusText, 'Up 4 min (unhealthy)');
    assert.deepEqual(r.labels, { a: 'b' });
  });

  it('reads an exited container without a start time, and unknown states as unknown', () => {
    const exited = inspectToRecord(containerInspectSchema.parse({ ...base, State: { Status: 'exited', ExitCode: 137, StartedAt: '2026-01-01T11:55:00Z' }, NetworkSettings: null }), NOW);
    assert.equal(exited.state, 'exited');
    assert.equal(exited.startedAt, undefined);
    assert.equal(exited.statusText, 'Exited (137)');
    assert.deepEqual(exited.ports, []);
    const odd = inspectToRecord(containerInspectSchema.parse({ ...base, Name: '', State: { Status: 'weird' } }), NOW);
    assert.equal(odd.state, 'unknown');
    assert.equal(odd.name, 'a'.repeat(12));
    assert.equal(odd.health, undefined);
  });

  it('rejects an answer without an Id or State', () => {
    assert.equal(containerInspectSchema.safeParse({ Name: '/x', Config: {} }).success, false);
  });
});

describe('classifier owner (unit)', () => {
  it('classifies with the new patterns once they change, and tells its followers with the new classifier', () => {
    const owner = new ClassifierOwner({});
    const image = { image: 'acme/inference-server:2', labels: {} };
    assert.equal(owner.current.classify(image), undefined);
    const seen: (string | undefined)[] = [];
    const sub = owner.onDidChange((c) => seen.push(c.classify(image)));
    owner.setPatterns({ 'acme/inference-server*': 'vllm' });
    assert.equal(owner.current.classify(image), 'vllm');
    assert.deepEqual(seen, ['vllm']);
    sub.dispose();
    owner.setPatterns({});
    assert.deepEqual(seen, ['vllm'], 'a disposed subscription hears nothing');
    assert.equal(owner.current.classify(image), undefined);
    owner.dispose();
  });
});
