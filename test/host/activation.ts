// Extension-tests module for the activation benchmark: activates the extension, prints its own
// activate() duration for the driver to read.
import * as vscode from 'vscode';
import type { LlmStackApi } from '../../src/extension';

export async function run(): Promise<void> {
  const ext = vscode.extensions.getExtension<LlmStackApi>('llm-local-stack.llm-local-stack');
  if (!ext) throw new Error('extension not found');
  const api = await ext.activate();
  console.log(`LLMSTACK_ACTIVATE_MS=${api.activationMs.toFixed(3)}`);
}
