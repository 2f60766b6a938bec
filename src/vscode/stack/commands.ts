// Stack file commands: New from Template, Plan (a read-only diff before anything runs), Apply
// (confirmed, one cancellable progress notification), Down (confirmed; volumes only when asked),
// exports to Compose / Kubernetes, Docker Swarm deploy and removal, and Export Running Stack.
// The work itself is in src/core/stack; this file asks, shows and reports.
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { EngineConnection } from '../../core/docker/connection';
import { createClassifier, normalizeImage } from '../../core/docker/containers';
import { errorMessage, type Logger } from '../../core/lifecycle';
import { safeTarget, writeFileSafely } from '../../core/safeWrite';
import { applyStack, ApplyError, downStack, type ApplyReport, type DownResult } from '../../core/stack/apply';
import { StackFileError } from '../../core/stack/document';
import { toCompose } from '../../core/stack/export/compose';
import { toKubernetes } from '../../core/stack/export/kubernetes';
import { exportRunningStack } from '../../core/stack/exportRunning';
import type { HardwareProbe } from '../../core/stack/hardware';
import { hostPathWarnings } from '../../core/stack/hostPaths';
import { formatPlan, type PlanStep, type StackPlan } from '../../core/stack/plan';
import { deploySwarm, removeSwarm, swarmStatus, type SwarmDeployResult } from '../../core/stack/swarm';
import { LABEL_SERVICE, LABEL_STACK } from '../../core/stack/schema';
import { ensureStackModels, type StackModelHost, type StackModelResult } from '../../core/stack/stackModels';
import { stackTemplates } from '../../core/stack/templates';
import { planPrepared, prepareStack, type PreparedStack } from '../../core/stack/workflow';
import { imagePatterns } from '../settings';
import { isStackDocument } from './editor';

export const PLAN_SCHEME = 'llmstack-plan';

export interface StackCommandDeps {
  readonly connection: EngineConnection;
  readonly hardware: HardwareProbe;
  readonly log: Logger & { show(): void };
  readonly audit?: (operation: string, target: string, error?: string) => unknown;
  /** The model catalog: pulls and loads the models the file lists after an apply. */
  readonly models?: StackModelHost;
}

/** Read-only documents showing plans (llmstack-plan:/<stack>.diff). */
class PlanDocuments implements vscode.TextDocumentContentProvider {
  private readonly texts = new Map<string, string>();
  private readonly changed = new vscode.EventEmitter<vscode.Uri>();
  readonly onDidChange = this.changed.event;

  provideTextDocumentContent(uri: vscode.Uri): string {
    return this.texts.get(uri.toString()) ?? '';
  }

  set(stack: string, text: string): vscode.Uri {
    const uri = vscode.Uri.from({ scheme: PLAN_SCHEME, path: `/${stack}.plan.diff` });
    this.texts.set(uri.toString(), text);
    this.changed.fire(uri);
    return uri;
  }

  dispose(): void {
    this.changed.dispose();
  }
}

/** The plan as the user reads it: the diff lines, then a summary and the `auto` choices. */
export function planDocumentText(p: PreparedStack, plan: StackPlan): string {
  const lines = [`# Plan for stack "${p.file.name}" (${p.stackDir})`, '#', formatPlan(plan)];
  if (p.resolved.explanations.length) {
    lines.push('', '# auto values on this machine:');
    for (const x of p.resolved.explanations) lines.push(`#   ${x.path.join('.')}: ${x.text}`);
  }
  return `${lines.join('\n')}\n`;
}

/** The destructive changes of a plan: what the confirmation names. */
function destructive(plan: StackPlan): PlanStep[] {
  return plan.changes.filter((s) => s.kind === 'recreate' || s.kind === 'remove' || s.kind === 'stop');
}

/** Runs the work of an apply with a way to report progress and, optionally, to cancel it. */
export type ProgressRunner = <T>(work: (progress: (message: string) => void, token?: vscode.CancellationToken) => Promise<T>) => Promise<T>;

