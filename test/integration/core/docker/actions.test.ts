// Container actions and log following against the real engine, including the bad cases.
import * as assert from 'node:assert/strict';
import { ActionError, ContainerActions, LogChunk, runBatch } from '../../../../src/core/docker/actions';
import { engine, uniqueName, waitUntil } from '../../../support/engine';
import { connect, useEngine } from '../../../support/engineFixture';

describe('container actions on a real engine (integration)', function () {
  this.timeout(90_000);
  const env = useEngine();
  let actions: ContainerActions;

  before(() => {
    actions = new ContainerActions(env.connection);
  });

  const state = async (id: string) => (await engine().getContainer(id).inspect()).State;

  it('stops, starts, restarts and removes, and the cache follows', async () => {
    const c = await env.own.create({ name: uniqueName('act') });
    await actions.run('stop', c.id);
    assert.equal((await state(c.id)).Running, false);
    await env.cache.waitFor((cache) => cache.get(c.id)?.state === 'exited', 20_000);
    await actions.run('stop', c.id); // already stopped: not an error (304)
    await actions.run('start', c.id);
    assert.equal((await state(c.id)).Running, true);
    const before = (await state(c.id)).StartedAt;
    await actions.run('restart', c.id);
    assert.notEqual((await state(c.id)).StartedAt, before);
    await actions.run('remove', c.id);
    await env.cache.waitFor((cache) => !cache.get(c.id), 20_000);
  });

  it('explains a container removed while an action runs', async () => {
    const c = await env.own.create({ name: uniqueName('gone') });
    await c.remove({ force: true });
    await assert.rejects(actions.run('stop', c.id, 'gone-one'), (e: unknown) => {
      assert.ok(e instanceof ActionError);
      assert.equal(e.kind, 'gone');
      assert.match(e.message, /Stopping "gone-one" failed: the container no longer exists/);
      return true;
    });
  });

  it('runs a batch in parallel and reports each failure', async () => {
    const a = await env.own.create({ name: uniqueName('batch') });
    const b = await env.own.create({ name: uniqueName('batch') });
    const result = await runBatch([a.id, 'does-not-exist-llmstack', b.id], (id) => actions.run('stop', id));
    assert.deepEqual(result.succeeded.sort(), [a.id, b.id].sort());
    assert.equal(result.failed.length, 1);
    assert.match(result.failed[0].error, /no longer exists/);
  });

  it('inspects a container, and explains a missing one', async () => {
    const c = await env.own.create({ name: uniqueName('insp') });
    const data = (await actions.inspect(c.id)) as { Id: string };
    assert.equal(data.Id, c.id);
    await assert.rejects(actions.inspect('does-not-exist-llmstack', 'nope'), /Inspecting "nope" failed: the container no longer exists/);
  });

  it('follows logs with stdout and stderr apart, and ends when the container goes', async () => {
    const c = await env.own.create({
      name: uniqueName('logs'),
      script: 'i=0; while true; do echo "out $i"; echo "err $i" >&2; i=$((i+1)); sleep 0.2; done',
    });
    const chunks: LogChunk[] = [];
    let ended: { error?: Error } | undefined;
    const follow = await actions.logs(c.id, 'logs', { tail: 10, onData: (ch) => chunks.push(ch), onEnd: (error) => (ended = { error }) });
    try {
      await waitUntil('a few lines of each stream', () => chunks.filter((x) => x.stream === 'stdout').length >= 3 && chunks.filter((x) => x.stream === 'stderr').length >= 3, 20_000);
      assert.ok(chunks.filter((x) => x.stream === 'stdout').every((x) => /^(out \d+\n)+$/.test(x.text)));
      assert.ok(chunks.filter((x) => x.stream === 'stderr').every((x) => /^(err \d+\n)+$/.test(x.text)));
      await c.remove({ force: true });
      await waitUntil('the log stream to end', () => ended, 20_000);
    } finally {
      follow.dispose();
    }
  });

  it('follows the raw stream of a TTY container', async () => {
    const c = await env.own.create({ name: uniqueName('tty'), tty: true, script: 'while true; do echo tty-line; sleep 0.2; done' });
    const chunks: LogChunk[] = [];
    const follow = await actions.logs(c.id, 'tty', { onData: (ch) => chunks.push(ch), onEnd: () => undefined });
    try {
      await waitUntil('tty output', () => chunks.some((x) => x.text.includes('tty-line')), 20_000);
      assert.ok(chunks.every((x) => x.stream === 'stdout'));
    } finally {
      follow.dispose();
    }
  });

  it('says no engine is connected when there is none', async () => {
    const offline = connect('unix:///nonexistent/llmstack.sock');
    try {
      await offline.connection.connect();
      const a = new ContainerActions(offline.connection);
      await assert.rejects(a.run('start', 'x', 'x'), /no container engine is connected/);
      await assert.rejects(a.logs('x', 'x', { onData: () => undefined, onEnd: () => undefined }), /no container engine is connected/);
    } finally {
      offline.dispose();
    }
  });
});
