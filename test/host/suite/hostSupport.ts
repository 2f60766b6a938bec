// Shared pieces of the tests that run inside the real extension host.
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { LlmStackApi } from '../../../src/extension';
import type { ContainerNodeModel } from '../../../src/core/docker/containerTree';
import { waitUntil } from '../../support/engine';
import type { ModelHistory } from '../../../src/app/registry/port';
import { endpointFacts } from '../../../src/app/registry/portUseCases';
import type { RuntimeEndpoint } from '../../../src/core/runtimes/runtime';

export async function api(): Promise<LlmStackApi> {
  const ext = vscode.extensions.getExtension<LlmStackApi>('llm-local-stack.llm-local-stack');
  if (!ext) throw new Error('the extension is not installed in this host');
  return ext.activate();
}

/** Every container node the Containers view shows (runtimes and the "Other containers" group). */
export function treeNodes(a: LlmStackApi): ContainerNodeModel[] {
  const tree = a.containersTree;
  const roots = tree.getChildren();
  const all: ContainerNodeModel[] = [];
  for (const r of roots) {
    if (r.kind === 'container') all.push(r);
    else all.push(...(tree.getChildren(r) as ContainerNodeModel[]));
  }
  return all;
}

/** Resolves when the tree provider fires a change after which the predicate holds. */
export function waitForTree(a: LlmStackApi, what: string, predicate: (nodes: ContainerNodeModel[]) => boolean, timeoutMs = 30_000): Promise<void> {
  if (predicate(treeNodes(a))) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      sub.dispose();
      reject(new Error(`timed out after ${timeoutMs} ms waiting for the tree to show ${what}`));
    }, timeoutMs);
    const sub = a.containersTree.onDidChangeTreeData(() => {
      if (predicate(treeNodes(a))) {
        clearTimeout(timer);
        sub.dispose();
        resolve();
      }
    });
  });
}

/**
 * Tests that disconnect the extension run last. They first tell the UI driver (outside the host)
 * that the calm tests are over, so it may run its own disconnecting steps, then wait until it is
 * done with the shared window.
 */
export async function waitForUiDriver(): Promise<void> {
  const dir = process.env.LLMSTACK_HOST_SYNC_DIR;
  if (!dir) return;
  fs.writeFileSync(path.join(dir, 'calm-done'), '');
  await waitUntil('the UI driver to finish', () => fs.existsSync(path.join(dir, 'ui-done')), 240_000, 200);
}

export async function setHost(value: string | undefined): Promise<void> {
  await vscode.workspace.getConfiguration('llmStack').update('docker.host', value, vscode.ConfigurationTarget.Global);
}

/** The registry's audit log, newest first, as the service answers it (the user's `llmstack registry audit`). */
export async function auditLog(a: LlmStackApi, limit = 50): Promise<{ ts: number; operation: string; target: string; outcome: string; error: string | null }[]> {
  return (await (await a.service.client()).call<{ entries: { ts: number; operation: string; target: string; outcome: string; error: string | null }[] }>('registry.audit', { limit })).entries;
}

/** What the registry remembers of a model of a runtime (the Model Details view's registry part). */
export async function modelHistory(a: LlmStackApi, endpoint: RuntimeEndpoint, name: string): Promise<ModelHistory> {
  return (await a.service.client()).call<ModelHistory>('registry.modelHistory', { endpoint: endpointFacts(endpoint), name });
}
