// Extension-tests module for Restricted Mode: in an untrusted workspace the extension still runs,
// and a Docker host, runtime endpoints and GGUF folders set by the workspace's own settings are
// ignored (restrictedConfigurations).
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { LlmStackApi } from '../../src/extension';
import { waitUntil } from '../support/engine';

export async function run(): Promise<void> {
  assert.equal(vscode.workspace.isTrusted, false, 'the workspace opened untrusted');
  const ext = vscode.extensions.getExtension<LlmStackApi>('llm-local-stack.llm-local-stack');
  if (!ext) throw new Error('extension not found');
  const api = await ext.activate();
  const folder = vscode.workspace.workspaceFolders?.[0]?.uri.fsPath ?? '';
  const workspaceSettings = fs.readFileSync(path.join(folder, '.vscode', 'settings.json'), 'utf8');
  assert.match(workspaceSettings, /llmstack-untrusted-workspace\.sock/, 'the workspace does set a host');
  assert.equal(vscode.workspace.getConfiguration('llmStack').get('docker.host'), '', 'but an untrusted workspace cannot make the extension use it');
  await waitUntil('the engine connection', () => api.connection.state.kind === 'connected', 60_000);
  const s = api.connection.state;
  assert.ok(s.kind === 'connected' && !s.endpoint.url.includes('untrusted'), `connected to ${s.kind === 'connected' ? s.endpoint.url : s.kind}`);
  assert.match(workspaceSettings, /untrusted-endpoint/);
  assert.deepEqual(vscode.workspace.getConfiguration('llmStack').get('runtimes.endpoints'), [], 'workspace runtime endpoints are ignored');
  assert.deepEqual(vscode.workspace.getConfiguration('llmStack').get('models.ggufFolders'), [], 'workspace GGUF folders are ignored');
  assert.ok(!api.catalog.list().some((r) => r.endpoint.name === 'untrusted-endpoint' || r.endpoint.baseUrl.includes('untrusted')), 'the catalog holds no workspace endpoint');
  // A workspace stack file can be planned (it only reads) but not applied or taken down.
  const stackFile = vscode.Uri.file(path.join(folder, 'llmstack.yaml'));
  const planned = await api.stacks.plan(stackFile);
  assert.deepEqual(planned.plan.changes.map((c) => c.kind), ['create-network', 'create'], 'the plan reads the engine');
  await assert.rejects(api.stacks.apply(stackFile, async () => true), /Restricted Mode/);
  await assert.rejects(api.stacks.down(stackFile, false), /Restricted Mode/);
  const docker = api.connection.docker!;
  const made = await docker.listContainers({ all: true, filters: { label: ['io.llmstack.stack=untrusted-stack'] } });
  assert.deepEqual(made, [], 'nothing was created');
  // The per-user service takes the user's settings only: the workspace's idle time and backup count
  // (set in its .vscode/settings.json) never reach it.
  await api.service.client();
  const configFile = path.join(api.service.paths.dataDir, 'config.json');
  const config = fs.existsSync(configFile) ? (JSON.parse(fs.readFileSync(configFile, 'utf8')) as { models?: { idleUnloadMinutes?: number }; registry?: { keepBackups?: number } }) : {};
  assert.match(workspaceSettings, /"llmStack.models.idleUnloadMinutes":1/);
  assert.notEqual(config.models?.idleUnloadMinutes, 1, "the workspace's idle time did not reach the service");
  assert.notEqual(config.registry?.keepBackups, 3, "the workspace's backup count did not reach the service");
  console.log(`RESTRICTED_MODE_OK connected to ${s.kind === 'connected' ? s.endpoint.url : ''} ignoring the workspace's docker.host`);
}
