// The model registry from the real host: the window is a client of the local service, which owns
// the file. Audit entries from container actions, export and import through the commands, a
// malformed import that changes nothing, encryption turned on and off from the settings.
import { LATEST_VERSION } from '../../../src/core/registry/migrations';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { createTestContainer, removeTestContainers, uniqueName, waitUntil } from '../../support/engine';
import { endpointFacts } from '../../../src/app/registry/portUseCases';
import type { RuntimeEndpoint } from '../../../src/core/runtimes/runtime';
import { api, auditLog, treeNodes, waitForTree } from './hostSupport';

/** A runtime the registry is told about as a window's catalog tells it (through the service). */
function fakeRuntime(name: string): RuntimeEndpoint {
  return { id: `ollama@http://127.0.0.1:1/${name}`, kind: 'ollama', api: 'ollama', name, baseUrl: `http://127.0.0.1:1/${name}`, source: 'user' };
}

async function counts(a: Awaited<ReturnType<typeof api>>): Promise<Record<string, number>> {
  return (await (await a.service.client()).call<{ counts: Record<string, number> }>('registry.stats', {})).counts;
}

describe('model registry in the real host (host)', function () {
  this.timeout(120_000);
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'llmstack-reg-host-'));
  after(async () => {
    fs.rmSync(tmp, { recursive: true, force: true });
    await removeTestContainers().catch(() => undefined);
  });

  it('moved the registry the extension kept in its own storage to the service, once, keeping the old file', async () => {
    const a = await api();
    const out = path.join(tmp, 'migrated.json');
    const exported = await (await a.service.client()).call<{ file: string }>('registry.export', { file: out });
    const data = JSON.parse(fs.readFileSync(exported.file, 'utf8')) as { models: { key: { name: string; tag: string } }[] };
    assert.ok(data.models.some((m) => m.key.name === 'migrated-model' && m.key.tag === 'q4'), "the old registry's model is in the service's registry");
    assert.ok(fs.existsSync(path.join(a.globalStorage, 'registry.sqlite.moved-to-service')), 'the old file is kept beside itself');
    assert.equal(fs.existsSync(path.join(a.globalStorage, 'registry.sqlite')), false, 'and no longer read');
  });

  it('records container actions in the audit log', async () => {
    const a = await api();
    await waitUntil('the engine connection', () => a.connection.state.kind === 'connected' && a.cache.isLoaded, 60_000);
    const name = uniqueName('audit');
    await createTestContainer({ name });
    await waitForTree(a, name, (nodes) => nodes.some((n) => n.name === name && n.record.state === 'running'));
    await vscode.commands.executeCommand('llmStack.containers.stop', treeNodes(a).find((n) => n.name === name));
    const entry = await waitUntil('the audit entry', async () => (await auditLog(a)).find((e) => e.operation === 'container.stop' && e.target.startsWith(name)), 20_000, 200);
    assert.equal(entry.outcome, 'ok');
  });

  it('exports to JSON and imports it again without duplicating anything', async () => {
    const a = await api();
    const client = await a.service.client();
    await client.call('registry.syncListing', { endpoint: endpointFacts(fakeRuntime('host test')), models: [{ name: 'tiny:q4', digest: `sha256:${'c'.repeat(64)}`, sizeBytes: 1234 }] });
    const file = vscode.Uri.file(path.join(tmp, 'export.json'));
    const written = await vscode.commands.executeCommand<string>('llmStack.registry.export', file);
    assert.equal(written, file.fsPath);
    const data = JSON.parse(fs.readFileSync(file.fsPath, 'utf8'));
    assert.equal(data.format, 'llm-local-stack-registry');
    assert.ok(data.models.some((m: { key: { name: string } }) => m.key.name === 'tiny'));
    const report = await vscode.commands.executeCommand<Record<string, number>>('llmStack.registry.import', file);
    assert.deepEqual(report, { runtimes: 0, models: 0, versions: 0, usage: 0, benchmarks: 0, audit: 0 });
  });

  it('refuses a malformed import with a clear error and keeps the data', async () => {
    const a = await api();
    const before = await counts(a);
    const bad = path.join(tmp, 'bad.json');
    fs.writeFileSync(bad, '{"format":"llm-local-stack-registry","version":1,"models":"nope"}');
    const result = await vscode.commands.executeCommand('llmStack.registry.import', vscode.Uri.file(bad));
    assert.equal(result, undefined);
    assert.deepEqual(await counts(a), before);
  });

  it("encrypts the file at rest when turned on (the key in the service's 0600 key file), and writes it plain again when turned off", async () => {
    const a = await api();
    const enc = fakeRuntime('enc');
    await (await a.service.client()).call('registry.syncListing', { endpoint: endpointFacts(enc), models: [{ name: 'secret-model-name:q8' }] });
    const file = a.service.registryFile;
    const head = () => fs.readFileSync(file).subarray(0, 16).toString('latin1');
    const cfg = () => vscode.workspace.getConfiguration('llmStack');
    try {
      await cfg().update('registry.encrypt', true, vscode.ConfigurationTarget.Global);
      await waitUntil('the encrypted file', () => head().startsWith('LLMSREG\x01'), 30_000, 100);
      const bytes = fs.readFileSync(file);
      assert.equal(bytes.includes(Buffer.from('secret-model-name')), false, 'no plaintext in the file');
      const stats = await (await a.service.client()).call<{ encrypted: boolean }>('registry.stats', {});
      assert.ok(stats.encrypted);
    } finally {
      await cfg().update('registry.encrypt', undefined, vscode.ConfigurationTarget.Global);
    }
    await waitUntil('the plain file again', () => head().startsWith('SQLite format 3'), 30_000, 100);
    const listed = JSON.parse(fs.readFileSync((await (await a.service.client()).call<{ file: string }>('registry.export', { file: path.join(tmp, 'after.json') })).file, 'utf8')) as { models: { key: { name: string; tag: string } }[] };
    assert.ok(listed.models.some((m) => m.key.name === 'secret-model-name' && m.key.tag === 'q8'), 'the model survived both rewrites');
  });

  it('the service killed with SIGKILL: the window says so in its views and starts it again by itself; what it acknowledged is kept', async () => {
    const a = await api();
    await (await a.service.client()).call('registry.recordAudit', { operation: 'host.beforeKill', target: 'kill' });
    const pid = Number.parseInt(fs.readFileSync(a.service.paths.lockFile, 'utf8'), 10);
    const states: string[] = [];
    const messages: (string | undefined)[] = [];
    const sub = a.service.onDidChangeState((s) => {
      states.push(s.kind);
      messages.push(a.modelsView.message);
    });
    process.kill(pid, 'SIGKILL');
    await waitUntil('the service to be gone', () => {
      try {
        process.kill(pid, 0);
        return false;
      } catch {
        return true;
      }
    }, 10_000, 20);
    try {
      // No command needed: the window noticed, said so in the views, and started a new service.
      await waitUntil('the window to start the service again', () => states.includes('restarting') && a.service.state.kind === 'connected', 30_000, 50).catch((e: unknown) => {
        throw new Error(`${e instanceof Error ? e.message : String(e)}; states seen: ${states.join(', ') || 'none'}; now: ${JSON.stringify(a.service.state)}`);
      });
    } finally {
      sub.dispose();
    }
    assert.match(messages[states.indexOf('restarting')] ?? '', /stopped; starting it again/);
    assert.equal(a.modelsView.message, undefined, 'the views say nothing once it answers');
    assert.equal(a.containersView.message, undefined);
    const restartedPid = Number.parseInt(fs.readFileSync(a.service.paths.lockFile, 'utf8'), 10);
    assert.notEqual(restartedPid, pid, 'a new service holds the lock');
    await waitUntil('the alerts followed from the new service', () => a.watch.mode === 'service' && a.service.attached?.sameEngine === true, 10_000, 50);
    // A registry command, as the user runs it: it answers, from the new service.
    const text = await vscode.commands.executeCommand<string>('llmStack.registry.stats');
    assert.match(text, /# LLM Stack model registry/);
    await vscode.commands.executeCommand('workbench.action.closeActiveEditor');
    assert.equal(Number.parseInt(fs.readFileSync(a.service.paths.lockFile, 'utf8'), 10), restartedPid, 'the same new service answered');
    assert.ok((await auditLog(a, 100)).some((e) => e.operation === 'host.beforeKill'), 'the acknowledged entry survived the kill');
  });

  it('shows statistics as a read-only document', async () => {
    const text = await vscode.commands.executeCommand<string>('llmStack.registry.stats');
    assert.match(text, /# LLM Stack model registry/);
    assert.match(text, /\| models \| \d+ \|/);
    assert.match(text, new RegExp(`Schema version: ${LATEST_VERSION}\\n`));
    await vscode.commands.executeCommand('workbench.action.closeActiveEditor');
  });
});
