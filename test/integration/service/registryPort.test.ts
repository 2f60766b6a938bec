// The registry port as an editor window will use it: every write goes to the one service that owns
// the file. Two clients ("windows") write usage at the same time and nothing is lost; what one
// records, the other reads back.
import * as assert from 'node:assert/strict';
import type { RuntimeEndpoint, RuntimeModel } from '../../../src/core/runtimes/runtime';
import { RemoteRegistryPort } from '../../../src/service/remotePort';
import { newHome, serve, stopServed, type Home, type Served } from './support';

const endpoint: RuntimeEndpoint = { id: 'ollama@http://127.0.0.1:9/port-test', kind: 'ollama', api: 'ollama', name: 'port-test', baseUrl: 'http://127.0.0.1:9/port-test', source: 'user' };
const model: RuntimeModel = { name: 'tiny:q8', sizeBytes: 1234, family: 'llama', parameterSize: '1M', quantization: 'Q8_0', loaded: { sizeBytes: 1, contextLength: 2 } } as RuntimeModel;
const digest = `sha256:${'a'.repeat(64)}`;

describe('the registry port through the service (integration)', function () {
  this.timeout(60_000);
  let home: Home;
  let served: Served;
  let w1: RemoteRegistryPort;
  let w2: RemoteRegistryPort;

  before(async () => {
    home = newHome();
    served = await serve(home);
    w1 = new RemoteRegistryPort(home.client());
    w2 = new RemoteRegistryPort(home.client());
  });
  after(async () => {
    await stopServed(served);
    home?.cleanup();
  });

  it('a listing synced by one window creates the model; a digest it records is read back by the other', async () => {
    const lastUsed = await w1.syncListing(endpoint, { models: [model, { name: 'other:1' }] });
    assert.equal(lastUsed.size, 0, 'never used yet');
    assert.equal(await w2.recordedDigest(endpoint, model), undefined);
    await w1.recordDigest(endpoint, model, digest);
    assert.equal(await w2.recordedDigest(endpoint, model), digest);
    const h = await w2.history(endpoint, 'tiny:q8');
    assert.deepEqual(h.versions.map((v) => v.digest), [digest]);
  });

  it('two windows recording uses at the same time: all 2 × 60 are counted, and the last use is answered to both', async () => {
    await Promise.all(
      [w1, w2].map(async (w) => {
        for (let i = 0; i < 60; i++) await w.recordUsage(endpoint, 'tiny:q8', 'generate', { durationMs: 10, outputTokens: 5 });
      }),
    );
    const h = await w1.history(endpoint, 'tiny:q8');
    assert.deepEqual(h.usage.map((u) => [u.kind, u.count, u.outputTokens]), [['generate', 120, 600]]);
    const lastUsed = await w2.syncListing(endpoint, { models: [model] });
    assert.ok((lastUsed.get('tiny:q8') ?? 0) > Date.now() - 60_000, 'the last use comes back with the listing');
  });

  it('audit entries from both windows land in one log; bad input is refused by the schema', async () => {
    await Promise.all([w1.audit('window.one', 'x'), w2.audit('window.two', 'y', 'it failed')]);
    const { entries } = await home.client().call<{ entries: { operation: string; outcome: string }[] }>('registry.audit', { limit: 10 });
    assert.deepEqual(new Set(entries.map((e) => `${e.operation}:${e.outcome}`)), new Set(['window.one:ok', 'window.two:error']));
    await assert.rejects(w1.recordDigest(endpoint, model, 'not-a-digest'), /digest/);
  });
});
