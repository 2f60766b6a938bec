// The Models view inside the real host, against the test runtime (Ollama API over real llama.cpp)
// in a container on the real engine: discovery, pull with progress, load/unload, generation as a
// usage event, GGUF folders and integrity, idle unload, a runtime killed mid-pull, delete.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { LlmStackApi } from '../../../src/extension';
import type { ModelNode, ModelTreeNode, RuntimeNode } from '../../../src/core/runtimes/modelTree';
import type { PullSnapshot } from '../../../src/core/runtimes/pullProgress';
import { engine, removeTestContainers, waitUntil } from '../../support/engine';
import { formatParameterCount } from '../../../src/core/runtimes/gguf';
import { tinyParameterCount, writeTinyGguf } from '../../support/gguf';
import { startRuntime } from '../../support/runtime';
import { api, auditLog, modelHistory } from './hostSupport';

const cfg = () => vscode.workspace.getConfiguration('llmStack');

function rootFor(a: LlmStackApi, runtimeId: string): RuntimeNode | undefined {
  return a.modelsTree.getChildren().find((n): n is RuntimeNode => n.type === 'runtime' && n.runtimeId === runtimeId);
}

function modelNodes(a: LlmStackApi, runtimeId: string): ModelNode[] {
  const root = rootFor(a, runtimeId);
  return root ? a.modelsTree.getChildren(root as ModelTreeNode).filter((n): n is ModelNode => n.type === 'model') : [];
}

/** Waits for the view to show something, re-checked on every change of the tree. */
function waitForModels(a: LlmStackApi, what: string, predicate: () => boolean, timeoutMs = 60_000): Promise<void> {
  if (predicate()) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      sub.dispose();
      reject(new Error(`timed out after ${timeoutMs} ms waiting for the Models view to show ${what}`));
    }, timeoutMs);
    const sub = a.modelsTree.onDidChangeTreeData(() => {
      if (predicate()) {
        clearTimeout(timer);
        sub.dispose();
        resolve();
      }
    });
  });
}

/** Tells the UI driver the view is worth a screenshot, and waits (bounded) until it has taken it. */
async function screenshotModelsView(): Promise<void> {
  const dir = process.env.LLMSTACK_HOST_SYNC_DIR;
  if (!dir) return;
  fs.writeFileSync(path.join(dir, 'models-ready'), '');
  await waitUntil('the UI driver to take the Models view screenshot', () => fs.existsSync(path.join(dir, 'models-shot-done')), 120_000, 200);
}

