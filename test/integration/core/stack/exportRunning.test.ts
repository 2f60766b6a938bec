// Exporting containers that exist on the real engine as a stack file: what differs from the image
// is kept (env, command, healthcheck, ports with their address, volumes, labels), the rest is not.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parse } from 'yaml';
import { LABEL_RUNTIME } from '../../../../src/core/docker/containers';
import { exportRunningStack, formatNs } from '../../../../src/core/stack/exportRunning';
import { LABEL_CONFIG_HASH, LABEL_SERVICE, LABEL_STACK, stackFileSchema, type StackFile } from '../../../../src/core/stack/schema';
import { BUSYBOX, engine, OLLAMA_LIKE, TEST_LABEL, TestContainers, uniqueName } from '../../../support/engine';
import { freePort } from '../../../support/net';

describe('export running containers as a stack file (integration)', function () {
  this.timeout(60_000);
  const docker = engine();
  const own = new TestContainers(docker);
  const stack = uniqueName('exp').toLowerCase().replace(/[^a-z0-9-]/g, '-');
  const volume = `${stack}_models`;
  let dir: string;
  let hostPort: number;
  let llmId: string;
  let loneId: string;

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'llmstack-export-'));
    hostPort = await freePort();
    await docker.createVolume({ Name: volume, Labels: { [TEST_LABEL]: 'true', [LABEL_STACK]: stack } });
    const llm = await docker.createContainer({
      name: `${stack}-llm`,
      Image: OLLAMA_LIKE,
      Cmd: ['sh', '-c', 'trap "exit 0" TERM; while true; do sleep 1; done'],
      Env: ['OLLAMA_KEEP_ALIVE=5m', 'PATH=/bin', 'EMPTY=', 'HF_TOKEN=hf_secretValue123'],
      Labels: { [TEST_LABEL]: 'true', [LABEL_STACK]: stack, [LABEL_SERVICE]: 'llm', [LABEL_CONFIG_HASH]: 'abc', team: 'ml' },
      ExposedPorts: { '11434/tcp': {}, '9000/tcp': {} },
      StopTimeout: 1,
      Healthcheck: { Test: ['CMD-SHELL', 'test -d /root/.ollama'], Interval: 1.5e9, Timeout: 2e9, Retries: 3, StartPeriod: 90e9 },
      HostConfig: {
        PortBindings: { '11434/tcp': [{ HostIp: '127.0.0.1', HostPort: String(hostPort) }], '9000/tcp': [{ HostIp: '127.0.0.1', HostPort: '' }] },
        RestartPolicy: { Name: 'unless-stopped' },
        Mounts: [
          { Type: 'volume', Source: volume, Target: '/root/.ollama' },
          { Type: 'bind', Source: dir, Target: '/data', ReadOnly: true },
        ],
      },
    });
    own.add(llm.id);
    await llm.start();
    llmId = llm.id;
    // A UI, created but not started, wired to the runtime by its service name.
    const webui = await docker.createContainer({
      name: `${stack}-webui`,
      Image: BUSYBOX,
      Cmd: ['sleep', '3600'],
      Env: ['OLLAMA_BASE_URL=http://llm:11434', 'WEBUI_NAME=Team', 'WEBUI_SECRET_KEY=webuiSecret456', 'WEBUI_AUTH=False'],
      Labels: { [TEST_LABEL]: 'true', [LABEL_STACK]: stack, [LABEL_SERVICE]: 'webui', [LABEL_RUNTIME]: 'openwebui' },
      ExposedPorts: { '8080/tcp': {} },
      HostConfig: { PortBindings: { '8080/tcp': [{ HostIp: '', HostPort: '13000' }] }, RestartPolicy: { Name: 'no' } },
    });
    own.add(webui.id);
    // A container of no stack, as the extension's discovery would hand one over.
    const lone = await docker.createContainer({
      name: uniqueName('Lone_Box'),
      Image: BUSYBOX,
      Labels: { [TEST_LABEL]: 'true' },
      HostConfig: { RestartPolicy: { Name: 'on-failure', MaximumRetryCount: 3 } },
    });
    own.add(lone.id);
    loneId = lone.id;
  });

  after(async () => {
    await own.removeAll();
    await docker.getVolume(volume).remove().catch(() => undefined);
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('formats nanoseconds as stack durations', () => {
    assert.equal(formatNs(10e9), '10s');
    assert.equal(formatNs(90e9), '1m30s');
    assert.equal(formatNs(0.5e9), '500ms');
    assert.equal(formatNs(3_723.25e9), '1h2m3s250ms');
  });

  it('exports a labelled stack with only what differs from the images', async () => {
    const r = await exportRunningStack(docker, { stack });
    const expected: StackFile = {
      version: 1,
      name: stack,
      runtimes: {
        llm: {
          kind: 'ollama',
          image: OLLAMA_LIKE,
          ports: [{ container: 9000, host: 0, hostIp: '127.0.0.1' }, `${hostPort}:11434`],
          volumes: [`${dir}:/data:ro`, 'models:/root/.ollama'],
          // Secret values are left out, the names kept (empty) for the user to fill in.
          env: { OLLAMA_KEEP_ALIVE: '5m', EMPTY: '', HF_TOKEN: '' },
          command: ['sh', '-c', 'trap "exit 0" TERM; while true; do sleep 1; done'],
          healthcheck: { test: 'test -d /root/.ollama', interval: '1s500ms', timeout: '2s', retries: 3, startPeriod: '1m30s' },
          labels: { team: 'ml' },
          gpu: 'none',
        },
      },
      uis: {
        webui: {
          kind: 'openwebui',
          image: BUSYBOX,
          ports: ['0.0.0.0:13000:8080'],
          env: { WEBUI_NAME: 'Team', WEBUI_SECRET_KEY: '', WEBUI_AUTH: 'False' },
          command: ['sleep', '3600'],
          restart: 'no',
          state: 'stopped',
          runtime: 'llm',
        },
      },
    };
    assert.deepEqual(r.file, expected);
    assert.deepEqual(r.warnings, [
      'llm: the value of HF_TOKEN was left out (secret); fill it in before applying the file.',
      'webui: the value of WEBUI_SECRET_KEY was left out (secret); fill it in before applying the file.',
    ]);
    assert.match(r.text, new RegExp(`^# Exported by LLM Local Stack from the containers ${stack}-llm, ${stack}-webui\\.`));
    assert.ok(!r.text.includes('hf_secretValue123') && !r.text.includes('webuiSecret456'), 'no secret value in the text');
    assert.match(r.text, /# Secret values were left out \(llm: HF_TOKEN, webui: WEBUI_SECRET_KEY\): fill them in before applying\./);
    assert.match(r.text, /\n {6}# value left out: HF_TOKEN looks like a secret; fill it in before applying\n {6}HF_TOKEN: ""\n/);
    assert.match(r.text, /\n {6}# value left out: WEBUI_SECRET_KEY looks like a secret; fill it in before applying\n {6}WEBUI_SECRET_KEY: ""\n/);
    const back = stackFileSchema.parse(parse(r.text));
    assert.deepEqual(back, expected);
  });

  it('exports given containers of no stack, under a name, with what it could not place', async () => {
    const r = await exportRunningStack(docker, { containerIds: [loneId, llmId], name: 'Picked Stack' });
    assert.equal(r.file.name, 'picked-stack');
    const lone = Object.entries(r.file.uis ?? {});
    assert.equal(lone.length, 1);
    const [svc, spec] = lone[0];
    assert.match(svc, /^lone_box-/);
    assert.deepEqual(spec, { kind: 'other', image: BUSYBOX, restart: 'on-failure', state: 'stopped' });
    assert.ok(r.warnings.some((w) => w.startsWith(`${svc}: ${BUSYBOX} is not a known runtime or UI`)));
    // The runtime's volume is not named after this stack: kept, with a warning.
    assert.deepEqual(r.file.runtimes?.llm.volumes, [`${dir}:/data:ro`, `${volume}:/root/.ollama`]);
    assert.ok(r.warnings.some((w) => w.includes(`volume "${volume}" is not one of the stack's`)));
    stackFileSchema.parse(parse(r.text));
  });

  it('says what to do when a stack has no containers', async () => {
    await assert.rejects(exportRunningStack(docker, { stack: 'no-such-stack-here' }), /No container carries the label io\.llmstack\.stack=no-such-stack-here/);
    await assert.rejects(exportRunningStack(docker, {}), /Nothing to export/);
  });
});
