// The composite GitHub Action (action.yml), run here as the runner runs it: each step's `if`, its
// env with the inputs and the step outputs substituted, its `run` in bash with RUNNER_TEMP,
// GITHUB_PATH and GITHUB_OUTPUT, the PATH entries earlier steps added. The steps that use GitHub's
// own actions (cache, upload-artifact) cannot run without GitHub; their `with` is checked to name
// what the scripts produced. Against the real engine and the real test runtime image: the stack is
// applied, waited for, benchmarked; a runtime that never answers fails the job with the reason.
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parse, stringify } from 'yaml';
import { downStack } from '../../../src/core/stack/apply';
import { engine, OLLAMA_LIKE, TEST_LABEL, uniqueName } from '../../support/engine';
import { writeTinyGguf } from '../../support/gguf';
import { buildRuntimeImage, RUNTIME_IMAGE } from '../../support/runtime';
import { CLI, newHome, type Home } from '../service/support';

const ROOT = path.resolve(__dirname, '..', '..', '..', '..');

interface Step {
  name: string;
  id?: string;
  if?: string;
  uses?: string;
  with?: Record<string, string>;
  shell?: string;
  env?: Record<string, string>;
  run?: string;
}
interface Action {
  inputs: Record<string, { default?: string; description: string }>;
  outputs: Record<string, { value: string }>;
  runs: { using: string; steps: Step[] };
}

interface RunResult {
  code: number;
  log: string;
  outputs: Record<string, Record<string, string>>;
  used: { uses: string; with: Record<string, string | undefined> }[];
}

