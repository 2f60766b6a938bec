// What idle handling asks of the program, on the real engine: a stack file's keepLoaded label pins
// models, and an idle runtime container is stopped with an audit entry (an error one when it fails).
import * as assert from 'node:assert/strict';
import { idleHooks } from '../../../src/app/models/idleHooks';
import { ContainerActions } from '../../../src/core/docker/actions';
import type { RuntimeState } from '../../../src/core/runtimes/catalog';
import type { RuntimeModel } from '../../../src/core/runtimes/runtime';
import { LABEL_KEEP_LOADED } from '../../../src/core/stack/schema';
import { uniqueName } from '../../support/engine';
import { useEngine } from '../../support/engineFixture';

describe('idle hooks on the real engine (integration)', function () {
  this.timeout(60_000);
  const e = useEngine();

  it('pins the models a container labels keepLoaded (tags compared as the runtime names them), nothing else', async () => {
    const name = uniqueName('pinned');
    const c = await e.own.create({ name, labels: { [LABEL_KEEP_LOADED]: 'llama3.2:1b,qwen' } });
    await e.cache.waitFor((x) => !!x.get(c.id), 20_000);
    const hooks = idleHooks({ containers: e.cache, actions: new ContainerActions(e.connection), audit: async () => undefined });
    const runtime = { endpoint: { containerId: c.id } } as RuntimeState;
    const model = (n: string) => ({ name: n }) as RuntimeModel;
    assert.equal(hooks.pinned(runtime, model('llama3.2:1b')), true);
    assert.equal(hooks.pinned(runtime, model('qwen:latest')), true);
    assert.equal(hooks.pinned(runtime, model('mistral:7b')), false);
    assert.equal(hooks.pinned({ endpoint: {} } as RuntimeState, model('llama3.2:1b')), false, 'no container, no label');
  });

  it('stops an idle container and audits it; a stop that fails is audited with its error and rethrown', async () => {
    const name = uniqueName('idlestop');
    const c = await e.own.create({ name });
    const audits: string[] = [];
    const hooks = idleHooks({ containers: e.cache, actions: new ContainerActions(e.connection), audit: async (op, target, error) => void audits.push(`${op} ${target}${error ? ' error' : ''}`) });
    await hooks.stopContainer(c.id, name);
    assert.equal((await c.inspect()).State.Running, false);
    await assert.rejects(hooks.stopContainer('0'.repeat(64), 'gone'));
    assert.deepEqual(audits, [`container.stop.idle ${name}`, 'container.stop.idle gone error']);
  });
});
