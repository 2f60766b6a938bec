// The stack use cases' pure parts and the ones that need no engine: the plan document's text, what
// a confirmation names, a plan's fingerprint, an apply's summary; stack.read, stack.export,
// stack.templates and stack.new on real files in a temporary folder; inputs refused, and an engine
// that is not connected named as such.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { stackApply, stackDown, stackExport, stackList, stackNew, stackPlan, stackRead, stackTemplates, stackUseCases, StackFileError, swarmInit, type StackDeps } from '../../../src/app/stack';
import { applySummary, destructiveTargets, planDocumentText, planFingerprint, planWarnings } from '../../../src/app/stack/present';
import { call, InvalidInput } from '../../../src/app/useCase';
import type { PlanStep, StackPlan } from '../../../src/core/stack/plan';
import type { HardwareInfo } from '../../../src/core/stack/types';
import { prepareStack } from '../../../src/core/stack/workflow';

const HW: HardwareInfo = { cpuCores: 8, memoryBytes: 16 * 1024 ** 3, freeMemoryBytes: 8 * 1024 ** 3, gpus: [] };
const deps: StackDeps = { engine: { docker: undefined }, hardware: { get: async () => HW } };

const TEXT = ['name: demo', 'runtimes:', '  llm:', '    kind: llamacpp', '    image: ghcr.io/ggml-org/llama.cpp:server', '    params: { threads: auto }', 'uis:', '  web:', '    image: busybox:1', '    runtime: llm', ''].join('\n');

const step = (kind: PlanStep['kind'], service: string | undefined, target: string, reason = 'why'): PlanStep => ({ kind, service, target, reason, dependsOn: [] });