export interface ApplyOutcome {
  readonly plan: StackPlan;
  readonly report?: ApplyReport;
  /** The models the file lists, pulled or loaded after the containers (when it lists any). */
  readonly models?: StackModelResult[];
  /** The user declined, or there was nothing to change. */
  readonly skipped?: 'no-changes' | 'declined';
}

/** The stack commands' work, callable without dialogs (tests pass `confirm`). */
export class StackController {
  readonly plans = new PlanDocuments();

  constructor(private readonly deps: StackCommandDeps) {}

  private docker() {
    const d = this.deps.connection.docker;
    if (!d) throw new Error('The Docker Engine is not connected: start Docker, then run LLM Stack: Reconnect to Docker.');
    return d;
  }

  /** The stack file to act on: the given one, the active editor's, or the workspace's llmstack.yaml. */
  async document(uri?: vscode.Uri): Promise<vscode.TextDocument> {
    if (uri instanceof vscode.Uri) return vscode.workspace.openTextDocument(uri);
    const active = vscode.window.activeTextEditor?.document;
    if (active && isStackDocument(active)) return active;
    const found = await vscode.workspace.findFiles('**/{llmstack,*.llmstack}.{yaml,yml,json}', '**/node_modules/**', 10);
    if (found.length === 1) return vscode.workspace.openTextDocument(found[0]);
    if (found.length > 1) {
      const pick = await vscode.window.showQuickPick(
        found.map((u) => ({ label: vscode.workspace.asRelativePath(u), uri: u })),
        { placeHolder: 'Which stack file?' },
      );
      if (pick) return vscode.workspace.openTextDocument(pick.uri);
      throw new vscode.CancellationError();
    }
    throw new Error('No stack file found: open an llmstack.yaml, or create one with LLM Stack: New Stack from Template.');
  }

  async prepare(doc: vscode.TextDocument): Promise<PreparedStack> {
    return prepareStack(doc.getText(), doc.fileName, this.deps.hardware);
  }

  async plan(uri?: vscode.Uri): Promise<{ prepared: PreparedStack; plan: StackPlan; planUri: vscode.Uri }> {
    const doc = await this.document(uri);
    const prepared = await this.prepare(doc);
    const { plan } = await planPrepared(this.docker(), prepared);
    const planUri = this.plans.set(prepared.file.name, planDocumentText(prepared, plan));
    return { prepared, plan, planUri };
  }

  /**
   * Plans, asks `confirm`, then applies and ensures the models. Only the changes run inside
   * `withProgress` (a cancellable notification in the command), so the plan and the question come
   * before any progress is shown.
   */
  async apply(
    uri: vscode.Uri | undefined,
    confirm: (plan: StackPlan, prepared: PreparedStack) => Promise<boolean>,
    withProgress: ProgressRunner = (work) => work(() => undefined),
  ): Promise<ApplyOutcome> {
    this.requireTrust('Applying a stack');
    const { prepared, plan } = await this.plan(uri);
    if (!plan.changes.length) return { plan, skipped: 'no-changes' };
    if (!(await confirm(plan, prepared))) return { plan, skipped: 'declined' };
    return withProgress(async (progress, token) => {
      const abort = new AbortController();
      const sub = token?.onCancellationRequested(() => abort.abort());
      try {
        const report = await applyStack(this.docker(), prepared.desired, plan, {
          stack: prepared.file.name,
          signal: abort.signal,
          log: this.deps.log,
          onProgress: (e) => {
            const what = `${e.step.kind} ${e.step.service ?? e.step.target}`;
            if (e.status === 'started') progress(`${what}…`);
            if (e.status === 'failed') this.deps.log.error(`${what} failed: ${e.message ?? ''}`);
            if (e.status === 'done') this.deps.log.info(`${what}: done`);
          },
        });
        void this.deps.audit?.('stack.apply', prepared.file.name);
        const models = await this.ensureModels(prepared, progress, abort.signal);
        return { plan, report, models };
      } catch (e) {
        void this.deps.audit?.('stack.apply', prepared.file.name, errorMessage(e));
        throw e;
      } finally {
        sub?.dispose();
      }
    });
  }

