// Deterministic synthetic container records (mixed states, runtimes, ports, health) for tree-building benchmarks.
import { ContainerRecord, ContainerState, HealthState, LABEL_RUNTIME, PublishedPort } from '../../src/core/docker/containers';

const images = [
  'ollama/ollama:latest',
  'ollama/ollama:0.5.7',
  'vllm/vllm-openai:v0.6.4',
  'ghcr.io/ggml-org/llama.cpp:server-cuda',
  'ghcr.io/huggingface/text-generation-inference:2.4',
  'localai/localai:latest-aio-cpu',
  'ghcr.io/open-webui/open-webui:main',
  'postgres:16',
  'redis:7-alpine',
  'nginx:latest',
  'docker.io/library/python:3.12-slim',
  'myregistry.example.com/team/api:1.4.2',
  'grafana/grafana:11.0.0',
  'sha256:4235ceaf99ba',
];

const states: ContainerState[] = ['running', 'running', 'running', 'exited', 'exited', 'paused', 'created', 'restarting', 'dead'];
const healths: HealthState[] = [undefined, undefined, 'healthy', 'unhealthy', 'starting'];

/** A small LCG, so every run builds the same list. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

export function syntheticRecords(count: number, now: number, seed = 42): ContainerRecord[] {
  const r = rng(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)];
  const out: ContainerRecord[] = [];
  for (let i = 0; i < count; i++) {
    const image = pick(images);
    const state = pick(states);
    const health = state === 'running' ? pick(healths) : undefined;
    const upMs = Math.floor(r() * 5 * 86_400_000);
    const ports: PublishedPort[] = [];
    const nPorts = r() < 0.4 ? 0 : r() < 0.8 ? 1 : 2;
    for (let p = 0; p < nPorts; p++) {
      ports.push({ hostIp: r() < 0.5 ? '0.0.0.0' : '127.0.0.1', hostPort: 8000 + i * 2 + p, containerPort: [11434, 8080, 8000, 3000][p % 4], protocol: r() < 0.9 ? 'tcp' : 'udp' });
    }
    const labels: Record<string, string> = { 'com.docker.compose.project': `proj${i % 7}` };
    if (r() < 0.05) labels[LABEL_RUNTIME] = 'llamacpp';
    const statusText =
      state === 'running'
        ? `Up ${Math.max(1, Math.floor(upMs / 60_000))} minutes${health ? ` (${health === 'starting' ? 'health: starting' : health})` : ''}`
        : state === 'paused'
          ? `Up ${Math.max(1, Math.floor(upMs / 60_000))} minutes (Paused)`
          : state === 'exited'
            ? `Exited (${r() < 0.7 ? 0 : 137}) ${Math.floor(r() * 48) + 1} hours ago`
            : state === 'created'
              ? 'Created'
              : state === 'restarting'
                ? 'Restarting (1) 3 seconds ago'
                : 'Dead';
    out.push({
      id: (i.toString(16).padStart(8, '0') + 'f'.repeat(56)).slice(0, 64),
      name: `bench-${pick(['ollama', 'vllm', 'web', 'db', 'worker', 'api'])}-${i}`,
      image,
      state,
      health,
      statusText,
      startedAt: state === 'running' || state === 'paused' ? now - upMs : undefined,
      createdAt: now - upMs - 60_000,
      ports,
      labels,
    });
  }
  return out;
}
