// Unit tests for the pure parts of src/app/containers: which containers an action applies to, and
// input refused before anything reaches the engine.
import * as assert from 'node:assert/strict';
import { act, actionApplies, containerActions, followLogs, inspect, list } from '../../../src/app/containers/useCases';
import { call, InvalidInput } from '../../../src/app/useCase';
import type { ContainerState } from '../../../src/core/docker/containers';

const states: ContainerState[] = ['running', 'exited', 'restarting', 'paused', 'created', 'dead', 'removing', 'unknown'];

describe('containers use cases, pure parts (unit)', () => {
  it('start applies to what is not running; stop to what runs, restarts or is paused; restart and remove to all', () => {
    const applies = (a: (typeof containerActions)[number]) => states.filter((state) => actionApplies(a, { state }));
    assert.deepEqual(applies('start'), ['exited', 'restarting', 'paused', 'created', 'dead', 'removing', 'unknown']);
    assert.deepEqual(applies('stop'), ['running', 'restarting', 'paused']);
    assert.deepEqual(applies('restart'), states);
    assert.deepEqual(applies('remove'), states);
  });

  it('refuses bad input with the problem named, before any dependency is touched', async () => {
    const none = undefined as never;
    const refused = async (p: Promise<unknown>, issue: RegExp) => {
      const e = await p.then(
        () => undefined,
        (x: unknown) => x,
      );
      assert.ok(e instanceof InvalidInput, String(e));
      assert.match(e.message, issue);
    };
    await refused(call(act, none, { action: 'pause' as never, targets: [{ id: 'x' }] }), /^containers\.action: action: /);
    await refused(call(act, none, { action: 'stop', targets: [] }), /^containers\.action: targets: /);
    await refused(call(act, none, { action: 'stop', targets: [{ id: '' }] }), /^containers\.action: targets\.0\.id: /);
    await refused(call(inspect, none, { id: '' }), /^containers\.inspect: id: /);
    await refused(call(list, none, { for: 'explode' } as never), /^containers\.list: for: /);
    await refused(followLogs(none, { id: 'x', tail: -1 }, { signal: new AbortController().signal, onChunk: () => undefined }), /^containers\.logs: tail: /);
  });
});