  /** Pulls and loads the models the file lists, through the catalog, once it has found each runtime. */
  async ensureModels(prepared: PreparedStack, progress?: (message: string) => void, signal?: AbortSignal): Promise<StackModelResult[] | undefined> {
    const host = this.deps.models;
    if (!host || !prepared.desired.some((d) => d.section === 'runtimes' && d.models.length)) return undefined;
    const containers = await this.docker().listContainers({ all: true, filters: { label: [`${LABEL_STACK}=${prepared.file.name}`] } });
    const idOf = (service: string) => containers.find((c) => c.Labels?.[LABEL_SERVICE] === service)?.Id;
    const results = await ensureStackModels(host, prepared.desired, idOf, { onProgress: progress, signal });
    for (const r of results) {
      const line = `${r.service}: ${r.model} ${r.outcome}${r.message ? ` (${r.message})` : ''}`;
      if (r.outcome === 'failed') this.deps.log.error(line);
      else this.deps.log.info(line);
    }
    return results;
  }

  async down(uri: vscode.Uri | undefined, removeVolumes: boolean): Promise<DownResult> {
    this.requireTrust('Taking a stack down');
    const doc = await this.document(uri);
    const prepared = await this.prepare(doc);
    const result = await downStack(this.docker(), prepared.file.name, { removeVolumes });
    void this.deps.audit?.(removeVolumes ? 'stack.down+volumes' : 'stack.down', prepared.file.name);
    return result;
  }

  /** Writes docker-compose.yaml or the Kubernetes manifests next to the stack file; returns the file. */
  async exportTo(uri: vscode.Uri | undefined, target: 'compose' | 'kubernetes', overwrite: (file: string) => Promise<boolean>): Promise<{ file: string; warnings: string[] } | undefined> {
    const doc = await this.document(uri);
    const prepared = await this.prepare(doc);
    const dir = path.dirname(doc.fileName);
    const out =
      target === 'compose'
        ? { name: 'docker-compose.yaml', ...toCompose(prepared.file, { params: prepared.resolved.params }) }
        : { name: `${prepared.file.name}.k8s.yaml`, ...toKubernetes(prepared.file, { params: prepared.resolved.params, stackDir: dir }) };
    // Never through a link, never outside the folder; the question names the real file.
    const t = await safeTarget(dir, out.name);
    if (t.exists && !(await overwrite(t.path))) return undefined;
    const file = await writeFileSafely(dir, out.name, out.text, { overwrite: t.exists });
    return { file, warnings: out.warnings };
  }

  async swarmDeploy(uri: vscode.Uri | undefined, publishPorts: boolean): Promise<SwarmDeployResult> {
    this.requireTrust('Deploying a stack');
    const doc = await this.document(uri);
    const prepared = await this.prepare(doc);
    const result = await deploySwarm(this.docker(), prepared.file, { params: prepared.resolved.params, publishPorts, stackDir: prepared.stackDir });
    void this.deps.audit?.('stack.swarm.deploy', prepared.file.name);
    return result;
  }

  async swarmRemove(uri: vscode.Uri | undefined): Promise<{ removed: string[]; networkRemoved: boolean }> {
    this.requireTrust('Removing a Swarm stack');
    const doc = await this.document(uri);
    const prepared = await this.prepare(doc);
    const result = await removeSwarm(this.docker(), prepared.file.name);
    void this.deps.audit?.('stack.swarm.remove', prepared.file.name);
    return result;
  }

