// Model commands. Each takes (node?, nodes?) so one function serves the palette (quick picks),
// the context menu, inline buttons and multi-select; multi-select runs in parallel with one summary.
import * as vscode from 'vscode';
import { acceptModelVersion, canAct, canGenerateWith, canPullInto, canVerifyModel, deleteModels, listModels, loadModels, type ModelAction, type ModelsDeps, parseModelNames, pullModels, takesApiKey, tryPrompt, unloadModels, verifyModel } from '../../app/models';
import { call, type Progress } from '../../app/useCase';
import { errorMessage } from '../../core/lifecycle';
import type { RuntimeState } from '../../core/runtimes/catalog';
import type { ModelTreeNode } from '../../core/runtimes/modelTree';
import { formatBytes } from '../../core/runtimes/pullProgress';
import { showModelDetails } from './details';
import { sortLabels, type ModelsTreeProvider } from './treeView';
import { addGgufFoldersSetting, addUserEndpointSetting, apiKeySecret } from '../settings';
import { showErrorWithLog } from '../notify';

/** What commands accept: a tree node, or { runtimeId, name } from tests and other commands. */
type ModelArg = ModelTreeNode | { runtimeId: string; name?: string } | undefined;
type Target = { runtimeId: string; name: string };

interface ModelCommandDeps {
  /** What the models use cases run on; the catalog is also read here to offer picks. */
  readonly app: ModelsDeps;
  readonly tree: ModelsTreeProvider;
  readonly secrets: vscode.SecretStorage;
  /** Hands a key to the local service, whose probes and idle unloads reach the runtime too. */
  readonly handKey: (endpointId: string, key: string | undefined) => Promise<void>;
  readonly log: vscode.LogOutputChannel;
  /** "fits in VRAM with ctx 8192 · about 35 tokens/s here" for a model (pulled or only named), from the service. */
  readonly fit?: (runtimeId: string, name: string) => Promise<string | undefined>;
}

function showError(deps: ModelCommandDeps, message: string): void {
  showErrorWithLog(deps.log, message);
}

function asTarget(arg: ModelArg): Target | undefined {
  if (!arg || !('runtimeId' in arg)) return undefined;
  if ('type' in arg) return arg.type === 'model' ? { runtimeId: arg.runtimeId, name: arg.name } : undefined;
  return arg.name ? { runtimeId: arg.runtimeId, name: arg.name } : undefined;
}

async function pickRuntime(deps: ModelCommandDeps, placeholder: string, filter: (s: RuntimeState) => boolean): Promise<RuntimeState | undefined> {
  const list = deps.app.catalog.list().filter(filter);
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
    const s = deps.app.catalog.get(t.runtimeId);
    return !s || filter(s, t.name);
  });
  if (node || nodes?.length) return [];
  const items = deps.app.catalog
    .list()
    .flatMap((s) => s.models.filter((m) => filter(s, m.name)).map((m) => ({ label: m.name, description: `${s.endpoint.name}${m.sizeBytes ? ` · ${formatBytes(m.sizeBytes)}` : ''}${m.loaded ? ' · loaded' : ''}`, t: { runtimeId: s.endpoint.id, name: m.name } })));
  if (!items.length) {
    void vscode.window.showInformationMessage('No model to act on.');
    return [];
  }
  const picked = await vscode.window.showQuickPick(items, { placeHolder: placeholder, canPickMany: true });
  return picked?.map((p) => p.t) ?? [];
}

type BatchUseCase = (targets: Target[]) => Promise<{ results: { name: string; ok: boolean; error?: string }[] }>;

async function batch(deps: ModelCommandDeps, targets: Target[], title: string, done: string, run: BatchUseCase): Promise<void> {
  if (!targets.length) return;
  const { results } = await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: targets.length === 1 ? `${title} ${targets[0].name}…` : `${title} ${targets.length} models…` }, () => run(targets));
  const succeeded = results.filter((r) => r.ok);
  const failed = results.filter((r) => !r.ok);
  for (const t of succeeded) deps.log.info(`${done} ${t.name}`);
  if (failed.length === 1 && targets.length === 1) showError(deps, failed[0].error ?? '');
  else if (failed.length) {
    const lines = failed.map((f) => `${f.name}: ${f.error}`);
    for (const l of lines) deps.log.error(l);
    void vscode.window.showErrorMessage(`${done} ${succeeded.length} of ${targets.length} models. ${failed.length} failed: ${lines.join(' · ')}`, 'Show Log').then((a) => a && deps.log.show());
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
      const { results } = await call(
        pullModels,
        deps.app,
        { runtimeId: runtime.endpoint.id, names: [name] },
        {
          signal: ac.signal,
          progress: (s) => {
            const pct = s.fraction !== undefined ? Math.floor(s.fraction * 100) : reported;
            const now = Date.now();
            if (pct > reported || now - lastMessage > 500) {
              progress.report({ message: s.message, increment: pct > reported ? pct - reported : undefined });
              reported = Math.max(reported, pct);
              lastMessage = now;
            }
          },
        },
      );
      const [r] = results;
      if (r.outcome === 'pulled') {
        deps.log.info(`Pulled ${name} into ${runtime.endpoint.name}`);
        void vscode.window.showInformationMessage(`Pulled ${name} into ${runtime.endpoint.name}.`);
        return true;
      }
      if (r.outcome === 'cancelled') {
        deps.log.info(`Pull of ${name} cancelled; pulling it again resumes where it stopped.`);
        void vscode.window.showInformationMessage(`Pull of ${name} cancelled. Pull it again to resume where it stopped.`);
        return false;
      }
      showError(deps, r.error ?? '');
      return false;
    } finally {
      sub.dispose();
    }
  });
}

