// Inspect: shows `docker inspect` JSON as a read-only document (virtual scheme, no file written).
import * as vscode from 'vscode';
import { ContainersDeps, inspect } from '../../app/containers/useCases';
import { call } from '../../app/useCase';

const INSPECT_SCHEME = 'llmstack-inspect';

class InspectDocumentProvider implements vscode.TextDocumentContentProvider {
  constructor(private readonly deps: ContainersDeps) {}

  static uri(id: string, name: string): vscode.Uri {
    return vscode.Uri.from({ scheme: INSPECT_SCHEME, path: `/${name}.json`, query: id });
  }

  async provideTextDocumentContent(uri: vscode.Uri): Promise<string> {
    const name = uri.path.replace(/^\//, '').replace(/\.json$/, '');
    const data = await call(inspect, this.deps, { id: uri.query, name });
    return JSON.stringify(data, null, 2);
  }
}

export function registerInspect(deps: ContainersDeps): vscode.Disposable {
  return vscode.workspace.registerTextDocumentContentProvider(INSPECT_SCHEME, new InspectDocumentProvider(deps));
}

export async function showInspect(id: string, name: string): Promise<vscode.TextEditor> {
  const doc = await vscode.workspace.openTextDocument(InspectDocumentProvider.uri(id, name));
  await vscode.languages.setTextDocumentLanguage(doc, 'json');
  return vscode.window.showTextDocument(doc, { preview: true });
}
