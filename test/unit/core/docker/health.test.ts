// Unit tests for src/core/docker/health.ts: the status bar summary for each connection state.
import * as assert from 'node:assert/strict';
import type Docker from 'dockerode';
import type { AttemptFailure, ConnectionState } from '../../../../src/core/docker/connection';
import { ContainerRecord, createClassifier, LABEL_RUNTIME } from '../../../../src/core/docker/containers';
import type { Endpoint } from '../../../../src/core/docker/endpoint';
import { connectionContext, summarizeHealth, viewDescription } from '../../../../src/core/docker/health';

const NOW = Date.UTC(2025, 0, 15, 12, 0, 0);
const classifier = createClassifier();

const endpoint: Endpoint = {
  url: 'unix:///var/run/docker.sock',
  source: 'default',
  origin: 'Docker Engine',
  tls: false,
  options: { socketPath: '/var/run/docker.sock' },
  socketPath: '/var/run/docker.sock',
};

function connected(name: 'Docker' | 'Podman' = 'Docker'): ConnectionState {
  return {
    kind: 'connected',
    endpoint,
    engine: { name, version: '27.3.1', apiVersion: '1.47', os: 'linux', arch: 'amd64' },
    // summarizeHealth never touches the client; a placeholder keeps the test free of an engine.
    docker: {} as Docker,
    generation: 1,
  };
}

let seq = 0;
function rec(over: Partial<ContainerRecord>): ContainerRecord {
  seq++;
  return { id: `id${seq}`, name: `c${seq}`, image: 'busybox', state: 'running', health: undefined, statusText: '', ports: [], labels: {}, ...over };
}

describe('health summary (unit)', () => {
  it('while connecting: stopped level and zero counts except the container count', () => {
    const s = summarizeHealth({ kind: 'connecting', attempt: 2 }, [rec({})], classifier, NOW);
    assert.deepEqual(s, {
      level: 'stopped',
      text: 'Engine · connecting…',
      tooltip: 'Connecting to the container engine…',
      counts: { runtimesUp: 0, runtimes: 0, unhealthy: 0, restarting: 0, containers: 1 },
    });
  });

  it('when disconnected: lists what was tried, the problems and the next attempt', () => {
    const s = summarizeHealth(
      {
        kind: 'disconnected',
        failures: [
          { endpoint: 'unix:///var/run/docker.sock', origin: 'Docker Engine', reason: 'no socket at /var/run/docker.sock', kind: 'missing' },
          { endpoint: 'unix:///run/podman/podman.sock', origin: 'Podman (rootful)', reason: 'permission denied', kind: 'permission' },
        ],
        problems: ['config.json is not valid JSON'],
        source: 'default',
        nextAttemptAt: NOW + 90_000,
        lostAt: NOW - 1000,
        attempt: 3,
      },
      [],
      classifier,
      NOW,
    );
    assert.equal(s.level, 'error');
    assert.equal(s.text, 'Engine · not connected');
    assert.equal(
      s.tooltip,
      [
        '**No container engine answers.**',
        '',
        'Tried:',
        '- Docker Engine: no socket at /var/run/docker.sock',
        '- Podman (rootful): permission denied',
        '- config.json is not valid JSON',
        '',
        'Next attempt in 1 min.',
        'Click for actions.',
      ].join('\n'),
    );
    assert.deepEqual(s.counts, { runtimesUp: 0, runtimes: 0, unhealthy: 0, restarting: 0, containers: 0 });
  });

  it('when disconnected without failures or a planned attempt: no "Tried:" and no countdown', () => {
    const s = summarizeHealth({ kind: 'disconnected', failures: [], problems: [], source: 'default', lostAt: NOW, attempt: 1 }, [], classifier, NOW);
    assert.equal(s.tooltip, ['**No container engine answers.**', '', '', '', 'Click for actions.'].join('\n'));
  });

  it('a next attempt already due reads as 0 s', () => {
    const s = summarizeHealth({ kind: 'disconnected', failures: [], problems: [], source: 'default', nextAttemptAt: NOW - 5000, lostAt: NOW, attempt: 1 }, [], classifier, NOW);
    assert.match(s.tooltip, /Next attempt in 0 s\./);
  });

  it('connected with nothing wrong: ok, runtimes up counted', () => {
    const records = [
      rec({ image: 'ollama/ollama:latest' }),
      rec({ image: 'vllm/vllm-openai', state: 'exited' }),
      rec({ image: 'postgres:16' }),
      rec({ image: 'busybox', labels: { [LABEL_RUNTIME]: 'llamacpp' }, health: 'healthy' }),
    ];
    const s = summarizeHealth(connected(), records, classifier, NOW);
    assert.equal(s.level, 'ok');
    assert.equal(s.text, 'Docker · 2 runtimes up');
    assert.deepEqual(s.counts, { runtimesUp: 2, runtimes: 3, unhealthy: 0, restarting: 0, containers: 4 });
    assert.equal(
      s.tooltip,
      [
        '**Docker 27.3.1** (API 1.47, linux/amd64)',
        '',
        'Endpoint: `unix:///var/run/docker.sock` via Docker Engine',
        'Containers: 4, LLM runtimes: 3 (2 up)',
        '',
        'Click for actions.',
      ].join('\n'),
    );
  });

  it('says "1 runtime up" in the singular and "0 runtimes up" with none', () => {
    assert.equal(summarizeHealth(connected('Podman'), [rec({ image: 'ollama/ollama' })], classifier, NOW).text, 'Podman · 1 runtime up');
    assert.equal(summarizeHealth(connected(), [], classifier, NOW).text, 'Docker · 0 runtimes up');
  });

  it('an unhealthy container makes it an error, a restarting one a warning', () => {
    const restarting = summarizeHealth(connected(), [rec({ state: 'restarting' }), rec({ image: 'ollama/ollama' })], classifier, NOW);
    assert.equal(restarting.level, 'warning');
    assert.equal(restarting.text, 'Docker · 1 runtime up · 1 restarting');
    assert.match(restarting.tooltip, /\nRestarting: 1\n/);
    assert.doesNotMatch(restarting.tooltip, /Unhealthy/);

    const both = summarizeHealth(
      connected(),
      [rec({ state: 'restarting' }), rec({ health: 'unhealthy' }), rec({ health: 'unhealthy', image: 'ollama/ollama' }), rec({ state: 'exited', health: 'unhealthy' })],
      classifier,
      NOW,
    );
    assert.equal(both.level, 'error');
    assert.equal(both.text, 'Docker · 1 runtime up · 2 unhealthy · 1 restarting');
    assert.deepEqual(both.counts, { runtimesUp: 1, runtimes: 1, unhealthy: 2, restarting: 1, containers: 4 });
    assert.match(both.tooltip, /\nUnhealthy: 2\nRestarting: 1\n/);
  });

  it('uses the current time when none is given', () => {
    const s = summarizeHealth({ kind: 'disconnected', failures: [], problems: [], source: 'default', nextAttemptAt: Date.now() + 3_600_000, lostAt: 0, attempt: 1 }, [], classifier);
    assert.match(s.tooltip, /Next attempt in (59 min|1 h)\./);
  });
});

