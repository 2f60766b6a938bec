// "Will it fit and how fast here" where decisions are made, and what to do with the disk:
// Recommended Models for This Machine… (ranked for a use, the reasons shown, a model not pulled
// offered for pulling) and Free Disk: Unused Models… (picked, confirmed, then removed through the
// models commands). The use cases run in the service (src/app/bench/fit.ts); this file asks and shows.
import * as vscode from 'vscode';
import { fitModel, recommendModels, unusedModels } from '../../app/bench/fit';
import { benchUseCases, type BenchDeps } from '../../app/bench/useCases';
import type { Runner } from '../../app/useCase';
import { errorMessage } from '../../core/lifecycle';
import { formatBytes } from '../../core/runtimes/pullProgress';
import { splitModelName } from '../../core/runtimes/runtime';
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

const [benchRun] = benchUseCases;

const PRESETS = [
  { label: 'Quick', detail: 'Concurrency 1; 3 rounds of 128 prompt words and 32 tokens.', input: { concurrency: [1], promptWords: 128, maxTokens: 32, minRounds: 3, maxRounds: 3 } },
  { label: 'Sweep', detail: 'Concurrency 1, 2, 4 and 8; pp512 and tg128 (as llama-bench), until the CV is under 3 % (at most 10 rounds).', input: { concurrency: [1, 2, 4, 8], promptWords: 512, maxTokens: 128, minRounds: 3, maxRounds: 10 } },
] as const;

interface BenchCommandDeps {
  readonly run: BenchRunner;
  readonly log: vscode.LogOutputChannel;
  /** The models the runtimes list that can generate (to pick from the palette). */
  readonly models: () => { runtimeId: string; runtime: string; name: string }[];
  /** Opens the benchmark view on a model (its key: runtimeId|name:tag). */
  readonly showView: (key: string) => void;
}

/** The benchmark view's key of a model: its runtime and its name:tag, as the registry keeps them. */
function benchKey(runtimeId: string, name: string): string {
  const { name: n, tag } = splitModelName(name);
  return `${runtimeId}|${n}:${tag}`;
}

export function registerBenchCommands({ run, log, models, showView }: BenchCommandDeps): vscode.Disposable[] {
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
    reg('llmStack.models.benchmark', async (node?: unknown, presetArg?: unknown) => {
      const given = node && typeof node === 'object' && 'runtimeId' in node && 'name' in node ? (node as { runtimeId: string; name: string }) : undefined;
      const target =
        given ??
        (await vscode.window.showQuickPick(
          models().map((m) => ({ label: m.name, description: m.runtime, m })),
          { title: 'Benchmark Model (1/2)', placeHolder: 'Benchmark which model?' },
        ))?.m;
      if (!target) return undefined;
      const preset = typeof presetArg === 'string' ? PRESETS.find((p) => p.label === presetArg) : await vscode.window.showQuickPick(PRESETS, { title: 'Benchmark Model (2/2)', placeHolder: 'How thorough?' });
      if (!preset) return undefined;
      const r = await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: `Benchmarking ${target.name}`, cancellable: true }, async (progress, token) => {
        const ac = new AbortController();
        const sub = token.onCancellationRequested(() => ac.abort());
        try {
          return await run(benchRun, { runtimeId: target.runtimeId, name: target.name, ...preset.input, concurrency: [...preset.input.concurrency] }, { signal: ac.signal, progress: (p) => progress.report({ message: p.message }) });
        } finally {
          sub.dispose();
        }
      });
      const first = r.levels[0];
      const summary = `${target.name}: ${first?.tgTps ? `${first.tgTps.p50.toFixed(1)} tokens/s` : 'no generation speed'}${first?.ttftMs ? `, first token in ${first.ttftMs.p50.toFixed(0)} ms` : ''} at concurrency ${first?.concurrency ?? 1}.`;
      log.info(`Benchmark ${r.runId}: ${summary}`);
      if (r.regression) void vscode.window.showWarningMessage(`${summary} Slower than this machine's history for this model beyond its noise.`, 'Show Benchmarks').then((b) => b && showView(benchKey(target.runtimeId, target.name)));
      else void vscode.window.showInformationMessage(summary);
      showView(benchKey(target.runtimeId, target.name));
      return r;
    }),
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
