// The Models view as plain data: runtime groups (descriptions, tooltips, context values), filtering,
// sorting, model rows (descriptions, tooltips, context values) and the messages shown instead of models.
import * as assert from 'node:assert/strict';
import type { RuntimeState } from '../../../../src/core/runtimes/catalog';
import { ago, modelNode, runtimeChildren, runtimeNode, visibleModels, type ModelNode, type ModelTimes } from '../../../../src/core/runtimes/modelTree';
import type { RuntimeEndpoint, RuntimeModel } from '../../../../src/core/runtimes/runtime';
import { testEndpoint } from '../../../support/fixtures';

const NOW = Date.UTC(2026, 0, 15, 12, 0, 0);
const MIN = 60_000;
const HOUR = 3_600_000;

const ollamaEp = testEndpoint('ollama', 'http://127.0.0.1:11434', { name: 'ollama-main', source: 'container', containerId: 'c0ffee' });
const llamaEp = testEndpoint('llamacpp', 'http://127.0.0.1:8080', { name: 'llama-server' });
const ggufEp = testEndpoint('gguf', '/models', { name: 'models' });

const llama3: RuntimeModel = {
  name: 'llama3:8b',
  sizeBytes: 4_700_000_000,
  digest: 'sha256:' + 'a'.repeat(64),
  family: 'llama',
  parameterSize: '8.0B',
  quantization: 'Q4_K_M',
  contextLength: 8192,
  format: 'gguf',
  loaded: { ramBytes: 5_000_000_000, vramBytes: 4_000_000_000, expiresAt: NOW + 5 * MIN },
};
const qwen: RuntimeModel = { name: 'qwen2.5:1.5b', sizeBytes: 986_000_000, family: 'qwen2', parameterSize: '1.5B', quantization: 'Q8_0' };
const phi: RuntimeModel = { name: 'phi3:mini', sizeBytes: 2_200_000_000, family: 'phi3', parameterCount: 3_820_000_000, quantization: 'Q4_0' };

function state(endpoint: RuntimeEndpoint, models: RuntimeModel[], over: Partial<RuntimeState> = {}): RuntimeState {
  return { endpoint, status: 'ok', refreshing: false, models, ...over };
}

/** Last uses per runtime id + model name; unloadsAt / stopsAt only when given. */
function times(used: Record<string, number> = {}, extra: Omit<ModelTimes, 'lastUsed'> = {}): ModelTimes {
  return { lastUsed: (runtimeId, name) => used[`${runtimeId} ${name}`], ...extra };
}

const names = (ms: readonly { name: string }[]) => ms.map((m) => m.name);