describe('connection advice for the Containers view (unit)', () => {
  const base = { kind: 'disconnected' as const, problems: [], lostAt: 0, attempt: 1 };
  const f = (kind: AttemptFailure['kind'], reason = 'r') => ({ endpoint: 'unix:///x', origin: 'o', reason, kind });

  it('keys the welcome text on what was tried and why it failed', () => {
    assert.deepEqual(connectionContext({ ...base, source: 'default', failures: [f('missing'), f('missing')] }), { connection: 'disconnected', source: 'default', problem: 'missing' });
    assert.equal(connectionContext({ ...base, source: 'default', failures: [f('missing'), f('permission')] }).problem, 'permission');
    assert.equal(connectionContext({ ...base, source: 'setting', failures: [f('tls')] }).problem, 'tls');
    assert.equal(connectionContext({ ...base, source: 'DOCKER_HOST', failures: [f('timeout')] }).problem, 'unreachable');
    assert.equal(connectionContext({ ...base, source: 'context', failures: [f('lost')] }).problem, 'lost');
    assert.equal(connectionContext({ ...base, source: 'none', failures: [] }).problem, 'invalid');
    assert.deepEqual(connectionContext({ kind: 'connecting', attempt: 1 }), { connection: 'connecting', source: '', problem: '' });
  });

  it('describes the view with the engine or the first failure', () => {
    assert.equal(viewDescription({ ...base, source: 'setting', failures: [f('missing', 'no socket at /x')] }), 'not connected: no socket at /x');
    assert.equal(viewDescription({ ...base, source: 'none', failures: [] }), 'not connected');
    assert.equal(viewDescription({ kind: 'connecting', attempt: 0 }), 'connecting…');
  });
});
