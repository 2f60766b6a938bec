// Stack files inside the real host: an invalid llmstack.yaml gets diagnostics at the right line and
// column (screenshot), a valid one gets Plan/Apply/Down CodeLenses and `auto` hovers, and the stack
// commands' work plans, applies (parallel, UI after its runtime is healthy), re-plans to nothing,
// recreates only a changed service, and takes the stack down on the real engine; an export refuses
// to write through a docker-compose.yaml link planted in the workspace.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { engine, uniqueName, waitUntil } from '../../support/engine';
import { api } from './hostSupport';

const INVALID = `name: broken
runtimes:
  llm:
    kind: llamacpp
    image: ghcr.io/ggml-org/llama.cpp:llmstack-test
    prots: ["8080"]
    ports: ["127.0.0.1:18555:8080"]
uis:
  web:
    image: llmstack-test/busybox:1
    runtime: llm
    ports: ["127.0.0.1:18555:80"]
`;

function validStack(name: string, webEnv: string): string {
  return `name: ${name}
runtimes:
  llm:
    kind: llamacpp
    image: ghcr.io/ggml-org/llama.cpp:llmstack-test
    command: ["/bin/sh", "-c", "touch /tmp/ready; trap 'exit 0' TERM; while true; do sleep 1; done"]
    params:
      threads: auto
    healthcheck:
      test: test -f /tmp/ready
      interval: 1s
      retries: 3
    labels:
      io.llmstack.test: "true"
uis:
  web:
    image: llmstack-test/busybox:1
    runtime: llm
    command: ["/bin/sh", "-c", "trap 'exit 0' TERM; while true; do sleep 1; done"]
    env:
      GREETING: ${webEnv}
    labels:
      io.llmstack.test: "true"
`;
}

async function screenshotStackDiagnostics(): Promise<void> {
  const dir = process.env.LLMSTACK_HOST_SYNC_DIR;
  if (!dir) return;
  fs.writeFileSync(path.join(dir, 'stack-ready'), '');
  await waitUntil('the UI driver to take the stack screenshot', () => fs.existsSync(path.join(dir, 'stack-shot-done')), 120_000, 200);
}

/** Replaces the open document's text and saves it: the editor's model and the file agree. */
async function setText(file: vscode.Uri, text: string): Promise<vscode.TextDocument> {
  const doc = await vscode.workspace.openTextDocument(file);
  const edit = new vscode.WorkspaceEdit();
  edit.replace(file, new vscode.Range(0, 0, doc.lineCount, 0), text);
  assert.ok(await vscode.workspace.applyEdit(edit), 'the edit applied');
  assert.ok(await doc.save(), 'the file saved');
  assert.equal(doc.getText(), text);
  return doc;
}

async function containersOf(stack: string) {
  return engine().listContainers({ all: true, filters: { label: [`io.llmstack.stack=${stack}`] } });
}

