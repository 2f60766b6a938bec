// The registry port's use cases (what the service serves to its clients) in process, on a real
// sql.js file: a listing, uses, digests and a model's history, and the facts a client sends.
import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import { LocalRegistryPort } from '../../../src/app/registry/port';
import { endpointFacts, modelFacts, registryPortUseCases } from '../../../src/app/registry/portUseCases';
import { callAny, InvalidInput } from '../../../src/app/useCase';
import { RegistryRepositories } from '../../../src/core/registry/repositories';
import type { RuntimeEndpoint, RuntimeModel } from '../../../src/core/runtimes/runtime';
import { Sandbox } from '../core/registry/support';

const endpoint: RuntimeEndpoint = { id: 'llamacpp@http://127.0.0.1:9', kind: 'llamacpp', api: 'openai', name: 'router', baseUrl: 'http://127.0.0.1:9', source: 'container', containerId: 'abc123' };
const model = { name: 'small:q4', sizeBytes: 99, quantization: 'Q4_K_M', loaded: { sizeBytes: 1 } } as unknown as RuntimeModel;
const DIGEST = `sha256:${'b'.repeat(64)}`;

describe('registry port use cases (unit)', () => {
  const box = new Sandbox();
  let deps: { port: LocalRegistryPort };
  const run = (name: string, input: unknown) => callAny(registryPortUseCases.find((u) => u.name === name)!, deps, input);

  before(async () => {
    const registry = await box.registry({ file: path.join(box.dir(), 'r.sqlite') });
    const repos = new RegistryRepositories(registry);
    deps = { port: new LocalRegistryPort(() => Promise.resolve(repos)) };
  });
  after(() => box.cleanup());

  it('sends only the facts the registry keeps: no loaded state, no undefined fields', () => {
    assert.deepEqual(modelFacts(model), { name: 'small:q4', sizeBytes: 99, quantization: 'Q4_K_M' });
    assert.deepEqual(endpointFacts(endpoint), { id: endpoint.id, kind: 'llamacpp', api: 'openai', name: 'router', baseUrl: endpoint.baseUrl, source: 'container', containerId: 'abc123' });
    assert.equal('containerId' in endpointFacts({ ...endpoint, containerId: undefined }), false);
  });

  it('a listing, a digest recorded and read back, uses counted, and the history of the model', async () => {
    assert.deepEqual(await run('registry.syncListing', { endpoint: endpointFacts(endpoint), models: [modelFacts(model)] }), { lastUsed: {} });
    assert.deepEqual(await run('registry.recordedDigest', { endpoint: endpointFacts(endpoint), model: modelFacts(model) }), {});
    assert.deepEqual(await run('registry.recordDigest', { endpoint: endpointFacts(endpoint), model: modelFacts(model), digest: DIGEST }), { recorded: true });
    assert.deepEqual(await run('registry.recordedDigest', { endpoint: endpointFacts(endpoint), model: modelFacts(model) }), { digest: DIGEST });
    for (let i = 0; i < 3; i++) await run('registry.recordUsage', { endpoint: endpointFacts(endpoint), model: 'small:q4', kind: 'generate', detail: { outputTokens: 4, durationMs: 8 } });
    await run('registry.recordUsage', { endpoint: endpointFacts(endpoint), model: 'small:q4', kind: 'load' });
    const h = (await run('registry.modelHistory', { endpoint: endpointFacts(endpoint), name: 'small:q4' })) as { versions: { digest: string }[]; usage: { kind: string; count: number }[]; lastUsedAt?: number };
    assert.deepEqual(h.versions.map((v) => v.digest), [DIGEST]);
    assert.deepEqual(h.usage.map((u) => [u.kind, u.count]).sort(), [['generate', 3], ['load', 1]]);
    assert.ok((h.lastUsedAt ?? 0) > Date.now() - 60_000);
    const again = (await run('registry.syncListing', { endpoint: endpointFacts(endpoint), models: [modelFacts(model)] })) as { lastUsed: Record<string, number> };
    assert.ok(again.lastUsed['small:q4'] > 0, 'the last use comes back with the next listing');
  });

  it('refuses what a client must not send: a bad digest, an unknown kind, an oversized name', async () => {
    await assert.rejects(run('registry.recordDigest', { endpoint: endpointFacts(endpoint), model: modelFacts(model), digest: 'md5:abc' }), InvalidInput);
    await assert.rejects(run('registry.recordUsage', { endpoint: endpointFacts(endpoint), model: 'x', kind: 'steal' }), InvalidInput);
    await assert.rejects(run('registry.modelHistory', { endpoint: endpointFacts(endpoint), name: 'x'.repeat(501) }), InvalidInput);
  });
});
