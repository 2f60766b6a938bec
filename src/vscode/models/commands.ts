// Model commands. Each takes (node?, nodes?) so one function serves the palette (quick picks),
// the context menu, inline buttons and multi-select; multi-select runs in parallel with one summary.
import * as vscode from 'vscode';
import { runBatch } from '../../core/docker/actions';
import { errorMessage } from '../../core/lifecycle';
import type { ModelCatalog, RuntimeState } from '../../core/runtimes/catalog';
import { verifyDigest, expectedDigestFromPath } from '../../core/runtimes/integrity';
import { locateModelFile } from '../../core/runtimes/modelFiles';
import { OllamaClient } from '../../core/runtimes/ollama';
import type { ModelTreeNode } from '../../core/runtimes/modelTree';
import { formatBytes } from '../../core/runtimes/pullProgress';
import { modelInput, runtimeInput } from '../../core/runtimes/registrySync';
import { splitModelName, type RuntimeModel } from '../../core/runtimes/runtime';
import type { RegistryService } from '../registry/service';
import { showModelDetails } from './details';
import { sortLabels, type ModelsTreeProvider } from './treeView';
import { apiKeySecret, SECTION } from '../settings';

/** What commands accept: a tree node, or { runtimeId, name } from tests and other commands. */
export type ModelArg = ModelTreeNode | { runtimeId: string; name?: string } | undefined;
type Target = { runtimeId: string; name: string };

export interface ModelCommandDeps {
  readonly catalog: ModelCatalog;
  readonly tree: ModelsTreeProvider;
  readonly registry: RegistryService;
  readonly secrets: vscode.SecretStorage;
  readonly log: vscode.LogOutputChannel;
  /** docker inspect of a runtime's container, to find a model's file through its mounts. */
  readonly inspectContainer?: (id: string) => Promise<unknown>;
}

function showError(deps: ModelCommandDeps, message: string): void {
  deps.log.error(message);
  void vscode.window.showErrorMessage(message, 'Show Log').then((a) => a && deps.log.show());
}

function asTarget(arg: ModelArg): Target | undefined {
  if (!arg || !('runtimeId' in arg)) return undefined;
  if ('type' in arg) return arg.type === 'model' ? { runtimeId: arg.runtimeId, name: arg.name } : undefined;
  return arg.name ? { runtimeId: arg.runtimeId, name: arg.name } : undefined;
}

async function pickRuntime(deps: ModelCommandDeps, placeholder: string, filter: (s: RuntimeState) => boolean): Promise<RuntimeState | undefined> {
  const list = deps.catalog.list().filter(filter);
  if (!list.length) {
    void vscode.window.showInformationMessage('No runtime can do that yet. Start an Ollama container with its port published, or add an endpoint.');
    return undefined;
  }
  if (list.length === 1) return list[0];
  const pick = await vscode.window.showQuickPick(
    list.map((s) => ({ label: s.endpoint.name, description: `${s.endpoint.kind} · ${s.endpoint.baseUrl}`, s })),
    { placeHolder: placeholder },
  );
  return pick?.s;
}

/** Targets from the clicked node and the selection; from a quick pick when run from the palette. */
async function resolveModels(deps: ModelCommandDeps, node: ModelArg, nodes: readonly ModelArg[] | undefined, placeholder: string, filter: (s: RuntimeState, name: string) => boolean): Promise<Target[]> {
  const fromArgs = (nodes?.length ? nodes : node ? [node] : []).map(asTarget).filter((t): t is Target => !!t);
  if (fromArgs.length) return fromArgs.filter((t) => {
    const s = deps.catalog.get(t.runtimeId);
    return !s || filter(s, t.name);
  });
  if (node || nodes?.length) return [];
  const items = deps.catalog
    .list()
    .flatMap((s) => s.models.filter((m) => filter(s, m.name)).map((m) => ({ label: m.name, description: `${s.endpoint.name}${m.sizeBytes ? ` · ${formatBytes(m.sizeBytes)}` : ''}${m.loaded ? ' · loaded' : ''}`, t: { runtimeId: s.endpoint.id, name: m.name } })));
  if (!items.length) {
    void vscode.window.showInformationMessage('No model to act on.');
    return [];
  }
  const picked = await vscode.window.showQuickPick(items, { placeHolder: placeholder, canPickMany: true });
  return picked?.map((p) => p.t) ?? [];
}