  /** A stack file from what runs now: one stack's containers, or the given containers. */
  async exportRunning(o: { stack?: string; containerIds?: string[] }): Promise<{ text: string; warnings: string[] }> {
    const r = await exportRunningStack(this.docker(), { ...o, imagePatterns: imagePatterns() });
    return { text: r.text, warnings: r.warnings };
  }

  private requireTrust(what: string): void {
    if (!vscode.workspace.isTrusted) throw new Error(`${what} is turned off in Restricted Mode: a workspace file must not start containers until you trust the workspace.`);
  }
}

function reportError(log: StackCommandDeps['log'], e: unknown): void {
  if (e instanceof vscode.CancellationError) return;
  let message = errorMessage(e);
  if (e instanceof StackFileError) message = `${message}\nFix the problems shown in the editor, then try again.`;
  log.error(message);
  const first = message.split('\n')[0];
  void vscode.window.showErrorMessage(first, 'Show Log').then((a) => a && log.show());
}

function summary(report: ApplyReport): string {
  const counts = new Map<string, number>();
  for (const s of report.done) counts.set(s.kind, (counts.get(s.kind) ?? 0) + 1);
  const parts = [...counts].map(([k, n]) => `${n} ${k}`);
  return `${parts.join(', ') || 'nothing'} in ${(report.durationMs / 1000).toFixed(1)} s`;
}

/** The name a new stack gets: the workspace folder's, made valid. */
function defaultStackName(): string {
  const folder = vscode.workspace.workspaceFolders?.[0]?.name ?? 'llm';
  const n = folder.toLowerCase().replace(/[^a-z0-9_.-]+/g, '-').replace(/^[^a-z0-9]+/, '').slice(0, 63);
  return n || 'llm';
}

async function newFromTemplate(): Promise<vscode.Uri | undefined> {
  const pick = await vscode.window.showQuickPick(
    stackTemplates.map((t) => ({ label: t.label, description: t.description, template: t })),
    { placeHolder: 'Start a stack file from a template' },
  );
  if (!pick) return undefined;
  const name = await vscode.window.showInputBox({
    prompt: 'Stack name (prefixes container, volume and network names)',
    value: defaultStackName(),
    validateInput: (v) => (/^[a-z0-9][a-z0-9_.-]{0,62}$/.test(v) ? undefined : 'Use 1–63 lower-case letters, digits, "-", "_" or ".", starting with a letter or digit.'),
  });
  if (name === undefined) return undefined;
  const folder = vscode.workspace.workspaceFolders?.[0]?.uri;
  let target = folder ? vscode.Uri.joinPath(folder, pick.template.fileName) : undefined;
  let replace = false;
  if (target?.scheme === 'file') {
    // Refuses a link planted at the template's name before anything is asked.
    const t = await safeTarget(path.dirname(target.fsPath), path.basename(target.fsPath));
    if (t.exists) {
      const answer = await vscode.window.showWarningMessage(`${t.path} already exists.`, { modal: true }, 'Replace', 'Save Elsewhere…');
      if (answer === undefined) return undefined;
      if (answer === 'Save Elsewhere…') target = undefined;
      else replace = true;
    }
  }
  if (!target) {
    target = await vscode.window.showSaveDialog({ defaultUri: folder ? vscode.Uri.joinPath(folder, `${name}.llmstack.yaml`) : undefined, filters: { 'Stack file': ['yaml', 'yml'] } });
    // The save dialog asked about replacing already.
    replace = true;
  }
  if (!target) return undefined;
  const text = pick.template.text({ name });
  if (target.scheme === 'file') target = vscode.Uri.file(await writeFileSafely(path.dirname(target.fsPath), path.basename(target.fsPath), text, { overwrite: replace }));
  else await vscode.workspace.fs.writeFile(target, new TextEncoder().encode(text));
  await vscode.window.showTextDocument(target);
  return target;
}

