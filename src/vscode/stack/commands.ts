// Stack file commands: New from Template, Plan (a read-only diff before anything runs), Apply
// (confirmed, one cancellable progress notification), Down (confirmed; volumes only when asked),
// exports to Compose / Kubernetes, Docker Swarm deploy and removal, and Export Running Stack.
// The work itself is in the stack use cases (src/app/stack); this file asks, shows and reports.
import * as vscode from 'vscode';
import type { z } from 'zod';
import {
  ApplyError,
  STACK_NAME,
  StackFileError,
  stackApply,
  stackDown,
  stackExport,
  stackExportRunning,
  stackList,
  stackNew,
  stackPlan,
  stackRead,
  stackTemplates,
  swarmDeploy as swarmDeployCase,
  swarmInit as swarmInitCase,
  swarmRemove as swarmRemoveCase,
  swarmState,
  type StackDeps,
} from '../../app/stack';
import { call } from '../../app/useCase';
import { errorMessage, type Logger } from '../../core/lifecycle';
import { isStackDocument } from './editor';
import { showErrorWithLog } from '../notify';

const PLAN_SCHEME = 'llmstack-plan';

interface StackCommandDeps {
  /** What the stack use cases run with. */
  readonly app: StackDeps;
  readonly log: Logger & { show(): void };
}

type Planned = z.output<typeof stackPlan.output>;
type Applied = z.output<typeof stackApply.output>;
type StackFileInput = z.input<typeof stackPlan.input>;

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

/** Runs the work of an apply with a way to report progress and, optionally, to cancel it. */
type ProgressRunner = <T>(work: (progress: (message: string) => void, token?: vscode.CancellationToken) => Promise<T>) => Promise<T>;

interface ApplyOutcome {
  readonly plan: Applied['plan'];
  readonly report?: Applied['report'];
  /** "1 create, 1 pull in 2.0 s" */
  readonly summary?: string;
  /** The models the file lists, pulled or loaded after the containers (when it lists any). */
  readonly models?: Applied['models'];
  /** The user declined, or there was nothing to change. */
  readonly skipped?: 'no-changes' | 'declined';
}

/** The stack commands' work, callable without dialogs (tests pass `confirm`). */
export class StackController {
  readonly plans = new PlanDocuments();

  constructor(private readonly deps: StackCommandDeps) {}

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

  /** The stack file as the use cases take it: its path and the editor's text (unsaved edits included). */
  private input(doc: vscode.TextDocument): StackFileInput {
    return { file: doc.fileName, text: doc.getText() };
  }

  /** The stack's name (the file is checked and resolved; the engine is not asked). */
  async stackName(doc: vscode.TextDocument): Promise<string> {
    return (await call(stackRead, this.deps.app, this.input(doc))).name;
  }

  async plan(uri?: vscode.Uri): Promise<{ planned: Planned; plan: Planned['plan']; planUri: vscode.Uri }> {
    return this.planDocument(await this.document(uri));
  }

  private async planDocument(doc: vscode.TextDocument): Promise<{ planned: Planned; plan: Planned['plan']; planUri: vscode.Uri }> {
    const planned = await call(stackPlan, this.deps.app, this.input(doc));
    const planUri = this.plans.set(planned.stack, planned.text);
    return { planned, plan: planned.plan, planUri };
  }

  /**
   * Plans, asks `confirm`, then applies (the plan confirmed, or nothing) and ensures the models.
   * Only the changes run inside `withProgress` (a cancellable notification in the command), so the
   * plan and the question come before any progress is shown.
   */
  async apply(
    uri: vscode.Uri | undefined,
    confirm: (plan: Planned['plan'], planned: Planned) => Promise<boolean>,
    withProgress: ProgressRunner = (work) => work(() => undefined),
  ): Promise<ApplyOutcome> {
    this.requireTrust('Applying a stack');
    const doc = await this.document(uri);
    const input = this.input(doc);
    const { planned, plan } = await this.planDocument(doc);
    if (!plan.changes.length) return { plan, skipped: 'no-changes' };
    if (!(await confirm(plan, planned))) return { plan, skipped: 'declined' };
    return withProgress(async (progress, token) => {
      const abort = new AbortController();
      const sub = token?.onCancellationRequested(() => abort.abort());
      try {
        const r = await call(stackApply, this.deps.app, { ...input, fingerprint: planned.fingerprint }, { signal: abort.signal, progress: (p) => p.message && progress(p.message) });
        return r.skipped ? { plan: r.plan, skipped: r.skipped } : { plan: r.plan, report: r.report, summary: r.summary, models: r.models };
      } finally {
        sub?.dispose();
      }
    });
  }

