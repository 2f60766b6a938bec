// prepareStack, the first step every front end takes: load and validate the text, resolve `auto`
// against the hardware (a llama.cpp model's GGUF header, read through the bind mount, gives its
// trained context) and build the containers. Real files, a real GGUF header; no engine.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { StackFileError } from '../../../../src/core/stack/document';
import { HardwareProbe } from '../../../../src/core/stack/hardware';
import type { HardwareInfo } from '../../../../src/core/stack/types';
import { prepareStack } from '../../../../src/core/stack/workflow';
import { writeTinyGguf } from '../../../support/gguf';

const HW: HardwareInfo = { cpuCores: 8, memoryBytes: 16 * 1024 ** 3, freeMemoryBytes: 8 * 1024 ** 3, gpus: [] };

const stack = (model: string) =>
  [
    'name: demo',
    'runtimes:',
    '  llm:',
    '    kind: llamacpp',
    '    image: ghcr.io/ggml-org/llama.cpp:server',
    `    command: ["-m", "/models/${model}"]`,
    '    volumes: ["./models:/models:ro"]',
    '    params: { contextSize: auto, threads: auto }',
    '',
  ].join('\n');

describe('prepare a stack file for planning (unit)', () => {
  let dir: string;
  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'llmstack-workflow-'));
    fs.mkdirSync(path.join(dir, 'models'));
    writeTinyGguf(path.join(dir, 'models', 'tiny.gguf'), { contextLength: 256 });
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("sizes the context from the model's GGUF header, found through the bind mount next to the file", async () => {
    const p = await prepareStack(stack('tiny.gguf'), path.join(dir, 'llmstack.yaml'), HW);
    assert.equal(p.stackDir, dir);
    assert.deepEqual(p.resolved.params.get('llm'), { threads: 7, contextSize: 256, gpu: { kind: 'none' } });
    assert.ok(p.resolved.explanations.some((e) => e.field === 'contextSize' && e.text === 'trained for 256 tokens → ctx 256'));
    assert.deepEqual(p.desired[0].create.Cmd, ['-m', '/models/tiny.gguf', '--threads', '7', '--ctx-size', '256']);
  });

  it('falls back to the default context when the model file is not there, asking a hardware probe', async () => {
    let asked = 0;
    const probe = new HardwareProbe({ detect: async () => (asked++, HW) });
    const p = await prepareStack(stack('missing.gguf'), path.join(dir, 'llmstack.yaml'), probe);
    assert.equal(asked, 1);
    assert.equal(p.resolved.params.get('llm')?.contextSize, 8192);
    assert.ok(p.resolved.explanations.some((e) => e.field === 'contextSize' && /model size unknown/.test(e.text)));
  });

  it('reads a .json file as JSON and throws every error of an invalid file', async () => {
    const json = JSON.stringify({ name: 'demo', runtimes: { llm: { kind: 'ollama', image: 'ollama/ollama' } } });
    assert.equal((await prepareStack(json, path.join(dir, 'demo.llmstack.json'), HW)).desired[0].containerName, 'demo-llm');
    // YAML flow syntax is not JSON: a .json name means JSON.
    await assert.rejects(prepareStack("{name: demo}", path.join(dir, 'llmstack.json'), HW), (e: unknown) => e instanceof StackFileError && /JSON syntax error/.test(e.message));
    await assert.rejects(prepareStack('name: Demo\n', path.join(dir, 'llmstack.yaml'), HW), (e: unknown) => e instanceof StackFileError && /^The stack file has 1 error:/.test(e.message));
  });
});