async function batch(deps: ModelCommandDeps, targets: Target[], title: string, done: string, fn: (t: Target) => Promise<void>): Promise<void> {
  if (!targets.length) return;
  const result = await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: targets.length === 1 ? `${title} ${targets[0].name}…` : `${title} ${targets.length} models…` }, () =>
    runBatch(targets, async (t) => {
      try {
        await fn(t);
      } catch (e) {
        throw new Error(errorMessage(e));
      }
    }),
  );
  for (const t of result.succeeded) deps.log.info(`${done} ${t.name}`);
  if (result.failed.length === 1 && targets.length === 1) showError(deps, result.failed[0].error);
  else if (result.failed.length) {
    const lines = result.failed.map((f) => `${f.item.name}: ${f.error}`);
    for (const l of lines) deps.log.error(l);
    void vscode.window.showErrorMessage(`${done} ${result.succeeded.length} of ${targets.length} models. ${result.failed.length} failed: ${lines.join(' · ')}`, 'Show Log').then((a) => a && deps.log.show());
  }
}

/** Pulls with a cancellable notification: bytes, speed and time left. */
async function pullOne(deps: ModelCommandDeps, runtime: RuntimeState, name: string): Promise<boolean> {
  return vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: `Pulling ${name} into ${runtime.endpoint.name}`, cancellable: true }, async (progress, token) => {
    const ac = new AbortController();
    const sub = token.onCancellationRequested(() => ac.abort());
    let reported = 0;
    let lastMessage = 0;
    try {
      await deps.catalog.pull(
        runtime.endpoint.id,
        name,
        (s) => {
          const pct = s.fraction !== undefined ? Math.floor(s.fraction * 100) : reported;
          const now = Date.now();
          if (pct > reported || now - lastMessage > 500) {
            progress.report({ message: s.message, increment: pct > reported ? pct - reported : undefined });
            reported = Math.max(reported, pct);
            lastMessage = now;
          }
        },
        ac.signal,
      );
      deps.log.info(`Pulled ${name} into ${runtime.endpoint.name}`);
      void vscode.window.showInformationMessage(`Pulled ${name} into ${runtime.endpoint.name}.`);
      return true;
    } catch (e) {
      if (ac.signal.aborted) {
        deps.log.info(`Pull of ${name} cancelled; pulling it again resumes where it stopped.`);
        void vscode.window.showInformationMessage(`Pull of ${name} cancelled. Pull it again to resume where it stopped.`);
        return false;
      }
      showError(deps, errorMessage(e));
      return false;
    } finally {
      sub.dispose();
    }
  });
}

async function pull(deps: ModelCommandDeps, node: ModelArg, nameArg?: string): Promise<void> {
  const fromNode = node && 'runtimeId' in node ? deps.catalog.get(node.runtimeId) : undefined;
  const runtime = fromNode?.endpoint.api === 'ollama' ? fromNode : await pickRuntime(deps, 'Pull into which runtime?', (s) => s.endpoint.api === 'ollama');
  if (!runtime) return;
  const value =
    nameArg ??
    (await vscode.window.showInputBox({
      title: `Pull models into ${runtime.endpoint.name}`,
      prompt: 'Model names as the runtime knows them (name or name:tag); several separated by spaces or commas are pulled in parallel',
      placeHolder: 'llama3.2:1b, qwen2.5:0.5b',
      validateInput: (v) => (v.trim() ? undefined : 'Enter at least one model name'),
    }));
  if (!value) return;
  const names = [...new Set(value.split(/[\s,]+/).filter(Boolean))];
  await Promise.all(names.map((n) => pullOne(deps, runtime, n)));
}

async function confirmDelete(targets: Target[]): Promise<boolean> {
  const names = targets.map((t) => t.name);
  const shown = names.length > 5 ? `${names.slice(0, 5).join(', ')} and ${names.length - 5} more` : names.join(', ');
  const answer = await vscode.window.showWarningMessage(
    `Delete ${targets.length === 1 ? 'model' : `${targets.length} models`} ${shown}?`,
    { modal: true, detail: 'The files are removed from the runtime; pulling again downloads them again. The registry keeps their history.' },
    'Delete',
  );
  return answer === 'Delete';
}

/** The model's file on this machine: a GGUF folder's file, or an Ollama blob reached through its container's mounts. */
async function modelFile(deps: ModelCommandDeps, state: RuntimeState, model: RuntimeModel): Promise<{ file: string } | { reason: string }> {
  if (model.file) return { file: model.file };
  if (state.endpoint.api !== 'ollama' || !state.endpoint.containerId || !deps.inspectContainer) return { reason: 'its runtime does not run in a container of this engine' };
  const show = await new OllamaClient(state.endpoint.baseUrl).show(model.name);
  return locateModelFile(show.modelfile, await deps.inspectContainer(state.endpoint.containerId));
}