  async down(uri: vscode.Uri | undefined, removeVolumes: boolean): Promise<z.output<typeof stackDown.output>> {
    this.requireTrust('Taking a stack down');
    const doc = await this.document(uri);
    return call(stackDown, this.deps.app, { ...this.input(doc), removeVolumes });
  }

  /** Writes docker-compose.yaml or the Kubernetes manifests next to the stack file; returns the file. */
  async exportTo(uri: vscode.Uri | undefined, target: 'compose' | 'kubernetes', overwrite: (file: string) => Promise<boolean>): Promise<{ file: string; warnings: string[] } | undefined> {
    const doc = await this.document(uri);
    const input = { ...this.input(doc), target };
    // Links and paths outside the folder are refused before anything is asked; the question names the real file.
    let r = await call(stackExport, this.deps.app, input);
    if (!r.written) {
      if (!(await overwrite(r.file))) return undefined;
      r = await call(stackExport, this.deps.app, { ...input, overwrite: true });
    }
    return { file: r.file, warnings: r.warnings };
  }

  async swarmDeploy(uri: vscode.Uri | undefined, publishPorts: boolean): Promise<z.output<typeof swarmDeployCase.output>> {
    this.requireTrust('Deploying a stack');
    const doc = await this.document(uri);
    return call(swarmDeployCase, this.deps.app, { ...this.input(doc), publishPorts });
  }

  async swarmRemove(uri: vscode.Uri | undefined): Promise<z.output<typeof swarmRemoveCase.output>> {
    this.requireTrust('Removing a Swarm stack');
    const doc = await this.document(uri);
    return call(swarmRemoveCase, this.deps.app, this.input(doc));
  }

  private requireTrust(what: string): void {
    if (!vscode.workspace.isTrusted) throw new Error(`${what} is turned off in Restricted Mode: a workspace file must not start containers until you trust the workspace.`);
  }
}

function reportError(log: StackCommandDeps['log'], e: unknown): void {
  if (e instanceof vscode.CancellationError) return;
  let message = errorMessage(e);
  if (e instanceof StackFileError) message = `${message}\nFix the problems shown in the editor, then try again.`;
  showErrorWithLog(log, message, { firstLine: true });
}

/** The name a new stack gets: the workspace folder's, made valid. */
function defaultStackName(): string {
  const folder = vscode.workspace.workspaceFolders?.[0]?.name ?? 'llm';
  const n = folder.toLowerCase().replace(/[^a-z0-9_.-]+/g, '-').replace(/^[^a-z0-9]+/, '').slice(0, 63);
  return n || 'llm';
}

