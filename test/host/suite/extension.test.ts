// The extension inside the real VS Code host: activation, commands, the Containers view fed by
// the real engine, actions, logs, inspect, status bar, bad hosts and engine loss.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { createTestContainer, engine, OLLAMA_LIKE, removeTestContainers, ScratchEngine, uniqueName, waitUntil } from '../../support/engine';
import { api, setHost, treeNodes, waitForTree, waitForUiDriver } from './hostSupport';

const manifest = JSON.parse(fs.readFileSync(path.resolve(__dirname, '..', '..', '..', '..', 'package.json'), 'utf8'));

describe('extension in the real host (host)', function () {
  this.timeout(120_000);

  before(async () => {
    const a = await api();
    await waitUntil('the engine connection', () => a.connection.state.kind === 'connected' && a.cache.isLoaded, 60_000);
  });
  after(async () => {
    await removeTestContainers().catch(() => undefined);
  });

  it('registers every contributed command', async () => {
    const all = new Set(await vscode.commands.getCommands(true));
    const missing = (manifest.contributes.commands as { command: string }[]).map((c) => c.command).filter((c) => !all.has(c));
    assert.deepEqual(missing, []);
  });

  it('shows a container the test started, as an Ollama runtime, with its state and port', async () => {
    const a = await api();
    const name = uniqueName('host-tree');
    const other = uniqueName('host-tree-other');
    await createTestContainer({ name, image: OLLAMA_LIKE, ports: [11434] });
    await createTestContainer({ name: other });
    await waitForTree(a, `${name} running and ${other}`, (nodes) => nodes.some((n) => n.name === name && n.record.state === 'running') && nodes.some((n) => n.name === other));
    const node = treeNodes(a).find((n) => n.name === name)!;
    assert.equal(node.runtime, 'ollama');
    assert.match(node.description, /^running .*ollama\/ollama:llmstack-test · \d+→11434/);
    assert.match(a.statusBar.summary!.text, /^Docker · \d+ runtimes? up/);
    // Runtimes come before the "Other containers" group, which holds the plain container.
    const roots = a.containersTree.getChildren();
    const others = roots.findIndex((r) => r.kind === 'others');
    const runtime = roots.findIndex((r) => r.kind === 'container' && r.name === name);
    assert.ok(others > runtime && runtime >= 0, `runtime at ${runtime}, "Other containers" at ${others}`);
    assert.ok(a.containersTree.getChildren(roots[others]).some((n) => n.kind === 'container' && n.name === other));
  });

  it('follows llmStack.runtimes.imagePatterns: a plain container becomes a runtime in the tree and the status bar, and back', async () => {
    const a = await api();
    const name = uniqueName('host-pattern');
    await createTestContainer({ name });
    await waitForTree(a, `${name} among the other containers`, (nodes) => nodes.some((n) => n.name === name && n.runtime === undefined));
    const runtimesUp = () => Number(/(\d+) runtimes? up/.exec(a.statusBar.summary?.text ?? '')?.[1] ?? 0);
    const before = runtimesUp();
    const cfg = () => vscode.workspace.getConfiguration('llmStack');
    try {
      await cfg().update('runtimes.imagePatterns', { 'llmstack-test/busybox*': 'vllm' }, vscode.ConfigurationTarget.Global);
      await waitForTree(a, `${name} as a vLLM runtime`, (nodes) => nodes.some((n) => n.name === name && n.runtime === 'vllm'));
      assert.ok(a.containersTree.getChildren().some((r) => r.kind === 'container' && r.name === name), 'listed with the runtimes, not under Other containers');
      await waitUntil('the status bar to count it', () => runtimesUp() > before, 10_000);
    } finally {
      await cfg().update('runtimes.imagePatterns', undefined, vscode.ConfigurationTarget.Global);
    }
    await waitForTree(a, `${name} a plain container again`, (nodes) => nodes.some((n) => n.name === name && n.runtime === undefined));
    await waitUntil('the status bar count back', () => runtimesUp() === before, 10_000);
  });

  it('stops a container with the extension command, and the tree changes', async () => {
    const a = await api();
    const name = uniqueName('host-stop');
    await createTestContainer({ name, image: OLLAMA_LIKE });
    await waitForTree(a, `${name} running`, (nodes) => nodes.some((n) => n.name === name && n.record.state === 'running'));
    const node = treeNodes(a).find((n) => n.name === name)!;
    await vscode.commands.executeCommand('llmStack.containers.stop', node);
    await waitForTree(a, `${name} exited`, (nodes) => nodes.some((n) => n.name === name && n.record.state === 'exited'));
    assert.match(treeNodes(a).find((n) => n.name === name)!.contextValue, /container:exited/);
    await vscode.commands.executeCommand('llmStack.containers.start', node);
    await waitForTree(a, `${name} running again`, (nodes) => nodes.some((n) => n.name === name && n.record.state === 'running'));
  });

  it('stops several selected containers in parallel', async () => {
    const a = await api();
    const names = [uniqueName('multi'), uniqueName('multi'), uniqueName('multi')];
    await Promise.all(names.map((name) => createTestContainer({ name })));
    await waitForTree(a, 'three running', (nodes) => names.every((n) => nodes.some((x) => x.name === n && x.record.state === 'running')));
    const nodes = treeNodes(a).filter((n) => names.includes(n.name));
    await vscode.commands.executeCommand('llmStack.containers.stop', nodes[0], nodes);
    await waitForTree(a, 'three exited', (all) => names.every((n) => all.some((x) => x.name === n && x.record.state === 'exited')));
  });

  it('inspect opens a read-only JSON document of the container', async () => {
    const a = await api();
    const name = uniqueName('host-inspect');
    const c = await createTestContainer({ name });
    await waitForTree(a, name, (nodes) => nodes.some((n) => n.name === name));
    await vscode.commands.executeCommand('llmStack.containers.inspect', treeNodes(a).find((n) => n.name === name));
    const editor = await waitUntil('the inspect editor', () => vscode.window.visibleTextEditors.find((e) => e.document.uri.scheme === 'llmstack-inspect'), 20_000);
    const data = JSON.parse(editor.document.getText());
    assert.equal(data.Id, c.id);
    assert.equal(editor.document.languageId, 'json');
    await vscode.commands.executeCommand('workbench.action.closeActiveEditor');
  });

  it('follows logs in a terminal and stops following when it is closed', async () => {
    const a = await api();
    const name = uniqueName('host-logs');
    await createTestContainer({ name, script: 'while true; do echo hello-from-logs; sleep 0.3; done' });
    await waitForTree(a, name, (nodes) => nodes.some((n) => n.name === name && n.record.state === 'running'));
    const before = a.logs.activeFollows;
    const node = treeNodes(a).find((n) => n.name === name);
    await vscode.commands.executeCommand('llmStack.containers.logs', node);
    const terminal = await waitUntil('the logs terminal', () => vscode.window.terminals.find((t) => t.name === `Logs: ${name}`), 20_000);
    assert.equal(a.logs.activeFollows, before + 1);
    // Asked again, it shows the same terminal: one terminal and one stream per container.
    await vscode.commands.executeCommand('llmStack.containers.logs', node);
    assert.deepEqual(vscode.window.terminals.filter((t) => t.name === `Logs: ${name}`), [terminal]);
    assert.equal(a.logs.activeFollows, before + 1);
    terminal.dispose();
    await waitUntil('following to stop', () => a.logs.activeFollows === before, 20_000);
  });

  it('explains an unreachable docker.host setting in the view, then reconnects when it is fixed', async () => {
    await waitForUiDriver();
    const a = await api();
    try {
      await setHost('unix:///nonexistent/llmstack-host-test.sock');
      await waitUntil('disconnected', () => a.connection.state.kind === 'disconnected', 30_000);
      assert.match(String(a.containersView.description), /^not connected: no socket at \/nonexistent\/llmstack-host-test\.sock/);
      assert.match(a.statusBar.summary!.tooltip, /setting llmStack\.docker\.host: no socket at \/nonexistent\/llmstack-host-test\.sock \(engine not installed or not started\)/);
      assert.equal(a.statusBar.summary?.level, 'error');
      assert.deepEqual(a.containersTree.getChildren(), []);
      await setHost('not a url');
      await waitUntil('the bad setting reported', () => a.connection.state.kind === 'disconnected' && /not a Docker host URL/.test(a.statusBar.summary?.tooltip ?? ''), 30_000);
      assert.equal(a.containersView.description, 'not connected');
    } finally {
      await setHost(undefined);
    }
    await waitUntil('reconnected', () => a.connection.state.kind === 'connected' && a.cache.isLoaded, 60_000);
    assert.match(String(a.containersView.description), /^Docker \d/);
  });

  it('reports engine loss, reconnects by itself and shows the right tree again', async function () {
    this.timeout(240_000);
    await waitForUiDriver();
    const a = await api();
    const scratch = new ScratchEngine('host');
    await scratch.start();
    try {
      const name = uniqueName('host-survivor');
      await createTestContainer({ docker: engine(scratch.socket), name, restart: 'always', network: 'none' });
      await setHost(scratch.url);
      await waitForTree(a, `${name} on the scratch engine`, (nodes) => nodes.some((n) => n.name === name && n.record.state === 'running'), 60_000);
      await scratch.stop();
      await waitUntil('the loss to be reported', () => a.connection.state.kind === 'disconnected', 60_000);
      assert.equal(a.statusBar.summary?.level, 'error');
      assert.match(String(a.containersView.description), /^not connected/);
      await scratch.start();
      await waitForTree(a, `${name} again after the restart`, (nodes) => nodes.some((n) => n.name === name && n.record.state === 'running'), 90_000);
      assert.equal(a.statusBar.summary?.level, 'ok');
    } finally {
      await setHost(undefined);
      await scratch.destroy();
    }
    await waitUntil('back on the main engine', () => a.connection.state.kind === 'connected' && a.cache.isLoaded, 60_000);
  });
});