describe('stack use cases (unit)', () => {
  let dir: string;
  let file: string;
  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'llmstack-app-'));
    file = path.join(dir, 'llmstack.yaml');
    fs.writeFileSync(file, TEXT);
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  describe('what a plan and an apply say', () => {
    const plan: StackPlan = {
      stack: 'demo',
      steps: [step('unchanged', 'a', 'demo-a'), step('recreate', 'web', 'demo-web', 'env changed (X)'), step('remove', undefined, 'demo-old'), step('stop', 'b', 'demo-b'), step('create', 'c', 'demo-c')],
      changes: [step('recreate', 'web', 'demo-web', 'env changed (X)'), step('remove', undefined, 'demo-old'), step('stop', 'b', 'demo-b'), step('create', 'c', 'demo-c')],
      hostMounts: [
        { service: 'web', kind: 'bind', source: '/var/run/docker.sock', target: '/sock', readOnly: false, warning: 'the Docker socket' },
        { service: 'web', kind: 'bind', source: '/data', target: '/data', readOnly: true },
      ],
    };

    it('names what the destructive changes act on (the service, else the container) and the sensitive host paths', () => {
      assert.deepEqual(destructiveTargets(plan), ['web', 'demo-old', 'b']);
      const warnings = planWarnings(plan);
      assert.equal(warnings.length, 1);
      assert.match(warnings[0], /web/);
      assert.deepEqual(planWarnings({ ...plan, hostMounts: undefined }), []);
    });

    it('fingerprints the changes and host paths, not the unchanged steps', () => {
      const same = planFingerprint({ ...plan, steps: plan.changes });
      assert.equal(planFingerprint(plan), same);
      assert.match(same, /^[0-9a-f]{16}$/);
      assert.notEqual(planFingerprint({ ...plan, changes: plan.changes.slice(1) }), same);
      assert.notEqual(planFingerprint({ ...plan, changes: [{ ...plan.changes[0], reason: 'image changed' }, ...plan.changes.slice(1)] }), same);
      assert.notEqual(planFingerprint({ ...plan, hostMounts: plan.hostMounts!.slice(1) }), same);
      assert.notEqual(planFingerprint({ ...plan, stack: 'other' }), same);
    });

    it('sums an apply up by kind, in the order the steps finished', () => {
      const report = { done: [step('pull', undefined, 'img'), step('create', 'a', 'x'), step('create', 'b', 'y')], failures: [], notRun: [], cancelled: false, durationMs: 2345 };
      assert.equal(applySummary(report), '1 pull, 2 create in 2.3 s');
      assert.equal(applySummary({ ...report, done: [], durationMs: 40 }), 'nothing in 0.0 s');
    });

    it('writes the plan document: the header, the diff and the auto values', async () => {
      const p = await prepareStack(TEXT, file, HW);
      const text = planDocumentText(p, { stack: 'demo', steps: [], changes: [] });
      assert.equal(text, `# Plan for stack "demo" (${dir})\n#\nNo changes.\n\n# auto values on this machine:\n#   runtimes.llm.params.threads: ${p.resolved.explanations[0].text}\n`);
      const none = await prepareStack(TEXT.replace('threads: auto', 'threads: 2'), file, HW);
      assert.equal(planDocumentText(none, { stack: 'demo', steps: [], changes: [] }), `# Plan for stack "demo" (${dir})\n#\nNo changes.\n`);
    });
  });

  it('lists every use case once, under a dotted name', () => {
    const names = stackUseCases.map((u) => u.name);
    assert.equal(new Set(names).size, names.length);
    for (const n of ['stack.read', 'stack.plan', 'stack.apply', 'stack.down', 'stack.export', 'stack.exportRunning', 'stack.list', 'stack.new', 'stack.templates', 'swarm.status', 'swarm.init', 'swarm.deploy', 'swarm.remove']) {
      assert.ok(names.includes(n), n);
    }
    for (const u of stackUseCases) assert.match(u.name, /^(stack|swarm)\.[a-zA-Z]+$/);
  });

  it('stack.read: the name, folder and services, from the unsaved text when given, else from the disk', async () => {
    const r = await call(stackRead, deps, { file });
    assert.equal(r.name, 'demo');
    assert.equal(r.stackDir, dir);
    assert.deepEqual(r.services, [
      { service: 'llm', section: 'runtimes', image: 'ghcr.io/ggml-org/llama.cpp:server', containerName: 'demo-llm' },
      { service: 'web', section: 'uis', image: 'busybox:1', containerName: 'demo-web' },
    ]);
    assert.equal((await call(stackRead, deps, { file, text: TEXT.replace('name: demo', 'name: edited') })).name, 'edited');
    await assert.rejects(call(stackRead, deps, { file, text: 'name: Demo\n' }), (e: unknown) => e instanceof StackFileError && /^The stack file has 1 error:/.test(e.message));
    await assert.rejects(call(stackRead, deps, { file: path.join(dir, 'absent.yaml') }), /ENOENT/);
  });

  it('refuses a relative path, a bad target or stack name before running anything', async () => {
    await assert.rejects(call(stackRead, deps, { file: 'llmstack.yaml' }), (e: unknown) => e instanceof InvalidInput && /file: must be an absolute path/.test(e.message));
    await assert.rejects(call(stackExport, deps, { file, target: 'helm' as never }), InvalidInput);
    await assert.rejects(call(stackNew, deps, { template: 'tgi', name: 'Bad Name' }), /name: use 1–63 lower-case letters/);
  });

  it('says the engine is not connected, with what to do, for the use cases that need it', async () => {
    const long = /Error: The Docker Engine is not connected: start Docker, then run LLM Stack: Reconnect to Docker\.$/;
    await assert.rejects(call(stackPlan, deps, { file }), long);
    await assert.rejects(call(stackApply, deps, { file }), long);
    await assert.rejects(call(stackDown, deps, { file }), long);
    await assert.rejects(call(stackList, deps, {}), /Error: The Docker Engine is not connected\.$/);
    await assert.rejects(call(swarmInit, deps, {}), /Error: The Docker Engine is not connected\.$/);
  });

  describe('stack.export', () => {
    it('writes docker-compose.yaml next to the file, then asks before replacing it', async () => {
      const first = await call(stackExport, deps, { file, target: 'compose' });
      const real = path.join(fs.realpathSync(dir), 'docker-compose.yaml');
      assert.deepEqual({ ...first, warnings: [] }, { file: real, exists: false, written: true, warnings: [] });
      assert.match(fs.readFileSync(real, 'utf8'), /^services:/m);
      fs.writeFileSync(real, 'old\n');
      const again = await call(stackExport, deps, { file, target: 'compose' });
      assert.deepEqual(again, { file: real, exists: true, written: false, warnings: [] });
      assert.equal(fs.readFileSync(real, 'utf8'), 'old\n', 'nothing written without overwrite');
      const replaced = await call(stackExport, deps, { file, target: 'compose', overwrite: true });
      assert.equal(replaced.written, true);
      assert.equal(replaced.exists, true);
      assert.match(fs.readFileSync(real, 'utf8'), /^services:/m);
    });

    it('writes the Kubernetes manifests as <stack>.k8s.yaml, from the unsaved text', async () => {
      const r = await call(stackExport, deps, { file, text: TEXT.replace('name: demo', 'name: kube'), target: 'kubernetes' });
      assert.equal(path.basename(r.file), 'kube.k8s.yaml');
      assert.match(fs.readFileSync(r.file, 'utf8'), /kind: Deployment/);
    });

    it('refuses a link at the target before anything is written', async () => {
      const victim = path.join(dir, 'victim');
      fs.writeFileSync(victim, 'precious\n');
      const link = path.join(dir, 'linked.k8s.yaml');
      fs.symlinkSync(victim, link);
      await assert.rejects(call(stackExport, deps, { file, text: TEXT.replace('name: demo', 'name: linked'), target: 'kubernetes', overwrite: true }), /is a symbolic link/);
      assert.equal(fs.readFileSync(victim, 'utf8'), 'precious\n');
    });
  });

  describe('stack.templates and stack.new', () => {
    it('lists the templates and starts a file from one, with the stack name in it', async () => {
      const templates = await call(stackTemplates, deps, {});
      assert.ok(templates.length >= 3);
      assert.ok(templates.every((t) => t.fileName === 'llmstack.yaml' && t.label && t.description));
      const only = await call(stackNew, deps, { template: templates[0].id, name: 'fresh' });
      assert.equal(only.written, false);
      assert.equal(only.file, undefined);
      assert.match(only.text, /^name: fresh$/m);
    });

    it('writes the file when nothing is there, and replaces one only when told', async () => {
      const target = path.join(dir, 'new', 'llmstack.yaml');
      fs.mkdirSync(path.dirname(target));
      const first = await call(stackNew, deps, { template: 'tgi', name: 'one', file: target });
      assert.deepEqual({ ...first, text: '' }, { text: '', file: fs.realpathSync(target), exists: false, written: true });
      const second = await call(stackNew, deps, { template: 'tgi', name: 'two', file: target });
      assert.equal(second.written, false);
      assert.equal(second.exists, true);
      assert.match(fs.readFileSync(target, 'utf8'), /^name: one$/m);
      await call(stackNew, deps, { template: 'tgi', name: 'two', file: target, overwrite: true });
      assert.match(fs.readFileSync(target, 'utf8'), /^name: two$/m);
    });

    it('names the templates there are when asked for another', async () => {
      await assert.rejects(call(stackNew, deps, { template: 'nope', name: 'x' }), /^Error: No stack template "nope": one of .*tgi/);
    });
  });
});