async function pull(deps: ModelCommandDeps, node: ModelArg, nameArg?: string): Promise<void> {
  const fromNode = node && 'runtimeId' in node ? deps.app.catalog.get(node.runtimeId) : undefined;
  const runtime = fromNode && canPullInto(fromNode) ? fromNode : await pickRuntime(deps, 'Pull into which runtime?', canPullInto);
  if (!runtime) return;
  const value =
    nameArg ??
    (await vscode.window.showInputBox({
      title: `Pull models into ${runtime.endpoint.name}`,
      prompt: 'Model names as the runtime knows them (name or name:tag); several separated by spaces or commas are pulled in parallel',
      placeHolder: 'llama3.2:1b, qwen2.5:0.5b',
      // Before pulling: will it fit here, and how fast (shown as information, never blocking).
      validateInput: async (v) => {
        const names = parseModelNames(v);
        if (!names.length) return 'Enter at least one model name';
        const lines = await Promise.all(
          names.slice(0, 3).map(async (n) => {
            const line = await deps.fit?.(runtime.endpoint.id, n);
            return line && `${n}: ${line}`;
          }),
        );
        const message = lines.filter(Boolean).join('\n');
        return message ? { message, severity: vscode.InputBoxValidationSeverity.Info } : undefined;
      },
    }));
  if (!value) return;
  await Promise.all(parseModelNames(value).map((n) => pullOne(deps, runtime, n)));
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

/**
 * A cancellable notification opened only when the work reports its first step, so work that ends
 * before it starts (nothing to check here) shows none. Steps show as whole percents, never backwards.
 */
async function withLateProgress<T>(title: string, work: (signal: AbortSignal, report: (p: Progress) => void) => Promise<T>): Promise<T> {
  const ac = new AbortController();
  let finished!: () => void;
  const closed = new Promise<void>((r) => (finished = r));
  let bar: vscode.Progress<{ message?: string; increment?: number }> | undefined;
  let opened = false;
  let shown = 0;
  let reached = 0;
  let message: string | undefined;
  const flush = () => {
    if (!bar || reached <= shown) return;
    bar.report({ increment: reached - shown, message });
    shown = reached;
  };
  const report = (p: Progress) => {
    const pct = p.fraction !== undefined ? Math.floor(p.fraction * 100) : 0;
    if (pct > reached) [reached, message] = [pct, p.message];
    if (!opened) {
      opened = true;
      void vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title, cancellable: true }, (progress, token) => {
        const sub = token.onCancellationRequested(() => ac.abort());
        bar = progress;
        flush();
        return closed.finally(() => sub.dispose());
      });
    }
    flush();
  };
  try {
    return await work(ac.signal, report);
  } finally {
    finished();
  }
}

async function verify(deps: ModelCommandDeps, node: ModelArg): Promise<string | undefined> {
  const [t] = await resolveModels(deps, node, undefined, 'Verify which model file?', canVerifyModel);
  if (!t) return undefined;
  const result = await withLateProgress(`Verifying ${t.name}`, (signal, progress) => call(verifyModel, deps.app, t, { signal, progress }));
  if (result.status === 'unavailable') {
    deps.log.info(result.message);
    void vscode.window.showInformationMessage(result.message);
  } else if (result.status === 'mismatch') {
    deps.log.error(result.message);
    void vscode.window.showErrorMessage(result.message, 'Accept as New Version', 'Show Log').then(async (a) => {
      if (a === 'Show Log') deps.log.show();
      if (a === 'Accept as New Version') {
        try {
          await call(acceptModelVersion, deps.app, { ...t, digest: result.actual! });
        } catch (e) {
          showError(deps, errorMessage(e));
        }
      }
    });
  } else void vscode.window.showInformationMessage(result.message);
  return result.status;
}

