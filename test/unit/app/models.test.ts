// The models feature's pure parts: which runtime or model an action applies to (decided by what the
// runtime can do, not by its API's name), how a list of names is read, the speed of a generation,
// the runtimes and models as the use cases return them, and the input each use case refuses.
import * as assert from 'node:assert/strict';
import { LocalRegistryPort } from '../../../src/app/registry/port';
import {
  canAct,
  canGenerateWith,
  canPullInto,
  canVerifyModel,
  deleteModels,
  listModels,
  loadModels,
  type ModelsDeps,
  parseModelNames,
  pullModels,
  takesApiKey,
  tokensPerSecond,
  tryPrompt,
  verifyModel,
} from '../../../src/app/models';
import { runtimeData } from '../../../src/app/models/schemas';
import { call, InvalidInput } from '../../../src/app/useCase';
import type { RuntimeState } from '../../../src/core/runtimes/catalog';
import { ModelCatalog } from '../../../src/core/runtimes/catalog';
import { baseCapabilities, canVerify, capabilitiesOf, type RuntimeEndpoint, type RuntimeModel } from '../../../src/core/runtimes/runtime';

const ollamaEp: RuntimeEndpoint = { id: 'ollama@http://127.0.0.1:11434', kind: 'ollama', api: 'ollama', name: 'ollama-main', baseUrl: 'http://127.0.0.1:11434', source: 'container', containerId: 'c0ffee' };
const llamaEp: RuntimeEndpoint = { id: 'llamacpp@http://127.0.0.1:8080', kind: 'llamacpp', api: 'openai', name: 'llama-server', baseUrl: 'http://127.0.0.1:8080', source: 'user' };
const ggufEp: RuntimeEndpoint = { id: 'gguf@/models', kind: 'gguf', api: 'gguf', name: 'models', baseUrl: '/models', source: 'folder' };

const loaded: RuntimeModel = { name: 'llama3:8b', sizeBytes: 4_700_000_000, loaded: { ramBytes: 1, vramBytes: 2 }, status: { value: 'loaded' } };
const idle: RuntimeModel = { name: 'qwen:1b' };
const file: RuntimeModel = { name: 'a.gguf', file: '/models/a.gguf' };

function state(endpoint: RuntimeEndpoint, models: RuntimeModel[], over: Partial<RuntimeState> = {}): RuntimeState {
  return { endpoint, status: 'ok', refreshing: false, models, ...over };
}

const router = { ...baseCapabilities('openai'), load: true, unload: true };

