// Runtime endpoints from container records (plain data, as the container cache holds them) and
// from the llmStack.runtimes.endpoints setting, with property tests for the setting's parser.
import * as assert from 'node:assert/strict';
import fc from 'fast-check';
import { createClassifier, LABEL_MANAGED, LABEL_RUNTIME, type ContainerRecord, type PublishedPort } from '../../../../src/core/docker/containers';
import { discoverRuntimes, LABEL_PORT, mergeEndpoints, normalizeServerUrl, parseUserEndpoints } from '../../../../src/core/runtimes/discovery';
import type { RuntimeEndpoint } from '../../../../src/core/runtimes/runtime';
import { testEndpoint } from '../../../support/fixtures';

let seq = 0;
function rec(over: Partial<ContainerRecord> & { image: string }): ContainerRecord {
  seq++;
  return { id: `c${seq}`.padEnd(64, '0'), name: `container-${seq}`, state: 'running', health: undefined, statusText: 'Up 1 minute', ports: [], labels: {}, ...over };
}
const port = (containerPort: number, hostPort: number, hostIp = '0.0.0.0', protocol = 'tcp'): PublishedPort => ({ containerPort, hostPort, hostIp, protocol });

describe('runtime discovery (unit)', () => {
  const classifier = createClassifier({ 'example/*-server': 'other' });

  it('reaches each kind on the port published for its usual container port', () => {
    const cases: [string, string, number, 'ollama' | 'openai'][] = [
      ['ollama/ollama:0.5', 'ollama', 11434, 'ollama'],
      ['ghcr.io/ggml-org/llama.cpp:server', 'llamacpp', 8080, 'openai'],
      ['vllm/vllm-openai:latest', 'vllm', 8000, 'openai'],
      ['ghcr.io/huggingface/text-generation-inference:3', 'tgi', 80, 'openai'],
      ['localai/localai:latest-cpu', 'localai', 8080, 'openai'],
    ];
    for (const [image, kind, usual, api] of cases) {
      // A second published port, lower on the host, must not be picked over the usual one.
      const c = rec({ image, ports: [port(9999, 1000), port(usual, 40000 + usual)] });
      const { endpoints, unreachable } = discoverRuntimes([c], classifier);
      assert.deepEqual(unreachable, []);
      assert.deepEqual(endpoints, [
        { id: `${kind}@http://127.0.0.1:${40000 + usual}`, kind, api, name: c.name, baseUrl: `http://127.0.0.1:${40000 + usual}`, source: 'container', containerId: c.id },
      ]);
    }
  });

  it('uses the port label, then the first published TCP port', () => {
    const labelled = rec({ image: 'ollama/ollama', labels: { [LABEL_PORT]: '9000' }, ports: [port(11434, 11434), port(9000, 19000)] });
    const fallback = rec({ image: 'example/my-server', ports: [port(53, 5353, '0.0.0.0', 'udp'), port(7000, 17000), port(7001, 17001)] });
    const badLabel = rec({ image: 'vllm/vllm-openai', labels: { [LABEL_PORT]: '1234' }, ports: [port(8000, 18000)] });
    const { endpoints } = discoverRuntimes([labelled, fallback, badLabel], classifier);
    assert.deepEqual(endpoints.map((e) => e.baseUrl), ['http://127.0.0.1:19000', 'http://127.0.0.1:17000', 'http://127.0.0.1:18000']);
  });

  it('lists running runtimes without a published port as unreachable, and skips the rest', () => {
    const noPort = rec({ image: 'ollama/ollama', ports: [] });
    const udpOnly = rec({ image: 'ghcr.io/ggml-org/llama.cpp', ports: [port(8080, 8080, '0.0.0.0', 'udp')] });
    const stopped = rec({ image: 'ollama/ollama', state: 'exited', ports: [port(11434, 11434)] });
    const paused = rec({ image: 'ollama/ollama', state: 'paused', ports: [port(11434, 11435)] });
    const webui = rec({ image: 'ghcr.io/open-webui/open-webui:main', ports: [port(8080, 3000)] });
    const unrelated = rec({ image: 'postgres:16', ports: [port(5432, 5432)] });
    const { endpoints, unreachable } = discoverRuntimes([noPort, udpOnly, stopped, paused, webui, unrelated], classifier);
    assert.deepEqual(endpoints, []);
    assert.deepEqual(unreachable.map((u) => u.container), [noPort, udpOnly]);
    assert.match(unreachable[0].reason, new RegExp(`${noPort.name} publishes no TCP port.*publish container port 11434`));
    assert.match(unreachable[1].reason, /publish container port 8080/);
  });

  it('reaches wildcard binds on loopback and keeps a specific host address', () => {
    const hosts: [string, string][] = [
      ['0.0.0.0', 'http://127.0.0.1:1'],
      ['', 'http://127.0.0.1:2'],
      ['::', 'http://127.0.0.1:3'],
      ['192.168.1.20', 'http://192.168.1.20:4'],
      ['::1', 'http://[::1]:5'],
      ['fd00::7', 'http://[fd00::7]:6'],
    ];
    const records = hosts.map(([ip], i) => rec({ image: 'ollama/ollama', ports: [port(11434, i + 1, ip)] }));
    assert.deepEqual(discoverRuntimes(records, classifier).endpoints.map((e) => e.baseUrl), hosts.map(([, url]) => url));
  });

  it('maps "other" containers to OpenAI-compatible unless the runtime label names a kind', () => {
    const plain = rec({ image: 'example/x-server', ports: [port(5000, 5000)] });
    const managed = rec({ image: 'some/image', labels: { [LABEL_MANAGED]: 'true' }, ports: [port(5001, 5001)] });
    const lmstudio = rec({ image: 'some/lmstudio', labels: { [LABEL_RUNTIME]: 'lmstudio' }, ports: [port(9, 9), port(1234, 51234)] });
    const junk = rec({ image: 'some/other', labels: { [LABEL_RUNTIME]: 'banana' }, ports: [port(5002, 5002)] });
    const gguf = rec({ image: 'some/files', labels: { [LABEL_RUNTIME]: 'gguf' }, ports: [port(5003, 5003)] });
    const labelledOllama = rec({ image: 'custom/ollama-cuda', labels: { [LABEL_RUNTIME]: 'ollama' }, ports: [port(11434, 21434)] });
    const { endpoints } = discoverRuntimes([plain, managed, lmstudio, junk, gguf, labelledOllama], classifier);
    assert.deepEqual(
      endpoints.map((e) => [e.kind, e.api, e.baseUrl]),
      [
        ['openai', 'openai', 'http://127.0.0.1:5000'],
        ['openai', 'openai', 'http://127.0.0.1:5001'],
        ['lmstudio', 'openai', 'http://127.0.0.1:51234'],
        ['openai', 'openai', 'http://127.0.0.1:5002'],
        ['openai', 'openai', 'http://127.0.0.1:5003'],
        ['ollama', 'ollama', 'http://127.0.0.1:21434'],
      ],
    );
    assert.equal(endpoints[0].id, 'openai@http://127.0.0.1:5000');
  });
});