async function verify(deps: ModelCommandDeps, node: ModelArg): Promise<string | undefined> {
  const [t] = await resolveModels(deps, node, undefined, 'Verify which model file?', (s, n) => !!s.models.find((m) => m.name === n)?.file || (s.endpoint.api === 'ollama' && !!s.endpoint.containerId));
  if (!t) return undefined;
  const state = deps.catalog.get(t.runtimeId);
  const model = deps.catalog.model(t.runtimeId, t.name);
  const found = state && model ? await modelFile(deps, state, model) : { reason: 'the runtime no longer lists it' };
  if (!state || !model || !('file' in found)) {
    const message = `${t.name}: its integrity cannot be checked here: ${'reason' in found ? found.reason : ''}.`;
    deps.log.info(message);
    void vscode.window.showInformationMessage(message);
    return 'unavailable';
  }
  const file = found.file;
  const { repos } = await deps.registry.get();
  const { name, tag } = splitModelName(model.name);
  const modelId = repos.modelIdFor(runtimeInput(state.endpoint), name, tag);
  // An Ollama blob is named after its sha256: the name is the truth. A GGUF file is compared with what the registry recorded.
  const recorded = expectedDigestFromPath(file) ?? repos.getModel(modelId)?.digest ?? undefined;
  const result = await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: `Verifying ${t.name}`, cancellable: true }, async (progress, token) => {
    const ac = new AbortController();
    const sub = token.onCancellationRequested(() => ac.abort());
    let last = 0;
    try {
      return await verifyDigest(file, recorded, {
        signal: ac.signal,
        onProgress: (done, total) => {
          const pct = total ? Math.floor((done / total) * 100) : 0;
          if (pct > last) progress.report({ increment: pct - last, message: `${formatBytes(done)} of ${formatBytes(total)}` });
          last = Math.max(last, pct);
        },
      });
    } finally {
      sub.dispose();
    }
  });
  if (result.status === 'match') {
    await deps.registry.audit('model.verify', `${state.endpoint.name}/${t.name}`);
    void vscode.window.showInformationMessage(`${t.name}: sha256 matches the recorded digest (${result.actual.slice(7, 19)}…, ${formatBytes(result.bytes)}).`);
  } else if (result.status === 'no-record') {
    repos.upsertModel({ ...modelInput(model), runtimeId: repos.getModel(modelId)!.runtime_id, digest: result.actual });
    await deps.registry.audit('model.verify', `${state.endpoint.name}/${t.name}`);
    void vscode.window.showInformationMessage(`${t.name}: no digest was recorded; recorded ${result.actual.slice(0, 19)}… as its reference. Verify again later to detect changes.`);
  } else {
    const message = `${t.name}: the file changed — its sha256 is ${result.actual.slice(0, 19)}…, the registry recorded ${result.expected?.slice(0, 19)}…. It was modified or damaged since; pull or copy it again, or accept it as a new version.`;
    await deps.registry.audit('model.verify', `${state.endpoint.name}/${t.name}`, message);
    deps.log.error(message);
    void vscode.window.showErrorMessage(message, 'Accept as New Version', 'Show Log').then((a) => {
      if (a === 'Show Log') deps.log.show();
      if (a === 'Accept as New Version') {
        const row = repos.getModel(modelId);
        if (row) repos.upsertModel({ ...modelInput(model), runtimeId: row.runtime_id, digest: result.actual });
        void deps.registry.audit('model.acceptVersion', `${state.endpoint.name}/${t.name}`);
      }
    });
  }
  return result.status;
}

