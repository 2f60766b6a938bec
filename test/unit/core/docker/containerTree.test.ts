// Unit tests for src/core/docker/containerTree.ts: node labels, descriptions, tooltips, icons, context values and ordering.
import * as assert from 'node:assert/strict';
import fc from 'fast-check';
import { buildContainerTree, describeContainer } from '../../../../src/core/docker/containerTree';
import { ContainerRecord, ContainerState, createClassifier, HealthState, LABEL_RUNTIME, PublishedPort } from '../../../../src/core/docker/containers';

const NOW = Date.UTC(2025, 0, 15, 12, 0, 0);
const MIN = 60_000;

function rec(over: Partial<ContainerRecord> = {}): ContainerRecord {
  return {
    id: '0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef',
    name: 'box',
    image: 'busybox:1',
    state: 'exited',
    health: undefined,
    statusText: 'Exited (0) 2 minutes ago',
    ports: [],
    labels: {},
    ...over,
  };
}

const tcp = (hostPort: number, containerPort: number, hostIp = '0.0.0.0'): PublishedPort => ({ hostIp, hostPort, containerPort, protocol: 'tcp' });

describe('container tree model (unit)', () => {
  describe('describeContainer', () => {
    it('describes a running runtime with uptime and ports', () => {
      const r = rec({
        name: 'ollama',
        image: 'ollama/ollama:latest',
        state: 'running',
        statusText: 'Up 5 minutes',
        startedAt: NOW - 5 * MIN,
        ports: [tcp(11434, 11434)],
      });
      const n = describeContainer(r, 'ollama', NOW);
      assert.equal(n.kind, 'container');
      assert.equal(n.id, r.id);
      assert.equal(n.name, 'ollama');
      assert.equal(n.label, 'ollama');
      assert.equal(n.runtime, 'ollama');
      assert.equal(n.record, r);
      assert.equal(n.description, 'running 5 min · ollama/ollama:latest · 11434→11434');
      assert.deepEqual(n.icon, { id: 'vm-running', color: 'testing.iconPassed' });
      assert.equal(n.contextValue, 'container:running runtime ports');
      assert.equal(
        n.tooltip,
        [
          '**ollama** — running · Ollama',
          '',
          'Image: `ollama/ollama:latest`',
          'Status: Up 5 minutes',
          'Uptime: 5 min',
          'Ports: [11434→11434/tcp](http://127.0.0.1:11434/)',
          'ID: `0123456789ab`',
        ].join('  \n'),
      );
    });

    it('describes a stopped plain container without uptime, runtime or ports', () => {
      const n = describeContainer(rec({ startedAt: NOW - MIN }), undefined, NOW);
      assert.equal(n.description, 'exited · busybox:1');
      assert.equal(n.contextValue, 'container:exited');
      assert.deepEqual(n.icon, { id: 'vm-outline', color: 'disabledForeground' });
      assert.equal(n.runtime, undefined);
      assert.equal(n.tooltip, ['**box** — exited', '', 'Image: `busybox:1`', 'Status: Exited \\(0\\) 2 minutes ago', 'ID: `0123456789ab`'].join('  \n'));
    });

    it('escapes Markdown in names and status text', () => {
      const n = describeContainer(rec({ name: 'my_app-1.[x]', statusText: '' }), 'other', NOW);
      assert.match(n.tooltip, /^\*\*my\\_app\\-1\\\.\\\[x\\\]\*\* — exited · LLM runtime {2}\n/);
      assert.match(n.tooltip, / {2}\nStatus: exited {2}\n/);
    });

    it('shows health in the text, icon and context value', () => {
      const unhealthy = describeContainer(rec({ state: 'running', health: 'unhealthy', statusText: 'Up 1 minute (unhealthy)', startedAt: NOW - MIN }), 'vllm', NOW);
      assert.equal(unhealthy.description, 'unhealthy 1 min · busybox:1');
      assert.deepEqual(unhealthy.icon, { id: 'warning', color: 'testing.iconFailed' });
      assert.equal(unhealthy.contextValue, 'container:running health:unhealthy runtime');
      assert.match(unhealthy.tooltip, /^\*\*box\*\* — unhealthy · vLLM/);

      const starting = describeContainer(rec({ state: 'running', health: 'starting' }), undefined, NOW);
      assert.deepEqual(starting.icon, { id: 'loading~spin', color: 'charts.yellow' });
      assert.equal(starting.contextValue, 'container:running health:starting');
      assert.equal(starting.description, 'starting · busybox:1');
    });

    it('picks an icon for every state, falling back to the stopped icon', () => {
      const icons: [ContainerState, HealthState, string][] = [
        ['running', 'healthy', 'vm-running'],
        ['restarting', undefined, 'sync~spin'],
        ['paused', undefined, 'debug-pause'],
        ['dead', undefined, 'error'],
        ['exited', undefined, 'vm-outline'],
        ['created', undefined, 'vm-outline'],
        ['removing', undefined, 'vm-outline'],
        ['unknown', undefined, 'vm-outline'],
      ];
      for (const [state, health, icon] of icons) {
        assert.equal(describeContainer(rec({ state, health }), undefined, NOW).icon.id, icon, state);
      }
    });

    it('shows uptime for paused containers but not for restarting ones', () => {
      assert.equal(describeContainer(rec({ state: 'paused', startedAt: NOW - 2 * MIN }), undefined, NOW).description, 'paused 2 min · busybox:1');
      assert.equal(describeContainer(rec({ state: 'restarting', startedAt: NOW - 2 * MIN }), undefined, NOW).description, 'restarting · busybox:1');
    });

    it('marks "ports" only for tcp ports, and lists all ports in the tooltip', () => {
      const udpOnly = describeContainer(rec({ ports: [{ hostIp: '::1', hostPort: 5353, containerPort: 53, protocol: 'udp' }] }), undefined, NOW);
      assert.equal(udpOnly.contextValue, 'container:exited');
      assert.equal(udpOnly.description, 'exited · busybox:1 · 5353→53/udp');
      assert.match(udpOnly.tooltip, /Ports: \[5353→53\/udp\]\(http:\/\/\[::1\]:5353\/\)/);
      const both = describeContainer(rec({ ports: [tcp(8080, 80, '127.0.0.1'), tcp(8443, 443)] }), undefined, NOW);
      assert.equal(both.contextValue, 'container:exited ports');
      assert.match(both.tooltip, /Ports: \[8080→80\/tcp\]\(http:\/\/127\.0\.0\.1:8080\/\), \[8443→443\/tcp\]\(http:\/\/127\.0\.0\.1:8443\/\)/);
    });
  });

  describe('buildContainerTree', () => {
    const classifier = createClassifier();

    it('puts runtimes first, by kind then name, and every other container by name', () => {
      const records = [
        rec({ id: '1', name: 'zeta', image: 'postgres:16' }),
        rec({ id: '2', name: 'webui', image: 'ghcr.io/open-webui/open-webui:main' }),
        rec({ id: '3', name: 'b-ollama', image: 'ollama/ollama' }),
        rec({ id: '4', name: 'custom', image: 'busybox', labels: { [LABEL_RUNTIME]: 'something' } }),
        rec({ id: '5', name: 'vllm', image: 'vllm/vllm-openai:latest' }),
        rec({ id: '6', name: 'a-ollama', image: 'docker.io/ollama/ollama:0.3' }),
        rec({ id: '7', name: 'alpha', image: 'redis' }),
        rec({ id: '8', name: 'llama', image: 'ghcr.io/ggml-org/llama.cpp:server' }),
        rec({ id: '9', name: 'tgi', image: 'ghcr.io/huggingface/text-generation-inference:2' }),
        rec({ id: '10', name: 'localai', image: 'localai/localai:latest' }),
      ];
      const tree = buildContainerTree(records, classifier, NOW);
      assert.deepEqual(
        tree.runtimes.map((n) => [n.name, n.runtime]),
        [
          ['a-ollama', 'ollama'],
          ['b-ollama', 'ollama'],
          ['llama', 'llamacpp'],
          ['vllm', 'vllm'],
          ['tgi', 'tgi'],
          ['localai', 'localai'],
          ['custom', 'other'],
          ['webui', 'openwebui'],
        ],
      );
      assert.deepEqual(
        tree.others.map((n) => n.name),
        ['alpha', 'zeta'],
      );
      assert.ok(tree.runtimes.every((n) => n.contextValue.includes('runtime')));
      assert.ok(tree.others.every((n) => !n.contextValue.includes('runtime')));
    });

    it('accepts any iterable and handles an empty list', () => {
      assert.deepEqual(buildContainerTree([], classifier, NOW), { runtimes: [], others: [] });
      const fromMap = buildContainerTree(new Map([['x', rec()]]).values(), classifier, NOW);
      assert.equal(fromMap.others.length, 1);
    });

    it('keeps every record exactly once, in a sorted group (property)', () => {
      const images = fc.constantFrom('ollama/ollama', 'vllm/vllm-openai', 'busybox', 'postgres', 'ghcr.io/open-webui/open-webui', 'localai/localai');
      const records = fc.uniqueArray(
        fc.record({ id: fc.stringMatching(/^[0-9a-f]{4,12}$/), name: fc.string({ maxLength: 8 }), image: images }),
        { selector: (r) => r.id, maxLength: 30 },
      );
      fc.assert(
        fc.property(records, (items) => {
          const tree = buildContainerTree(
            items.map((i) => rec(i)),
            classifier,
            NOW,
          );
          const ids = [...tree.runtimes, ...tree.others].map((n) => n.id).sort();
          assert.deepEqual(ids, items.map((i) => i.id).sort());
          for (let i = 1; i < tree.others.length; i++) assert.ok(tree.others[i - 1].name.localeCompare(tree.others[i].name) <= 0);
        }),
      );
    });
  });
});
