// The Compose export checked by the real docker-compose (Debian's 1.29.2): `config` accepts and
// normalises the file, and `up` runs a small stack on the real engine, waiting for health.
import * as assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parse } from 'yaml';
import { toCompose } from '../../../../src/core/stack/export/compose';
import type { StackFile } from '../../../../src/core/stack/schema';
import { BUSYBOX, engine, TEST_LABEL, uniqueName } from '../../../support/engine';

/* eslint-disable @typescript-eslint/no-explicit-any */
const COMPOSE = process.env.DOCKER_COMPOSE ?? 'docker-compose';

function compose(cwd: string, args: string[], timeout = 30_000): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(COMPOSE, args, { cwd, timeout, env: { ...process.env, DOCKER_HOST: 'unix:///var/run/docker.sock' } }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as NodeJS.ErrnoException).code === 'number' ? ((err as any).code as number) : -1) : 0;
      resolve({ code, stdout, stderr: stderr || (err && !stdout ? String(err) : '') });
    });
  });
}

const stack: StackFile = {
  name: 'demo',
  runtimes: {
    llm: {
      kind: 'ollama',
      image: 'ollama/ollama:0.5',
      ports: ['11434', '0.0.0.0:11435:11434', { container: 9000, host: 0 }],
      volumes: ['models:/root/.ollama', './data:/data:ro', './config/app.yaml:/etc/app.yaml'],
      gpu: 'none',
      params: { parallel: 2, contextSize: 'auto' },
      healthcheck: { test: 'wget -q -O- http://localhost:11434/api/version', interval: '5s', timeout: 3, retries: 5, startPeriod: '1m30s' },
      env: { OLLAMA_KEEP_ALIVE: 'no', YES: 'yes' },
      restart: 'always',
    },
  },
  uis: {
    web: { kind: 'openwebui', image: 'ghcr.io/open-webui/open-webui:main', ports: ['3000:8080'], runtime: 'llm', restart: 'no' },
  },
};

const gpuStack: StackFile = {
  name: 'gpus',
  runtimes: {
    a: { kind: 'ollama', image: 'ollama/ollama:0.5', gpu: 'auto' },
    b: { kind: 'vllm', image: 'vllm/vllm-openai:v0.6', gpu: { devices: ['0', 'GPU-1234'] }, params: { contextSize: 'auto' } },
    c: { kind: 'llamacpp', image: 'ghcr.io/ggml-org/llama.cpp:server', gpu: { count: 2 }, params: { gpuLayers: 99 } },
  },
};

