// Swarm deploy, update and removal on the real engine. The engine is put into a single-node swarm
// only when it is not in one, and taken out again afterwards: the engine ends as it was found.
import * as assert from 'node:assert/strict';
import * as os from 'node:os';
import { LABEL_SERVICE, LABEL_STACK, type StackFile } from '../../../../src/core/stack/schema';
import { deploySwarm, listSwarmStack, NOT_IN_SWARM, removeSwarm, SwarmError, swarmServiceSpecs, swarmStatus } from '../../../../src/core/stack/swarm';
import { BUSYBOX, engine, hasGwbridge, removeGwbridge, TEST_LABEL, uniqueName, waitUntil } from '../../../support/engine';

/* eslint-disable @typescript-eslint/no-explicit-any */
// The specs the deploy sends, for what the engine test below does not exercise (published ports
// bind every interface, GPUs need a GPU node). No engine is needed for these.
describe('Swarm service specs (integration)', () => {
  const gpuFile: StackFile = {
    name: 'g',
    runtimes: {
      llm: { kind: 'ollama', image: 'ollama/ollama:1', ports: ['11434', '0.0.0.0:8080:80/udp', { container: 9000, host: 0 }], gpu: 'auto', params: { parallel: 3 }, restart: 'no', state: 'stopped' },
      cpp: { kind: 'llamacpp', image: 'x:1', gpu: { devices: ['GPU-a', 'GPU-b'] }, params: { threads: 2 }, volumes: ['./models:/models:ro', '~/cache:/cache'] },
    },
    uis: { web: { kind: 'openwebui', image: 'w:1', runtime: 'cpp', restart: 'always' } },
  };

  it('publishes ports only when asked, on every interface, and says so', () => {
    const warnings: string[] = [];
    const [llm] = swarmServiceSpecs(gpuFile, { publishPorts: true, stackDir: '/s' }, warnings);
    assert.deepEqual(llm.EndpointSpec, {
      Mode: 'vip',
      Ports: [
        { Protocol: 'tcp', TargetPort: 11434, PublishedPort: 11434, PublishMode: 'ingress' },
        { Protocol: 'udp', TargetPort: 80, PublishedPort: 8080, PublishMode: 'ingress' },
        { Protocol: 'tcp', TargetPort: 9000, PublishMode: 'ingress' },
      ],
    });
    assert.ok(warnings.some((w) => /llm: ports 11434, 8080, 9000 are published on every interface/.test(w)));
    const quiet: string[] = [];
    assert.deepEqual(swarmServiceSpecs(gpuFile, { stackDir: '/s' }, quiet)[0].EndpointSpec, { Mode: 'vip' });
    assert.ok(quiet.some((w) => /llm: ports not published/.test(w)));
  });

  it('maps GPUs to NVIDIA_VISIBLE_DEVICES with a warning, params, restart, replicas, binds and wiring', () => {
    const warnings: string[] = [];
    const [llm, cpp, web] = swarmServiceSpecs(gpuFile, { stackDir: '/s' }, warnings);
    const cs = (x: any) => x.TaskTemplate.ContainerSpec;
    assert.deepEqual(cs(llm).Env, ['OLLAMA_NUM_PARALLEL=3', 'NVIDIA_VISIBLE_DEVICES=all']);
    assert.deepEqual(cs(cpp).Env, ['NVIDIA_VISIBLE_DEVICES=GPU-a,GPU-b']);
    assert.ok(warnings.some((w) => /llm: Swarm does not reserve GPUs here/.test(w)));
    assert.deepEqual(cs(cpp).Args, ['--threads', '2']);
    assert.equal((llm.TaskTemplate as any).RestartPolicy.Condition, 'none');
    assert.equal((web.TaskTemplate as any).RestartPolicy.Condition, 'any');
    assert.deepEqual(llm.Mode, { Replicated: { Replicas: 0 } }, 'state: stopped');
    assert.deepEqual(cs(cpp).Mounts, [
      { Type: 'bind', Source: '/s/models', Target: '/models', ReadOnly: true },
      { Type: 'bind', Source: `${os.homedir()}/cache`, Target: '/cache', ReadOnly: false },
    ]);
    assert.deepEqual(cs(web).Env, ['OPENAI_API_BASE_URL=http://cpp:8080/v1']);
    assert.equal(web.Name, 'g_web');
    assert.deepEqual(cs(web).Labels, { [LABEL_STACK]: 'g', [LABEL_SERVICE]: 'web' });
  });
});

