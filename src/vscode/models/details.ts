// Show Details: a read-only Markdown document (virtual scheme, no file written) with what the
// runtime reports and what the registry remembers: versions and digests, usage, benchmarks, audit.
import * as vscode from 'vscode';
import { modelDetails, type ModelsDeps } from '../../app/models';
import { call } from '../../app/useCase';
import { ago } from '../../core/runtimes/modelTree';
import { formatBytes } from '../../core/runtimes/pullProgress';
import { runtimeKindLabels } from '../../core/runtimes/runtime';

const DETAILS_SCHEME = 'llmstack-model';

const cell = (v: unknown) => String(v ?? '').replace(/\|/g, '\\|').replace(/\n/g, ' ');
const date = (t: number) => new Date(t).toISOString().replace('T', ' ').slice(0, 16);

type FitLine = (runtimeId: string, name: string) => Promise<string | undefined>;

class ModelDetailsProvider implements vscode.TextDocumentContentProvider {
  constructor(
    private readonly app: ModelsDeps,
    private readonly fit?: FitLine,
  ) {}

  static uri(runtimeId: string, name: string): vscode.Uri {
    return vscode.Uri.from({ scheme: DETAILS_SCHEME, path: `/${name.replace(/[\\/]/g, '_')}.md`, query: new URLSearchParams({ runtime: runtimeId, name }).toString() });
  }

  async provideTextDocumentContent(uri: vscode.Uri): Promise<string> {
    const q = new URLSearchParams(uri.query);
    const full = q.get('name') ?? '';
    const d = await call(modelDetails, this.app, { runtimeId: q.get('runtime') ?? '', name: full });
    const out: string[] = [`# ${full}`, ''];
    if (d.runtime) out.push(`${runtimeKindLabels[d.runtime.kind]} **${d.runtime.name}** at \`${d.runtime.baseUrl}\``, '');
    const model = d.model;
    if (model) {
      out.push('## As the runtime reports it', '', '| | |', '|---|---|');
      const row = (k: string, v: unknown) => v !== undefined && v !== null && v !== '' && out.push(`| ${k} | ${cell(v)} |`);
      row('Size', model.sizeBytes !== undefined ? `${formatBytes(model.sizeBytes)} (${model.sizeBytes} bytes)` : undefined);
      row('Family', model.family);
      row('Parameters', model.parameterSize ?? model.parameterCount);
      row('Quantization', model.quantization);
      row('Context length', model.contextLength);
      row('Format', model.format);
      row('Digest', model.digest);
      row('File', model.file);
      row('Modified', model.modifiedAt ? date(model.modifiedAt) : undefined);
      row('Loaded', model.loaded ? `yes${model.loaded.ramBytes ? `, ${formatBytes(model.loaded.ramBytes)} RAM` : ''}${model.loaded.vramBytes ? `, ${formatBytes(model.loaded.vramBytes)} VRAM` : ''}` : 'no');
      row('Problem', model.problem);
      out.push('');
      const fit = await this.fit?.(q.get('runtime') ?? '', full);
      if (fit) out.push('## On this machine', '', fit, '');
    } else {
      out.push('_The runtime does not list this model now._', '');
    }
    if (!d.runtime) return out.join('\n');
    const r = d.registry;
    if (!r) {
      out.push('', `_The registry could not be read: ${d.registryError}_`);
      return out.join('\n');
    }
    out.push('## Versions (registry)', '');
    if (r.versions.length) {
      out.push('| Digest | First seen | Last seen | Pinned |', '|---|---|---|---|');
      for (const v of r.versions) out.push(`| \`${v.digest}\` | ${date(v.firstSeen)} | ${date(v.lastSeen)} | ${v.pinned ? 'yes' : ''} |`);
    } else out.push('_No digest recorded yet._');
    out.push('', '## Usage, last 30 days', '', `Last used: ${r.lastUsedAt ? `${date(r.lastUsedAt)} (${ago(Date.now() - r.lastUsedAt)})` : 'never'}`, '');
    if (r.usage.length) {
      out.push('| Day | Kind | Count | Prompt tokens | Output tokens | Duration | Mean time to first token |', '|---|---|---|---|---|---|---|');
      for (const u of r.usage) out.push(`| ${u.day} | ${u.kind} | ${u.count} | ${u.promptTokens} | ${u.outputTokens} | ${(u.durationMs / 1000).toFixed(1)} s | ${u.ttftMs === null ? '' : `${u.ttftMs} ms`} |`);
    } else out.push('_No usage recorded._');
    out.push('', '## Benchmark results', '');
    if (r.benchmarks.length) {
      out.push('| When | Hardware | Prompt set | TTFT ms | Prompt tok/s | Gen tok/s |', '|---|---|---|---|---|---|');
      for (const b of r.benchmarks) out.push(`| ${date(b.ts)} | ${cell(b.hardware)} | ${cell(b.promptSet)} | ${cell(b.ttftMs)} | ${cell(b.promptTps)} | ${cell(b.genTps)} |`);
    } else out.push('_None yet._');
    out.push('', '## Audit log', '');
    if (r.audit.length) {
      out.push('| When | Operation | Outcome |', '|---|---|---|');
      for (const a of r.audit) out.push(`| ${date(a.ts)} | ${a.operation} | ${a.outcome}${a.error ? `: ${cell(a.error)}` : ''} |`);
    } else out.push('_No operations recorded._');
    return out.join('\n');
  }
}

export function registerModelDetails(app: ModelsDeps, fit?: FitLine): vscode.Disposable {
  return vscode.workspace.registerTextDocumentContentProvider(DETAILS_SCHEME, new ModelDetailsProvider(app, fit));
}

export async function showModelDetails(runtimeId: string, name: string): Promise<vscode.TextEditor> {
  const doc = await vscode.workspace.openTextDocument(ModelDetailsProvider.uri(runtimeId, name));
  await vscode.languages.setTextDocumentLanguage(doc, 'markdown');
  return vscode.window.showTextDocument(doc, { preview: true });
}
