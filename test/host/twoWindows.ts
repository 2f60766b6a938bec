// Extension-tests module run in two browser windows at once on the same code-server (two extension
// hosts): each window records 100 audit entries and 20 uses of one model through its own way to
// the registry, at the same time as the other. Before the service each window kept its own copy
// and the last to save overwrote the other's; the runner checks that all 2 × 120 are in.
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { LlmStackApi } from '../../src/extension';
import { waitUntil } from '../support/engine';
import { SHARED } from './twoWindowsShared';

export async function run(): Promise<void> {
  const ext = vscode.extensions.getExtension<LlmStackApi>('llm-local-stack.llm-local-stack');
  if (!ext) throw new Error('extension not found');
  const api = await ext.activate();
  const sync = process.env.LLMSTACK_HOST_SYNC_DIR!;
  const me = `w${process.pid}`;
  // Both windows start together: each says it is ready, the runner says go.
  fs.writeFileSync(path.join(sync, `ready-${me}`), '');
  await waitUntil('the go signal', () => fs.existsSync(path.join(sync, 'go')), 120_000, 20);
  const start = Date.now();
  for (let i = 0; i < 100; i++) {
    await api.registryPort.audit(`twoWindows.${me}`, String(i));
    if (i % 5 === 0) await api.registryPort.recordUsage(SHARED, 'shared:1', 'generate', { outputTokens: 1, durationMs: 1 });
  }
  fs.writeFileSync(path.join(sync, `done-${me}.json`), JSON.stringify({ me, start, end: Date.now() }));
  console.log(`TWO_WINDOWS_OK ${me}`);
}
