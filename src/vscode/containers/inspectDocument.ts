// Inspect: shows `docker inspect` JSON as a read-only document (virtual scheme, no file written).
import * as vscode from 'vscode';
import type { ContainerActions } from '../../core/docker/actions';

export const INSPECT_SCHEME = 'llmstack-inspect';

export class InspectDocumentProvider implements vscode.TextDocumentContentProvider {
  constructor(private readonly actions: ContainerActions) {}

  static uri(id: string, name: string): vscode.Uri {
    return vscode.Uri.from({ scheme: INSPECT_SCHEME, path: `/${name}.json`, query: id });
  }

  async provideTextDocumentContent(uri: vscode.Uri): Promise<string> {
    const name = uri.path.replace(/^\//, '').replace(/\.json$/, '');
    const data = await this.actions.inspect(uri.query, name);
    return JSON.stringify(data, null, 2);
  }
}

export function registerInspect(actions: ContainerActions): vscode.Disposable {
  return vscode.workspace.registerTextDocumentContentProvider(INSPECT_SCHEME, new InspectDocumentProvider(actions));
}

export async function showInspect(id: string, name: string): Promise<vscode.TextEditor> {
  const doc = await vscode.workspace.openTextDocument(InspectDocumentProvider.uri(id, name));
  await vscode.languages.setTextDocumentLanguage(doc, 'json');
  return vscode.window.showTextDocument(doc, { preview: true });
}
