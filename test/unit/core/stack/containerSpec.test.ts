// Unit tests for src/core/stack/containerSpec.ts: create options, labels, wiring, GPUs and the config hash.
import * as assert from 'node:assert/strict';
import * as os from 'node:os';
import * as path from 'node:path';
import { parse } from 'yaml';
import { LABEL_RUNTIME } from '../../../../src/core/docker/containers';
import { LABEL_PORT } from '../../../../src/core/runtimes/discovery';
import {
  canonicalJson,
  configHashOf,
  desiredContainers,
  deviceRequest,
  diffDigests,
  digestHoldsEnvValues,
  envRecord,
  envValueChanges,
  LABEL_CONFIG,
  literalParams,
  parseConfigDigest,
  type DesiredService,
} from '../../../../src/core/stack/containerSpec';
import { sizeBytes } from '../../../../src/core/stack/normalize';
import { LABEL_CONFIG_HASH, LABEL_SERVICE, LABEL_STACK, stackFileSchema, type StackFile } from '../../../../src/core/stack/schema';
import type { ResolvedParams } from '../../../../src/core/stack/types';

const STACK_DIR = '/home/me/project';

function fromYaml(text: string): StackFile {
  return stackFileSchema.parse(parse(text));
}

const BASIC = `
name: demo
runtimes:
  ollama:
    kind: ollama
    image: ollama/ollama:latest
    ports: ["11434"]
    volumes: ["models:/root/.ollama", "./gguf:/gguf:ro", "~/cache:/cache"]
    env: { OLLAMA_KEEP_ALIVE: 5m, OLLAMA_DEBUG: 1 }
    params: { contextSize: 8192, parallel: 2, threads: auto }
    gpu: all
    healthcheck: { test: "ollama list || exit 1", interval: 5s, timeout: 2s, retries: 3, startPeriod: 1m }
    models: ["llama3.2:1b", { name: qwen3:0.6b, keepLoaded: true }]
    labels: { team: ml }
uis:
  webui:
    kind: openwebui
    image: ghcr.io/open-webui/open-webui:main
    ports: ["0.0.0.0:3000:8080", { container: 9000, host: 0 }]
    runtime: ollama
    restart: always
`;

const byName = (list: DesiredService[], name: string) => list.find((d) => d.service === name)!;

