// One watcher for every window: the service raises the alerts of the real engine's containers and
// streams them to its clients, keeps the mutes in its data folder (they hold after a restart), and
// adds the runtimes a window attaches to its catalog for as long as that window's event stream is open.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { ServiceEvent } from '../../../src/service/protocol';
import { createTestContainer, OLLAMA_LIKE, removeTestContainers, uniqueName, waitUntil } from '../../support/engine';
import { randomBytes } from 'node:crypto';
import { writeTinyGguf } from '../../support/gguf';
import { type RuntimeProcess, startRuntimeProcess } from '../../support/runtimeProcess';
import { newHome, serve, stopServed, type Home, type Served } from './support';

interface AlertsState {
  alerts: { containerId: string; containerName: string; kind: string; muted: boolean }[];
  mutes: { id: string; until?: number }[];
}
interface Attached {
  sameEngine: boolean;
  engine: string | null;
  problems: string[];
}
interface Listed {
  runtimes: { id: string; name: string }[];
}

describe('alerts and attached runtimes in the service (integration)', function () {
  this.timeout(120_000);
  let home: Home;
  let served: Served | undefined;

  before(async () => {
    home = newHome();
    // Probes every second, an alert after one failure: the attached runtime's probes show quickly.
    home.config({ alerts: { probeIntervalSeconds: 1, probeFailures: 1, probeTimeoutSeconds: 2 } });
    served = await serve(home);
  });
  after(async () => {
    await removeTestContainers().catch(() => undefined);
    await stopServed(served);
    home?.cleanup();
  });

  it("streams an unhealthy container's alert to every subscriber and lists it; a mute is kept in alerts.json across a restart", async () => {
    const events: ServiceEvent[] = [];
    const subs = [home.client().events((e) => events.push(e)), home.client().events((e) => events.push(e))];
    try {
      const name = uniqueName('sick');
      const c = await createTestContainer({ name, image: OLLAMA_LIKE, healthcheck: { test: 'false', intervalMs: 1000, retries: 1 } });
      const raised = () => events.filter((e) => e.type === 'alert' && e.alert.containerName === name && e.alert.kind === 'unhealthy');
      await waitUntil('the unhealthy alert on both streams', () => raised().length === 2, 60_000, 100);
      assert.ok(raised().every((e) => e.type === 'alert' && e.notify), 'the first alert of a container may be notified');
      const listed = await home.client().call<AlertsState>('alerts.list', {});
      assert.ok(listed.alerts.some((a) => a.containerId === c.id && a.kind === 'unhealthy' && !a.muted), JSON.stringify(listed));

      const muted = await home.client().call<AlertsState>('alerts.mute', { containerId: c.id });
      assert.ok(muted.alerts.find((a) => a.containerId === c.id)?.muted, 'the alert is listed as muted');
      await waitUntil('the alerts event with the mute', () => events.some((e) => e.type === 'alerts' && e.mutes.some((m) => m.id === c.id)), 10_000, 50);
      const file = JSON.parse(fs.readFileSync(path.join(home.paths.dataDir, 'alerts.json'), 'utf8')) as { mutes: { id: string }[] };
      assert.deepEqual(file.mutes.map((m) => m.id), [c.id]);
      assert.equal(fs.statSync(path.join(home.paths.dataDir, 'alerts.json')).mode & 0o777, 0o600);
    } finally {
      subs.forEach((s) => s.dispose());
    }
    await stopServed(served);
    served = await serve(home);
    assert.deepEqual((await home.client().call<AlertsState>('alerts.list', {})).mutes.length, 1, 'the mute survived the restart');
    assert.deepEqual((await home.client().call<AlertsState>('alerts.unmute', { all: true })).mutes, []);
    await removeTestContainers();
    await waitUntil('the alert cleared with its container', async () => (await home.client().call<AlertsState>('alerts.list', {})).alerts.length === 0, 30_000, 100);
  });

  it('refuses a bad mute, and reads a damaged alerts.json as nothing muted', async () => {
    await assert.rejects(home.client().call('alerts.mute', { containerId: '' }), /containerId/);
    await assert.rejects(home.client().call('alerts.unmute', { all: false }), /invalid|all/i);
    await stopServed(served);
    fs.writeFileSync(path.join(home.paths.dataDir, 'alerts.json'), '{"mutes": [tru');
    served = await serve(home);
    assert.deepEqual((await home.client().call<AlertsState>('alerts.list', {})).mutes, []);
    assert.match(fs.readFileSync(home.paths.logFile, 'utf8'), /alerts\.json could not be read/);
  });

  describe('a window attaching its runtimes', () => {
    let rt: RuntimeProcess;
    before(async () => {
      const dir = path.join(home.dir, 'models');
      fs.mkdirSync(dir, { recursive: true });
      writeTinyGguf(path.join(dir, 'chat__1b.gguf'), { name: 'chat', contextLength: 256, seed: 3 });
      rt = await startRuntimeProcess({ modelsDir: dir });
    });
    after(async () => {
      await rt?.stop();
    });

    it("lists a window's endpoint while its event stream is open, and drops it when the stream ends", async () => {
      const listed = async () => (await home.client().call<Listed>('models.list', {})).runtimes.map((r) => r.name);
      assert.ok(!(await listed()).includes('window-ollama'));
      const stream = home.client().events(() => undefined, undefined, 'window-1');
      const answer = await home.client().call<Attached>('service.attach', {
        client: 'window-1',
        engine: 'tcp://127.0.0.1:1',
        endpoints: [{ url: rt.base, kind: 'ollama', name: 'window-ollama' }, { url: 'not a url' }],
      });
      assert.equal(answer.sameEngine, false, 'another engine than the service\'s');
      assert.equal(answer.problems.length, 1, JSON.stringify(answer.problems));
      await waitUntil('the attached endpoint listed', async () => (await listed()).includes('window-ollama'), 30_000, 100);
      // The same engine as the service's: the window leaves the watching to it.
      assert.equal((await home.client().call<Attached>('service.attach', { client: 'window-1', engine: answer.engine!, endpoints: [{ url: rt.base, kind: 'ollama', name: 'window-ollama' }] })).sameEngine, true);
      stream.dispose();
      await waitUntil('the endpoint gone with the window', async () => !(await listed()).includes('window-ollama'), 30_000, 100);
    });

    it("probes an attached runtime: when it stops answering, subscribers get a probe-failed alert", async () => {
      const events: ServiceEvent[] = [];
      const stream = home.client().events((e) => events.push(e), undefined, 'window-2');
      try {
        await home.client().call('service.attach', { client: 'window-2', endpoints: [{ url: rt.base, kind: 'ollama', name: 'probed-ollama' }] });
        await waitUntil('the attached endpoint listed', async () => (await home.client().call<Listed>('models.list', {})).runtimes.some((r) => r.name === 'probed-ollama'), 30_000, 100);
        await rt.stop();
        await waitUntil('the probe-failed alert', () => events.some((e) => e.type === 'alert' && e.alert.kind === 'probe-failed' && e.alert.containerName === 'probed-ollama'), 60_000, 100);
      } finally {
        stream.dispose();
      }
    });
  });

  it("uses a runtime's API key handed with runtimes.setApiKey (kept 0600, never answered back); null removes it", async () => {
    const key = `sk-svc-${randomBytes(6).toString('hex')}`;
    const dir = path.join(home.dir, 'keyed');
    fs.mkdirSync(dir, { recursive: true });
    writeTinyGguf(path.join(dir, 'tiny__q8.gguf'), { name: 'tiny', contextLength: 128, seed: 9 });
    const keyed = await startRuntimeProcess({ modelsDir: dir, env: { API_KEY: key } });
    const stream = home.client().events(() => undefined, undefined, 'window-3');
    try {
      await home.client().call('service.attach', { client: 'window-3', endpoints: [{ url: keyed.base, kind: 'llamacpp', name: 'keyed' }] });
      const runtimeId = await waitUntil('the keyed runtime listed', async () => (await home.client().call<Listed>('models.list', {})).runtimes.find((r) => r.name === 'keyed')?.id, 30_000, 100);
      const prompt = () => home.client().call<{ text: string }>('models.tryPrompt', { runtimeId, name: 'tiny:q8', prompt: 'hi', maxTokens: 2 });
      await assert.rejects(prompt(), /needs an API key and none is set/);
      const stored = await home.client().call<Record<string, unknown>>('runtimes.setApiKey', { endpointId: runtimeId, key });
      assert.deepEqual(stored, { stored: true }, 'the answer does not carry the key');
      assert.equal(typeof (await prompt()).text, 'string');
      const secrets = path.join(home.paths.dataDir, 'secrets.json');
      assert.equal(fs.statSync(secrets).mode & 0o777, 0o600);
      assert.equal((JSON.parse(fs.readFileSync(secrets, 'utf8')) as Record<string, string>)[`llmStack.apiKey.${runtimeId}`], key);
      assert.ok(!fs.readFileSync(home.paths.logFile, 'utf8').includes(key), 'the key is not in the service log');
      assert.deepEqual(await home.client().call('runtimes.setApiKey', { endpointId: runtimeId, key: null }), { stored: false });
      await assert.rejects(prompt(), /needs an API key/);
      await assert.rejects(home.client().call('runtimes.setApiKey', { endpointId: runtimeId }), /key/);
    } finally {
      stream.dispose();
      await keyed.stop();
    }
  });
});