describe('user runtime endpoints (unit)', () => {
  it('loads good entries with defaults and normalised URLs', () => {
    const { endpoints, errors } = parseUserEndpoints([
      { url: 'http://localhost:1234/v1' },
      { url: 'https://gpu.example.com/llm/v1/', kind: 'vllm', name: 'Lab vLLM', requiresKey: true },
      { url: 'http://10.0.0.5:11434/', kind: 'ollama' },
      'http://[::1]:8080',
    ]);
    assert.deepEqual(errors, []);
    assert.deepEqual(endpoints, [
      { id: 'openai@http://localhost:1234', kind: 'openai', api: 'openai', name: 'localhost:1234', baseUrl: 'http://localhost:1234', source: 'user' },
      { id: 'vllm@https://gpu.example.com/llm', kind: 'vllm', api: 'openai', name: 'Lab vLLM', baseUrl: 'https://gpu.example.com/llm', source: 'user', requiresKey: true },
      { id: 'ollama@http://10.0.0.5:11434', kind: 'ollama', api: 'ollama', name: '10.0.0.5:11434', baseUrl: 'http://10.0.0.5:11434', source: 'user' },
      { id: 'openai@http://[::1]:8080', kind: 'openai', api: 'openai', name: '[::1]:8080', baseUrl: 'http://[::1]:8080', source: 'user' },
    ]);
  });

  it('turns each bad entry into an error naming its index, and still loads the good ones', () => {
    const { endpoints, errors } = parseUserEndpoints([
      { url: 'http://ok:1' },
      { url: 'ftp://files.example.com' },
      { kind: 'vllm' },
      { url: 'http://ok:2', kind: 'banana' },
      { url: 'not a url' },
      42,
      { url: 'http://user:secret@host:3' },
      { url: 'http://host:4/?x=1' },
      { url: 'http://ok:5', requiresKey: 'yes' },
      { url: 'http://ok:6', kind: 'gguf' },
      { url: 'http://ok:7', name: 'fine' },
    ]);
    assert.deepEqual(endpoints.map((e) => e.baseUrl), ['http://ok:1', 'http://ok:7']);
    assert.equal(errors.length, 9);
    const at = (i: number) => errors.find((e) => e.startsWith(`llmStack.runtimes.endpoints[${i}]: `));
    assert.match(at(1)!, /must start with http:\/\/ or https:\/\//);
    assert.match(at(2)!, /url/);
    assert.match(at(3)!, /kind/);
    assert.match(at(4)!, /is not a URL/);
    assert.ok(at(5));
    assert.match(at(6)!, /user name or password/);
    assert.ok(!at(6)!.includes(':secret@'), 'a password in the URL is not repeated in the error');
    assert.match(at(7)!, /query/);
    assert.match(at(8)!, /requiresKey/);
    assert.match(at(9)!, /kind/);
  });

  it('drops duplicates by id, keeping the first, and says so', () => {
    const { endpoints, errors } = parseUserEndpoints([
      { url: 'http://h:1234/v1', name: 'first' },
      { url: 'http://h:1234/', name: 'second' },
      { url: 'http://h:1234', kind: 'ollama' },
    ]);
    assert.deepEqual(endpoints.map((e) => [e.id, e.name]), [['openai@http://h:1234', 'first'], ['ollama@http://h:1234', 'h:1234']]);
    assert.deepEqual(errors, ['llmStack.runtimes.endpoints[1]: repeats entry 0 (same kind and url); ignored.']);
  });

  it('accepts an absent setting and rejects a setting that is not a list', () => {
    assert.deepEqual(parseUserEndpoints(undefined), { endpoints: [], errors: [] });
    assert.deepEqual(parseUserEndpoints(null), { endpoints: [], errors: [] });
    assert.deepEqual(parseUserEndpoints([]), { endpoints: [], errors: [] });
    const r = parseUserEndpoints({ url: 'http://x' });
    assert.deepEqual(r.endpoints, []);
    assert.match(r.errors[0], /must be a list/);
  });

  it('strips trailing slashes and /v1 but keeps a path prefix', () => {
    const cases: [string, string][] = [
      ['http://h:1/v1', 'http://h:1'],
      ['http://h:1/v1/', 'http://h:1'],
      ['http://h:1//', 'http://h:1'],
      ['http://H:1/V1', 'http://h:1'],
      ['https://h/proxy/v1', 'https://h/proxy'],
      ['https://h:443/v1beta', 'https://h/v1beta'],
      ['http://h/api/v1/v1', 'http://h/api'],
    ];
    for (const [raw, want] of cases) assert.deepEqual(normalizeServerUrl(raw), { baseUrl: want }, raw);
  });

  it('merges lists, keeping the first endpoint of each id', () => {
    const a = testEndpoint('ollama', 'http://127.0.0.1:11434', { name: 'from container', source: 'container' });
    const b: RuntimeEndpoint = { ...a, name: 'from settings', source: 'user' };
    const c = testEndpoint('openai', 'http://127.0.0.1:1234', { name: a.name, source: a.source });
    assert.deepEqual(mergeEndpoints([a], [b, c], [], [c]), [a, c]);
    assert.deepEqual(mergeEndpoints(), []);
  });
});

describe('user runtime endpoints, properties (unit)', () => {
  const entry = fc.oneof(
    fc.anything(),
    fc.record({ url: fc.oneof(fc.webUrl(), fc.string(), fc.anything()), kind: fc.oneof(fc.constantFrom('ollama', 'vllm', 'openai', 'gguf', 'x'), fc.anything()), name: fc.oneof(fc.string(), fc.anything()), requiresKey: fc.anything() }, { requiredKeys: [] }),
    fc.webUrl(),
  );

  it('never throws, whatever the setting holds', () => {
    fc.assert(
      fc.property(fc.oneof(fc.anything(), fc.array(entry, { maxLength: 8 })), (value) => {
        const r = parseUserEndpoints(value);
        assert.ok(Array.isArray(r.endpoints) && Array.isArray(r.errors));
      }),
      { numRuns: 500 },
    );
  });

  it('accounts for every entry: it loads, or an error names its index', () => {
    fc.assert(
      fc.property(fc.array(entry, { maxLength: 8 }), (value) => {
        const { endpoints, errors } = parseUserEndpoints(value);
        assert.equal(endpoints.length + errors.length, value.length);
        assert.equal(new Set(endpoints.map((e) => e.id)).size, endpoints.length);
        for (const e of endpoints) {
          assert.ok(!/\/$|\/v1$/i.test(e.baseUrl), e.baseUrl);
          assert.equal(e.id, `${e.kind}@${e.baseUrl}`);
          assert.equal(e.source, 'user');
        }
        for (const [i, err] of errors.entries()) assert.match(err, /^llmStack\.runtimes\.endpoints\[\d+\]: /, `error ${i}`);
      }),
      { numRuns: 300 },
    );
  });

  it('loads every web URL, and its base URL normalises to itself', () => {
    fc.assert(
      fc.property(fc.webUrl({ authoritySettings: { withIPv4: true, withIPv6: true, withPort: true } }), (url) => {
        const r = normalizeServerUrl(url);
        assert.ok('baseUrl' in r, `${url}: ${'error' in r ? r.error : ''}`);
        assert.deepEqual(normalizeServerUrl(r.baseUrl), r);
      }),
      { numRuns: 500 },
    );
  });
});