async function newFromTemplate(app: StackDeps): Promise<vscode.Uri | undefined> {
  const templates = await call(stackTemplates, app, {});
  const pick = await vscode.window.showQuickPick(
    templates.map((t) => ({ label: t.label, description: t.description, template: t })),
    { placeHolder: 'Start a stack file from a template' },
  );
  if (!pick) return undefined;
  const name = await vscode.window.showInputBox({
    prompt: 'Stack name (prefixes container, volume and network names)',
    value: defaultStackName(),
    validateInput: (v) => (STACK_NAME.test(v) ? undefined : 'Use 1–63 lower-case letters, digits, "-", "_" or ".", starting with a letter or digit.'),
  });
  if (name === undefined) return undefined;
  const make = { template: pick.template.id, name };
  const show = async (target: vscode.Uri) => {
    await vscode.window.showTextDocument(target);
    return target;
  };
  const folder = vscode.workspace.workspaceFolders?.[0]?.uri;
  let target = folder ? vscode.Uri.joinPath(folder, pick.template.fileName) : undefined;
  if (target?.scheme === 'file') {
    // Written when nothing is there; a link planted at the template's name is refused before anything is asked.
    const first = await call(stackNew, app, { ...make, file: target.fsPath });
    if (first.written) return show(vscode.Uri.file(first.file!));
    const answer = await vscode.window.showWarningMessage(`${first.file} already exists.`, { modal: true }, 'Replace', 'Save Elsewhere…');
    if (answer === undefined) return undefined;
    if (answer === 'Save Elsewhere…') target = undefined;
  }
  // The save dialog asks about replacing itself.
  target ??= await vscode.window.showSaveDialog({ defaultUri: folder ? vscode.Uri.joinPath(folder, `${name}.llmstack.yaml`) : undefined, filters: { 'Stack file': ['yaml', 'yml'] } });
  if (!target) return undefined;
  if (target.scheme === 'file') return show(vscode.Uri.file((await call(stackNew, app, { ...make, file: target.fsPath, overwrite: true })).file!));
  const { text } = await call(stackNew, app, make);
  await vscode.workspace.fs.writeFile(target, new TextEncoder().encode(text));
  return show(target);
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

  const confirmApply = async (p: Planned['plan'], planned: Planned): Promise<boolean> => {
    const uri = controller.plans.set(planned.stack, planned.text);
    const doc = await vscode.workspace.openTextDocument(uri);
    await vscode.window.showTextDocument(doc, { viewColumn: vscode.ViewColumn.Beside, preview: true, preserveFocus: true });
    const risky = planned.destructive;
    const detail = [
      risky.length ? `This recreates, stops or removes: ${risky.join(', ')}. Named volumes keep their data.` : 'The plan is shown beside the file.',
      ...planned.warnings.map((w) => `Warning: ${w}`),
    ].join('\n');
    const answer = await vscode.window.showWarningMessage(`Apply ${p.changes.length} change${p.changes.length === 1 ? '' : 's'} to stack "${planned.stack}"?`, { modal: true, detail }, 'Apply');
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
        if (failed.length) void vscode.window.showWarningMessage(`Stack applied: ${outcome.summary}.${models} ${failed[0].service}: ${failed[0].model}: ${failed[0].message}`, 'Show Log').then((a) => a && log.show());
        else void vscode.window.showInformationMessage(`Stack applied: ${outcome.summary}.${models}`);
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
      const name = await controller.stackName(doc);
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
      // Not connected: the deploy below says so.
      if (deps.app.engine.docker && (await call(swarmState, deps.app, {})).state !== 'active') {
        const init = await vscode.window.showWarningMessage('This engine is not part of a swarm.', { modal: true, detail: 'Initialise a single-node swarm on it (advertised on 127.0.0.1)?' }, 'Initialise Swarm');
        if (init !== 'Initialise Swarm') return;
        // A failed init is reported once, below, and nothing is deployed.
        await call(swarmInitCase, deps.app, {});
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
      const name = await controller.stackName(doc);
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
      if (!deps.app.engine.docker) throw new Error('The Docker Engine is not connected.');
      if (confirmed !== true) {
        const answer = await vscode.window.showWarningMessage('Initialise a single-node Docker Swarm on this engine?', { modal: true, detail: 'It listens and advertises on 127.0.0.1 only. `docker swarm leave --force` undoes it.' }, 'Initialise');
        if (answer !== 'Initialise') return;
      }
      await call(swarmInitCase, deps.app, {});
    } catch (e) {
      reportError(log, e);
    }
  };

  const exportRunning = async () => {
    try {
      const { stacks, runtimes } = await call(stackList, deps.app, {});
      const items: (vscode.QuickPickItem & { stack?: string; ids?: string[] })[] = [
        ...stacks.map((s) => ({ label: `$(layers) ${s.name}`, description: 'stack applied from a stack file', stack: s.name })),
        ...(runtimes.length ? [{ label: '$(server-environment) Every running LLM container', description: runtimes.map((c) => c.name).join(', '), ids: runtimes.map((c) => c.id) }] : []),
      ];
      if (!items.length) throw new Error('No stack or LLM runtime container is running: nothing to export.');
      const pick = items.length === 1 ? items[0] : await vscode.window.showQuickPick(items, { placeHolder: 'Export what runs now as a stack file' });
      if (!pick) return;
      const r = await call(stackExportRunning, deps.app, { stack: pick.stack, containerIds: pick.ids });
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
        newFromTemplate(deps.app).catch((e: unknown) => {
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
