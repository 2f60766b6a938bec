// Engine loss: stop a real engine mid-session, start it again; the cache reports the loss,
// reconnects by itself and shows the right list again.
import * as assert from 'node:assert/strict';
import { createTestContainer, engine, ScratchEngine, uniqueName } from '../../../support/engine';
import { connect } from '../../../support/engineFixture';

describe('engine loss and reconnect (integration)', function () {
  this.timeout(180_000);
  const scratch = new ScratchEngine('core');
  let env: ReturnType<typeof connect> | undefined;

  before(async () => scratch.start());
  after(async () => {
    env?.dispose();
    await scratch.destroy();
  });

  it('reports the loss, reconnects, and the list is right again', async () => {
    const name = uniqueName('survivor');
    await createTestContainer({ docker: engine(scratch.socket), name, restart: 'always', network: 'none' });
    env = connect(scratch.url, { initialBackoffMs: 200, maxBackoffMs: 1000 });
    await env.connection.connect();
    await env.cache.waitFor((c) => c.list().some((r) => r.name === name && r.state === 'running'), 30_000);
    const states: string[] = [];
    env.connection.onDidChangeState((s) => states.push(s.kind));

    await scratch.stop();
    await env.cache.waitFor(() => env!.connection.state.kind === 'disconnected', 30_000);
    assert.equal(env.cache.size, 0, 'nothing stale is shown while the engine is gone');
    const s = env.connection.state;
    assert.equal(s.kind, 'disconnected');
    if (s.kind === 'disconnected') assert.ok(s.failures.length >= 1);

    await scratch.start();
    await env.cache.waitFor((c) => env!.connection.state.kind === 'connected' && c.isLoaded && c.list().some((r) => r.name === name && r.state === 'running'), 60_000);
    assert.ok(states.includes('disconnected') && states.lastIndexOf('connected') > states.indexOf('disconnected'));

    // And events flow again on the new connection.
    await engine(scratch.socket).getContainer(name).stop({ t: 1 });
    await env.cache.waitFor((c) => c.list().some((r) => r.name === name && r.state === 'exited'), 30_000);
  });
});