describe('stack on Docker Swarm (integration)', function () {
  this.timeout(120_000);
  const docker = engine();
  const stack = uniqueName('swm').toLowerCase().replace(/[^a-z0-9-]/g, '-');
  const network = `${stack}_default`;
  let initialisedHere = false;
  let gwbridgeBefore = true;
  let inactiveError: unknown;

  const file = (appEnv: Record<string, string> = {}): StackFile => ({
    name: stack,
    runtimes: {
      srv: {
        kind: 'other',
        port: 8080,
        image: BUSYBOX,
        // httpd as PID 1 ignores SIGTERM; the shell ends on it, so tasks stop at once.
        command: ['sh', '-c', 'trap "exit 0" TERM; httpd -f -p 8080 -h /etc & wait'],
        ports: ['18080:8080'],
        volumes: ['store:/store'],
        healthcheck: { test: 'wget -q -O /dev/null http://127.0.0.1:8080/passwd', interval: '1s', timeout: '2s', retries: 20 },
        labels: { [TEST_LABEL]: 'true' },
      },
    },
    uis: {
      app: {
        image: BUSYBOX,
        command: ['sh', '-c', 'trap "exit 0" TERM; while true; do sleep 1; done'],
        env: appEnv,
        dependsOn: ['srv'],
        restart: 'on-failure',
        labels: { [TEST_LABEL]: 'true' },
      },
    },
  });

  const stackServices = async () => docker.listServices({ filters: { label: [`${LABEL_STACK}=${stack}`] } });
  const networkExists = async () => (await docker.listNetworks({ filters: { name: [network] } })).some((n) => n.Name === network);

  before(async () => {
    const state = await swarmStatus(docker);
    if (state === 'inactive') {
      // Only possible before the swarm exists: the refusal on an engine outside any swarm.
      inactiveError = await deploySwarm(docker, file()).catch((e: unknown) => e);
      gwbridgeBefore = await hasGwbridge(docker);
      await docker.swarmInit({ ListenAddr: '127.0.0.1:2377', AdvertiseAddr: '127.0.0.1' });
      initialisedHere = true;
    } else if (state !== 'active') {
      throw new Error(`The engine's swarm is "${state}"; this test needs an inactive or active one.`);
    }
  });

  after(async () => {
    try {
      await removeSwarm(docker, stack).catch(() => undefined);
      for (const s of await stackServices().catch(() => [])) await docker.getService(s.ID).remove().catch(() => undefined);
    } finally {
      if (initialisedHere) {
        await docker.swarmLeave({ force: true }).catch(() => undefined);
        await waitUntil('the engine to leave the swarm', async () => (await swarmStatus(docker)) === 'inactive', 30_000, 200).catch(() => undefined);
        if (!gwbridgeBefore) await removeGwbridge(docker);
      }
      // The volume is free once the last task container is gone, which trails the service removal.
      await waitUntil(
        'the stack volume to be removed',
        () =>
          docker
            .getVolume(`${stack}_store`)
            .remove()
            .then(() => true)
            .catch((e: any) => e?.statusCode === 404),
        30_000,
        250,
      ).catch((e: unknown) => console.error(String(e)));
    }
  });

  it('refuses an engine outside a swarm with what to do', function () {
    if (!initialisedHere) this.skip(); // the engine was already in a swarm: nothing to refuse
    assert.ok(inactiveError instanceof SwarmError, String(inactiveError));
    assert.equal(inactiveError.message, NOT_IN_SWARM);
    assert.match(NOT_IN_SWARM, /docker swarm init/);
  });

  it('reports the swarm as active', async () => {
    assert.equal(await swarmStatus(docker), 'active');
  });

  it('refuses a missing image, or a relative bind without the stack folder, before creating anything', async () => {
    const missing = file();
    missing.uis!.app.image = 'llmstack-test/absent:0';
    await assert.rejects(deploySwarm(docker, missing), (e: unknown) => {
      assert.ok(e instanceof SwarmError);
      assert.match(e.message, /The image "llmstack-test\/absent:0" is not on this engine: pull or build it first\. Nothing was deployed\./);
      return true;
    });
    const relative = file();
    relative.runtimes!.srv.volumes = ['./data:/data'];
    await assert.rejects(deploySwarm(docker, relative), /the bind mount "\.\/data" is relative/);
    assert.equal((await stackServices()).length, 0);
    assert.equal(await networkExists(), false);
  });

  let firstIds: Map<string, { id: string; version: number }>;

  it('deploys both services with labels on an attachable overlay network; tasks reach running', async () => {
    const r = await deploySwarm(docker, file());
    assert.deepEqual(r.services, [`${stack}_srv`, `${stack}_app`]);
    assert.deepEqual(r.created, r.services);
    assert.deepEqual(r.updated, []);
    assert.equal(r.network, network);
    assert.ok(r.warnings.some((w) => /srv: ports not published \(Swarm cannot bind 127\.0\.0\.1/.test(w)));
    assert.ok(r.warnings.some((w) => /app: Swarm has no start order/.test(w)));

    const net = (await docker.listNetworks({ filters: { name: [network] } })).find((n) => n.Name === network) as any;
    assert.equal(net.Driver, 'overlay');
    assert.equal(net.Attachable, true);
    assert.equal(net.Labels[LABEL_STACK], stack);

    const listed = await waitUntil(
      'both tasks to run',
      async () => {
        const l = await listSwarmStack(docker, stack);
        return l.length === 2 && l.every((s) => s.running === 1) && l;
      },
      90_000,
      250,
    );
    assert.deepEqual(
      listed.map((s) => [s.name, s.service, s.image, s.replicas]),
      [
        [`${stack}_app`, 'app', BUSYBOX, 1],
        [`${stack}_srv`, 'srv', BUSYBOX, 1],
      ],
    );
    for (const s of listed) assert.equal(s.labels[LABEL_STACK], stack);
    firstIds = new Map(listed.map((s) => [s.service, { id: s.id, version: s.version }]));

    const inspected = (await docker.getService(`${stack}_srv`).inspect()) as any;
    const cs = inspected.Spec.TaskTemplate.ContainerSpec;
    assert.deepEqual(cs.Args, ['sh', '-c', 'trap "exit 0" TERM; httpd -f -p 8080 -h /etc & wait']);
    assert.equal(cs.Labels[LABEL_SERVICE], 'srv');
    assert.deepEqual(cs.Mounts[0], { Type: 'volume', Source: `${stack}_store`, Target: '/store', VolumeOptions: { Labels: { [LABEL_STACK]: stack }, DriverConfig: { Name: 'local' } } });
    assert.deepEqual(cs.Healthcheck.Test, ['CMD-SHELL', 'wget -q -O /dev/null http://127.0.0.1:8080/passwd']);
    assert.equal(cs.Healthcheck.Interval, 1e9);
    assert.equal(cs.Healthcheck.Timeout, 2e9);
    assert.equal(cs.Healthcheck.Retries, 20);
    assert.equal(inspected.Spec.TaskTemplate.RestartPolicy.Condition, 'any');
    assert.equal(inspected.Spec.EndpointSpec.Ports, undefined, 'not published by default');
    assert.deepEqual(inspected.Spec.TaskTemplate.Networks[0].Aliases, ['srv']);
    const app = (await docker.getService(`${stack}_app`).inspect()) as any;
    assert.equal(app.Spec.TaskTemplate.RestartPolicy.Condition, 'on-failure');

    // The task containers carry the labels too, and srv's healthcheck passes.
    const containers = await docker.listContainers({ filters: { label: [`${LABEL_STACK}=${stack}`] } });
    assert.deepEqual(containers.map((c) => c.Labels[LABEL_SERVICE]).sort(), ['app', 'srv']);
    await waitUntil('srv to be healthy', async () => {
      const c = (await docker.listContainers({ filters: { label: [`${LABEL_SERVICE}=srv`, `${LABEL_STACK}=${stack}`] } }))[0];
      return c && /\(healthy\)/.test(c.Status);
    }, 30_000, 250);
  });

  it('deploys again as an update of the same services, not new ones', async () => {
    const r = await deploySwarm(docker, file({ GREETING: 'hello' }));
    assert.deepEqual(r.created, []);
    assert.deepEqual(r.updated, [`${stack}_srv`, `${stack}_app`]);
    assert.equal((await stackServices()).length, 2);
    const listed = await listSwarmStack(docker, stack);
    assert.deepEqual(listed.map((s) => s.id).sort(), [...firstIds.values()].map((s) => s.id).sort());
    const app = listed.find((s) => s.service === 'app')!;
    assert.ok(app.version > firstIds.get('app')!.version, 'the version grew');
    const spec = ((await docker.getService(app.id).inspect()) as any).Spec;
    assert.ok(spec.TaskTemplate.ContainerSpec.Env.includes('GREETING=hello'));
    await waitUntil(
      'the updated app task to run',
      async () => {
        const c = (await docker.listContainers({ filters: { label: [`${LABEL_SERVICE}=app`, `${LABEL_STACK}=${stack}`] } }))[0];
        if (!c) return false;
        const info = await docker.getContainer(c.Id).inspect();
        return info.Config.Env.includes('GREETING=hello') && info.State.Running;
      },
      60_000,
      250,
    );
  });

  it('removes the services and the network, and their containers go', async () => {
    const r = await removeSwarm(docker, stack);
    assert.deepEqual(r.removed.sort(), [`${stack}_app`, `${stack}_srv`]);
    assert.equal(r.networkRemoved, true);
    assert.equal((await stackServices()).length, 0);
    // The manager drops the network at once; this node's copy goes when its agent catches up.
    await waitUntil('the network to go', async () => !(await networkExists()), 30_000, 250);
    await waitUntil('the task containers to go', async () => (await docker.listContainers({ all: true, filters: { label: [`${LABEL_STACK}=${stack}`] } })).length === 0, 30_000, 250);
    assert.deepEqual(await listSwarmStack(docker, stack), []);
    assert.deepEqual(await removeSwarm(docker, stack), { removed: [], networkRemoved: false }, 'removing again is a no-op');
  });
});