describe('stack container specs (unit)', () => {
  it('builds the runtime container: image, ports on 127.0.0.1, volumes, env, labels, healthcheck, GPU, network', () => {
    const list = desiredContainers(fromYaml(BASIC), { stackDir: STACK_DIR });
    assert.deepEqual(
      list.map((d) => d.service),
      ['ollama', 'webui'],
    );
    const d = byName(list, 'ollama');
    const c = d.create;
    assert.equal(d.containerName, 'demo-ollama');
    assert.equal(c.name, 'demo-ollama');
    assert.equal(c.Image, 'ollama/ollama:latest');
    assert.equal(c.Cmd, undefined, 'no command and no params that map to flags: the image default runs');
    assert.deepEqual(c.Env, ['OLLAMA_CONTEXT_LENGTH=8192', 'OLLAMA_DEBUG=1', 'OLLAMA_KEEP_ALIVE=5m', 'OLLAMA_NUM_PARALLEL=2']);
    assert.deepEqual(c.ExposedPorts, { '11434/tcp': {} });
    assert.deepEqual(c.HostConfig?.PortBindings, { '11434/tcp': [{ HostIp: '127.0.0.1', HostPort: '11434' }] });
    assert.deepEqual(c.HostConfig?.Binds, ['demo_models:/root/.ollama', '/home/me/project/gguf:/gguf:ro', `${path.join(os.homedir(), 'cache')}:/cache`]);
    assert.deepEqual(d.volumes, ['demo_models']);
    assert.deepEqual(c.HostConfig?.RestartPolicy, { Name: 'unless-stopped' });
    assert.equal(c.HostConfig?.NetworkMode, 'demo_default');
    assert.deepEqual(c.NetworkingConfig, { EndpointsConfig: { demo_default: { Aliases: ['ollama'] } } });
    assert.deepEqual(c.HostConfig?.DeviceRequests, [{ Driver: 'nvidia', Count: -1, Capabilities: [['gpu']] }]);
    assert.deepEqual(c.Healthcheck, { Test: ['CMD-SHELL', 'ollama list || exit 1'], Interval: 5e9, Timeout: 2e9, Retries: 3, StartPeriod: 60e9 });
    assert.equal(d.waitHealthy, true);
    assert.equal(d.desiredState, 'running');
    assert.deepEqual(d.models, [
      { name: 'llama3.2:1b', pull: true, keepLoaded: false },
      { name: 'qwen3:0.6b', pull: true, keepLoaded: true },
    ]);
    const labels = c.Labels!;
    assert.equal(labels.team, 'ml');
    assert.equal(labels[LABEL_STACK], 'demo');
    assert.equal(labels[LABEL_SERVICE], 'ollama');
    assert.equal(labels[LABEL_RUNTIME], 'ollama');
    assert.equal(labels[LABEL_PORT], '11434');
    assert.equal(labels[LABEL_CONFIG_HASH], d.configHash);
    assert.deepEqual(parseConfigDigest(labels[LABEL_CONFIG]), d.configDigest);
  });

  it('wires Open WebUI to an Ollama runtime by service name, publishes 0 as any free port, keeps the restart policy', () => {
    const d = byName(desiredContainers(fromYaml(BASIC), { stackDir: STACK_DIR }), 'webui');
    assert.deepEqual(d.create.Env, ['OLLAMA_BASE_URL=http://ollama:11434']);
    assert.deepEqual(d.dependsOn, ['ollama']);
    assert.equal(d.waitHealthy, false);
    assert.deepEqual(d.create.HostConfig?.PortBindings, {
      '8080/tcp': [{ HostIp: '0.0.0.0', HostPort: '3000' }],
      '9000/tcp': [{ HostIp: '127.0.0.1', HostPort: '' }],
    });
    assert.deepEqual(d.create.HostConfig?.RestartPolicy, { Name: 'always' });
    assert.equal(d.create.Labels![LABEL_RUNTIME], 'openwebui');
    assert.equal(d.create.Labels![LABEL_PORT], undefined);
    assert.equal(d.create.HostConfig?.DeviceRequests, undefined);
    assert.deepEqual(d.models, []);
  });

  it('wires Open WebUI to an OpenAI-compatible runtime at /v1, and the file env wins over the wiring', () => {
    const file = fromYaml(`
name: s
runtimes:
  llm: { kind: llamacpp, image: ghcr.io/ggml-org/llama.cpp:server, port: 9090 }
  vllm: { kind: vllm, image: vllm/vllm-openai }
uis:
  a: { kind: openwebui, image: w, runtime: llm }
  b: { kind: openwebui, image: w, runtime: vllm, env: { OPENAI_API_BASE_URL: "http://elsewhere/v1" } }
  c: { kind: other, image: w, runtime: llm }
`);
    const list = desiredContainers(file, { stackDir: STACK_DIR });
    assert.deepEqual(byName(list, 'a').create.Env, ['OPENAI_API_BASE_URL=http://llm:9090/v1']);
    assert.deepEqual(byName(list, 'b').create.Env, ['OPENAI_API_BASE_URL=http://elsewhere/v1']);
    assert.equal(byName(list, 'c').create.Env, undefined, 'an unknown UI gets no wiring');
    assert.equal(byName(list, 'llm').create.Labels![LABEL_PORT], '9090');
  });

  it('appends the params as flags after the command for llama.cpp, from resolved params when given', () => {
    const file = fromYaml(`
name: s
runtimes:
  llm:
    kind: llamacpp
    image: ghcr.io/ggml-org/llama.cpp:server
    command: "-m /models/x.gguf --host 0.0.0.0 --alias 'my model'"
    params: { threads: 4, gpuLayers: auto, contextSize: 4096 }
    gpu: auto
`);
    const literal = byName(desiredContainers(file, { stackDir: STACK_DIR }), 'llm');
    assert.deepEqual(literal.create.Cmd, ['-m', '/models/x.gguf', '--host', '0.0.0.0', '--alias', 'my model', '--threads', '4', '--ctx-size', '4096']);
    assert.equal(literal.create.HostConfig?.DeviceRequests, undefined, 'gpu auto without hardware detection: no GPU');

    const params = new Map<string, ResolvedParams>([['llm', { threads: 8, gpuLayers: 35, contextSize: 8192, gpu: { kind: 'devices', devices: ['0', 'GPU-abc'] } }]]);
    const resolved = byName(desiredContainers(file, { stackDir: STACK_DIR, params }), 'llm');
    assert.deepEqual(resolved.create.Cmd!.slice(6), ['--threads', '8', '--n-gpu-layers', '35', '--ctx-size', '8192']);
    assert.deepEqual(resolved.create.HostConfig?.DeviceRequests, [{ Driver: 'nvidia', DeviceIDs: ['0', 'GPU-abc'], Capabilities: [['gpu']] }]);
    assert.notEqual(resolved.configHash, literal.configHash);
    assert.deepEqual(diffDigests(literal.configDigest, resolved.configDigest), ['command changed', 'gpu changed']);
  });

  it('maps GPU specs without resolved params: none, all, auto, count, devices', () => {
    const gpuOf = (gpu: unknown) => literalParams({ kind: 'ollama', image: 'x', gpu } as never).gpu;
    assert.deepEqual(gpuOf(undefined), { kind: 'none' });
    assert.deepEqual(gpuOf('none'), { kind: 'none' });
    assert.deepEqual(gpuOf('auto'), { kind: 'none' });
    assert.deepEqual(gpuOf('all'), { kind: 'all' });
    assert.deepEqual(gpuOf({ count: 2 }), { kind: 'count', count: 2 });
    assert.deepEqual(gpuOf({ devices: ['1'] }), { kind: 'devices', devices: ['1'] });
    assert.equal(deviceRequest({ kind: 'none' }), undefined);
    assert.deepEqual(deviceRequest({ kind: 'count', count: 2 }), { Driver: 'nvidia', Count: 2, Capabilities: [['gpu']] });
    assert.deepEqual(literalParams({ kind: 'ollama', image: 'x', params: { threads: 'auto', gpuLayers: 3, parallel: 2 } }), {
      threads: undefined,
      gpuLayers: 3,
      contextSize: undefined,
      parallel: 2,
      gpu: { kind: 'none' },
    });
  });

  it('keeps a healthcheck array as written, turns NONE off, and leaves stopped services stopped', () => {
    const file = fromYaml(`
name: s
uis:
  a: { image: x, healthcheck: { test: ["CMD", "wget", "-q", "http://127.0.0.1/"] }, state: stopped, restart: "no" }
  b: { image: x, healthcheck: { test: ["NONE"] } }
`);
    const [a, b] = desiredContainers(file, { stackDir: STACK_DIR });
    assert.deepEqual(a.create.Healthcheck, { Test: ['CMD', 'wget', '-q', 'http://127.0.0.1/'] });
    assert.equal(a.waitHealthy, true);
    assert.equal(a.desiredState, 'stopped');
    assert.deepEqual(a.create.HostConfig?.RestartPolicy, { Name: 'no' });
    assert.equal(b.waitHealthy, false);
  });

  it('hashes the canonical create options: stable across key order, blind to its own labels and to env values, different when anything else changes', () => {
    const a = desiredContainers(fromYaml(BASIC), { stackDir: STACK_DIR });
    const reordered = fromYaml(BASIC.replace('env: { OLLAMA_KEEP_ALIVE: 5m, OLLAMA_DEBUG: 1 }', 'env: { OLLAMA_DEBUG: 1, OLLAMA_KEEP_ALIVE: 5m }'));
    const b = desiredContainers(reordered, { stackDir: STACK_DIR });
    assert.deepEqual(
      a.map((d) => d.configHash),
      b.map((d) => d.configHash),
    );
    assert.match(a[0].configHash, /^[0-9a-f]{64}$/);
    assert.equal(configHashOf(a[0].create), a[0].configHash, 'the hash label and digest label are left out of the hash');
    assert.equal(canonicalJson({ b: 1, a: [{ d: undefined, c: 2 }] }), '{"a":[{"c":2}],"b":1}');

    // An env value is left out of the labels: the container's own environment tells a change.
    const changed = desiredContainers(fromYaml(BASIC.replace('OLLAMA_KEEP_ALIVE: 5m', 'OLLAMA_KEEP_ALIVE: 10m')), { stackDir: STACK_DIR });
    assert.equal(changed[0].configHash, a[0].configHash);
    assert.deepEqual(changed[0].create.Labels, a[0].create.Labels);
    const changedEnv = envValueChanges(changed[0].create.Env, envRecord(a[0].create.Env));
    assert.deepEqual(changedEnv, ['OLLAMA_KEEP_ALIVE']);
    assert.deepEqual(diffDigests(a[0].configDigest, changed[0].configDigest, changedEnv), ['env changed (OLLAMA_KEEP_ALIVE)']);
    // A variable set or unset changes the hash, and the digests name it.
    const added = desiredContainers(fromYaml(BASIC.replace('OLLAMA_DEBUG: 1', 'OLLAMA_DEBUG: 1, OLLAMA_ORIGINS: "*"')), { stackDir: STACK_DIR });
    assert.notEqual(added[0].configHash, a[0].configHash);
    assert.equal(added[1].configHash, a[1].configHash, 'the UI did not change');
    assert.deepEqual(diffDigests(a[0].configDigest, added[0].configDigest), ['env changed (OLLAMA_ORIGINS)']);
    assert.deepEqual(diffDigests(added[0].configDigest, a[0].configDigest), ['env changed (OLLAMA_ORIGINS)']);

    const moved = desiredContainers(fromYaml(BASIC.replace('ports: ["11434"]', 'ports: ["11435:11434"]').replace('ollama/ollama:latest', 'ollama/ollama:0.9')), { stackDir: STACK_DIR });
    assert.deepEqual(diffDigests(a[0].configDigest, moved[0].configDigest), ['image changed', 'ports changed']);
    const otherDir = desiredContainers(fromYaml(BASIC), { stackDir: '/elsewhere' });
    assert.deepEqual(diffDigests(a[0].configDigest, otherDir[0].configDigest), ['volumes changed']);
    assert.deepEqual(diffDigests(undefined, a[0].configDigest), ['configuration changed (made by an older version or by hand)']);
  });

  it('labels carry nothing derived from an env value, so they cannot confirm a guessed token', () => {
    const withToken = (token: string) => desiredContainers(fromYaml(`name: s\nruntimes:\n  vllm: { kind: vllm, image: vllm/vllm-openai, env: { HF_TOKEN: "${token}" } }\n`), { stackDir: STACK_DIR })[0];
    const real = withToken('hf_realSecretValue123');
    const guess = withToken('hf_guess');
    assert.deepEqual(real.create.Labels, guess.create.Labels, 'every label, the hash and digests included, is the same whatever the value');
    const labelText = JSON.stringify(real.create.Labels);
    assert.ok(!labelText.includes('hf_realSecretValue123'));
    assert.deepEqual(parseConfigDigest(real.create.Labels?.[LABEL_CONFIG])?.env, { HF_TOKEN: '' }, 'the name only');
    assert.equal(digestHoldsEnvValues(real.configDigest), false);
    assert.equal(digestHoldsEnvValues({ env: { HF_TOKEN: '1a2b3c4d5e6f70' } }), true, 'a digest from an older version');
    assert.equal(digestHoldsEnvValues(undefined), false);
    assert.deepEqual(envRecord(['A=1=2', 'B', 'A=3']), { A: '3', B: '' });
  });

  it('reads sizes 1024-based, as docker --shm-size does', () => {
    assert.equal(sizeBytes('1g'), 1073741824);
    assert.equal(sizeBytes('512m'), 536870912);
    assert.equal(sizeBytes('64k'), 65536);
    assert.equal(sizeBytes('1.5k'), 1536);
    assert.equal(sizeBytes('2 GB'), 2147483648);
    assert.equal(sizeBytes('100b'), 100);
    assert.equal(sizeBytes('100'), 100);
    assert.equal(sizeBytes('0.1k'), 102, 'fractions of a byte are dropped');
    assert.equal(sizeBytes(1048576), 1048576);
    assert.throws(() => sizeBytes('lots'), /"lots" is not a size: write a number of bytes or a size such as "1g"/);
  });

  it('sets /dev/shm from shmSize, on runtimes and UIs; a change names shmSize, a respelling changes nothing', () => {
    const withShm = (size: string | undefined) =>
      desiredContainers(
        fromYaml(`
name: s
runtimes:
  vllm: { kind: vllm, image: vllm/vllm-openai${size === undefined ? '' : `, shmSize: ${size}`} }
uis:
  web: { image: w, shmSize: 256m }
`),
        { stackDir: STACK_DIR },
      );
    const shmOf = (size: string | undefined) => byName(withShm(size), 'vllm').create.HostConfig?.ShmSize;
    assert.equal(shmOf('1g'), 1073741824);
    assert.equal(shmOf('512m'), 536870912);
    assert.equal(shmOf('1048576'), 1048576, 'a YAML number is bytes');
    assert.equal(shmOf(undefined), undefined, "absent: the engine's default");
    assert.equal(byName(withShm(undefined), 'web').create.HostConfig?.ShmSize, 268435456);
    assert.equal(byName(desiredContainers(fromYaml(BASIC), { stackDir: STACK_DIR }), 'ollama').create.HostConfig?.ShmSize, undefined);

    const [g1, m512, none] = [withShm('1g'), withShm('512m'), withShm(undefined)].map((l) => byName(l, 'vllm'));
    assert.notEqual(g1.configHash, m512.configHash);
    assert.deepEqual(diffDigests(m512.configDigest, g1.configDigest), ['shmSize changed']);
    assert.deepEqual(diffDigests(none.configDigest, g1.configDigest), ['shmSize changed']);
    assert.deepEqual(diffDigests(g1.configDigest, none.configDigest), ['shmSize changed']);
    assert.equal(byName(withShm('1024m'), 'vllm').configHash, g1.configHash, '"1024m" is "1g": same bytes, no recreate');

    // A digest stored before shmSize existed has no shmSize entry: it stands for no shmSize.
    const { shmSize: _dropped, ...older } = none.configDigest;
    assert.deepEqual(diffDigests(older, none.configDigest), []);
    assert.deepEqual(diffDigests(older, g1.configDigest), ['shmSize changed']);
  });

  it('reads back only well-formed digest labels', () => {
    assert.equal(parseConfigDigest(undefined), undefined);
    assert.equal(parseConfigDigest('not json'), undefined);
    assert.equal(parseConfigDigest('[1]'), undefined);
    assert.equal(parseConfigDigest('{"env":{"A":1}}'), undefined);
    assert.deepEqual(parseConfigDigest('{"image":"ab","env":{"A":"cd"}}'), { image: 'ab', env: { A: 'cd' } });
  });
});
