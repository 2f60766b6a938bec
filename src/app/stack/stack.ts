// The stack file's use cases: read it, plan it against the engine, apply the plan (then the models
// it lists), and take the stack down. The front end asks before apply and down; these only do.
import { z } from 'zod';
import { applyStack, downStack } from '../../core/stack/apply';
import { errorMessage } from '../../core/lifecycle';
import { LABEL_SERVICE, LABEL_STACK } from '../../core/stack/schema';
import { ensureStackModels, type StackModelResult } from '../../core/stack/stackModels';
import { planPrepared, type PreparedStack } from '../../core/stack/workflow';
import { defineUseCase } from '../useCase';
import { engineOf, prepare, stackFileInput, type StackDeps } from './deps';
import { applySummary, destructiveTargets, planDocumentText, planFingerprint, planWarnings } from './present';
import { applyReportSchema, stackModelResultSchema, stackPlanSchema } from './schemas';

export const stackRead = defineUseCase({
  name: 'stack.read',
  summary: 'Reads and checks a stack file and resolves its auto values on this machine, without touching the engine.',
  input: stackFileInput,
  output: z.object({
    name: z.string(),
    stackDir: z.string(),
    services: z.array(z.object({ service: z.string(), section: z.enum(['runtimes', 'uis']), image: z.string(), containerName: z.string() })),
  }),
  run: async (deps: StackDeps, input) => {
    const p = await prepare(deps, input);
    return {
      name: p.file.name,
      stackDir: p.stackDir,
      services: p.desired.map((d) => ({ service: d.service, section: d.section, image: d.image, containerName: d.containerName })),
    };
  },
});

const planOutput = z.object({
  stack: z.string(),
  stackDir: z.string(),
  plan: stackPlanSchema,
  /** The plan document the editor shows beside the file. */
  text: z.string(),
  /** Pass it to stack.apply: it then refuses a plan other than this one. */
  fingerprint: z.string(),
  /** What the destructive changes recreate, stop or remove. */
  destructive: z.array(z.string()),
  /** Sensitive host paths the containers would get. */
  warnings: z.array(z.string()),
});

function planned(p: PreparedStack, plan: Awaited<ReturnType<typeof planPrepared>>['plan']): z.input<typeof planOutput> {
  return {
    stack: p.file.name,
    stackDir: p.stackDir,
    plan,
    text: planDocumentText(p, plan),
    fingerprint: planFingerprint(plan),
    destructive: destructiveTargets(plan),
    warnings: planWarnings(plan),
  };
}

export const stackPlan = defineUseCase({
  name: 'stack.plan',
  summary: 'Compares the stack file with what runs on the engine: what an apply would create, recreate (and why), start, stop or remove.',
  input: stackFileInput,
  output: planOutput,
  run: async (deps: StackDeps, input, o) => {
    const p = await prepare(deps, input);
    const { plan } = await planPrepared(engineOf(deps), p, o.signal);
    return planned(p, plan);
  },
});

export const stackApply = defineUseCase({
  name: 'stack.apply',
  summary: 'Plans the stack and carries the plan out (pulls, network, volumes, containers in dependency order), then pulls and loads the models the file lists.',
  input: stackFileInput.extend({
    /** The fingerprint of the plan the user confirmed (stack.plan): a different plan is refused. */
    fingerprint: z.string().optional(),
  }),
  output: z.object({
    stack: z.string(),
    plan: stackPlanSchema,
    /** Set when there was nothing to change: nothing ran. */
    skipped: z.literal('no-changes').optional(),
    report: applyReportSchema.optional(),
    /** "1 create, 1 pull in 2.0 s" */
    summary: z.string().optional(),
    /** The models the file lists, pulled or loaded after the containers (when it lists any). */
    models: z.array(stackModelResultSchema).optional(),
  }),
  run: async (deps: StackDeps, input, o) => {
    const p = await prepare(deps, input);
    const docker = engineOf(deps);
    const { plan } = await planPrepared(docker, p, o.signal);
    const stack = p.file.name;
    if (!plan.changes.length) return { stack, plan, skipped: 'no-changes' as const };
    if (input.fingerprint !== undefined && input.fingerprint !== planFingerprint(plan)) {
      throw new Error(`The stack "${stack}" changed since it was planned: plan it again, then apply.`);
    }
    const log = deps.log;
    const progress = (message: string) => o.progress?.({ message });
    try {
      const report = await applyStack(docker, p.desired, plan, {
        stack,
        signal: o.signal,
        log,
        onProgress: (e) => {
          const what = `${e.step.kind} ${e.step.service ?? e.step.target}`;
          if (e.status === 'started') progress(`${what}…`);
          if (e.status === 'failed') log?.error(`${what} failed: ${e.message ?? ''}`);
          if (e.status === 'done') log?.info(`${what}: done`);
        },
      });
      void deps.audit?.('stack.apply', stack);
      const models = await ensureModels(deps, p, progress, o.signal);
      return { stack, plan, report, summary: applySummary(report), ...(models ? { models } : {}) };
    } catch (e) {
      void deps.audit?.('stack.apply', stack, errorMessage(e));
      throw e;
    }
  },
});

/** Pulls and loads the models the file lists, through the catalog, once it has found each runtime. */
async function ensureModels(deps: StackDeps, p: PreparedStack, progress: (message: string) => void, signal?: AbortSignal): Promise<StackModelResult[] | undefined> {
  const host = deps.models;
  if (!host || !p.desired.some((d) => d.section === 'runtimes' && d.models.length)) return undefined;
  const containers = await engineOf(deps).listContainers({ all: true, filters: { label: [`${LABEL_STACK}=${p.file.name}`] } });
  const idOf = (service: string) => containers.find((c) => c.Labels?.[LABEL_SERVICE] === service)?.Id;
  const results = await ensureStackModels(host, p.desired, idOf, { onProgress: progress, signal, queueIdlePull: deps.queueIdlePull });
  for (const r of results) {
    const line = `${r.service}: ${r.model} ${r.outcome}${r.message ? ` (${r.message})` : ''}`;
    if (r.outcome === 'failed') deps.log?.error(line);
    else deps.log?.info(line);
  }
  return results;
}

export const stackDown = defineUseCase({
  name: 'stack.down',
  summary: "Removes the stack's containers and network, and its named volumes only when asked.",
  input: stackFileInput.extend({ removeVolumes: z.boolean().default(false) }),
  output: z.object({
    stack: z.string(),
    /** Names of the removed containers. */
    removed: z.array(z.string()),
    volumesRemoved: z.array(z.string()),
    networkRemoved: z.boolean(),
  }),
  run: async (deps: StackDeps, input, o) => {
    const p = await prepare(deps, input);
    const result = await downStack(engineOf(deps), p.file.name, { removeVolumes: input.removeVolumes, signal: o.signal });
    void deps.audit?.(input.removeVolumes ? 'stack.down+volumes' : 'stack.down', p.file.name);
    return { stack: p.file.name, ...result };
  },
});