async function tryPrompt(deps: ModelCommandDeps, node: ModelArg, promptArg?: string): Promise<string | undefined> {
  const [t] = await resolveModels(deps, node, undefined, 'Generate with which model?', (s) => s.endpoint.api !== 'gguf');
  if (!t) return undefined;
  const prompt = promptArg ?? (await vscode.window.showInputBox({ title: `Try ${t.name}`, prompt: 'A prompt; the answer goes to the LLM Stack log', value: 'Why is the sky blue?' }));
  if (!prompt) return undefined;
  const out = await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: `Generating with ${t.name}…`, cancellable: true }, async (_p, token) => {
    const ac = new AbortController();
    const sub = token.onCancellationRequested(() => ac.abort());
    try {
      return await deps.catalog.generate(t.runtimeId, t.name, prompt, { maxTokens: 64, signal: ac.signal });
    } finally {
      sub.dispose();
    }
  });
  const tps = out.outputTokens && out.durationMs ? ` · ${(out.outputTokens / (out.durationMs / 1000)).toFixed(1)} tokens/s` : '';
  // A thinking model's reasoning comes apart from its answer; a short budget may end before the answer.
  const thinking = out.thinking ? `Thinking:\n${out.thinking}\n\nAnswer:\n` : '';
  const answer = out.text || (out.thinking ? '(none yet: the token budget went to thinking)' : '');
  deps.log.info(`${t.name} answered (${out.outputTokens ?? '?'} tokens in ${out.durationMs.toFixed(0)} ms${tps}):\n${thinking}${answer}`);
  void vscode.window.showInformationMessage(`${t.name}: ${out.outputTokens ?? '?'} tokens in ${(out.durationMs / 1000).toFixed(1)} s${tps}. The answer is in the log.`, 'Show Log').then((a) => a && deps.log.show());
  return out.text;
}

async function addEndpoint(): Promise<void> {
  const url = await vscode.window.showInputBox({
    title: 'Add a model runtime endpoint',
    prompt: 'Base URL of an OpenAI-compatible server (llama.cpp, vLLM, LocalAI, LM Studio) or of Ollama',
    placeHolder: 'http://127.0.0.1:1234',
    validateInput: (v) => {
      try {
        const u = new URL(v.trim());
        return /^https?:$/.test(u.protocol) ? undefined : 'Use an http:// or https:// URL';
      } catch {
        return 'Not a URL';
      }
    },
  });
  if (!url) return;
  const kinds = [
    { label: 'OpenAI-compatible', runtimeKind: 'openai' },
    { label: 'llama.cpp server', runtimeKind: 'llamacpp' },
    { label: 'vLLM', runtimeKind: 'vllm' },
    { label: 'LocalAI', runtimeKind: 'localai' },
    { label: 'LM Studio', runtimeKind: 'lmstudio' },
    { label: 'Ollama', runtimeKind: 'ollama' },
  ];
  const kind = await vscode.window.showQuickPick(kinds, { placeHolder: 'Which kind of server?' });
  if (!kind) return;
  const name = await vscode.window.showInputBox({ title: 'Name shown in the Models view', value: new URL(url.trim()).host });
  if (name === undefined) return;
  const cfg = vscode.workspace.getConfiguration(SECTION);
  const list = cfg.get<unknown[]>('runtimes.endpoints', []);
  await cfg.update('runtimes.endpoints', [...(Array.isArray(list) ? list : []), { url: url.trim(), kind: kind.runtimeKind, name: name.trim() || undefined }], vscode.ConfigurationTarget.Global);
}

async function setApiKey(deps: ModelCommandDeps, node: ModelArg): Promise<void> {
  const fromNode = node && 'runtimeId' in node ? deps.catalog.get(node.runtimeId) : undefined;
  const runtime = fromNode ?? (await pickRuntime(deps, 'Set the API key of which runtime?', (s) => s.endpoint.api !== 'gguf'));
  if (!runtime) return;
  const key = await vscode.window.showInputBox({ title: `API key for ${runtime.endpoint.name}`, prompt: 'Kept in VS Code secret storage, sent as a Bearer token; empty removes it', password: true, ignoreFocusOut: true });
  if (key === undefined) return;
  if (key.trim()) await deps.secrets.store(apiKeySecret(runtime.endpoint.id), key.trim());
  else await deps.secrets.delete(apiKeySecret(runtime.endpoint.id));
  await deps.catalog.refresh(runtime.endpoint.id);
}