describe('models use cases (unit)', () => {
  describe('capabilities decide, not the API', () => {
    it('before a listing: what the API always allows', () => {
      assert.deepEqual(capabilitiesOf(state(ollamaEp, [])), { pull: true, delete: true, load: true, unload: true, generate: true, modelfile: true });
      assert.deepEqual(capabilitiesOf(state(llamaEp, [])), { pull: false, delete: false, load: false, unload: false, generate: true, modelfile: false });
      assert.deepEqual(capabilitiesOf(state(ggufEp, [])), { pull: false, delete: false, load: false, unload: false, generate: false, modelfile: false });
      assert.notEqual(baseCapabilities('ollama'), baseCapabilities('ollama'), 'a fresh object each time: no runtime can change another');
    });

    it('after a listing: what the listing found (a llama.cpp router loads and unloads)', () => {
      const s = state(llamaEp, [loaded, idle], { capabilities: router });
      assert.equal(canAct(s, 'qwen:1b', 'load'), true);
      assert.equal(canAct(s, 'llama3:8b', 'load'), false, 'already loaded');
      assert.equal(canAct(s, 'llama3:8b', 'unload'), true);
      assert.equal(canAct(s, 'qwen:1b', 'unload'), false, 'not loaded');
      assert.equal(canAct(s, 'qwen:1b', 'delete'), false, 'a router cannot delete');
      assert.equal(canAct(s, 'nope', 'load'), false, 'not listed');
      assert.equal(canAct(s, 'nope', 'unload'), false);
      const plain = state(llamaEp, [loaded]);
      assert.equal(canAct(plain, 'llama3:8b', 'unload'), false, 'a single-model server holds its model');
    });

    it('Ollama: delete what is listed, pull into it, generate with it', () => {
      const s = state(ollamaEp, [idle]);
      assert.equal(canAct(s, 'qwen:1b', 'delete'), true);
      assert.equal(canAct(s, 'gone:1', 'delete'), false);
      assert.equal(canPullInto(s), true);
      assert.equal(canGenerateWith(s), true);
      assert.equal(canPullInto(state(llamaEp, [])), false);
      assert.equal(canGenerateWith(state(ggufEp, [file])), false);
      // A runtime whose listing says it cannot pull is not offered, whatever its API.
      assert.equal(canPullInto(state(ollamaEp, [], { capabilities: { ...baseCapabilities('ollama'), pull: false } })), false);
    });

    it('verify: a file on this machine, or a model its runtime names from a container of this engine', () => {
      assert.equal(canVerifyModel(state(ggufEp, [file]), 'a.gguf'), true);
      assert.equal(canVerifyModel(state(ollamaEp, [idle]), 'qwen:1b'), true);
      assert.equal(canVerifyModel(state(ollamaEp, []), 'not-listed:1'), true, 'the check itself says why it cannot');
      assert.equal(canVerifyModel(state({ ...ollamaEp, containerId: undefined }, [idle]), 'qwen:1b'), false, 'no container of this engine');
      assert.equal(canVerifyModel(state(llamaEp, [idle], { capabilities: router }), 'qwen:1b'), false, 'a server that names no file');
      assert.equal(canVerify(state(ggufEp, []), undefined), false);
    });

    it('an API key for servers, not for folders', () => {
      assert.equal(takesApiKey(state(llamaEp, [])), true);
      assert.equal(takesApiKey(state(ollamaEp, [])), true);
      assert.equal(takesApiKey(state(ggufEp, [])), false);
    });
  });

  it('parseModelNames: spaces and commas separate, each name once, in order', () => {
    assert.deepEqual(parseModelNames('llama3.2:1b, qwen2.5:0.5b  x,,llama3.2:1b\n y'), ['llama3.2:1b', 'qwen2.5:0.5b', 'x', 'y']);
    assert.deepEqual(parseModelNames(' , '), []);
  });

  it('tokensPerSecond: only when both are known and not zero', () => {
    assert.equal(tokensPerSecond(64, 2000), 32);
    assert.equal(tokensPerSecond(undefined, 2000), undefined);
    assert.equal(tokensPerSecond(0, 2000), undefined);
    assert.equal(tokensPerSecond(10, 0), undefined);
  });

  it('runtimeData: plain JSON with capabilities and last uses, copied (no shared state with the catalog)', () => {
    const s = state(ollamaEp, [loaded, idle], { version: '0.5.7', error: undefined });
    const d = runtimeData(s, (id, name) => (name === 'qwen:1b' ? 42 : undefined));
    assert.deepEqual(d, {
      id: ollamaEp.id,
      name: 'ollama-main',
      kind: 'ollama',
      api: 'ollama',
      baseUrl: 'http://127.0.0.1:11434',
      source: 'container',
      containerId: 'c0ffee',
      status: 'ok',
      version: '0.5.7',
      capabilities: baseCapabilities('ollama'),
      models: [
        { name: 'llama3:8b', sizeBytes: 4_700_000_000, loaded: { ramBytes: 1, vramBytes: 2 }, status: { value: 'loaded' } },
        { name: 'qwen:1b', lastUsedAt: 42 },
      ],
    });
    assert.ok(!('error' in d), 'no undefined fields: what JSON would carry');
    assert.notEqual(d.models[0].loaded, loaded.loaded);
    assert.deepEqual(JSON.parse(JSON.stringify(d)), d);
  });

  describe('input refused before anything runs', () => {
    const catalog = new ModelCatalog();
    const deps: ModelsDeps = { catalog, registry: new LocalRegistryPort(() => Promise.reject(new Error('the registry is not opened for refused input'))) };
    after(() => catalog.dispose());

    const refused = async (p: Promise<unknown>, name: string, what: RegExp) => {
      const e = await p.then(() => undefined, (x: unknown) => x);
      assert.ok(e instanceof InvalidInput, String(e));
      assert.equal(e.useCase, name);
      assert.match(e.message, what);
    };

    it('names, prompts, batches and token budgets', async () => {
      await refused(call(pullModels, deps, { runtimeId: 'x', names: [] }), 'models.pull', /names/);
      await refused(call(pullModels, deps, { runtimeId: 'x', names: ['  '] }), 'models.pull', /names\.0/);
      await refused(call(deleteModels, deps, { models: [] }), 'models.delete', /models/);
      await refused(call(loadModels, deps, { models: [{ runtimeId: '', name: 'a' }] }), 'models.load', /models\.0\.runtimeId/);
      await refused(call(tryPrompt, deps, { runtimeId: 'x', name: 'a', prompt: '' }), 'models.tryPrompt', /prompt/);
      await refused(call(tryPrompt, deps, { runtimeId: 'x', name: 'a', prompt: 'hi', maxTokens: 0 }), 'models.tryPrompt', /maxTokens/);
      await refused(call(verifyModel, deps, { runtimeId: 'x', name: '' }), 'models.verify', /name/);
    });

    it('a runtime the catalog does not know: said so, nothing listed', async () => {
      await assert.rejects(call(listModels, deps, { runtimeId: 'ollama@nowhere' }), /The runtime ollama@nowhere is no longer known/);
      await assert.rejects(call(pullModels, deps, { runtimeId: 'ollama@nowhere', names: ['a'] }), /The runtime ollama@nowhere is no longer known/);
      assert.deepEqual(await call(listModels, deps, {}), { runtimes: [] });
    });
  });
});
