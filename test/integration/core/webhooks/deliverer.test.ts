// The webhook deliverer against a real receiver on 127.0.0.1 and a real sql.js registry file:
// signed deliveries a receiver verifies, retries after 500s with growing waits, giving up after the
// attempts, no redirect followed, a hung receiver cut off, targets that are not loopback refused
// without a request, a missing secret reported, and a delivery left by a stopped deliverer sent by
// the next one.
import * as assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { Registry } from '../../../../src/core/registry/registry';
import { targetProblem, WebhookDeliverer, type DelivererOptions } from '../../../../src/core/webhooks/deliverer';
import { SIGNATURE_HEADER, verifySignature } from '../../../../src/core/webhooks/signature';
import { WebhookStore } from '../../../../src/core/webhooks/store';
import { sandbox } from '../../../unit/core/registry/support';
import { WebhookReceiver } from '../../../support/webhookReceiver';

describe('webhook deliverer (integration)', function () {
  this.timeout(60_000);
  const box = sandbox();
  const secret = 'whsec_integration-secret-0123456789';
  let receiver: WebhookReceiver;
  let registry: Registry;
  let store: WebhookStore;
  let file: string;
  const deliverers: WebhookDeliverer[] = [];
  const outcomes: string[] = [];

  /** Each attempt as the deliverer reports it (after its record is written). */
  const attempts = new EventEmitter();
  const deliverer = (o: Partial<DelivererOptions> = {}) => {
    const d = new WebhookDeliverer({
      store: () => Promise.resolve(store),
      secret: () => Promise.resolve(secret),
      retryBaseMs: 100,
      maxAttempts: 3,
      onAttempt: (out, x) => {
        outcomes.push(out);
        attempts.emit('attempt', x.id, out);
      },
      ...o,
    });
    deliverers.push(d);
    return d;
  };
  /** Waits for the attempt that ends the delivery (delivered or failed), then reads its row. */
  const settled = async (_d: WebhookDeliverer, id: number, timeoutMs = 20_000) => {
    const row = () => store.deliveries({ limit: 1000 }).find((x) => x.id === id)!;
    if (row().state !== 'pending') return row();
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        attempts.off('attempt', on);
        reject(new Error(`delivery ${id} still pending after ${timeoutMs} ms`));
      }, timeoutMs);
      const on = (x: number, out: string) => {
        if (x !== id || out === 'retry') return;
        clearTimeout(timer);
        attempts.off('attempt', on);
        resolve();
      };
      attempts.on('attempt', on);
    });
    return row();
  };

  beforeEach(async () => {
    receiver = await WebhookReceiver.start();
    file = box.file();
    registry = await box.registry({ file, persistDelayMs: 60_000 });
    store = new WebhookStore(registry);
    outcomes.length = 0;
  });
  afterEach(async () => {
    deliverers.splice(0).forEach((d) => d.dispose());
    await receiver.close();
  });

  it('POSTs the body with the event, the delivery id and a signature the receiver verifies', async () => {
    store.create({ name: 'a', url: receiver.url('/in?x=1'), events: ['*'] });
    const [id] = store.enqueue('model.pulled', { model: 'm:1b' });
    const d = deliverer({ userAgent: 'llmstack/test' });
    d.wake();
    const [got] = await receiver.received(1);
    assert.equal(got.method, 'POST');
    assert.equal(got.path, '/in?x=1');
    assert.equal(got.headers['content-type'], 'application/json');
    assert.equal(got.headers['user-agent'], 'llmstack/test');
    assert.equal(got.headers['x-llmstack-event'], 'model.pulled');
    assert.equal(got.headers['x-llmstack-delivery'], String(id));
    assert.deepEqual(verifySignature(secret, got.headers[SIGNATURE_HEADER] as string, got.body).ok, true);
    assert.equal(verifySignature('whsec_another-secret-0123456789', got.headers[SIGNATURE_HEADER] as string, got.body).ok, false);
    assert.deepEqual(JSON.parse(got.body).data, { model: 'm:1b' });
    const row = await settled(d, id);
    assert.equal(row.state, 'delivered');
    assert.equal(row.lastStatus, 204);
    assert.deepEqual(outcomes, ['delivered']);
  });

  it('retries after 500s with growing waits and delivers; gives up after the last attempt', async () => {
    store.create({ name: 'a', url: receiver.url(), events: ['*'] });
    receiver.script = [500, 503];
    const [id] = store.enqueue('ping', {});
    const d = deliverer();
    d.wake();
    const got = await receiver.received(3);
    const row = await settled(d, id);
    assert.equal(row.state, 'delivered');
    assert.equal(row.attempts, 3);
    // The first retry waits the base (100 ms), the second three times that.
    assert.ok(got[1].at - got[0].at >= 95, `first wait ${got[1].at - got[0].at} ms`);
    assert.ok(got[2].at - got[1].at >= 295, `second wait ${got[2].at - got[1].at} ms`);
    assert.deepEqual(outcomes, ['retry', 'retry', 'delivered']);
    // The same delivery body each time: the receiver can deduplicate on x-llmstack-delivery.
    assert.equal(new Set(got.map((g) => g.body)).size, 1);
    assert.equal(new Set(got.map((g) => g.headers['x-llmstack-delivery'])).size, 1);

    receiver.script = [500, 500, 500];
    const [id2] = store.enqueue('ping', {});
    d.wake();
    const failed = await settled(d, id2);
    assert.equal(failed.state, 'failed');
    assert.equal(failed.attempts, 3);
    assert.equal(failed.lastStatus, 500);
    assert.equal(failed.lastError, 'HTTP 500');
    assert.equal(receiver.got.length, 6);
  });

  it('follows no redirect, and cuts off a receiver that does not answer', async () => {
    store.create({ name: 'a', url: receiver.url(), events: ['*'] });
    receiver.script = [302];
    const [id] = store.enqueue('ping', {});
    const d = deliverer({ maxAttempts: 1, timeoutMs: 300 });
    d.wake();
    const row = await settled(d, id);
    assert.equal(row.state, 'failed');
    assert.match(row.lastError!, /HTTP 302: redirects are not followed/);
    assert.deepEqual(receiver.got.map((g) => g.path), ['/hook'], 'the location was not requested');
    receiver.hang = true;
    const [id2] = store.enqueue('ping', {});
    d.wake();
    const hung = await settled(d, id2);
    assert.equal(hung.state, 'failed');
    assert.match(hung.lastError!, /no answer within 300 ms/);
  });

  it('refuses a target that is not loopback without a request, and reports a missing secret', async () => {
    // Subscriptions written before a check, or by hand: the deliverer checks again.
    store.create({ name: 'far', url: 'http://192.0.2.10:9/hook', events: ['*'] });
    store.create({ name: 'nosecret', url: receiver.url(), events: ['*'] });
    const [far, nosecret] = store.enqueue('ping', {});
    const d = deliverer({ secret: (n) => Promise.resolve(n === 'far' ? secret : undefined) });
    d.wake();
    const a = await settled(d, far);
    assert.equal(a.state, 'failed', 'no retry for a target that stays refused');
    assert.equal(a.attempts, 1);
    assert.match(a.lastError!, /not sent: 192\.0\.2\.10 is not loopback/);
    const b = await settled(d, nosecret);
    assert.match(b.lastError!, /secret of webhook "nosecret" is missing/);
    assert.equal(receiver.got.length, 0);
  });

  it('sends through "localhost" (resolved to loopback only), and what a stopped deliverer left is sent by the next', async () => {
    store.create({ name: 'a', url: receiver.url('/hook', 'localhost'), events: ['*'] });
    const port = receiver.port;
    await receiver.close();
    const [id] = store.enqueue('stack.applied', { stack: 's' });
    const first = deliverer({ retryBaseMs: 60_000 });
    first.wake();
    await first.idle();
    const row = store.deliveries()[0];
    assert.equal(row.state, 'pending');
    assert.match(row.lastError!, /ECONNREFUSED/);
    first.dispose();
    // The file is closed and opened again, as a service restart does; the receiver is back.
    await registry.close();
    registry = await box.registry({ file, persistDelayMs: 60_000 });
    store = new WebhookStore(registry);
    // The retry is due in a minute; a restart after that time sends it.
    registry.run('UPDATE webhook_deliveries SET next_at = 0');
    receiver = await WebhookReceiver.start(port);
    const second = deliverer();
    second.wake();
    const [got] = await receiver.received(1);
    assert.equal(got.headers['x-llmstack-delivery'], String(id));
    assert.equal((await settled(second, id)).state, 'delivered');
  });

  it('checks targets: http(s) on loopback, or the one host a subscription allows; no credentials in the URL', () => {
    assert.equal(targetProblem('http://127.0.0.1:8080/x', null), undefined);
    assert.equal(targetProblem('https://[::1]/x', null), undefined);
    assert.equal(targetProblem('http://127.9.9.9/x', null), undefined);
    assert.equal(targetProblem('http://hooks.example.com/x', 'hooks.example.com'), undefined);
    assert.match(targetProblem('http://hooks.example.com/x', 'other.example.com')!, /not loopback.*--allow-host hooks\.example\.com/);
    assert.match(targetProblem('http://127.0.0.1.nip.io/x', null)!, /not loopback/);
    assert.match(targetProblem('ftp://127.0.0.1/x', null)!, /ftp: is not http/);
    assert.match(targetProblem('http://user:pw@127.0.0.1/x', null)!, /user name or password/);
    assert.match(targetProblem('not a url', null)!, /is not a URL/);
  });
});
