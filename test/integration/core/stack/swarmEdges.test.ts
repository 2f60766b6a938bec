// Swarm deploys that cannot go as the file says, on the real engine: several missing images, a
// plain network in the way, a spec Swarm refuses, a task that fails, services left out of the file,
// and a cancelled deploy. The engine is put into a single-node swarm only when it is not in one,
// and taken out again afterwards.
import * as assert from 'node:assert/strict';
import type { StackFile } from '../../../../src/core/stack/schema';
import { LABEL_STACK } from '../../../../src/core/stack/schema';
import { deploySwarm, listSwarmStack, removeSwarm, SwarmError, swarmStatus } from '../../../../src/core/stack/swarm';
import { BUSYBOX, engine, hasGwbridge, removeGwbridge, TEST_LABEL, uniqueName, waitUntil } from '../../../support/engine';

const SLEEPER = 'trap "exit 0" TERM; while true; do sleep 1; done';

describe('stack on Docker Swarm, when a deploy cannot go as written (integration)', function () {
  this.timeout(120_000);
  const docker = engine();
  const base = uniqueName('swx').toLowerCase().replace(/[^a-z0-9-]/g, '-');
  const stacks: string[] = [];
  const cleanups: (() => Promise<unknown>)[] = [];
  let initialisedHere = false;
  let gwbridgeBefore = true;

  const newStack = () => {
    const s = `${base}-${stacks.length}`;
    stacks.push(s);
    return s;
  };
  const svc = (over: Record<string, unknown> = {}) => ({ kind: 'other' as const, image: BUSYBOX, command: ['sh', '-c', SLEEPER], labels: { [TEST_LABEL]: 'true' }, ...over });

  before(async () => {
    const state = await swarmStatus(docker);
    if (state === 'inactive') {
      gwbridgeBefore = await hasGwbridge(docker);
      await docker.swarmInit({ ListenAddr: '127.0.0.1:2377', AdvertiseAddr: '127.0.0.1' });
      initialisedHere = true;
    } else if (state !== 'active') {
      throw new Error(`The engine's swarm is "${state}"; this test needs an inactive or active one.`);
    }
  });

  afterEach(async () => {
    for (const fn of cleanups.splice(0).reverse()) await fn().catch(() => undefined);
  });

  after(async () => {
    try {
      for (const s of stacks) {
        await removeSwarm(docker, s).catch((e) => console.error(`cleanup of ${s}: ${e}`));
      }
    } finally {
      if (initialisedHere) {
        await docker.swarmLeave({ force: true }).catch(() => undefined);
        await waitUntil('the engine to leave the swarm', async () => (await swarmStatus(docker)) === 'inactive', 30_000, 200).catch(() => undefined);
        if (!gwbridgeBefore) await removeGwbridge(docker);
      }
    }
  });

  it('names every missing image at once, and deploys nothing', async () => {
    const stack = newStack();
    const file: StackFile = { name: stack, runtimes: { a: svc({ image: 'llmstack-test/missing-a:1' }), b: svc({ image: 'llmstack-test/missing-b:1' }), c: svc() } };
    await assert.rejects(deploySwarm(docker, file), (e: unknown) => {
      assert.ok(e instanceof SwarmError);
      assert.equal(e.message, 'The images "llmstack-test/missing-a:1", "llmstack-test/missing-b:1" are not on this engine: pull or build them first. Nothing was deployed.');
      return true;
    });
    assert.deepEqual(await docker.listServices({ filters: { label: [`${LABEL_STACK}=${stack}`] } }), []);
  });

  it('refuses when a plain network has the name of the stack network', async () => {
    const stack = newStack();
    const net = await docker.createNetwork({ Name: `${stack}_default`, Driver: 'bridge', Labels: { [TEST_LABEL]: 'true' } });
    cleanups.push(() => net.remove());
    await assert.rejects(deploySwarm(docker, { name: stack, runtimes: { a: svc() } }), (e: unknown) => {
      assert.ok(e instanceof SwarmError);
      assert.match(e.message, new RegExp(`^A bridge network "${stack}_default" exists on this engine .*Remove the stack's containers and network first, then deploy to the swarm\\. Nothing was deployed\\.$`));
      return true;
    });
    assert.deepEqual(await docker.listServices({ filters: { label: [`${LABEL_STACK}=${stack}`] } }), []);
  });

  it('stops before anything when the signal is already aborted', async () => {
    const stack = newStack();
    const ac = new AbortController();
    ac.abort(new Error('deploy cancelled'));
    await assert.rejects(deploySwarm(docker, { name: stack, runtimes: { a: svc() } }, { signal: ac.signal }), /deploy cancelled/);
    assert.deepEqual(await docker.listServices({ filters: { label: [`${LABEL_STACK}=${stack}`] } }), []);
    assert.ok(!(await docker.listNetworks({ filters: { name: [`${stack}_default`] } })).some((n) => n.Name === `${stack}_default`));
  });

  it("passes on Swarm's refusal of a service, naming the service", async () => {
    const stack = newStack();
    // shmSize becomes a tmpfs at /dev/shm; a volume there too is one mount point twice.
    const file: StackFile = { name: stack, runtimes: { a: svc({ volumes: ['shm:/dev/shm'], shmSize: '64m' }) } };
    await assert.rejects(deploySwarm(docker, file), (e: unknown) => {
      assert.ok(e instanceof SwarmError);
      assert.match(e.message, new RegExp(`^Creating the swarm service "${stack}_a" failed: .*/dev/shm`));
      return true;
    });
  });

  it('lists a failed task with its error, and warns about services no longer in the file', async () => {
    const stack = newStack();
    const ac = new AbortController();
    const first = await deploySwarm(docker, { name: stack, runtimes: { keep: svc(), crash: svc({ command: ['sh', '-c', 'exit 3'], restart: 'no' }) } }, { signal: ac.signal });
    assert.deepEqual(first.created, [`${stack}_keep`, `${stack}_crash`]);

    const failed = await waitUntil(
      'the crashing task to be reported failed',
      async () => (await listSwarmStack(docker, stack)).find((s) => s.service === 'crash')?.tasks.find((t) => t.state === 'failed'),
      60_000,
      250,
    );
    assert.equal(failed.error, 'task: non-zero exit (3)');
    assert.equal(failed.desiredState, 'shutdown');

    const second = await deploySwarm(docker, { name: stack, runtimes: { keep: svc() } });
    assert.deepEqual(second.updated, [`${stack}_keep`]);
    assert.ok(
      second.warnings.includes(`The swarm stack also has ${stack}_crash, no longer in the file; left running (removing the stack removes them).`),
      second.warnings.join('\n'),
    );
    const removed = await removeSwarm(docker, stack);
    assert.deepEqual(removed.removed.sort(), [`${stack}_crash`, `${stack}_keep`]);
    assert.equal(removed.networkRemoved, true);
  });
});
