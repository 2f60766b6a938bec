// Exporting containers whose settings a stack file can only partly hold, from the real engine:
// udp/IPv6/any-port bindings, GPU requests, mounts it cannot write (tmpfs, anonymous volumes, a ":"
// in the target), an entrypoint, an image that is gone, names taken twice, and UIs wired by URL.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type Docker from 'dockerode';
import { parse } from 'yaml';
import { LABEL_RUNTIME } from '../../../../src/core/docker/containers';
import { exportRunningStack } from '../../../../src/core/stack/exportRunning';
import { LABEL_SERVICE, LABEL_STACK, stackFileSchema } from '../../../../src/core/stack/schema';
import { BUSYBOX, engine, OLLAMA_LIKE, TEST_LABEL, uniqueName } from '../../../support/engine';

const SLEEP = ['sh', '-c', 'trap "exit 0" TERM; while true; do sleep 1; done'];

describe('export running containers: what a stack file cannot hold as it is (integration)', function () {
  this.timeout(60_000);
  const docker = engine();
  const run = uniqueName('expx').toLowerCase().replace(/[^a-z0-9-]/g, '-');
  /** Images committed by this file (a VOLUME and a LABEL the busybox image lacks); removed in after(). */
  const images: string[] = [];
  const containers: Docker.Container[] = [];

  /** A container that is created, not started (the engine keeps every setting without running it). */
  async function create(o: Docker.ContainerCreateOptions): Promise<Docker.Container> {
    const c = await docker.createContainer({ Image: BUSYBOX, Cmd: SLEEP, ...o, Labels: { [TEST_LABEL]: 'true', ...(o.Labels ?? {}) } });
    containers.push(c);
    return c;
  }

  /** An image of busybox with VOLUME /vol and LABEL team=img, committed from a container. */
  async function commitImage(tag: string): Promise<string> {
    const src = await create({ name: `${run}-src-${tag}`, Cmd: ['true'] });
    const ref = `llmstack-test/exp-${run}:${tag}`;
    images.push(ref);
    await src.commit({ repo: `llmstack-test/exp-${run}`, tag, changes: ['VOLUME /vol', 'LABEL team=img'] });
    return ref;
  }

  after(async () => {
    // v: true also removes the anonymous volumes the containers made.
    for (const c of containers.splice(0)) await c.remove({ force: true, v: true }).catch(() => undefined);
    for (const ref of images.splice(0)) await docker.getImage(ref).remove({ force: true }).catch(() => undefined);
  });

  it('writes udp, IPv6 and any-port bindings, a CMD healthcheck and GPUs, and names what it leaves out', async () => {
    const image = await commitImage('edge');
    const c = await create({
      name: `${run}-edge`,
      Image: image,
      Env: ['NOVALUE', 'A=1'],
      Entrypoint: ['sh', '-c'],
      Cmd: ['sleep 1'],
      Labels: { team: 'img', own: 'x' },
      Healthcheck: { Test: ['CMD', 'true'] },
      ExposedPorts: { '8080/tcp': {}, '9053/udp': {}, '9070/udp': {}, '9999/sctp': {} },
      HostConfig: {
        PortBindings: {
          '8080/tcp': [{ HostIp: '::1', HostPort: '18080' }],
          '9053/udp': [{ HostIp: '', HostPort: '' }],
          '9070/udp': [{ HostIp: '127.0.0.1', HostPort: '19070' }],
          '9999/sctp': [{ HostIp: '', HostPort: '19999' }],
        },
        DeviceRequests: [{ Driver: 'nvidia', Count: -1, Capabilities: [['gpu']] }],
        Mounts: [
          { Type: 'tmpfs', Source: '', Target: '/scratch' },
          { Type: 'volume', Source: '', Target: '/anon' },
          { Type: 'bind', Source: '/tmp', Target: '/a:b' },
        ],
      },
    });
    // The image is recognised through the user's image patterns, as a vLLM runtime.
    const r = await exportRunningStack(docker, { containerIds: [c.id], imagePatterns: { [`llmstack-test/exp-${run}`]: 'vllm' } });
    assert.equal(r.file.name, 'local', 'no stack label and no name: "local"');
    assert.deepEqual(r.file.runtimes, {
      [`${run}-edge`]: {
        kind: 'vllm',
        image,
        ports: ['[::1]:18080:8080', { container: 9053, host: 0, hostIp: '0.0.0.0', protocol: 'udp' }, '19070:9070/udp'],
        env: { NOVALUE: '', A: '1' },
        command: ['sleep 1'],
        healthcheck: { test: ['CMD', 'true'] },
        restart: 'no',
        state: 'stopped',
        labels: { own: 'x' },
        // vLLM's own port (8000) is not published: the lowest published one is its API port.
        port: 8080,
        gpu: 'all',
      },
    });
    assert.equal(r.file.uis, undefined);
    const svc = `${run}-edge`;
    assert.deepEqual([...r.warnings].sort(), [
      `${svc}: its entrypoint (sh -c) differs from the image's; a stack file cannot set one, so it is left out.`,
      `${svc}: the anonymous volume at /anon is left out; name it in the file to keep its data.`,
      `${svc}: the mount at /a:b has a ":" in its path, which a stack file cannot write; left out.`,
      `${svc}: the tmpfs mount at /scratch is left out.`,
    ]);
    // The image's own anonymous volume (/vol) is not warned about: applying the file makes it again.
    assert.ok(!r.warnings.some((w) => w.includes('/vol')));
    assert.deepEqual(stackFileSchema.parse(parse(r.text)), r.file);
  });

  it('reads GPU device ids, a count, and a request without a count as "all"', async () => {
    const gpuContainer = (service: string, req: Docker.DeviceRequest) =>
      create({ name: `${run}-${service}`, Image: OLLAMA_LIKE, Labels: { [LABEL_SERVICE]: service }, HostConfig: { DeviceRequests: [req] } });
    const ids = await gpuContainer('g-ids', { Driver: 'nvidia', DeviceIDs: ['0', 'GPU-abc'], Capabilities: [['gpu']] });
    const count = await gpuContainer('g-count', { Driver: 'nvidia', Count: 2, Capabilities: [['gpu']] });
    const zero = await gpuContainer('g-zero', { Driver: '', Count: 0, Capabilities: [['gpu', 'utility']] });
    const other = await gpuContainer('g-other', { Driver: 'other-vendor', Count: 1, Capabilities: [['fpga']] });
    const r = await exportRunningStack(docker, { containerIds: [ids.id, count.id, zero.id, other.id], name: 'gpus' });
    const gpu = Object.fromEntries(Object.entries(r.file.runtimes ?? {}).map(([k, v]) => [k, v.gpu]));
    assert.deepEqual(gpu, { 'g-ids': { devices: ['0', 'GPU-abc'] }, 'g-count': { count: 2 }, 'g-zero': 'all', 'g-other': 'none' });
  });

  it('exports what the container has when its image is gone, and says so', async () => {
    const image = await commitImage('gone');
    const c = await create({ name: `${run}-orphan`, Image: image, Cmd: undefined, Labels: { [LABEL_RUNTIME]: 'other' } });
    await docker.getImage(image).remove({ force: true });
    const r = await exportRunningStack(docker, { containerIds: [c.id], name: 'orphans' });
    const svc = `${run}-orphan`;
    assert.deepEqual(r.warnings, [
      `${svc}: its image ${image} could not be inspected; everything the container has is exported, including what the image set.`,
      // Without the image, its VOLUME cannot be told from one the container added.
      `${svc}: the anonymous volume at /vol is left out; name it in the file to keep its data.`,
    ]);
    const rt = r.file.runtimes?.[svc];
    // The command and label came from the image: kept, since the image cannot say so any more.
    assert.deepEqual(rt?.command, ['true']);
    assert.deepEqual(rt?.labels, { team: 'img' });
    assert.equal(rt?.kind, 'other');
    assert.equal(rt?.port, undefined, 'no published port, no API port guessed');
  });

  it('names the stack after the common stack label, strips its prefix, and numbers a service name taken twice', async () => {
    const s = `${run}-lbl`;
    const web = await create({ name: `${s}-web`, Labels: { [LABEL_STACK]: s } });
    const a = await create({ name: `${run}-dup-a`, Labels: { [LABEL_STACK]: s, [LABEL_SERVICE]: 'dup' } });
    const b = await create({ name: `${run}-dup-b`, Labels: { [LABEL_STACK]: s, [LABEL_SERVICE]: 'dup' } });
    const r = await exportRunningStack(docker, { containerIds: [web.id, a.id, b.id] });
    assert.equal(r.file.name, s);
    assert.deepEqual(Object.keys(r.file.uis ?? {}).sort(), ['dup', 'dup-2', 'web']);
    assert.match(r.text, new RegExp(`^# Exported by LLM Local Stack from the containers ${run}-dup-a, ${run}-dup-b, ${s}-web\\.`));

    // Containers of two stacks, no name given: "local".
    const lone = await create({ name: `${run}-other-stack`, Labels: { [LABEL_STACK]: `${run}-x` } });
    assert.equal((await exportRunningStack(docker, { containerIds: [web.id, lone.id] })).file.name, 'local');
  });

  it('leaves out a bind whose source has a ":" and an empty shell healthcheck, and the file still passes its schema', async () => {
    const source = fs.mkdtempSync(path.join(os.tmpdir(), 'llmstack-a:b-'));
    try {
      const c = await create({
        name: `${run}-colon`,
        Healthcheck: { Test: ['CMD-SHELL', ''], Interval: 5e9 },
        HostConfig: { Mounts: [{ Type: 'bind', Source: source, Target: '/data', ReadOnly: true }] },
      });
      const r = await exportRunningStack(docker, { containerIds: [c.id], name: `${run}-colon` });
      const svc = Object.values(r.file.uis ?? {})[0] ?? Object.values(r.file.runtimes ?? {})[0];
      assert.ok(svc, r.text);
      assert.equal(svc.healthcheck, undefined, 'an empty shell healthcheck is not exported');
      assert.deepEqual(svc.volumes, undefined, 'the bind is left out');
      assert.ok(r.warnings.some((w) => /mount at \/data has a ":" in its path/.test(w)), r.warnings.join('\n'));
      stackFileSchema.parse(parse(r.text));
    } finally {
      fs.rmSync(source, { recursive: true, force: true });
    }
  });

  it('exports given containers even when the named stack has none, and each container once', async () => {
    const c = await create({ name: `${run}-once` });
    const r = await exportRunningStack(docker, { stack: `${run}-empty`, containerIds: [c.id, `${run}-once`, c.id.slice(0, 12)] });
    assert.equal(r.file.name, `${run}-empty`);
    assert.deepEqual(Object.keys(r.file.uis ?? {}), [`${run}-once`]);
  });

  it('wires a UI to a runtime its URL names by container name; leaves unknown hosts and non-URLs alone', async () => {
    const s = `${run}-wire`;
    await create({ name: `${s}-llm`, Image: OLLAMA_LIKE, Labels: { [LABEL_STACK]: s } });
    // Open WebUI: the URL is what `runtime:` writes, so it goes from the env (and the env with it).
    await create({ name: `${s}-webui`, Env: [`OLLAMA_BASE_URL=http://${s}-llm:11434`], Labels: { [LABEL_STACK]: s, [LABEL_RUNTIME]: 'openwebui' } });
    // An image no one knows is a UI of kind "other": it gets `runtime:` too, and keeps its env (its settings are its own).
    await create({ name: `${s}-chat`, Env: ['OPENAI_API_BASE_URL=http://llm:11434/v1'], Labels: { [LABEL_STACK]: s } });
    await create({ name: `${s}-lost`, Env: ['OLLAMA_BASE_URL=http://elsewhere:11434', 'OPENAI_API_BASE_URL=not a url'], Labels: { [LABEL_STACK]: s, [LABEL_RUNTIME]: 'openwebui' } });
    const r = await exportRunningStack(docker, { stack: s });
    assert.deepEqual(Object.keys(r.file.runtimes ?? {}), ['llm']);
    const uis = r.file.uis ?? {};
    assert.equal(uis.webui.runtime, 'llm');
    assert.equal(uis.webui.env, undefined);
    assert.equal(uis.lost.runtime, undefined);
    assert.deepEqual(uis.lost.env, { OLLAMA_BASE_URL: 'http://elsewhere:11434', OPENAI_API_BASE_URL: 'not a url' });
    assert.equal(uis.chat.kind, 'other');
    assert.equal(uis.chat.runtime, 'llm');
    assert.deepEqual(uis.chat.env, { OPENAI_API_BASE_URL: 'http://llm:11434/v1' });
    assert.deepEqual(r.warnings, [`chat: ${BUSYBOX} is not a known runtime or UI; exported as a UI of kind "other".`]);
  });
});