async function promptModel(deps: ModelCommandDeps, node: ModelArg, promptArg?: string): Promise<string | undefined> {
  const [t] = await resolveModels(deps, node, undefined, 'Generate with which model?', canGenerateWith);
  if (!t) return undefined;
  const prompt = promptArg ?? (await vscode.window.showInputBox({ title: `Try ${t.name}`, prompt: 'A prompt; the answer goes to the LLM Stack log', value: 'Why is the sky blue?' }));
  if (!prompt) return undefined;
  const out = await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: `Generating with ${t.name}…`, cancellable: true }, async (_p, token) => {
    const ac = new AbortController();
    const sub = token.onCancellationRequested(() => ac.abort());
    try {
      return await call(tryPrompt, deps.app, { ...t, prompt }, { signal: ac.signal });
    } finally {
      sub.dispose();
    }
  });
  const tps = out.tokensPerSecond !== undefined ? ` · ${out.tokensPerSecond.toFixed(1)} tokens/s` : '';
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
  await addUserEndpointSetting({ url: url.trim(), kind: kind.runtimeKind, name: name.trim() || undefined });
}

async function setApiKey(deps: ModelCommandDeps, node: ModelArg): Promise<void> {
  const fromNode = node && 'runtimeId' in node ? deps.app.catalog.get(node.runtimeId) : undefined;
  const runtime = fromNode ?? (await pickRuntime(deps, 'Set the API key of which runtime?', takesApiKey));
  if (!runtime) return;
  const key = await vscode.window.showInputBox({ title: `API key for ${runtime.endpoint.name}`, prompt: 'Kept in VS Code secret storage, sent as a Bearer token; empty removes it', password: true, ignoreFocusOut: true });
  if (key === undefined) return;
  if (key.trim()) await deps.secrets.store(apiKeySecret(runtime.endpoint.id), key.trim());
  else await deps.secrets.delete(apiKeySecret(runtime.endpoint.id));
  try {
    await deps.handKey(runtime.endpoint.id, key.trim() || undefined);
  } catch (e) {
    deps.log.warn(`The API key of ${runtime.endpoint.name} is kept in this editor, but the LLM Stack service could not take it: ${e instanceof Error ? e.message : String(e)}`);
  }
  await call(listModels, deps.app, { runtimeId: runtime.endpoint.id, refresh: true });
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
  const canDo = (what: ModelAction) => (s: RuntimeState, name: string) => canAct(s, name, what);
  return [
    reg('llmStack.models.refresh', async () => {
      await call(listModels, deps.app, { refresh: true });
    }),
    reg('llmStack.models.pull', (n, name) => pull(deps, n, typeof name === 'string' ? name : undefined)),
    reg('llmStack.models.delete', async (n, ns) => {
      const targets = await resolveModels(deps, n, many(ns), 'Delete which models?', canDo('delete'));
      if (!targets.length || !(await confirmDelete(targets))) return;
      await batch(deps, targets, 'Deleting', 'Deleted', (ts) => call(deleteModels, deps.app, { models: ts }));
    }),
    reg('llmStack.models.load', async (n, ns) => batch(deps, await resolveModels(deps, n, many(ns), 'Load which models?', canDo('load')), 'Loading', 'Loaded', (ts) => call(loadModels, deps.app, { models: ts }))),
    reg('llmStack.models.unload', async (n, ns) => batch(deps, await resolveModels(deps, n, many(ns), 'Unload which models?', canDo('unload')), 'Unloading', 'Unloaded', (ts) => call(unloadModels, deps.app, { models: ts }))),
    reg('llmStack.models.copyName', async (n) => {
      const [t] = await resolveModels(deps, n, undefined, 'Copy the name of…', () => true);
      if (t) await vscode.env.clipboard.writeText(t.name);
      return t?.name;
    }),
    reg('llmStack.models.copyEndpoint', async (n) => {
      const id = n && 'runtimeId' in n ? n.runtimeId : (await pickRuntime(deps, 'Copy the endpoint of…', () => true))?.endpoint.id;
      const s = id ? deps.app.catalog.get(id) : undefined;
      if (s) await vscode.env.clipboard.writeText(s.endpoint.baseUrl);
      return s?.endpoint.baseUrl;
    }),
    reg('llmStack.models.details', async (n) => {
      const [t] = await resolveModels(deps, n, undefined, 'Show details of…', () => true);
      if (t) await showModelDetails(t.runtimeId, t.name);
    }),
    reg('llmStack.models.verify', (n) => verify(deps, n)),
    reg('llmStack.models.tryPrompt', (n, prompt) => promptModel(deps, n, typeof prompt === 'string' ? prompt : undefined)),
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
      await addGgufFoldersSetting(picked.map((u) => u.fsPath));
    }),
    reg('llmStack.models.setApiKey', (n) => setApiKey(deps, n)),
  ];
}