describe('stack export: Compose with the real docker-compose (integration)', function () {
  this.timeout(120_000);
  let dir: string;

  before(async function () {
    const v = await compose(os.tmpdir(), ['version', '--short']);
    if (v.code !== 0) throw new Error(`${COMPOSE} is not installed or does not run (${v.stderr.trim()}); run scripts/ensure-compose.sh`);
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'llmstack-compose-'));
  });
  after(() => {
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  const write = (name: string, text: string) => {
    fs.writeFileSync(path.join(dir, name), text);
    return name;
  };

  it('`config` accepts the export and keeps services, 127.0.0.1 ports, healthcheck and depends_on', async () => {
    fs.mkdirSync(path.join(dir, 'data'), { recursive: true });
    fs.mkdirSync(path.join(dir, 'config'), { recursive: true });
    fs.writeFileSync(path.join(dir, 'config', 'app.yaml'), 'a: 1\n');
    const f = write('docker-compose.yaml', toCompose(stack).text);
    const r = await compose(dir, ['-f', f, 'config']);
    assert.equal(r.code, 0, r.stderr);
    const cfg = parse(r.stdout, { version: '1.1' }) as any;
    assert.deepEqual(Object.keys(cfg.services).sort(), ['llm', 'web']);
    const llm = cfg.services.llm;
    assert.equal(llm.container_name, 'demo-llm');
    assert.deepEqual(llm.ports, ['127.0.0.1:11434:11434/tcp', '0.0.0.0:11435:11434/tcp', '127.0.0.1::9000/tcp']);
    assert.deepEqual(cfg.services.web.ports, ['127.0.0.1:3000:8080/tcp']);
    assert.deepEqual(llm.healthcheck, {
      test: ['CMD-SHELL', 'wget -q -O- http://localhost:11434/api/version'],
      interval: '5s',
      timeout: '3s',
      retries: 5,
      start_period: '90s',
    });
    assert.deepEqual(cfg.services.web.depends_on, { llm: { condition: 'service_healthy' } });
    assert.equal(cfg.services.web.environment.OLLAMA_BASE_URL, 'http://llm:11434');
    assert.equal(cfg.services.web.restart, 'no', 'quoted: YAML 1.1 would read a bare no as false');
    assert.equal(llm.environment.YES, 'yes');
    assert.equal(llm.environment.OLLAMA_NUM_PARALLEL, '2');
    assert.deepEqual(llm.volumes, ['models:/root/.ollama:rw', `${dir}/data:/data:ro`, `${dir}/config/app.yaml:/etc/app.yaml:rw`]);
    assert.equal(cfg.volumes.models.name, 'demo_models');
    assert.equal(llm.deploy, undefined);
  });

  it('`config` accepts GPU reservations: all, device ids and a count', async () => {
    const f = write('gpu-compose.yaml', toCompose(gpuStack).text);
    const r = await compose(dir, ['-f', f, 'config']);
    assert.equal(r.code, 0, r.stderr);
    const cfg = parse(r.stdout, { version: '1.1' }) as any;
    const devices = (s: string) => cfg.services[s].deploy.resources.reservations.devices;
    assert.deepEqual(devices('a'), [{ capabilities: ['gpu'], count: 'all', driver: 'nvidia' }]);
    assert.deepEqual(devices('b'), [{ capabilities: ['gpu'], device_ids: ['0', 'GPU-1234'], driver: 'nvidia' }]);
    assert.deepEqual(devices('c'), [{ capabilities: ['gpu'], count: 2, driver: 'nvidia' }]);
    assert.deepEqual(cfg.services.c.command, ['--n-gpu-layers', '99']);
  });

  it('`config` reads secret values from a .env file next to the export, and stops with the message without one', async () => {
    const secretStack: StackFile = { name: 'sec', runtimes: { vl: { kind: 'vllm', image: 'vllm/vllm-openai', env: { HF_TOKEN: 'hf_realSecret', MAX_TOKENS: 8 } } } };
    const sub = fs.mkdtempSync(path.join(dir, 'secrets-'));
    const text = toCompose(secretStack).text;
    assert.ok(!text.includes('hf_realSecret'));
    fs.writeFileSync(path.join(sub, 'docker-compose.yaml'), text);
    // The .env is read from the project folder, the compose file's.
    const unset = await compose(sub, ['-f', 'docker-compose.yaml', 'config']);
    assert.notEqual(unset.code, 0);
    assert.match(unset.stderr, /set HF_TOKEN in the environment or in a \.env file next to this file/);
    fs.writeFileSync(path.join(sub, '.env'), 'HF_TOKEN=hf_fromDotEnv\n');
    const r = await compose(sub, ['-f', 'docker-compose.yaml', 'config']);
    assert.equal(r.code, 0, r.stderr);
    const cfg = parse(r.stdout, { version: '1.1' }) as any;
    assert.deepEqual(cfg.services.vl.environment, { HF_TOKEN: 'hf_fromDotEnv', MAX_TOKENS: '8' });
  });

  it('`config` rejects what 1.29 does not know, so the checks above mean something', async () => {
    const f = write('bad-compose.yaml', 'services:\n  a:\n    image: x\n    ports:\n      - target: 80\n        host_ip: 127.0.0.1\n');
    const r = await compose(dir, ['-f', f, 'config']);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /host_ip/);
  });

  describe('`up` on the real engine', () => {
    const name = uniqueName('cmp').toLowerCase().replace(/[^a-z0-9-]/g, '-');
    const file: StackFile = {
      name,
      runtimes: {
        srv: {
          kind: 'other',
          port: 8080,
          image: BUSYBOX,
          command: ['httpd', '-f', '-p', '8080', '-h', '/etc'],
          ports: [{ container: 8080, host: 0 }],
          volumes: ['store:/store'],
          healthcheck: { test: 'wget -q -O /dev/null http://127.0.0.1:8080/passwd', interval: '1s', timeout: '2s', retries: 20 },
          labels: { [TEST_LABEL]: 'true' },
        },
      },
      uis: {
        app: { image: BUSYBOX, command: ['sh', '-c', 'trap "exit 0" TERM; while true; do sleep 1; done'], dependsOn: ['srv'], labels: { [TEST_LABEL]: 'true' }, restart: 'no' },
      },
    };

    after(async () => {
      await compose(dir, ['-p', name, '-f', 'up-compose.yaml', 'down', '-v', '-t', '1'], 60_000);
      const docker = engine();
      for (const c of await docker.listContainers({ all: true, filters: { label: [`com.docker.compose.project=${name}`] } })) await docker.getContainer(c.Id).remove({ force: true }).catch(() => undefined);
      for (const n of (await docker.listNetworks({ filters: { label: [`com.docker.compose.project=${name}`] } })) ?? []) await docker.getNetwork(n.Id).remove().catch(() => undefined);
      await docker.getVolume(`${name}_store`).remove().catch(() => undefined);
    });

    it('starts the dependent service once its dependency is healthy, ports on 127.0.0.1', async () => {
      write('up-compose.yaml', toCompose(file).text);
      const r = await compose(dir, ['-p', name, '-f', 'up-compose.yaml', 'up', '-d'], 90_000);
      assert.equal(r.code, 0, r.stderr);
      const docker = engine();
      const srv = await docker.getContainer(`${name}-srv`).inspect();
      const app = await docker.getContainer(`${name}-app`).inspect();
      assert.equal(srv.State.Health?.Status, 'healthy', 'app started only after srv was healthy');
      assert.equal(app.State.Running, true);
      assert.ok(Date.parse(app.State.StartedAt) >= Date.parse(srv.State.StartedAt));
      assert.equal(srv.HostConfig.PortBindings['8080/tcp'][0].HostIp, '127.0.0.1');
      assert.ok(srv.Mounts.some((m: any) => m.Type === 'volume' && m.Name === `${name}_store`));
      assert.equal(srv.Config.Labels['io.llmstack.stack'], name);
      assert.equal(srv.Config.Labels['io.llmstack.service'], 'srv');
    });
  });
});
