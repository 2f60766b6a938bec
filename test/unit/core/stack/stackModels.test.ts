// ensureStackModels' decisions, per model, against a model host that answers as the catalog would:
// a model already present is neither pulled nor loaded, a runtime that vanishes after it answered is
// reported per model, a cancel stops before the next model, and short bounds read in milliseconds.
// The host here is the StackModelHost seam; the real catalog and runtime run in the integration test.
import * as assert from 'node:assert/strict';
import { desiredContainers, type DesiredService } from '../../../../src/core/stack/containerSpec';
import type { RuntimeState } from '../../../../src/core/runtimes/catalog';
import { stackFileSchema } from '../../../../src/core/stack/schema';
import { ensureStackModels, sameModel, type StackModelHost } from '../../../../src/core/stack/stackModels';
import { testEndpoint } from '../../../support/fixtures';

const ENDPOINT = testEndpoint('ollama', 'http://127.0.0.1:1', { name: 'demo-rt', source: 'container', containerId: 'cid' });

function desired(models: unknown[]): DesiredService[] {
  return desiredContainers(stackFileSchema.parse({ name: 'demo', runtimes: { rt: { kind: 'ollama', image: 'ollama/ollama', models } } }), { stackDir: '/p' });
}

/** A host whose listing is `states()`; records what it was asked to do. */
function host(states: () => RuntimeState[], o: { waitFails?: boolean } = {}) {
  const calls: string[] = [];
  const h: StackModelHost = {
    list: states,
    waitFor: async (predicate, timeoutMs) => {
      if (o.waitFails || !predicate(h)) throw new Error(`timed out after ${timeoutMs} ms`);
    },
    pull: async (_id, name) => void calls.push(`pull ${name}`),
    load: async (_id, name, keep) => void calls.push(`load ${name} ${keep}`),
  };
  return { h, calls };
}

const state = (models: string[], over: Partial<RuntimeState> = {}): RuntimeState => ({ endpoint: ENDPOINT, status: 'ok', refreshing: false, models: models.map((name) => ({ name })), ...over });

describe('stack models: what is done per model (unit)', () => {
  it('matches a bare name to its ":latest" tag only', () => {
    assert.equal(sameModel('tiny:latest', 'tiny'), true);
    assert.equal(sameModel('tiny:1b', 'tiny'), false);
    assert.equal(sameModel('tiny:latest', 'tiny:1b'), false);
  });

  it('leaves a present model alone (no pull, no load) and pulls a missing one', async () => {
    const { h, calls } = host(() => [state(['tiny:latest'])]);
    const r = await ensureStackModels(h, desired(['tiny', 'other']), () => 'cid');
    assert.deepEqual(r, [
      { service: 'rt', model: 'tiny', outcome: 'present' },
      { service: 'rt', model: 'other', outcome: 'pulled' },
    ]);
    assert.deepEqual(calls, ['pull other']);
  });

  it('reports each remaining model when the runtime is gone after it answered', async () => {
    let listed = 0;
    // Found once (the wait), then no longer listed: its container was recreated meanwhile.
    const { h, calls } = host(() => (listed++ < 1 ? [state([])] : []));
    const r = await ensureStackModels(h, desired(['a', { name: 'b', keepLoaded: true }]), () => 'cid');
    const why = 'rt is no longer known to the model catalog (its container stopped or was recreated)';
    assert.deepEqual(r, [
      { service: 'rt', model: 'a', outcome: 'failed', message: why },
      { service: 'rt', model: 'b', outcome: 'failed', message: why },
    ]);
    assert.deepEqual(calls, []);
  });

  it('gives a short bound in milliseconds, with the listing error', async () => {
    const { h } = host(() => [state([], { status: 'error', error: 'connection refused' })], { waitFails: true });
    const r = await ensureStackModels(h, desired(['a']), () => 'cid', { timeoutMs: 250 });
    assert.deepEqual(r, [{ service: 'rt', model: 'a', outcome: 'failed', message: 'rt did not answer within 250 ms: connection refused' }]);
  });

  it('stops before the next model when cancelled', async () => {
    const ac = new AbortController();
    const { h, calls } = host(() => [state([])]);
    h.pull = async (_id, name) => {
      calls.push(`pull ${name}`);
      ac.abort(new Error('apply cancelled'));
    };
    await assert.rejects(ensureStackModels(h, desired(['a', 'b']), () => 'cid', { signal: ac.signal }), /apply cancelled/);
    assert.deepEqual(calls, ['pull a']);
  });

  it('skips runtimes the file wants stopped, and UIs', async () => {
    const d = desiredContainers(
      stackFileSchema.parse({ name: 'demo', runtimes: { rt: { kind: 'ollama', image: 'ollama/ollama', models: ['a'], state: 'stopped' } }, uis: { ui: { image: 'x' } } }),
      { stackDir: '/p' },
    );
    const { h, calls } = host(() => [state([])]);
    assert.deepEqual(await ensureStackModels(h, d, () => 'cid'), []);
    assert.deepEqual(calls, []);
  });
});
