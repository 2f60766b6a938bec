// Webhooks through the real service and CLI, to a receiver on 127.0.0.1: a subscription made with
// `llmstack webhook add` (its secret shown once), a ping and a model pulled and deleted on the real
// test runtime delivered with a signature the receiver verifies, retries after 500s, a delivery
// queued while the receiver was down sent after a service restart, a redelivery, a target that is
// not loopback refused, and the deliveries counted in GET /metrics.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as path from 'node:path';
import { SIGNATURE_HEADER, verifySignature } from '../../../src/core/webhooks/signature';
import { ServiceError } from '../../../src/service/client';
import { createTestContainer, OLLAMA_LIKE, removeContainers, uniqueName } from '../../support/engine';
import { writeTinyGguf } from '../../support/gguf';
import { type RuntimeProcess, startRuntimeProcess } from '../../support/runtimeProcess';
import { WebhookReceiver, type Received } from '../../support/webhookReceiver';
import { cli, newHome, serve, stopServed, type Home, type Served } from './support';

interface Delivery {
  id: number;
  event: string;
  state: string;
  attempts: number;
  lastStatus: number | null;
}

describe('webhooks through the service (integration)', function () {
  this.timeout(120_000);
  let home: Home;
  let served: Served;
  let rt: RuntimeProcess;
  let receiver: WebhookReceiver;
  let secret: string;
  let runtimeId: string;

  const verified = (g: Received) => {
    const v = verifySignature(secret, g.headers[SIGNATURE_HEADER] as string, g.body);
    assert.equal(v.ok, true, JSON.stringify(v));
    return JSON.parse(g.body) as { event: string; at: string; data: Record<string, unknown> };
  };
  const deliveries = async () => (await home.client().call<{ deliveries: Delivery[] }>('webhooks.deliveries', { limit: 100 })).deliveries;

  before(async () => {
    home = newHome();
    const models = path.join(home.dir, 'models');
    const source = path.join(home.dir, 'source');
    fs.mkdirSync(models, { recursive: true });
    fs.mkdirSync(source, { recursive: true });
    writeTinyGguf(path.join(source, 'hooked__1b.gguf'), { name: 'hooked', contextLength: 128, seed: 5 });
    rt = await startRuntimeProcess({ modelsDir: models, sourceDir: source });
    runtimeId = `ollama@${rt.base}`;
    home.config({ runtimes: { endpoints: [{ url: rt.base, kind: 'ollama', name: 'hooks' }] }, webhooks: { retryBaseSeconds: 0.2, maxAttempts: 5 } });
    receiver = await WebhookReceiver.start();
    served = await serve(home);
  });
  after(async () => {
    await stopServed(served);
    await rt?.stop();
    await receiver?.close();
    home?.cleanup();
  });

  it('llmstack webhook add shows the secret once; a ping arrives signed with it', async () => {
    const add = await cli(home, ['webhook', 'add', 'ci', receiver.url('/hooks/llmstack'), '--events', 'model.pulled,model.deleted,stack.applied']);
    assert.equal(add.code, 0, add.stderr);
    secret = add.stdout.trim();
    assert.match(secret, /^whsec_[A-Za-z0-9_-]{43}$/);
    assert.match(add.stderr, /not shown again/);
    // Not in the list, nor in any file of the registry's folder but the 0600 key store.
    const list = await cli(home, ['webhook', 'ls', '--json']);
    assert.ok(!list.stdout.includes(secret));
    assert.deepEqual((JSON.parse(list.stdout) as { webhooks: { name: string; events: string[] }[] }).webhooks.map((w) => [w.name, w.events]), [['ci', ['model.pulled', 'model.deleted', 'stack.applied']]]);
    const ping = await cli(home, ['webhook', 'ping', 'ci']);
    assert.equal(ping.code, 0, ping.stderr);
    const [got] = await receiver.received(1);
    assert.equal(got.path, '/hooks/llmstack');
    assert.equal(got.headers['x-llmstack-event'], 'ping');
    assert.match(String(got.headers['user-agent']), /^llmstack\/\d+\.\d+\.\d+/);
    assert.deepEqual(verified(got).data, { webhook: 'ci' });
  });

  it('a model pulled and deleted on the runtime is delivered as model.pulled and model.deleted', async () => {
    const before = receiver.got.length;
    const pulled = await home.client().call<{ results: { outcome: string }[] }>('models.pull', { runtimeId, names: ['hooked:1b'] });
    assert.equal(pulled.results[0].outcome, 'pulled');
    const [p] = (await receiver.received(before + 1)).slice(before);
    const body = verified(p);
    assert.equal(body.event, 'model.pulled');
    assert.deepEqual(body.data, { runtime: { id: runtimeId, name: 'hooks' }, model: 'hooked:1b' });
    const deleted = await home.client().call<{ results: { ok: boolean }[] }>('models.delete', { models: [{ runtimeId, name: 'hooked:1b' }] });
    assert.equal(deleted.results[0].ok, true);
    const [d] = (await receiver.received(before + 2)).slice(before + 1);
    assert.deepEqual(verified(d), { event: 'model.deleted', at: verified(d).at, data: { runtime: { id: runtimeId }, model: 'hooked:1b' } });
    // An event the subscription does not want sends nothing: a failed pull is no event at all.
    const failed = await home.client().call<{ results: { outcome: string }[] }>('models.pull', { runtimeId, names: ['absent:1b'] });
    assert.equal(failed.results[0].outcome, 'failed');
    assert.ok((await deliveries()).every((x) => x.event !== 'model.pulled' || x.state === 'delivered'));
    assert.equal((await deliveries()).filter((x) => x.event === 'model.pulled').length, 1);
  });

  it('retries after 500s, and a delivery queued while the receiver was down is sent after a service restart', async () => {
    receiver.script = [500, 500];
    const start = receiver.got.length;
    const { id } = await home.client().call<{ id: number }>('webhooks.ping', { name: 'ci' });
    const got = (await receiver.received(start + 3)).slice(start);
    assert.deepEqual(new Set(got.map((g) => g.headers['x-llmstack-delivery'])), new Set([String(id)]));
    const row = (await deliveries()).find((x) => x.id === id)!;
    assert.deepEqual([row.state, row.attempts, row.lastStatus], ['delivered', 3, 204]);

    // The receiver goes away; a ping is queued and fails; the service is stopped and started again.
    const port = receiver.port;
    await receiver.close();
    const { id: queued } = await home.client().call<{ id: number }>('webhooks.ping', { name: 'ci' });
    await stopServed(served);
    receiver = await WebhookReceiver.start(port);
    served = await serve(home);
    const [again] = await receiver.received(1);
    assert.equal(again.headers['x-llmstack-delivery'], String(queued));
    verified(again);
  });

  it('redelivers a delivery with the same body; the log and GET /metrics show the deliveries', async () => {
    const [last] = await deliveries();
    const start = receiver.got.length;
    const r = await cli(home, ['webhook', 'redeliver', String(last.id)]);
    assert.equal(r.code, 0, r.stderr);
    const [got] = (await receiver.received(start + 1)).slice(start);
    assert.notEqual(got.headers['x-llmstack-delivery'], String(last.id));
    assert.equal(got.body, receiver.got.find((g) => g.headers['x-llmstack-delivery'] === String(last.id))!.body);
    const log = await cli(home, ['webhook', 'deliveries', 'ci']);
    assert.match(log.stdout, /ID\s+WEBHOOK\s+EVENT\s+STATE/);
    assert.match(log.stdout, /ci\s+ping\s+delivered/);
    // This service started after the restart: its own attempts (the queued one, the redelivery).
    const metrics = await new Promise<string>((resolve, reject) => {
      http.get({ socketPath: home.paths.socket, path: '/metrics', headers: { host: 'llmstack' } }, (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (text += c));
        res.on('end', () => resolve(text));
      }).on('error', reject);
    });
    assert.match(metrics, /^llmstack_webhook_deliveries_total\{outcome="delivered"\} 2$/m);
    assert.match(metrics, /^llmstack_webhook_deliveries_total\{outcome="failed"\} 0$/m);
  });

  it('refuses a target that is not loopback unless allowed, an unknown event, and a second subscription of the same name', async () => {
    await assert.rejects(home.client().call('webhooks.create', { name: 'far', url: 'http://192.0.2.10/hook', events: ['*'] }), (e: unknown) => e instanceof ServiceError && e.status === 400 && /192\.0\.2\.10 is not loopback.*--allow-host/.test(e.message));
    await assert.rejects(home.client().call('webhooks.create', { name: 'odd', url: receiver.url(), events: ['model.exploded'] }), (e: unknown) => e instanceof ServiceError && e.status === 400 && /events\.0/.test(e.issues?.join() ?? ''));
    await assert.rejects(home.client().call('webhooks.create', { name: 'ci', url: receiver.url(), events: ['*'] }), (e: unknown) => e instanceof ServiceError && /named "ci" exists/.test(e.message));
    const far = await home.client().call<{ allowHost: string }>('webhooks.create', { name: 'far', url: 'http://192.0.2.10/hook', events: ['stack.applied'], allowHost: '192.0.2.10' });
    assert.equal(far.allowHost, '192.0.2.10');
    const rm = await cli(home, ['webhook', 'rm', 'far']);
    assert.equal(rm.code, 0, rm.stderr);
    assert.equal((await cli(home, ['webhook', 'rm', 'far'])).code !== 0, true);
  });

  it("a runtime container's alert on the real engine is delivered as container.unhealthy, and its clearing as alert.cleared", async () => {
    const add = await home.client().call<{ secret: string }>('webhooks.create', { name: 'alerts', url: receiver.url('/alerts'), events: ['container.unhealthy', 'alert.cleared'] });
    const name = uniqueName('hooked-sick');
    const mine = () => receiver.got.filter((g) => g.path === '/alerts' && g.body.includes(name));
    const c = await createTestContainer({ name, image: OLLAMA_LIKE, healthcheck: { test: 'false', intervalMs: 1000, retries: 1 } });
    try {
      while (!mine().length) await receiver.received(receiver.got.length + 1);
      const raised = JSON.parse(mine()[0].body) as { event: string; data: { container: { id: string; name: string }; alert: { kind: string } } };
      assert.equal(mine()[0].headers['x-llmstack-event'], 'container.unhealthy');
      assert.deepEqual([raised.event, raised.data.container, raised.data.alert.kind], ['container.unhealthy', { id: c.id, name }, 'unhealthy']);
      assert.equal(verifySignature(add.secret, mine()[0].headers[SIGNATURE_HEADER] as string, mine()[0].body).ok, true);
    } finally {
      await removeContainers([c.id]);
    }
    while (mine().length < 2) await receiver.received(receiver.got.length + 1);
    assert.equal(mine()[1].headers['x-llmstack-event'], 'alert.cleared');
  });
});
