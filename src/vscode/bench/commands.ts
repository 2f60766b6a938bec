// "Will it fit and how fast here" where decisions are made, and what to do with the disk:
// Recommended Models for This Machine… (ranked for a use, the reasons shown, a model not pulled
// offered for pulling) and Free Disk: Unused Models… (picked, confirmed, then removed through the
// models commands). The use cases run in the service (src/app/bench/fit.ts); this file asks and shows.
import * as vscode from 'vscode';
import { fitModel, recommendModels, unusedModels } from '../../app/bench/fit';
import type { BenchDeps } from '../../app/bench/useCases';
import type { Runner } from '../../app/useCase';
import { errorMessage } from '../../core/lifecycle';
import { formatBytes } from '../../core/runtimes/pullProgress';
import { showErrorWithLog } from '../notify';

type BenchRunner = Runner<BenchDeps>;

/** One line for a model: its fit and its speed here ("fits in VRAM with ctx 8192 · about 35 tokens/s here"), or why not. */
export async function fitLine(run: BenchRunner, name: string, o: { runtimeId?: string; contextSize?: number } = {}): Promise<string | undefined> {
  try {
    const r = await run(fitModel, { name, runtimeId: o.runtimeId, contextSize: o.contextSize });
    return r.speed ? `${r.fit.text} · ${r.speed.text}` : r.fit.text;
  } catch {
    return undefined;
  }
}

const USES = [
  { label: 'chat', detail: 'Answers and writing: 10 tokens/s or more reads comfortably.' },
  { label: 'code', detail: 'Completion and edits: 15 tokens/s or more keeps up with typing.' },
  { label: 'embedding', detail: 'Search and retrieval: vectors, no generation speed to meet.' },
] as const;

export function registerBenchCommands(run: BenchRunner, log: vscode.LogOutputChannel): vscode.Disposable[] {
  const reg = (id: string, fn: (...args: unknown[]) => Promise<unknown>) =>
    vscode.commands.registerCommand(id, async (...args: unknown[]) => {
      try {
        return await fn(...args);
      } catch (e) {
        showErrorWithLog(log, `LLM Stack: ${errorMessage(e)}`);
        return undefined;
      }
    });
  return [
    reg('llmStack.models.recommend', async (useArg?: unknown, namesArg?: unknown) => {
      const use = typeof useArg === 'string' ? useArg : (await vscode.window.showQuickPick(USES, { title: 'Recommended Models for This Machine (1/2)', placeHolder: 'What is the model for?' }))?.label;
      if (!use) return undefined;
      const typed =
        Array.isArray(namesArg) ? namesArg.join(' ')
        : await vscode.window.showInputBox({ title: 'Recommended Models for This Machine (2/2)', prompt: 'Models you are thinking of pulling, to weigh with the local ones (optional)', placeHolder: 'llama3.2:3b qwen2.5-coder:7b' });
      if (typed === undefined) return undefined;
      const names = typed.split(/[\s,]+/).filter(Boolean);
      const r = await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: 'Ranking models for this machine…' }, () => run(recommendModels, { use: use as 'chat', names }));
      if (!r.models.length) {
        void vscode.window.showInformationMessage('No model to rank: no runtime lists one and no name was given.');
        return r;
      }
      const pick = await vscode.window.showQuickPick(
        r.models.map((m, i) => ({
          label: `${i === 0 ? '$(star-full) ' : ''}${m.name}`,
          description: `${m.pulled ? m.runtime : 'not pulled'}${m.tokensPerSecond !== undefined && m.verdict !== 'too-big' ? ` · ~${m.tokensPerSecond.toFixed(0)} tokens/s` : ''}`,
          detail: m.reasons.join(' · '),
          m,
        })),
        { title: `Recommended for ${use} on this machine`, placeHolder: 'Best first. Pick one not pulled to pull it.', matchOnDetail: true },
      );
      if (pick && !pick.m.pulled) await vscode.commands.executeCommand('llmStack.models.pull', undefined, pick.m.name);
      return r;
    }),
    reg('llmStack.models.unused', async (daysArg?: unknown) => {
      const days = typeof daysArg === 'number' ? daysArg : Number(await vscode.window.showInputBox({ title: 'Free Disk: Unused Models', prompt: 'Models not used for how many days?', value: '30', validateInput: (v) => (/^[1-9]\d{0,3}$/.test(v.trim()) ? undefined : 'A number of days, 1 to 3650') }));
      if (!days) return undefined;
      const r = await run(unusedModels, { days });
      if (!r.models.length) {
        void vscode.window.showInformationMessage(`Every model was used in the last ${days} days.`);
        return r;
      }
      const picks = await vscode.window.showQuickPick(
        r.models.map((m) => ({ label: m.name, description: `${m.runtime} · ${m.sizeBytes !== undefined ? formatBytes(m.sizeBytes) : 'size unknown'}`, detail: m.lastUsedAt ? `last used ${new Date(m.lastUsedAt).toLocaleDateString()}` : 'never used', m })),
        { title: `Unused for ${days} days: ${formatBytes(r.freeBytes)} in all`, placeHolder: 'Pick the models to remove (nothing is removed without asking)', canPickMany: true },
      );
      if (!picks?.length) return r;
      // The models commands confirm and remove, as from the Models view.
      await vscode.commands.executeCommand('llmStack.models.delete', undefined, picks.map((p) => ({ runtimeId: p.m.runtimeId, name: p.m.name })));
      return r;
    }),
  ];
}