export function registerModelCommands(deps: ModelCommandDeps): vscode.Disposable[] {
  const reg = (id: string, fn: (node?: ModelArg, nodes?: readonly ModelArg[] | string, extra?: string) => Promise<unknown>) =>
    vscode.commands.registerCommand(id, async (node?: ModelArg, nodes?: readonly ModelArg[] | string, extra?: string) => {
      try {
        return await fn(node, nodes, extra);
      } catch (e) {
        showError(deps, errorMessage(e));
      }
    });
  const many = (nodes: readonly ModelArg[] | string | undefined) => (Array.isArray(nodes) ? nodes : undefined);
  const canDo = (what: 'load' | 'unload' | 'delete') => (s: RuntimeState, name: string) => {
    if (!(s.capabilities ? s.capabilities[what] : s.endpoint.api === 'ollama')) return false;
    const m = s.models.find((x) => x.name === name);
    return what === 'load' ? !!m && !m.loaded : what === 'unload' ? !!m?.loaded : !!m;
  };
  return [
    reg('llmStack.models.refresh', () => deps.catalog.refresh()),
    reg('llmStack.models.pull', (n, name) => pull(deps, n, typeof name === 'string' ? name : undefined)),
    reg('llmStack.models.delete', async (n, ns) => {
      const targets = await resolveModels(deps, n, many(ns), 'Delete which models?', canDo('delete'));
      if (!targets.length || !(await confirmDelete(targets))) return;
      await batch(deps, targets, 'Deleting', 'Deleted', (t) => deps.catalog.delete(t.runtimeId, t.name));
    }),
    reg('llmStack.models.load', async (n, ns) => batch(deps, await resolveModels(deps, n, many(ns), 'Load which models?', canDo('load')), 'Loading', 'Loaded', (t) => deps.catalog.load(t.runtimeId, t.name))),
    reg('llmStack.models.unload', async (n, ns) => batch(deps, await resolveModels(deps, n, many(ns), 'Unload which models?', canDo('unload')), 'Unloading', 'Unloaded', (t) => deps.catalog.unload(t.runtimeId, t.name))),
    reg('llmStack.models.copyName', async (n) => {
      const [t] = await resolveModels(deps, n, undefined, 'Copy the name of…', () => true);
      if (t) await vscode.env.clipboard.writeText(t.name);
      return t?.name;
    }),
    reg('llmStack.models.copyEndpoint', async (n) => {
      const id = n && 'runtimeId' in n ? n.runtimeId : (await pickRuntime(deps, 'Copy the endpoint of…', () => true))?.endpoint.id;
      const s = id ? deps.catalog.get(id) : undefined;
      if (s) await vscode.env.clipboard.writeText(s.endpoint.baseUrl);
      return s?.endpoint.baseUrl;
    }),
    reg('llmStack.models.details', async (n) => {
      const [t] = await resolveModels(deps, n, undefined, 'Show details of…', () => true);
      if (t) await showModelDetails(t.runtimeId, t.name);
    }),
    reg('llmStack.models.verify', (n) => verify(deps, n)),
    reg('llmStack.models.tryPrompt', (n, prompt) => tryPrompt(deps, n, typeof prompt === 'string' ? prompt : undefined)),
    reg('llmStack.models.filter', async (_n, value) => {
      const filter = typeof value === 'string' ? value : await vscode.window.showInputBox({ title: 'Filter models', prompt: 'Part of a name, family or quantization; empty shows all', value: deps.tree.viewOptions.filter ?? '' });
      if (filter !== undefined) await deps.tree.setOptions({ filter: filter.trim() || undefined });
    }),
    reg('llmStack.models.clearFilter', () => deps.tree.setOptions({ filter: undefined, loadedOnly: false })),
    reg('llmStack.models.sort', async (_n, value) => {
      const current = deps.tree.viewOptions;
      const items = [
        ...Object.entries(sortLabels).map(([k, label]) => ({ label, description: current.sort === k ? 'current' : undefined, sort: k as keyof typeof sortLabels })),
        { label: current.loadedOnly ? 'Show all models' : 'Show loaded models only', sort: undefined },
      ];
      const pick = typeof value === 'string' ? items.find((i) => i.sort === value) : await vscode.window.showQuickPick(items, { placeHolder: 'Sort models by' });
      if (!pick) return;
      await deps.tree.setOptions(pick.sort ? { sort: pick.sort } : { loadedOnly: !current.loadedOnly });
    }),
    reg('llmStack.models.addEndpoint', () => addEndpoint()),
    reg('llmStack.models.addGgufFolder', async () => {
      const picked = await vscode.window.showOpenDialog({ canSelectFolders: true, canSelectFiles: false, canSelectMany: true, openLabel: 'Add GGUF Folder' });
      if (!picked?.length) return;
      const cfg = vscode.workspace.getConfiguration(SECTION);
      const list = cfg.get<string[]>('models.ggufFolders', []);
      await cfg.update('models.ggufFolders', [...new Set([...(Array.isArray(list) ? list : []), ...picked.map((u) => u.fsPath)])], vscode.ConfigurationTarget.Global);
    }),
    reg('llmStack.models.setApiKey', (n) => setApiKey(deps, n)),
  ];
}