export function registerStackCommands(deps: StackCommandDeps): { controller: StackController; disposables: vscode.Disposable[] } {
  const controller = new StackController(deps);
  const log = deps.log;

  const plan = async (uri?: vscode.Uri) => {
    try {
      const r = await vscode.window.withProgress({ location: vscode.ProgressLocation.Window, title: 'Planning the stack…' }, () => controller.plan(uri));
      const doc = await vscode.workspace.openTextDocument(r.planUri);
      await vscode.languages.setTextDocumentLanguage(doc, 'diff');
      await vscode.window.showTextDocument(doc, { viewColumn: vscode.ViewColumn.Beside, preview: true, preserveFocus: true });
      return r.plan;
    } catch (e) {
      reportError(log, e);
      return undefined;
    }
  };

  const confirmApply = async (p: StackPlan, prepared: PreparedStack): Promise<boolean> => {
    const uri = controller.plans.set(prepared.file.name, planDocumentText(prepared, p));
    const doc = await vscode.workspace.openTextDocument(uri);
    await vscode.window.showTextDocument(doc, { viewColumn: vscode.ViewColumn.Beside, preview: true, preserveFocus: true });
    const risky = destructive(p);
    const detail = [
      risky.length ? `This recreates, stops or removes: ${risky.map((s) => s.service ?? s.target).join(', ')}. Named volumes keep their data.` : 'The plan is shown beside the file.',
      ...hostPathWarnings(p.hostMounts ?? []).map((w) => `Warning: ${w.message}`),
    ].join('\n');
    const answer = await vscode.window.showWarningMessage(`Apply ${p.changes.length} change${p.changes.length === 1 ? '' : 's'} to stack "${prepared.file.name}"?`, { modal: true, detail }, 'Apply');
    return answer === 'Apply';
  };

  const apply = async (uri?: vscode.Uri) => {
    try {
      const outcome = await controller.apply(uri, confirmApply, async (work) =>
        vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: 'Applying the stack', cancellable: true }, (progress, token) =>
          work((message) => progress.report({ message }), token),
        ),
      );
      if (outcome.skipped === 'no-changes') void vscode.window.showInformationMessage('The stack is up to date: nothing to change.');
      else if (outcome.report) {
        const failed = outcome.models?.filter((m) => m.outcome === 'failed') ?? [];
        const models = outcome.models?.length ? ` Models: ${outcome.models.length - failed.length} of ${outcome.models.length} ready.` : '';
        if (failed.length) void vscode.window.showWarningMessage(`Stack applied: ${summary(outcome.report)}.${models} ${failed[0].service}: ${failed[0].model}: ${failed[0].message}`, 'Show Log').then((a) => a && log.show());
        else void vscode.window.showInformationMessage(`Stack applied: ${summary(outcome.report)}.${models}`);
      }
      return outcome;
    } catch (e) {
      if (e instanceof ApplyError) {
        log.error(e.message);
        void vscode.window.showErrorMessage(e.message.split('\n')[0], { detail: e.message } as vscode.MessageOptions, 'Show Log').then((a) => a && log.show());
        return undefined;
      }
      reportError(log, e);
      return undefined;
    }
  };

  const down = async (uri?: vscode.Uri) => {
    try {
      const doc = await controller.document(uri);
      const name = (await controller.prepare(doc)).file.name;
      const answer = await vscode.window.showWarningMessage(
        `Take stack "${name}" down?`,
        { modal: true, detail: "Its containers and network are removed. Named volumes (models, data) stay unless you choose to remove them too; that cannot be undone." },
        'Remove Containers',
        'Remove Containers and Volumes',
      );
      if (!answer) return undefined;
      const result = await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: `Taking ${name} down…` }, () =>
        controller.down(doc.uri, answer === 'Remove Containers and Volumes'),
      );
      void vscode.window.showInformationMessage(`Removed ${result.removed.length} container${result.removed.length === 1 ? '' : 's'}${result.volumesRemoved.length ? ` and ${result.volumesRemoved.length} volumes` : ''} of ${name}.`);
      return result;
    } catch (e) {
      reportError(log, e);
      return undefined;
    }
  };

  const exportTo = async (uri: vscode.Uri | undefined, target: 'compose' | 'kubernetes') => {
    try {
      const r = await controller.exportTo(uri, target, async (file) =>
        (await vscode.window.showWarningMessage(`${file} exists. Replace it?`, { modal: true }, 'Replace')) === 'Replace',
      );
      if (!r) return;
      for (const w of r.warnings) log.warn(w);
      await vscode.window.showTextDocument(vscode.Uri.file(r.file));
      if (r.warnings.length) void vscode.window.showWarningMessage(`Exported with ${r.warnings.length} note${r.warnings.length === 1 ? '' : 's'}: ${r.warnings[0]}`, 'Show Log').then((a) => a && log.show());
    } catch (e) {
      reportError(log, e);
    }
  };

  const swarmDeploy = async (uri?: vscode.Uri) => {
    try {
      const docker = deps.connection.docker;
      if (docker && (await swarmStatus(docker)) !== 'active') {
        const init = await vscode.window.showWarningMessage('This engine is not part of a swarm.', { modal: true, detail: 'Initialise a single-node swarm on it (advertised on 127.0.0.1)?' }, 'Initialise Swarm');
        if (init !== 'Initialise Swarm') return;
        await vscode.commands.executeCommand('llmStack.stack.swarmInit', true);
      }
      const ports = await vscode.window.showQuickPick(
        [
          { label: 'Without published ports', description: 'safe default: reach services from other swarm services only', publish: false },
          { label: 'Publish the ports on every interface', description: 'Swarm cannot bind 127.0.0.1: other machines can reach them', publish: true },
        ],
        { placeHolder: 'Swarm services and published ports' },
      );
      if (!ports) return;
      const r = await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: 'Deploying to Docker Swarm…' }, () => controller.swarmDeploy(uri, ports.publish));
      for (const w of r.warnings) log.warn(w);
      void vscode.window.showInformationMessage(`Deployed ${r.services.length} Swarm service${r.services.length === 1 ? '' : 's'} (${r.created.length} created, ${r.updated.length} updated).`);
    } catch (e) {
      reportError(log, e);
    }
  };

  const swarmRemove = async (uri?: vscode.Uri) => {
    try {
      const doc = await controller.document(uri);
      const name = (await controller.prepare(doc)).file.name;
      const answer = await vscode.window.showWarningMessage(`Remove the Swarm services of stack "${name}"?`, { modal: true }, 'Remove');
      if (answer !== 'Remove') return;
      const r = await controller.swarmRemove(doc.uri);
      void vscode.window.showInformationMessage(`Removed ${r.removed.length} Swarm service${r.removed.length === 1 ? '' : 's'} of ${name}.`);
    } catch (e) {
      reportError(log, e);
    }
  };

  const swarmInit = async (confirmed?: boolean) => {
    try {
      const docker = deps.connection.docker;
      if (!docker) throw new Error('The Docker Engine is not connected.');
      if (confirmed !== true) {
        const answer = await vscode.window.showWarningMessage('Initialise a single-node Docker Swarm on this engine?', { modal: true, detail: 'It listens and advertises on 127.0.0.1 only. `docker swarm leave --force` undoes it.' }, 'Initialise');
        if (answer !== 'Initialise') return;
      }
      await (docker.swarmInit as (o: object) => Promise<unknown>)({ ListenAddr: '127.0.0.1:2377', AdvertiseAddr: '127.0.0.1' });
      log.info('Initialised a single-node swarm (127.0.0.1).');
    } catch (e) {
      reportError(log, e);
      throw e;
    }
  };

  const exportRunning = async () => {
    try {
      const docker = deps.connection.docker;
      if (!docker) throw new Error('The Docker Engine is not connected.');
      const containers = await docker.listContainers({ all: false });
      const stacks = [...new Set(containers.map((c) => c.Labels?.[LABEL_STACK]).filter((s): s is string => !!s))];
      const classifier = createClassifier(imagePatterns());
      const runtimes = containers.filter((c) => classifier.classify({ image: normalizeImage(c.Image), labels: c.Labels ?? {} }) !== undefined);
      const items: (vscode.QuickPickItem & { stack?: string; ids?: string[] })[] = [
        ...stacks.map((s) => ({ label: `$(layers) ${s}`, description: 'stack applied from a stack file', stack: s })),
        ...(runtimes.length ? [{ label: '$(server-environment) Every running LLM container', description: runtimes.map((c) => c.Names[0]?.replace(/^\//, '')).join(', '), ids: runtimes.map((c) => c.Id) }] : []),
      ];
      if (!items.length) throw new Error('No stack or LLM runtime container is running: nothing to export.');
      const pick = items.length === 1 ? items[0] : await vscode.window.showQuickPick(items, { placeHolder: 'Export what runs now as a stack file' });
      if (!pick) return;
      const r = await controller.exportRunning({ stack: pick.stack, containerIds: pick.ids });
      for (const w of r.warnings) log.warn(w);
      const doc = await vscode.workspace.openTextDocument({ language: 'yaml', content: r.text });
      await vscode.window.showTextDocument(doc);
    } catch (e) {
      reportError(log, e);
    }
  };

  const exportMenu = async (uri?: vscode.Uri) => {
    const pick = await vscode.window.showQuickPick(
      [
        { label: 'Docker Compose file', detail: 'docker-compose.yaml next to the stack file', id: 'compose' },
        { label: 'Kubernetes manifests', detail: 'Deployments, Services and PersistentVolumeClaims', id: 'kubernetes' },
        { label: 'Deploy to Docker Swarm', detail: 'services on the connected engine’s swarm', id: 'swarm' },
        { label: 'Remove from Docker Swarm', id: 'swarmRemove' },
      ],
      { placeHolder: 'Export the stack' },
    );
    if (pick?.id === 'compose' || pick?.id === 'kubernetes') await exportTo(uri, pick.id);
    else if (pick?.id === 'swarm') await swarmDeploy(uri);
    else if (pick?.id === 'swarmRemove') await swarmRemove(uri);
  };

  return {
    controller,
    disposables: [
      controller.plans,
      vscode.workspace.registerTextDocumentContentProvider(PLAN_SCHEME, controller.plans),
      vscode.commands.registerCommand('llmStack.stack.new', () =>
        newFromTemplate().catch((e: unknown) => {
          reportError(log, e);
          return undefined;
        }),
      ),
      vscode.commands.registerCommand('llmStack.stack.plan', (uri?: vscode.Uri) => plan(uri)),
      vscode.commands.registerCommand('llmStack.stack.apply', (uri?: vscode.Uri) => apply(uri)),
      vscode.commands.registerCommand('llmStack.stack.down', (uri?: vscode.Uri) => down(uri)),
      vscode.commands.registerCommand('llmStack.stack.export', (uri?: vscode.Uri) => exportMenu(uri)),
      vscode.commands.registerCommand('llmStack.stack.exportCompose', (uri?: vscode.Uri) => exportTo(uri, 'compose')),
      vscode.commands.registerCommand('llmStack.stack.exportKubernetes', (uri?: vscode.Uri) => exportTo(uri, 'kubernetes')),
      vscode.commands.registerCommand('llmStack.stack.swarmDeploy', (uri?: vscode.Uri) => swarmDeploy(uri)),
      vscode.commands.registerCommand('llmStack.stack.swarmRemove', (uri?: vscode.Uri) => swarmRemove(uri)),
      vscode.commands.registerCommand('llmStack.stack.swarmInit', (confirmed?: boolean) => swarmInit(confirmed)),
      vscode.commands.registerCommand('llmStack.stack.exportRunning', () => exportRunning()),
    ],
  };
}