describe('stack files in the real host (host)', function () {
  this.timeout(240_000);
  const stack = uniqueName('hoststack').toLowerCase().replace(/[^a-z0-9-]/g, '-');
  let file: vscode.Uri;

  before(() => {
    const folder = vscode.workspace.workspaceFolders?.[0];
    assert.ok(folder, 'the host opens a workspace folder');
    file = vscode.Uri.joinPath(folder.uri, 'llmstack.yaml');
  });
  after(async () => {
    const a = await api();
    await a.stacks.down(file, true).catch(() => undefined);
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
    fs.rmSync(file.fsPath, { force: true });
  });

  it('shows diagnostics at the right line and column for an invalid file', async () => {
    await api();
    fs.writeFileSync(file.fsPath, INVALID);
    const doc = await vscode.workspace.openTextDocument(file);
    await vscode.window.showTextDocument(doc);
    const diags = await waitUntil('diagnostics for the stack file', () => {
      const d = vscode.languages.getDiagnostics(file).filter((x) => x.source === 'LLM Stack');
      return d.length > 0 && d;
    }, 30_000, 100);
    const unknown = diags.find((d) => d.code === 'schema');
    assert.ok(unknown, diags.map((d) => `${d.code}: ${d.message}`).join('\n'));
    // "prots" on line 6 (0-based 5), at column 4: the unknown key itself, with a suggestion.
    assert.equal(unknown.range.start.line, 5);
    assert.equal(unknown.range.start.character, 4);
    assert.match(unknown.message, /prots/);
    assert.match(unknown.message, /ports/);
    assert.equal(unknown.severity, vscode.DiagnosticSeverity.Error);
    const lenses = await vscode.commands.executeCommand<vscode.CodeLens[]>('vscode.executeCodeLensProvider', file);
    assert.ok(lenses.some((l) => /Fix the errors/.test(l.command?.title ?? '')), 'no Apply on an invalid file');
    await vscode.commands.executeCommand('notifications.clearAll');
    await vscode.commands.executeCommand('workbench.actions.view.problems');
    await screenshotStackDiagnostics();

    // Fixing the unknown key leaves the duplicate host port, reported at both services.
    const edit = new vscode.WorkspaceEdit();
    edit.delete(file, new vscode.Range(5, 0, 6, 0));
    await vscode.workspace.applyEdit(edit);
    const dup = await waitUntil('the duplicate-port diagnostics', () => {
      const d = vscode.languages.getDiagnostics(file).filter((x) => x.code === 'duplicate-port');
      return d.length === 2 && d;
    }, 30_000, 100);
    assert.deepEqual(dup.map((d) => d.range.start.line).sort((x, y) => x - y), [5, 10]);
    await doc.save();
  });

  it('offers Plan, Apply, Down and Export on a valid file, and explains auto on hover', async () => {
    const doc = await setText(file, validStack(stack, 'one'));
    await waitUntil('no diagnostics', () => vscode.languages.getDiagnostics(file).filter((x) => x.severity === vscode.DiagnosticSeverity.Error).length === 0, 30_000, 100);
    const lenses = await vscode.commands.executeCommand<vscode.CodeLens[]>('vscode.executeCodeLensProvider', file);
    const commands = lenses.map((l) => l.command?.command);
    for (const c of ['llmStack.stack.plan', 'llmStack.stack.apply', 'llmStack.stack.down', 'llmStack.stack.export']) assert.ok(commands.includes(c), `${c} in ${commands.join(', ')}`);
    const line = doc.getText().split('\n').findIndex((l) => l.includes('threads: auto'));
    const col = doc.lineAt(line).text.indexOf('auto') + 1;
    const hovers = await vscode.commands.executeCommand<vscode.Hover[]>('vscode.executeHoverProvider', file, new vscode.Position(line, col));
    const text = hovers.flatMap((h) => h.contents.map((c) => (typeof c === 'string' ? c : c.value))).join('\n');
    // The thread count this machine gets: cores − 1, between 1 and 16 (src/core/stack/resolve.ts).
    const cores = Math.max(1, os.availableParallelism());
    const threads = Math.min(16, Math.max(1, cores - 1));
    assert.match(text, new RegExp(`^\\*\\*auto\\*\\* → ${cores} cores? → ${threads} threads?\\b`), text);
  });

  it('says on hover over a model whether it fits here at the context the stack gives it, and how fast', async () => {
    const doc = await setText(file, `name: ${stack}\nruntimes:\n  llm:\n    kind: ollama\n    image: ollama/ollama:0.5.7\n    params:\n      contextSize: 4096\n    models:\n      - qwen2.5:7b\n      - name: llama3.1:405b-instruct-fp16\n`);
    await waitUntil('no diagnostics', () => vscode.languages.getDiagnostics(file).filter((x) => x.severity === vscode.DiagnosticSeverity.Error).length === 0, 30_000, 100);
    const hoverOn = async (needle: string) => {
      const line = doc.getText().split('\n').findIndex((l) => l.includes(needle));
      const hovers = await vscode.commands.executeCommand<vscode.Hover[]>('vscode.executeHoverProvider', file, new vscode.Position(line, doc.lineAt(line).text.indexOf(needle) + 2));
      return hovers.flatMap((h) => h.contents.map((c) => (typeof c === 'string' ? c : c.value))).join('\n');
    };
    assert.match(await hoverOn('qwen2.5:7b'), /^\*\*qwen2\.5:7b\*\* on this machine: (runs on the CPU|fits in VRAM|\d+ of \d+ layers on the GPU) with ctx 4096: .*sized from its name \(Q4_K_M\) · (about|perhaps) [\d.]+ tokens\/s/);
    assert.match(await hoverOn('llama3.1:405b'), /^\*\*llama3\.1:405b-instruct-fp16\*\* on this machine: does not fit with ctx 4096: needs \d+ GB of RAM/);
    // The next test plans and applies what the file held before.
    await setText(file, validStack(stack, 'one'));
  });

  it('plans, applies, re-plans to nothing, recreates only a changed service, and takes the stack down', async () => {
    const a = await api();
    await waitUntil('the engine connection', () => a.connection.state.kind === 'connected', 60_000);
    const first = await a.stacks.plan(file);
    assert.deepEqual(first.plan.changes.filter((s) => s.kind === 'create').map((s) => s.service).sort(), ['llm', 'web']);
    const planDoc = await vscode.workspace.openTextDocument(first.planUri);
    assert.match(planDoc.getText(), /create/);

    let asked = 0;
    const applied = await a.stacks.apply(file, async () => {
      asked++;
      return true;
    });
    assert.equal(asked, 1, 'apply asks before changing anything');
    assert.ok(applied.report && !applied.report.failed, JSON.stringify(applied.report?.failed));
    const running = await containersOf(stack);
    assert.deepEqual(running.map((c) => c.Labels['io.llmstack.service']).sort(), ['llm', 'web']);
    assert.ok(running.every((c) => c.State === 'running'));
    const llm = running.find((c) => c.Labels['io.llmstack.service'] === 'llm')!;
    const web = running.find((c) => c.Labels['io.llmstack.service'] === 'web')!;
    assert.equal(llm.Labels['io.llmstack.runtime'], 'llamacpp', 'discoverable as a runtime');
    const health = (await engine().getContainer(llm.Id).inspect()).State.Health;
    assert.equal(health?.Status, 'healthy', 'the UI started after its runtime was healthy');
    // The container cache (events) sees the new containers.
    await waitUntil('the cache to show the stack', () => a.cache.get(web.Id)?.state === 'running', 30_000, 100);

    const again = await a.stacks.plan(file);
    assert.deepEqual(again.plan.changes, [], 'plan after apply is empty');
    const noop = await a.stacks.apply(file, async () => {
      throw new Error('nothing to confirm');
    });
    assert.equal(noop.skipped, 'no-changes');

    await setText(file, validStack(stack, 'two'));
    const changed = await a.stacks.plan(file);
    assert.deepEqual(changed.plan.changes.map((s) => `${s.kind} ${s.service}`), ['recreate web']);
    assert.match(changed.plan.changes[0].reason, /env/);
    // This time through a real progress notification, as the command runs it.
    const reported: string[] = [];
    await a.stacks.apply(file, async () => true, async (work) =>
      vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: 'Applying the stack', cancellable: true }, (progress, token) =>
        work((message) => {
          reported.push(message);
          progress.report({ message });
        }, token),
      ),
    );
    assert.ok(reported.includes('recreate web…'), reported.join(' | '));
    const after = await containersOf(stack);
    assert.equal(after.find((c) => c.Labels['io.llmstack.service'] === 'llm')?.Id, llm.Id, 'the unchanged runtime kept its container');
    assert.notEqual(after.find((c) => c.Labels['io.llmstack.service'] === 'web')?.Id, web.Id, 'the changed UI was recreated');

    const down = await a.stacks.down(file, true);
    assert.equal(down.removed.length, 2);
    assert.deepEqual(await containersOf(stack), []);
  });

  it('Export to Compose refuses a docker-compose.yaml linking outside the workspace and leaves its target as it was', async () => {
    const a = await api();
    await setText(file, validStack(stack, 'one'));
    const outside = fs.mkdtempSync(path.join(os.tmpdir(), 'llmstack-victim-'));
    const victim = path.join(outside, 'bashrc');
    fs.writeFileSync(victim, 'precious\n');
    const link = path.join(path.dirname(file.fsPath), 'docker-compose.yaml');
    fs.symlinkSync(victim, link);
    try {
      let asked = 0;
      await assert.rejects(
        a.stacks.exportTo(file, 'compose', async () => {
          asked++;
          return true;
        }),
        /docker-compose\.yaml is a symbolic link \(to .*bashrc\)\. LLM Stack does not write through links/,
      );
      assert.equal(asked, 0, 'refused before asking to replace');
      assert.equal(fs.readFileSync(victim, 'utf8'), 'precious\n', 'the link target is untouched');
      // A plain file there: the question names the real file, and the export replaces it.
      fs.rmSync(link);
      fs.writeFileSync(link, 'old\n');
      let named = '';
      const r = await a.stacks.exportTo(file, 'compose', async (f) => {
        named = f;
        return true;
      });
      assert.equal(named, fs.realpathSync(link));
      assert.equal(r?.file, named);
      assert.match(fs.readFileSync(link, 'utf8'), /^services:/m);
      assert.equal(fs.readFileSync(victim, 'utf8'), 'precious\n');
    } finally {
      fs.rmSync(link, { force: true });
      fs.rmSync(outside, { recursive: true, force: true });
    }
  });
});