describe('models view model (unit)', () => {
  describe('ago', () => {
    it('just now under a minute, then minutes, hours, days (floored)', () => {
      const cases: [number, string][] = [
        [-5000, 'just now'],
        [0, 'just now'],
        [59_999, 'just now'],
        [MIN, '1 min ago'],
        [59 * MIN + 59_999, '59 min ago'],
        [HOUR, '1 h ago'],
        [2 * HOUR + 59 * MIN, '2 h ago'],
        [24 * HOUR, '1 d ago'],
        [30 * 24 * HOUR, '30 d ago'],
      ];
      for (const [ms, text] of cases) assert.equal(ago(ms), text, String(ms));
    });
  });

  describe('runtimeNode', () => {
    it('Ollama: kind, model count and loaded count; label, id, tooltip and context value', () => {
      const s = state(ollamaEp, [llama3, qwen, phi], { version: '0.5.7', refreshing: true });
      const n = runtimeNode(s, {}, times(), NOW);
      assert.equal(n.type, 'runtime');
      assert.equal(n.id, `runtime:${ollamaEp.id}`);
      assert.equal(n.runtimeId, ollamaEp.id);
      assert.equal(n.label, 'ollama-main');
      assert.equal(n.description, 'Ollama · 3 models · 1 loaded');
      assert.equal(n.status, 'ok');
      assert.equal(n.refreshing, true);
      assert.equal(n.matching, 3);
      assert.equal(n.tooltip, ['ollama-main — Ollama 0.5.7', 'Endpoint: http://127.0.0.1:11434', 'Found from its running container'].join('\n'));
      const words = n.contextValue.split(' ');
      assert.equal(words[0], 'runtime');
      for (const w of ['ollama', 'pull', 'container']) assert.ok(words.includes(w), `${w} in "${n.contextValue}"`);
      for (const w of ['key', 'error', 'openai', 'gguf']) assert.ok(!words.includes(w), `${w} not in "${n.contextValue}"`);
    });

    it('one model is "1 model"; no loaded part when none is loaded', () => {
      assert.equal(runtimeNode(state(ollamaEp, [qwen]), {}, times(), NOW).description, 'Ollama · 1 model');
      assert.equal(runtimeNode(state(ollamaEp, []), {}, times(), NOW).description, 'Ollama · 0 models');
    });

    it('OpenAI-compatible (llama.cpp): no loaded count, user endpoint, key word when the endpoint needs one', () => {
      const s = state({ ...llamaEp, requiresKey: true }, [{ name: 'model.gguf', loaded: {} }, { name: 'other' }]);
      const n = runtimeNode(s, {}, times(), NOW);
      assert.equal(n.description, 'llama.cpp server · 2 models');
      assert.equal(n.tooltip, ['llama-server — llama.cpp server', 'Endpoint: http://127.0.0.1:8080', 'Added in llmStack.runtimes.endpoints'].join('\n'));
      const words = n.contextValue.split(' ');
      for (const w of ['runtime', 'openai', 'user', 'key']) assert.ok(words.includes(w), `${w} in "${n.contextValue}"`);
      for (const w of ['pull', 'container', 'error']) assert.ok(!words.includes(w), `${w} not in "${n.contextValue}"`);
    });

    it('GGUF folder: folder tooltip, no pull', () => {
      const n = runtimeNode(state(ggufEp, [{ name: 'a.gguf', file: '/models/a.gguf' }]), {}, times(), NOW);
      assert.equal(n.description, 'GGUF files · 1 model');
      assert.equal(n.tooltip, ['models — GGUF files', 'Folder: /models', 'From llmStack.models.ggufFolders'].join('\n'));
      const words = n.contextValue.split(' ');
      assert.ok(words.includes('gguf') && words.includes('folder'));
      assert.ok(!words.includes('pull') && !words.includes('container') && !words.includes('key'));
    });

    it('pending says connecting; errors say "not answering" or, when unauthorized, "API key needed"', () => {
      const pending = runtimeNode(state(ollamaEp, [], { status: 'pending' }), {}, times(), NOW);
      assert.equal(pending.description, 'Ollama · connecting…');
      assert.equal(pending.status, 'pending');
      assert.equal(pending.matching, 0);

      const down = runtimeNode(state(ollamaEp, [llama3], { status: 'error', error: 'connect ECONNREFUSED 127.0.0.1:11434', errorKind: 'unreachable' }), {}, times(), NOW);
      assert.equal(down.description, 'Ollama · not answering');
      assert.equal(down.matching, 0);
      assert.ok(down.tooltip.endsWith('\n\nError: connect ECONNREFUSED 127.0.0.1:11434'), down.tooltip);
      assert.ok(down.contextValue.split(' ').includes('error'));
      assert.ok(!down.contextValue.split(' ').includes('key'));

      const locked = runtimeNode(state(llamaEp, [], { status: 'error', error: 'HTTP 401', errorKind: 'unauthorized' }), {}, times(), NOW);
      assert.equal(locked.description, 'llama.cpp server · API key needed');
      const words = locked.contextValue.split(' ');
      assert.ok(words.includes('key') && words.includes('error'), locked.contextValue);
    });

    it('shows "N of M" when a filter or loaded-only is on', () => {
      const s = state(ollamaEp, [llama3, qwen, phi]);
      const n = runtimeNode(s, { filter: 'Q4' }, times(), NOW);
      assert.equal(n.matching, 2);
      assert.equal(n.description, 'Ollama · 2 of 3 models · 1 loaded');
      assert.equal(runtimeNode(s, { loadedOnly: true }, times(), NOW).description, 'Ollama · 1 of 3 models · 1 loaded');
      assert.equal(runtimeNode(s, { filter: 'nothing-like-this' }, times(), NOW).description, 'Ollama · 0 of 3 models · 1 loaded');
    });

    it('tooltip says when the container stops when idle', () => {
      const n = runtimeNode(state(ollamaEp, []), {}, times({}, { stopsAt: () => NOW + 10 * MIN }), NOW);
      assert.equal(n.tooltip.split('\n').at(-1), 'Container stops when idle in 10 min 0 s');
    });
  });

  describe('visibleModels: filter and sort', () => {
    const s = state(ollamaEp, [phi, llama3, qwen]);

    it('filters by name, family or quantization, case-insensitively, trimming the needle', () => {
      assert.deepEqual(names(visibleModels(s, { filter: 'LLAMA' }, times())), ['llama3:8b']);
      assert.deepEqual(names(visibleModels(s, { filter: 'qwen2' }, times())), ['qwen2.5:1.5b']);
      assert.deepEqual(names(visibleModels(s, { filter: 'q4' }, times())), ['llama3:8b', 'phi3:mini'], 'Q4_K_M and Q4_0');
      assert.deepEqual(names(visibleModels(s, { filter: 'k_m' }, times())), ['llama3:8b']);
      assert.deepEqual(names(visibleModels(s, { filter: '  PHI3  ' }, times())), ['phi3:mini']);
      assert.deepEqual(names(visibleModels(s, { filter: 'mistral' }, times())), []);
      assert.deepEqual(names(visibleModels(s, { filter: '' }, times())), ['llama3:8b', 'phi3:mini', 'qwen2.5:1.5b']);
      // Not by the parameter size or other fields.
      assert.deepEqual(names(visibleModels(s, { filter: '1.5B' }, times())), ['qwen2.5:1.5b'], 'matches the name only');
      assert.deepEqual(names(visibleModels(s, { filter: 'gguf' }, times())), []);
    });

    it('loadedOnly keeps models in memory, combined with the filter', () => {
      assert.deepEqual(names(visibleModels(s, { loadedOnly: true }, times())), ['llama3:8b']);
      assert.deepEqual(names(visibleModels(s, { loadedOnly: true, filter: 'phi' }, times())), []);
    });

    it('sorts by name (the default), size (largest first, unknown last) and last use (newest first, never last), ties by name', () => {
      const models: RuntimeModel[] = [
        { name: 'delta', sizeBytes: 100 },
        { name: 'bravo', sizeBytes: 300 },
        { name: 'echo' },
        { name: 'alpha', sizeBytes: 100 },
        { name: 'charlie', sizeBytes: 300 },
        { name: 'foxtrot' },
      ];
      const st = state(ollamaEp, models);
      const used = times({ [`${ollamaEp.id} echo`]: NOW - HOUR, [`${ollamaEp.id} delta`]: NOW - 1000, [`${ollamaEp.id} bravo`]: NOW - HOUR, [`${llamaEp.id} alpha`]: NOW });
      assert.deepEqual(names(visibleModels(st, {}, used)), ['alpha', 'bravo', 'charlie', 'delta', 'echo', 'foxtrot']);
      assert.deepEqual(names(visibleModels(st, { sort: 'name' }, used)), ['alpha', 'bravo', 'charlie', 'delta', 'echo', 'foxtrot']);
      assert.deepEqual(names(visibleModels(st, { sort: 'size' }, used)), ['bravo', 'charlie', 'alpha', 'delta', 'echo', 'foxtrot']);
      // alpha's use was on another runtime: it does not count here.
      assert.deepEqual(names(visibleModels(st, { sort: 'lastUsed' }, used)), ['delta', 'bravo', 'echo', 'alpha', 'charlie', 'foxtrot']);
      assert.deepEqual(names(st.models), ['delta', 'bravo', 'echo', 'alpha', 'charlie', 'foxtrot'], 'the state is not reordered');
    });
  });

  describe('modelNode', () => {
    const lines = (n: ModelNode) => n.tooltip.split('\n');

    it('a loaded Ollama model: description bits, tooltip rows, loaded memory and the runtime expiry', () => {
      const s = state(ollamaEp, [llama3]);
      const n = modelNode(s, llama3, times({ [`${ollamaEp.id} llama3:8b`]: NOW - 2 * HOUR }), NOW);
      assert.equal(n.type, 'model');
      assert.equal(n.id, `model:${ollamaEp.id}\u0000llama3:8b`);
      assert.equal(n.runtimeId, ollamaEp.id);
      assert.equal(n.name, 'llama3:8b');
      assert.equal(n.label, 'llama3:8b');
      assert.equal(n.loaded, true);
      assert.equal(n.problem, undefined);
      assert.equal(n.description, '4.70 GB · Q4_K_M · llama · 8.0B · loaded');
      assert.deepEqual(lines(n), [
        'llama3:8b',
        'Size: 4.70 GB',
        'Family: llama',
        'Parameters: 8.0B',
        'Quantization: Q4_K_M',
        'Context length: 8192',
        'Format: gguf',
        `Digest: sha256:${'a'.repeat(64)}`,
        'Loaded (5.00 GB RAM, 4.00 GB VRAM)',
        'The runtime unloads it in 5 min 0 s',
        'Last used: 2 h ago',
      ]);
      assert.equal(n.contextValue, 'model ollama loaded unload deletable verifiable generate');
    });

    it('the extension\'s own unload time wins over the runtime\'s expiry; a far expiry (keep_alive -1) is not shown', () => {
      const s = state(ollamaEp, [llama3]);
      const n = modelNode(s, llama3, times({}, { unloadsAt: (st, m) => (st === s && m === llama3 ? NOW + 4 * MIN : undefined) }), NOW);
      assert.ok(lines(n).includes('Unloads in 4 min 0 s unless used'), n.tooltip);
      assert.ok(!lines(n).some((l) => l.startsWith('The runtime unloads')), n.tooltip);
      assert.equal(lines(n).at(-1), 'Last used: never (by this extension)');

      const forever = { ...llama3, loaded: { ramBytes: 1000, expiresAt: Date.UTC(2318, 0, 1) } };
      const f = modelNode(state(ollamaEp, [forever]), forever, times(), NOW);
      assert.ok(lines(f).includes('Loaded (1.00 kB RAM)'), f.tooltip);
      assert.ok(!/unloads/i.test(f.tooltip), f.tooltip);

      const bare = { name: 'x', loaded: {} };
      assert.ok(lines(modelNode(state(ollamaEp, [bare]), bare, times(), NOW)).includes('Loaded'));
    });

    it('parameters come from parameterSize, else from parameterCount', () => {
      const n = modelNode(state(ollamaEp, [phi]), phi, times(), NOW);
      assert.equal(n.description, '2.20 GB · Q4_0 · phi3 · 3.8B');
      assert.ok(lines(n).includes('Parameters: 3.8B'));
      const both = { ...phi, parameterSize: '4B' };
      assert.ok(lines(modelNode(state(ollamaEp, [both]), both, times(), NOW)).includes('Parameters: 4B'));
      const none = { name: 'plain' };
      const p = modelNode(state(ollamaEp, [none]), none, times(), NOW);
      assert.equal(p.description, '');
      assert.deepEqual(lines(p), ['plain', 'Last used: never (by this extension)']);
    });

    it('a llama.cpp router: the status each model has, load and unload offered by its capabilities, no context shown as 0', () => {
      const caps = { pull: false, delete: false, load: true, unload: true, generate: true, modelfile: false };
      const up: RuntimeModel = { name: 'qwen', loaded: {}, contextLength: 4096 };
      const down: RuntimeModel = { name: 'phi' };
      const coming: RuntimeModel = { name: 'llama', status: { value: 'loading' } };
      const broken: RuntimeModel = { name: 'gemma', status: { value: 'failed', failed: true, detail: 'its process exited with code 1' } };
      const st = state(llamaEp, [up, down, coming, broken], { capabilities: caps });
      assert.equal(modelNode(st, up, times(), NOW).contextValue, 'model openai loaded unload generate');
      assert.ok(modelNode(st, up, times(), NOW).description.includes('loaded'));
      assert.ok(lines(modelNode(st, up, times(), NOW)).includes('Context length: 4096'));
      assert.equal(modelNode(st, down, times(), NOW).contextValue, 'model openai unloaded generate');
      assert.ok(!lines(modelNode(st, down, times(), NOW)).some((l) => l.startsWith('Context length')), 'unknown context: no row, not 0');
      const c = modelNode(st, coming, times(), NOW);
      assert.equal(c.contextValue, 'model openai generate', 'no Load while it loads');
      assert.match(c.description, /\bloading\b/);
      assert.ok(lines(c).includes('Status: loading'));
      const b = modelNode(st, broken, times(), NOW);
      assert.ok(lines(b).includes('Status: failed — its process exited with code 1'));
      assert.equal(b.contextValue, 'model openai unloaded generate', 'a failed model can be loaded again');
      assert.match(runtimeNode(st, {}, times(), NOW).description, /4 models · 1 loaded$/);
    });

    it('an Ollama model loaded with a smaller context says so; server facts go into the runtime tooltip', () => {
      const m: RuntimeModel = { name: 'qwen3:8b', contextLength: 40_960, loaded: { ramBytes: 1e9, contextLength: 8192 } };
      assert.ok(lines(modelNode(state(ollamaEp, [m]), m, times(), NOW)).includes('Loaded (1.00 GB RAM) with a context of 8192 tokens'));
      const tgi = state(llamaEp, [], { info: [['Max total tokens', '4096']] });
      assert.ok(runtimeNode(tgi, {}, times(), NOW).tooltip.split('\n').includes('Max total tokens: 4096'));
    });

    it('context values: unloaded Ollama model, OpenAI-compatible model, GGUF file', () => {
      assert.equal(modelNode(state(ollamaEp, [qwen]), qwen, times(), NOW).contextValue, 'model ollama unloaded deletable verifiable generate');
      const served = { name: 'qwen2.5-7b-instruct', loaded: {} };
      const o = modelNode(state(llamaEp, [served]), served, times(), NOW);
      assert.equal(o.contextValue, 'model openai loaded generate');
      assert.ok(!o.description.includes('loaded'), 'no "loaded" bit outside Ollama');
      assert.equal(modelNode(state(llamaEp, [{ name: 'm' }]), { name: 'm' }, times(), NOW).contextValue, 'model openai generate');
      const file: RuntimeModel = { name: 'tiny.gguf', file: '/models/tiny.gguf', sizeBytes: 999, parameterCount: 135_000_000 };
      const g = modelNode(state(ggufEp, [file]), file, times(), NOW);
      assert.equal(g.contextValue, 'model gguf file verifiable');
      assert.equal(g.description, '999 B · 135.0M');
      assert.ok(lines(g).includes('File: /models/tiny.gguf'));
    });

    it('a model with a problem: "unreadable" bit and a Problem line', () => {
      const broken: RuntimeModel = { name: 'broken.gguf', file: '/models/broken.gguf', sizeBytes: 12, problem: 'The file ends inside the header.' };
      const n = modelNode(state(ggufEp, [broken]), broken, times(), NOW);
      assert.equal(n.problem, 'The file ends inside the header.');
      assert.equal(n.description, '12 B · unreadable');
      assert.deepEqual(lines(n).slice(-3), ['Last used: never (by this extension)', '', 'Problem: The file ends inside the header.']);
    });
  });

  describe('runtimeChildren', () => {
    it('pending: one "Listing models…" message', () => {
      assert.deepEqual(runtimeChildren(state(ollamaEp, [], { status: 'pending' }), {}, times(), NOW), [{ type: 'message', id: `msg:${ollamaEp.id}:pending`, label: 'Listing models…' }]);
    });

    it('error without models: the error as the message; with models from before: the models', () => {
      const err = state(ollamaEp, [], { status: 'error', error: 'connect ECONNREFUSED' });
      assert.deepEqual(runtimeChildren(err, {}, times(), NOW), [{ type: 'message', id: `msg:${ollamaEp.id}:error`, label: 'connect ECONNREFUSED', tooltip: 'connect ECONNREFUSED' }]);
      const silent = runtimeChildren(state(ollamaEp, [], { status: 'error' }), {}, times(), NOW);
      assert.equal(silent.length, 1);
      assert.equal(silent[0].type, 'message');
      assert.equal(silent[0].label, 'The runtime did not answer.');
      const stale = runtimeChildren(state(ollamaEp, [qwen], { status: 'error', error: 'timeout' }), {}, times(), NOW);
      assert.deepEqual(
        stale.map((n) => n.type),
        ['model'],
      );
    });

    it('no models: a message per API', () => {
      const empty = (ep: RuntimeEndpoint) => runtimeChildren(state(ep, []), {}, times(), NOW);
      assert.deepEqual(empty(ollamaEp), [{ type: 'message', id: `msg:${ollamaEp.id}:empty`, label: 'No models yet — use Pull Model…' }]);
      assert.deepEqual(empty(llamaEp), [{ type: 'message', id: `msg:${llamaEp.id}:empty`, label: 'The server lists no models' }]);
      assert.deepEqual(empty(ggufEp), [{ type: 'message', id: `msg:${ggufEp.id}:empty`, label: 'No .gguf files in this folder' }]);
    });

    it('models that the filter hides: "No model matches the filter"', () => {
      const s = state(ollamaEp, [qwen, phi]);
      assert.deepEqual(runtimeChildren(s, { filter: 'mistral' }, times(), NOW), [{ type: 'message', id: `msg:${ollamaEp.id}:empty`, label: 'No model matches the filter' }]);
      assert.deepEqual(runtimeChildren(s, { loadedOnly: true }, times(), NOW), [{ type: 'message', id: `msg:${ollamaEp.id}:empty`, label: 'No model matches the filter' }]);
    });

    it('the visible models as model nodes, in order', () => {
      const s = state(ollamaEp, [qwen, phi, llama3]);
      const kids = runtimeChildren(s, { sort: 'size' }, times(), NOW);
      assert.deepEqual(
        kids.map((k) => (k.type === 'model' ? k.name : k.label)),
        ['llama3:8b', 'phi3:mini', 'qwen2.5:1.5b'],
      );
      assert.deepEqual(kids[0], modelNode(s, llama3, times(), NOW));
    });
  });

  describe('1,000 models across 3 runtimes', () => {
    it('counts, filters and node ids stay right', () => {
      const make = (prefix: string, n: number, loadedEvery: number): RuntimeModel[] =>
        Array.from({ length: n }, (_, i) => ({
          name: `${prefix}-${String(i).padStart(4, '0')}:q${i % 4}`,
          sizeBytes: 1_000_000 * ((i * 7919) % 1000),
          family: i % 2 ? 'llama' : 'qwen',
          quantization: i % 3 ? 'Q4_K_M' : 'Q8_0',
          ...(i % loadedEvery === 0 ? { loaded: { ramBytes: 1000 } } : {}),
        }));
      const states = [state(ollamaEp, make('o', 500, 100)), state(llamaEp, make('l', 300, 50)), state(ggufEp, make('g', 200, 1000))];
      assert.equal(states.reduce((n, s) => n + s.models.length, 0), 1000);
      const t = times(Object.fromEntries(states[0].models.slice(0, 10).map((m, i) => [`${ollamaEp.id} ${m.name}`, NOW - i * MIN])));

      const nodes = states.map((s) => runtimeNode(s, {}, t, NOW));
      assert.deepEqual(
        nodes.map((n) => n.description),
        ['Ollama · 500 models · 5 loaded', 'llama.cpp server · 300 models', 'GGUF files · 200 models · 1 loaded'],
      );
      const children = states.map((s) => runtimeChildren(s, {}, t, NOW));
      assert.deepEqual(
        children.map((c) => c.length),
        [500, 300, 200],
      );
      const ids = new Set(children.flat().map((c) => c.id));
      assert.equal(ids.size, 1000, 'node ids are unique across runtimes');
      assert.ok(children.flat().every((c) => c.type === 'model'));

      // Filters: family llama is every odd index.
      const llamaNodes = states.map((s) => runtimeNode(s, { filter: 'LLAMA' }, t, NOW));
      assert.deepEqual(
        llamaNodes.map((n) => n.matching),
        [250, 150, 100],
      );
      assert.equal(llamaNodes[0].description, 'Ollama · 250 of 500 models · 5 loaded');
      // The runtime's name in the endpoint id is not matched; "-0001" is in one model name per runtime.
      assert.deepEqual(
        states.map((s) => runtimeChildren(s, { filter: '-0001:' }, t, NOW).length),
        [1, 1, 1],
      );
      assert.deepEqual(
        states.map((s) => runtimeNode(s, { loadedOnly: true }, t, NOW).matching),
        [5, 6, 1],
      );

      // Sorted by size: non-increasing, ties by name.
      const bySize = visibleModels(states[0], { sort: 'size' }, t);
      assert.equal(bySize.length, 500);
      for (let i = 1; i < bySize.length; i++) {
        const a = bySize[i - 1];
        const b = bySize[i];
        assert.ok(a.sizeBytes! > b.sizeBytes! || (a.sizeBytes === b.sizeBytes && a.name < b.name), `${a.name} before ${b.name}`);
      }
      // Sorted by last use: the 10 used ones first, newest first, then the rest by name.
      const byUse = names(visibleModels(states[0], { sort: 'lastUsed' }, t));
      assert.deepEqual(byUse.slice(0, 10), names(states[0].models.slice(0, 10)));
      assert.deepEqual(byUse.slice(10), [...byUse.slice(10)].sort());
    });
  });
});