describe('Models view on the real test runtime (host)', function () {
  this.timeout(180_000);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'llmstack-models-host-'));
  const ggufDir = path.join(dir, 'gguf');
  let containerId: string;
  let runtimeId: string;

  before(async () => {
    fs.mkdirSync(path.join(dir, 'source'), { recursive: true });
    fs.mkdirSync(ggufDir, { recursive: true });
    writeTinyGguf(path.join(dir, 'source', 'tiny__latest.gguf'), { name: 'tiny' });
    writeTinyGguf(path.join(dir, 'source', 'medium__latest.gguf'), { name: 'medium', embedding: 128, seed: 2 });
    writeTinyGguf(path.join(dir, 'source', 'big__latest.gguf'), { name: 'big', embedding: 256, layers: 4, seed: 3 });
    const a = await api();
    await waitUntil('the engine connection', () => a.connection.state.kind === 'connected' && a.cache.isLoaded, 60_000);
    // Slow pulls (one 256 KiB chunk per 40 ms) leave time to watch progress and to kill the runtime mid-pull.
    const rt = await startRuntime(dir, ['PULL_CHUNK_DELAY_MS=40']);
    containerId = rt.id;
  });

  after(async () => {
    await cfg().update('models.ggufFolders', undefined, vscode.ConfigurationTarget.Global);
    await cfg().update('models.idleUnloadMinutes', undefined, vscode.ConfigurationTarget.Global);
    await removeTestContainers().catch(() => undefined);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('finds the runtime from its container and lists its (no) models', async () => {
    const a = await api();
    await waitUntil('the runtime listed', () => a.catalog.list().find((s) => s.endpoint.containerId === containerId && s.status === 'ok'), 60_000);
    runtimeId = a.catalog.list().find((s) => s.endpoint.containerId === containerId)!.endpoint.id;
    assert.match(runtimeId, /^ollama@http:\/\/127\.0\.0\.1:\d+$/);
    await waitForModels(a, 'the runtime group', () => /^Ollama · 0 models$/.test(rootFor(a, runtimeId)?.description ?? ''));
    const root = rootFor(a, runtimeId)!;
    assert.match(root.contextValue, /\bpull\b/);
    assert.match(root.tooltip, /Ollama 0\.5\.7/);
    const children = a.modelsTree.getChildren(root);
    assert.equal(children.length, 1);
    assert.equal(children[0].type === 'message' && children[0].label, 'No models yet — use Pull Model…');
  });

  it('pulls a model through the command; it appears in the tree and the registry', async () => {
    const a = await api();
    await vscode.commands.executeCommand('llmStack.models.pull', { runtimeId }, 'medium');
    await waitForModels(a, 'medium:latest', () => modelNodes(a, runtimeId).some((m) => m.name === 'medium:latest'));
    const node = modelNodes(a, runtimeId).find((m) => m.name === 'medium:latest')!;
    assert.match(node.description, /^\d+(\.\d+)? [kM]B · F32 · llama/);
    assert.match(node.contextValue, /\bunloaded\b/);
    // The registry is the service's: read through it, as `llmstack` and every window do.
    const row = await modelHistory(a, a.catalog.get(runtimeId)!.endpoint, 'medium:latest');
    assert.equal(row.versions.length, 1, 'the registry holds the pulled model');
    assert.match(row.versions[0].digest, /^sha256:[0-9a-f]{64}$/);
    assert.deepEqual(row.usage.map((u) => u.kind), ['pull']);
    assert.ok((await auditLog(a, 20)).some((e) => e.operation === 'model.pull' && e.target.endsWith('/medium') && e.outcome === 'ok'));
    // The runtime's file is reached through the container's bind mount and hashed on this machine.
    assert.match(node.contextValue, /\bverifiable\b/);
    assert.equal(await vscode.commands.executeCommand('llmStack.models.verify', { runtimeId, name: 'medium:latest' }), 'match');
  });

  it('reports bytes, speed and time left while pulling', async () => {
    const a = await api();
    const seen: PullSnapshot[] = [];
    await a.catalog.pull(runtimeId, 'big', (s) => seen.push(s));
    const sized = seen.filter((s) => s.total > 0);
    assert.ok(sized.length >= 10, `progress lines: ${sized.length}`);
    assert.equal(sized[sized.length - 1].fraction, 1);
    assert.ok(sized.some((s) => /\d+(\.\d+)? [kM]B of \d+(\.\d+)? MB · [\d.]+ [kM]?B\/s · \d+ s left/.test(s.message)), `messages: ${sized.map((s) => s.message).slice(0, 5).join(' | ')}`);
    await waitForModels(a, 'big:latest', () => modelNodes(a, runtimeId).some((m) => m.name === 'big:latest'));
  });

  it('loads and unloads a model; the tree shows the state and when it unloads', async () => {
    const a = await api();
    const target = { runtimeId, name: 'medium:latest' };
    await vscode.commands.executeCommand('llmStack.models.load', target);
    await waitForModels(a, 'medium loaded', () => !!modelNodes(a, runtimeId).find((m) => m.name === 'medium:latest')?.loaded);
    const node = modelNodes(a, runtimeId).find((m) => m.name === 'medium:latest')!;
    assert.match(node.contextValue, /\bloaded\b/);
    assert.match(node.description, / · loaded$/);
    assert.match(node.tooltip, /Unloads in (29|30) min/);
    assert.match(rootFor(a, runtimeId)!.description, /· 1 loaded$/);
    await vscode.commands.executeCommand('llmStack.models.unload', target);
    await waitForModels(a, 'medium unloaded', () => modelNodes(a, runtimeId).find((m) => m.name === 'medium:latest')?.loaded === false);
    const h = await modelHistory(a, a.catalog.get(runtimeId)!.endpoint, 'medium:latest');
    assert.deepEqual(h.usage.map((u) => u.kind), ['load', 'pull', 'unload']);
  });

  it('records a generation as a usage event with its token counts', async () => {
    const a = await api();
    const text = await vscode.commands.executeCommand<string | undefined>('llmStack.models.tryPrompt', { runtimeId, name: 'medium:latest' }, 'Hello there');
    // The command answers undefined when it failed (and showed an error): an answer has text.
    assert.ok(typeof text === 'string' && text.length > 0, `the answer: ${JSON.stringify(text)}`);
    const gen = (await modelHistory(a, a.catalog.get(runtimeId)!.endpoint, 'medium:latest')).usage.find((u) => u.kind === 'generate');
    assert.ok(gen && gen.count === 1 && gen.outputTokens > 0, JSON.stringify(gen));
    assert.ok(a.catalog.lastUsed(runtimeId, 'medium:latest')! > Date.now() - 60_000);
  });

  it('lists GGUF files from a folder setting and catches a modified file', async () => {
    const a = await api();
    const file = path.join(ggufDir, 'family', 'tiny-q.gguf');
    fs.mkdirSync(path.dirname(file), { recursive: true });
    writeTinyGguf(file, { name: 'tiny-q', seed: 9 });
    fs.writeFileSync(path.join(ggufDir, 'broken.gguf'), 'not a gguf file at all');
    await cfg().update('models.ggufFolders', [ggufDir], vscode.ConfigurationTarget.Global);
    const folderId = `gguf@${ggufDir}`;
    await waitForModels(a, 'the GGUF folder', () => modelNodes(a, folderId).length === 2);
    const [broken, good] = modelNodes(a, folderId);
    assert.equal(good.name, 'family/tiny-q.gguf');
    assert.match(good.description, /F32 · llama/);
    // The count read from the file's tensors, as the tooltip prints it (e.g. "Parameters: 57.6K").
    assert.ok(good.tooltip.split('\n').includes(`Parameters: ${formatParameterCount(tinyParameterCount())}`), good.tooltip);
    assert.equal(broken.name, 'broken.gguf');
    assert.ok(broken.problem, 'a non-GGUF file is listed with its problem');
    const target = { runtimeId: folderId, name: good.name };
    assert.equal(await vscode.commands.executeCommand('llmStack.models.verify', target), 'no-record');
    assert.equal(await vscode.commands.executeCommand('llmStack.models.verify', target), 'match');
    const fd = fs.openSync(file, 'r+');
    fs.writeSync(fd, Buffer.from([0x5a]), 0, 1, fs.statSync(file).size - 1);
    fs.closeSync(fd);
    assert.equal(await vscode.commands.executeCommand('llmStack.models.verify', target), 'mismatch');
    const entry = (await auditLog(a, 20)).find((e) => e.operation === 'model.verify' && e.outcome === 'error');
    assert.match(entry?.error ?? '', /the file changed/);
  });

  it('shows loaded models and GGUF files side by side (screenshot)', async () => {
    const a = await api();
    await a.catalog.load(runtimeId, 'medium:latest');
    await waitForModels(a, 'medium loaded', () => !!modelNodes(a, runtimeId).find((m) => m.name === 'medium:latest')?.loaded);
    await screenshotModelsView();
  });

  it('unloads an idle model after the idle setting', async () => {
    const a = await api();
    await cfg().update('models.idleUnloadMinutes', 0.05, vscode.ConfigurationTarget.Global);
    await a.catalog.refresh(runtimeId);
    assert.ok(a.catalog.model(runtimeId, 'medium:latest')?.loaded, 'still loaded before the idle time');
    await waitForModels(a, 'medium unloaded by the idle timer', () => modelNodes(a, runtimeId).find((m) => m.name === 'medium:latest')?.loaded === false, 60_000);
    assert.ok((await auditLog(a, 20)).some((e) => e.operation === 'model.unload.idle' && e.target.endsWith('/medium:latest') && e.outcome === 'ok'));
    await cfg().update('models.idleUnloadMinutes', undefined, vscode.ConfigurationTarget.Global);
  });

  it('a runtime killed in the middle of a pull: clear error, nothing recorded, the next pull resumes', async () => {
    const a = await api();
    fs.rmSync(path.join(dir, 'models', 'big__latest.gguf'));
    await a.catalog.refresh(runtimeId);
    const before = a.catalog.get(runtimeId)!.endpoint;
    let started!: () => void;
    const progressed = new Promise<void>((r) => (started = r));
    const pull = a.catalog.pull(runtimeId, 'big', (s) => s.completed > 1_000_000 && started());
    pull.catch(() => undefined);
    await Promise.race([progressed, pull]);
    await engine().getContainer(containerId).kill();
    await assert.rejects(pull, (e: Error) => /broke in the middle|stopped|closed the stream|Cannot reach/.test(e.message));
    await waitUntil('the runtime to leave the view', () => !a.catalog.get(runtimeId), 30_000);
    assert.ok((await auditLog(a, 20)).some((e) => e.operation === 'model.pull' && e.target.endsWith('/big') && e.outcome === 'error'));
    // "big" was pulled once, completely, by an earlier test: the broken pull adds no second one.
    const big = await modelHistory(a, before, 'big:latest');
    assert.equal(big.versions.length, 1, 'the registry holds big:latest from its first pull');
    assert.deepEqual(big.usage.filter((u) => u.kind === 'pull').map((u) => u.count), [1], 'no second pull recorded');
    assert.ok(fs.existsSync(path.join(dir, 'models', 'big__latest.gguf.partial')), 'the partial download stays for a resume');
    await engine().getContainer(containerId).start();
    // The engine publishes the restarted container on a new random port: a new endpoint.
    const back = await waitUntil('the runtime back', () => a.catalog.list().find((s) => s.endpoint.containerId === containerId && s.status === 'ok'), 60_000);
    runtimeId = back.endpoint.id;
    assert.ok(!a.catalog.model(runtimeId, 'big:latest'), 'no half-pulled model is listed');
    const seen: PullSnapshot[] = [];
    await a.catalog.pull(runtimeId, 'big', (s) => seen.push(s));
    assert.ok(seen.find((s) => s.total > 0)!.completed > 1_000_000, 'the pull resumed where it stopped');
  });

  it('deletes a model; it leaves the tree and the registry keeps its history', async () => {
    const a = await api();
    await a.catalog.delete(runtimeId, 'big:latest');
    await waitForModels(a, 'big gone', () => !modelNodes(a, runtimeId).some((m) => m.name === 'big:latest'));
    // The restarted container answers on another port: another runtime row, with its own "big".
    const endpoint = a.catalog.get(runtimeId)!.endpoint;
    assert.ok((await modelHistory(a, endpoint, 'big:latest')).usage.some((u) => u.kind === 'delete'));
    await assert.rejects(a.catalog.delete(runtimeId, 'big:latest'), /not found/);
  });
});
