// The webhook queue on a real sql.js registry file: subscriptions by event (and *), deliveries
// queued durably (a reopened file has them), attempts recorded as delivered, retried or failed, the
// delivery log, redeliver, removal with its deliveries, and pruning that keeps what is pending.
import * as assert from 'node:assert/strict';
import { Registry } from '../../../../src/core/registry/registry';
import { RegistryRepositories } from '../../../../src/core/registry/repositories';
import { WebhookStore } from '../../../../src/core/webhooks/store';
import { Clock, sandbox } from '../registry/support';

describe('webhook store (unit)', () => {
  const box = sandbox();
  let file: string;
  let registry: Registry;
  let store: WebhookStore;
  let clock: Clock;

  beforeEach(async () => {
    file = box.file();
    clock = new Clock();
    registry = await box.registry({ file, persistDelayMs: 60_000, now: clock.now });
    store = new WebhookStore(registry, clock.now);
  });

  it('queues an event for the subscriptions that want it (or *), and nothing when none does', () => {
    store.create({ name: 'a', url: 'http://127.0.0.1:1/a', events: ['model.pulled'] });
    store.create({ name: 'all', url: 'http://127.0.0.1:1/all', events: ['*'] });
    store.create({ name: 'c', url: 'http://127.0.0.1:1/c', events: ['stack.applied'] });
    assert.throws(() => store.create({ name: 'a', url: 'http://127.0.0.1:1/x', events: ['*'] }), /named "a" exists/);
    const ids = store.enqueue('model.pulled', { model: 'm:1b' });
    assert.equal(ids.length, 2);
    const due = store.due();
    assert.deepEqual(due.map((d) => d.webhook).sort(), ['a', 'all']);
    assert.deepEqual(JSON.parse(due[0].body), { event: 'model.pulled', at: new Date(clock.t).toISOString(), data: { model: 'm:1b' } });
    assert.deepEqual(store.enqueue('container.exited', {}).length, 1, 'only the * subscription');
    assert.deepEqual(store.enqueue('ping', {}, 'c').length, 1, 'one named subscription, whatever it wants');
    assert.deepEqual(store.enqueue('ping', {}, 'none'), []);
  });

  it('keeps queued deliveries across a close and reopen of the file', async () => {
    store.create({ name: 'a', url: 'http://127.0.0.1:1/a', events: ['*'] });
    store.enqueue('stack.applied', { stack: 's' });
    await registry.close();
    const again = await box.registry({ file, persistDelayMs: 60_000, now: clock.now });
    const due = new WebhookStore(again, clock.now).due();
    assert.equal(due.length, 1);
    assert.equal(due[0].event, 'stack.applied');
  });

  it('records attempts: retried at a later time, delivered on a 2xx, failed when no retry is left', () => {
    store.create({ name: 'a', url: 'http://127.0.0.1:1/a', events: ['*'] });
    const [id] = store.enqueue('ping', {});
    assert.equal(store.recordAttempt(id, { status: 500, durationMs: 3, retryAt: clock.t + 10_000 }), 'pending');
    assert.deepEqual(store.due(), [], 'not due before its retry time');
    assert.equal(store.nextDue(), clock.t + 10_000);
    clock.advance(10_000);
    assert.equal(store.due().length, 1);
    assert.equal(store.recordAttempt(id, { error: 'connect ECONNREFUSED', durationMs: 1, retryAt: clock.t + 30_000 }), 'pending');
    clock.advance(30_000);
    assert.equal(store.recordAttempt(id, { status: 204, durationMs: 2 }), 'delivered');
    const [d] = store.deliveries();
    assert.equal(d.state, 'delivered');
    assert.equal(d.attempts, 3);
    assert.equal(d.lastStatus, 204);
    assert.equal(d.lastError, null);
    assert.equal(store.nextDue(), undefined);
    const [id2] = store.enqueue('ping', {});
    assert.equal(store.recordAttempt(id2, { status: 410, durationMs: 1 }), 'failed');
    assert.equal(store.deliveries({ state: 'failed' })[0].lastError, 'HTTP 410');
    assert.equal(store.list()[0].failed, 1);
  });

  it('redelivers as a new delivery with the same body, and removes a subscription with its deliveries', () => {
    store.create({ name: 'a', url: 'http://127.0.0.1:1/a', events: ['*'] });
    store.create({ name: 'b', url: 'http://127.0.0.1:1/b', events: ['ping'] });
    const [id] = store.enqueue('ping', { n: 1 }, 'a');
    store.recordAttempt(id, { status: 500, durationMs: 1 });
    const again = store.redeliver(id)!;
    assert.notEqual(again, id);
    assert.equal(store.body(again), store.body(id));
    assert.equal(store.redeliver(9999), undefined);
    assert.deepEqual(store.deliveries({ webhook: 'a' }).map((d) => [d.id, d.state]), [[again, 'pending'], [id, 'failed']]);
    store.enqueue('ping', {}, 'b');
    assert.equal(store.remove('a'), true);
    assert.equal(store.remove('a'), false);
    assert.deepEqual(store.deliveries().map((d) => d.webhook), ['b']);
    assert.equal(store.list()[0].pending, 1);
  });

  it("is pruned with the audit log's retention, keeping pending deliveries however old", () => {
    const repos = new RegistryRepositories(registry, clock.now);
    repos.setRetention({ auditDays: 5 });
    store.create({ name: 'a', url: 'http://127.0.0.1:1/a', events: ['*'] });
    const [done, failed, pending] = [...store.enqueue('ping', {}, 'a'), ...store.enqueue('ping', {}, 'a'), ...store.enqueue('ping', {}, 'a')];
    store.recordAttempt(done, { status: 200, durationMs: 1 });
    store.recordAttempt(failed, { status: 500, durationMs: 1 });
    clock.advance(4 * 86_400_000);
    assert.equal(repos.prune().deliveries, 0);
    clock.advance(2 * 86_400_000);
    assert.equal(repos.prune().deliveries, 2);
    assert.deepEqual(store.deliveries().map((d) => d.id), [pending]);
  });
});
