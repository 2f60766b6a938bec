// Show Details: a read-only Markdown document (virtual scheme, no file written) with what the
// runtime reports and what the registry remembers: versions and digests, usage, benchmarks, audit.
import * as vscode from 'vscode';
import type { ModelCatalog } from '../../core/runtimes/catalog';
import { ago } from '../../core/runtimes/modelTree';
import { formatBytes } from '../../core/runtimes/pullProgress';
import { runtimeInput } from '../../core/runtimes/registrySync';
import { runtimeKindLabels, splitModelName } from '../../core/runtimes/runtime';
import type { RegistryService } from '../registry/service';

export const DETAILS_SCHEME = 'llmstack-model';

const cell = (v: unknown) => String(v ?? '').replace(/\|/g, '\\|').replace(/\n/g, ' ');
const date = (t: number) => new Date(t).toISOString().replace('T', ' ').slice(0, 16);

export class ModelDetailsProvider implements vscode.TextDocumentContentProvider {
  constructor(
    private readonly catalog: ModelCatalog,
    private readonly registry: RegistryService,
  ) {}

  static uri(runtimeId: string, name: string): vscode.Uri {
    return vscode.Uri.from({ scheme: DETAILS_SCHEME, path: `/${name.replace(/[\\/]/g, '_')}.md`, query: new URLSearchParams({ runtime: runtimeId, name }).toString() });
  }

  async provideTextDocumentContent(uri: vscode.Uri): Promise<string> {
    const q = new URLSearchParams(uri.query);
    const runtimeId = q.get('runtime') ?? '';
    const full = q.get('name') ?? '';
    const state = this.catalog.get(runtimeId);
    const model = this.catalog.model(runtimeId, full);
    const out: string[] = [`# ${full}`, ''];
    if (state) out.push(`${runtimeKindLabels[state.endpoint.kind]} **${state.endpoint.name}** at \`${state.endpoint.baseUrl}\``, '');
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
    } else {
      out.push('_The runtime does not list this model now._', '');
    }
    if (!state) return out.join('\n');
    try {
      const { repos } = await this.registry.get();
      const { name, tag } = splitModelName(full);
      const id = repos.modelIdFor(runtimeInput(state.endpoint), name, tag);
      const versions = repos.versions(id);
      out.push('## Versions (registry)', '');
      if (versions.length) {
        out.push('| Digest | First seen | Last seen | Pinned |', '|---|---|---|---|');
        for (const v of versions) out.push(`| \`${v.digest}\` | ${date(v.firstSeen)} | ${date(v.lastSeen)} | ${v.pinned ? 'yes' : ''} |`);
      } else out.push('_No digest recorded yet._');
      const row = repos.getModel(id);
      out.push('', '## Usage, last 30 days', '', `Last used: ${row?.last_used_at ? `${date(row.last_used_at)} (${ago(Date.now() - row.last_used_at)})` : 'never'}`, '');
      const usage = repos.usageByDay(id, 30);
      if (usage.length) {
        out.push('| Day | Kind | Count | Output tokens | Duration |', '|---|---|---|---|---|');
        for (const u of usage) out.push(`| ${u.day} | ${u.kind} | ${u.count} | ${u.outputTokens} | ${(u.durationMs / 1000).toFixed(1)} s |`);
      } else out.push('_No usage recorded._');
      const benchmarks = repos.benchmarks(id, 20);
      out.push('', '## Benchmark results', '');
      if (benchmarks.length) {
        out.push('| When | Hardware | Prompt set | TTFT ms | Prompt tok/s | Gen tok/s |', '|---|---|---|---|---|---|');
        for (const b of benchmarks) out.push(`| ${date(Number(b.ts))} | ${cell(b.hardware)} | ${cell(b.prompt_set)} | ${cell(b.ttft_ms)} | ${cell(b.prompt_tps)} | ${cell(b.gen_tps)} |`);
      } else out.push('_None yet._');
      const target = `${state.endpoint.name}/${full}`;
      const audit = repos.recentAudit(500).filter((a) => a.target === target).slice(0, 20);
      out.push('', '## Audit log', '');
      if (audit.length) {
        out.push('| When | Operation | Outcome |', '|---|---|---|');
        for (const a of audit) out.push(`| ${date(a.ts)} | ${a.operation} | ${a.outcome}${a.error ? `: ${cell(a.error)}` : ''} |`);
      } else out.push('_No operations recorded._');
    } catch (e) {
      out.push('', `_The registry could not be read: ${e instanceof Error ? e.message : String(e)}_`);
    }
    return out.join('\n');
  }
}

export function registerModelDetails(catalog: ModelCatalog, registry: RegistryService): vscode.Disposable {
  return vscode.workspace.registerTextDocumentContentProvider(DETAILS_SCHEME, new ModelDetailsProvider(catalog, registry));
}

export async function showModelDetails(runtimeId: string, name: string): Promise<vscode.TextEditor> {
  const doc = await vscode.workspace.openTextDocument(ModelDetailsProvider.uri(runtimeId, name));
  await vscode.languages.setTextDocumentLanguage(doc, 'markdown');
  return vscode.window.showTextDocument(doc, { preview: true });
}
