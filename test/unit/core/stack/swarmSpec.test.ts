// The Swarm service specs built from a stack file (swarmServiceSpecs, pure): what shmSize becomes,
// since Swarm services have no ShmSize. Deploying runs against an engine in the integration tests.
import * as assert from 'node:assert/strict';
import type Docker from 'dockerode';
import { swarmServiceSpecs } from '../../../../src/core/stack/swarm';
import type { StackFile } from '../../../../src/core/stack/schema';

const file: StackFile = {
  name: 'demo',
  runtimes: {
    vllm: { kind: 'vllm', image: 'vllm/vllm-openai', volumes: ['hf:/root/.cache/huggingface'], shmSize: '8g' },
    tgi: { kind: 'tgi', image: 'ghcr.io/huggingface/text-generation-inference', shmSize: 1048576 },
    llm: { kind: 'llamacpp', image: 'ghcr.io/ggml-org/llama.cpp:server' },
  },
  uis: { web: { image: 'w', shmSize: '256 m' } },
};

describe('stack Swarm service specs (unit)', () => {
  const specs = swarmServiceSpecs(file);
  const mounts = (name: string) => (specs.find((s) => s.Name === `demo_${name}`)!.TaskTemplate as Docker.ContainerTaskSpec).ContainerSpec!.Mounts;

  it("gives shmSize as a tmpfs over /dev/shm of that many bytes, mode 1777, after the file's volumes", () => {
    const shm = (bytes: number) => ({ Type: 'tmpfs', Source: '', Target: '/dev/shm', TmpfsOptions: { SizeBytes: bytes, Mode: 0o1777 } });
    const vllm = mounts('vllm')!;
    assert.deepEqual(
      vllm.map((m) => `${m.Type} ${m.Target}`),
      ['volume /root/.cache/huggingface', 'tmpfs /dev/shm'],
    );
    assert.deepEqual(vllm[1], shm(8 * 1024 ** 3));
    assert.deepEqual(mounts('tgi'), [shm(1048576)]);
    assert.deepEqual(mounts('web'), [shm(256 * 1024 ** 2)]);
  });

  it('mounts nothing over /dev/shm without shmSize', () => {
    assert.equal(mounts('llm'), undefined);
  });
});

describe('stack Swarm service specs: GPUs by count (unit)', () => {
  it('gives a GPU count as the first device indexes, keeping a value the file set', () => {
    const warnings: string[] = [];
    const [two, own] = swarmServiceSpecs(
      {
        name: 'g',
        runtimes: {
          two: { kind: 'ollama', image: 'o', gpu: { count: 2 } },
          own: { kind: 'ollama', image: 'o', gpu: { count: 2 }, env: { NVIDIA_VISIBLE_DEVICES: '3' } },
        },
      },
      {},
      warnings,
    );
    const env = (s: Docker.CreateServiceOptions) => (s.TaskTemplate as Docker.ContainerTaskSpec).ContainerSpec!.Env;
    assert.deepEqual(env(two), ['NVIDIA_VISIBLE_DEVICES=0,1']);
    assert.deepEqual(env(own), ['NVIDIA_VISIBLE_DEVICES=3']);
    assert.ok(warnings.some((w) => w.startsWith('two: Swarm does not reserve GPUs here; NVIDIA_VISIBLE_DEVICES=0,1 is set')));
  });
});