/** Runs action.yml's steps in order as the runner would, stopping at the first that fails. */
function runAction(home: Home, workspace: string, given: Record<string, string>): RunResult {
  const action = parse(fs.readFileSync(path.join(ROOT, 'action.yml'), 'utf8')) as Action;
  const inputs = Object.fromEntries(Object.entries(action.inputs).map(([k, v]) => [k, given[k] ?? v.default ?? '']));
  const temp = fs.mkdtempSync(path.join(os.tmpdir(), 'runner-temp-'));
  const githubPath = path.join(temp, 'github-path');
  fs.writeFileSync(githubPath, '');
  const outputs: Record<string, Record<string, string>> = {};
  const used: RunResult['used'] = [];
  let log = '';
  // The expressions this action uses; anything else stays unresolved (undefined).
  const value = (expr: string): string | undefined => {
    const e = expr.trim();
    if (e === 'github.action_path') return ROOT;
    if (e === 'runner.temp') return temp;
    let m = /^inputs\.([\w-]+)$/.exec(e);
    if (m) return inputs[m[1]];
    m = /^steps\.([\w-]+)\.outputs\.([\w-]+)$/.exec(e);
    if (m) return outputs[m[1]]?.[m[2]] ?? '';
    return undefined;
  };
  const resolve = (text: string) => (/^\$\{\{(.*)\}\}$/.test(text.trim()) ? value(/^\$\{\{(.*)\}\}$/.exec(text.trim())![1]) : text.replace(/\$\{\{(.*?)\}\}/g, (_, x: string) => value(x) ?? ''));
  const condition = (cond: string | undefined, failed: boolean): boolean => {
    if (cond === undefined) return !failed;
    return cond.split('&&').every((part) => {
      const p = part.trim();
      if (p === 'always()') return true;
      const m = /^inputs\.([\w-]+)\s*!=\s*''$/.exec(p);
      if (m) return inputs[m[1]] !== '';
      const o = /^steps\.([\w-]+)\.outputs\.([\w-]+)\s*!=\s*''$/.exec(p);
      assert.ok(o, `an if this test knows: ${p}`);
      return (outputs[o[1]]?.[o[2]] ?? '') !== '';
    }) && (cond.includes('always()') || !failed);
  };
  let failed = false;
  let code = 0;
  for (const step of action.runs.steps) {
    if (!condition(step.if, failed)) continue;
    if (step.uses) {
      used.push({ uses: step.uses, with: Object.fromEntries(Object.entries(step.with ?? {}).map(([k, v]) => [k, resolve(String(v))])) });
      continue;
    }
    assert.equal(step.shell, 'bash', `${step.name} runs in bash`);
    const outFile = path.join(temp, `output-${step.id ?? used.length}`);
    fs.writeFileSync(outFile, '');
    const added = fs.readFileSync(githubPath, 'utf8').split('\n').filter(Boolean);
    const env: NodeJS.ProcessEnv = { ...home.env, RUNNER_TEMP: temp, GITHUB_PATH: githubPath, GITHUB_OUTPUT: outFile, LLMSTACK_CLI: CLI, PATH: [...added.reverse(), process.env.PATH].join(path.delimiter) };
    for (const [k, v] of Object.entries(step.env ?? {})) env[k] = resolve(String(v)) ?? '';
    const r = spawnSync('bash', ['-c', step.run!], { cwd: workspace, env, encoding: 'utf8', timeout: 240_000 });
    log += `## ${step.name}\n${r.stdout}${r.stderr}`;
    if (step.id) outputs[step.id] = Object.fromEntries(fs.readFileSync(outFile, 'utf8').split('\n').filter(Boolean).map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
    if (r.status !== 0) {
      failed = true;
      code = r.status ?? 1;
    }
  }
  return { code, log, outputs, used };
}

describe('the GitHub Action, run as the runner runs it (integration)', function () {
  this.timeout(300_000);
  let home: Home;
  const stacks: string[] = [];

  before(() => {
    buildRuntimeImage();
    home = newHome();
  });
  after(async () => {
    for (const s of stacks) await downStack(engine(), s, { removeVolumes: true, stopTimeoutS: 1 }).catch(() => undefined);
    spawnSync(process.execPath, [CLI, 'service', 'stop'], { env: home.env });
    home?.cleanup();
  });

  it('is a composite action whose run steps are scripts in action/, and whose inputs and outputs are all used', () => {
    const text = fs.readFileSync(path.join(ROOT, 'action.yml'), 'utf8');
    const action = parse(text) as Action;
    assert.equal(action.runs.using, 'composite');
    for (const s of action.runs.steps) {
      if (s.uses) assert.match(s.uses, /^actions\/[\w/-]+@v\d+$/, `${s.name}: a GitHub action pinned to a major version`);
      else {
        const script = /action\/([\w-]+\.sh)/.exec(s.run ?? '')?.[1];
        assert.ok(script && fs.existsSync(path.join(ROOT, 'action', script)), `${s.name} runs a script in action/`);
        assert.equal(spawnSync('bash', ['-n', path.join(ROOT, 'action', script)]).status, 0, `${script} parses`);
      }
    }
    for (const name of Object.keys(action.inputs)) assert.ok(text.includes(`inputs.${name}`), `input ${name} is used`);
    for (const [name, o] of Object.entries(action.outputs)) assert.match(o.value, /steps\.(up|bench)\.outputs\./, `output ${name}`);
    assert.ok(fs.existsSync(path.join(ROOT, 'examples', 'workflows', 'llmstack.yml')), 'an example workflow');
  });

  it('applies the stack, waits until its runtime answers, benchmarks a model and names the results for the upload', async () => {
    const stack = uniqueName('actstk').toLowerCase().replace(/[^a-z0-9-]/g, '-');
    stacks.push(stack);
    const workspace = fs.mkdtempSync(path.join(os.tmpdir(), 'action-ws-'));
    fs.mkdirSync(path.join(workspace, 'models'));
    fs.mkdirSync(path.join(workspace, 'source'));
    writeTinyGguf(path.join(workspace, 'source', 'tiny__latest.gguf'), { name: 'tiny', contextLength: 128, seed: 21 });
    fs.writeFileSync(
      path.join(workspace, 'llmstack.yaml'),
      stringify({ version: 1, name: stack, runtimes: { rt: { kind: 'ollama', image: RUNTIME_IMAGE, ports: ['127.0.0.1:0:11434'], volumes: ['./models:/models', './source:/source:ro'], models: [{ name: 'tiny' }], labels: { [TEST_LABEL]: 'true' } } } }),
    );
    const r = runAction(home, workspace, { 'model-cache': './models', 'benchmark-models': `${stack}-rt/tiny`, 'benchmark-runs': '2', 'benchmark-concurrency': '1,2', 'benchmark-prompt-words': '16', 'benchmark-max-tokens': '4', 'fail-on-regression': 'true', 'wait-timeout': '120' });
    assert.equal(r.code, 0, r.log);
    assert.match(r.log, /^\d+\.\d+\.\d+$/m, 'the CLI answered --version');
    assert.equal(r.outputs.up.stack, stack);
    assert.match(r.log, new RegExp(`The stack ${stack} is ready`));
    const results = JSON.parse(fs.readFileSync(r.outputs.bench.file, 'utf8')) as { regression: boolean; models: { model: string; result: { levels: { concurrency: number; rounds: number; requests: number; tgTps?: { p50: number } }[] } }[] };
    assert.equal(results.models[0].model, `${stack}-rt/tiny`);
    assert.deepEqual(results.models[0].result.levels.map((l) => l.concurrency), [1, 2]);
    assert.ok(results.models[0].result.levels.every((l) => l.rounds <= 2 && l.requests === l.rounds * l.concurrency && (l.tgTps?.p50 ?? 0) > 0), JSON.stringify(results.models[0].result.levels));
    assert.equal(results.regression, false, 'a first run has no history to be slower than');
    assert.match(r.log, new RegExp(`${stack}-rt/tiny at concurrency 2: [\\d.]+ tokens/s \\(p50\\)`));
    assert.deepEqual(
      r.used.map((u) => [u.uses, u.with.path]),
      [
        ['actions/cache/restore@v4', './models'],
        ['actions/upload-artifact@v4', r.outputs.bench.file],
        ['actions/cache/save@v4', './models'],
      ],
    );
    assert.deepEqual(fs.readdirSync(path.join(workspace, 'models')), ['tiny__latest.gguf'], 'the cached folder holds the pulled model');
    fs.rmSync(workspace, { recursive: true, force: true });
  });

  it('fails the job when a runtime never answers, naming it, within the wait timeout', async () => {
    const stack = uniqueName('actbad').toLowerCase().replace(/[^a-z0-9-]/g, '-');
    stacks.push(stack);
    const workspace = fs.mkdtempSync(path.join(os.tmpdir(), 'action-ws-'));
    // An Ollama image that runs but serves nothing.
    fs.writeFileSync(path.join(workspace, 'llmstack.yaml'), stringify({ version: 1, name: stack, runtimes: { mute: { kind: 'ollama', image: OLLAMA_LIKE, command: ['sh', '-c', 'trap "exit 0" TERM; while true; do sleep 1; done'], ports: ['127.0.0.1:0:11434'], labels: { [TEST_LABEL]: 'true' } } } }));
    const t0 = Date.now();
    const r = runAction(home, workspace, { 'wait-timeout': '5' });
    assert.equal(r.code, 1, r.log);
    assert.match(r.log, /::error file=llmstack\.yaml::The stack did not become ready within 5 s/);
    assert.match(r.log, /mute: its API (fails|has not answered yet)/);
    assert.ok(Date.now() - t0 < 120_000);
    assert.equal(r.used.length, 0, 'no cache or upload step ran');
    fs.rmSync(workspace, { recursive: true, force: true });
  });

  it('its scripts refuse to run outside a job, saying what is missing', () => {
    const r = spawnSync('bash', [path.join(ROOT, 'action', 'install.sh')], { env: { PATH: process.env.PATH }, encoding: 'utf8' });
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /RUNNER_TEMP is not set/);
  });
});
