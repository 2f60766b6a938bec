// The containers' use cases: list them as the Containers view classifies them, act on some
// (start, stop, restart, remove; each recorded in the audit log), inspect one, follow its logs.
// Stops, restarts and removals go through the actions the alert monitor watches (a
// MonitoredContainerActions in the editor), so they raise no alert.
import { z } from 'zod';
import { ContainerAction, ContainerActions, LogChunk, runBatch } from '../../core/docker/actions';
import type { ContainerCache } from '../../core/docker/containerCache';
import { buildContainerTree, ContainerNodeModel } from '../../core/docker/containerTree';
import { Classifier, ContainerRecord, displayState, runtimeKinds } from '../../core/docker/containers';
import { Cancelled, defineUseCase, InvalidInput } from '../useCase';

export interface ContainersDeps {
  /** The events-fed list (read, never the engine). */
  readonly containers: Pick<ContainerCache, 'list' | 'get' | 'isLoaded'>;
  readonly actions: Pick<ContainerActions, 'run' | 'inspect' | 'logs'>;
  /** The classifier of the moment (it changes with the image patterns). */
  readonly classifier: () => Classifier;
  /** Records each action on each container in the registry's audit log. */
  readonly audit?: (operation: string, target: string, error?: string) => Promise<void>;
}

export const containerActions = ['start', 'stop', 'restart', 'remove'] as const satisfies readonly ContainerAction[];
const actionSchema = z.enum(containerActions);

/** Whether `action` means anything for a container in this state (what a picker offers). */
export function actionApplies(action: ContainerAction, r: Pick<ContainerRecord, 'state'>): boolean {
  if (action === 'start') return r.state !== 'running';
  if (action === 'stop') return r.state === 'running' || r.state === 'restarting' || r.state === 'paused';
  return true;
}

const containerSchema = z.object({
  id: z.string(),
  name: z.string(),
  image: z.string(),
  state: z.string(),
  health: z.enum(['healthy', 'unhealthy', 'starting']).nullable(),
  /** What the view shows as the state: unhealthy wins over running. */
  display: z.string(),
  statusText: z.string(),
  /** The runtime kind it was classified as; null for other containers. */
  runtime: z.enum(runtimeKinds).nullable(),
  startedAt: z.number().nullable(),
  ports: z.array(z.object({ hostIp: z.string(), hostPort: z.number().int(), containerPort: z.number().int(), protocol: z.string() })),
  labels: z.record(z.string(), z.string()),
});

export type ContainerItem = z.output<typeof containerSchema>;

function toItem(n: ContainerNodeModel): z.input<typeof containerSchema> {
  const r = n.record;
  return {
    id: r.id,
    name: r.name,
    image: r.image,
    state: r.state,
    health: r.health ?? null,
    display: displayState(r).text,
    statusText: r.statusText,
    runtime: n.runtime ?? null,
    startedAt: r.startedAt ?? null,
    ports: r.ports.map((p) => ({ ...p })),
    labels: { ...r.labels },
  };
}

export const list = defineUseCase({
  name: 'containers.list',
  summary: 'The containers as the Containers view shows them: runtimes (by kind, then name), then the others by name.',
  input: z.object({ for: actionSchema.optional().describe('only the containers this action applies to') }),
  output: z.object({ loaded: z.boolean(), runtimes: z.array(containerSchema), others: z.array(containerSchema) }),
  run: async (deps: ContainersDeps, input) => {
    const records = deps.containers.list().filter((r) => !input.for || actionApplies(input.for, r));
    const tree = buildContainerTree(records, deps.classifier(), Date.now());
    return { loaded: deps.containers.isLoaded, runtimes: tree.runtimes.map(toItem), others: tree.others.map(toItem) };
  },
});

const targetSchema = z.object({ id: z.string().min(1), name: z.string().min(1).optional() });

function nameOf(deps: ContainersDeps, t: z.output<typeof targetSchema>): string {
  return t.name ?? deps.containers.get(t.id)?.name ?? t.id.slice(0, 12);
}

export const act = defineUseCase({
  name: 'containers.action',
  summary: 'Starts, stops, restarts or removes containers, all in parallel; one failing does not stop the others.',
  input: z.object({ action: actionSchema, targets: z.array(targetSchema).min(1) }),
  output: z.object({
    action: actionSchema,
    succeeded: z.array(z.object({ id: z.string(), name: z.string() })),
    failed: z.array(z.object({ id: z.string(), name: z.string(), error: z.string() })),
  }),
  run: async (deps: ContainersDeps, input) => {
    const targets = input.targets.map((t) => ({ id: t.id, name: nameOf(deps, t) }));
    const result = await runBatch(targets, (t) => deps.actions.run(input.action, t.id, t.name));
    const op = `container.${input.action}`;
    const target = (t: { id: string; name: string }) => `${t.name} (${t.id.slice(0, 12)})`;
    // The audit never throws (RegistryHost.audit logs what it could not write).
    await Promise.all([...result.succeeded.map((t) => deps.audit?.(op, target(t))), ...result.failed.map((f) => deps.audit?.(op, target(f.item), f.error))]);
    return { action: input.action, succeeded: result.succeeded, failed: result.failed.map((f) => ({ ...f.item, error: f.error })) };
  },
});

export const inspect = defineUseCase({
  name: 'containers.inspect',
  summary: "The engine's full description of a container (docker inspect).",
  input: targetSchema,
  output: z.record(z.string(), z.unknown()),
  run: async (deps: ContainersDeps, input) => (await deps.actions.inspect(input.id, nameOf(deps, input))) as Record<string, unknown>,
});

export const logsInputSchema = z.object({ id: z.string().min(1), name: z.string().min(1).optional(), tail: z.number().int().min(0).default(500) });

/**
 * Follows a container's logs: `onChunk` gets stdout and stderr as they come. Resolves once the
 * stream is open (a failure to open rejects, with a message for the user); `ended` then resolves
 * when it ends: with an error when it broke, without when the container stopped or `signal` aborted.
 * A stream, so not a request/response use case; the HTTP API will serve it as server-sent events.
 */
export async function followLogs(
  deps: ContainersDeps,
  input: z.input<typeof logsInputSchema>,
  o: { signal: AbortSignal; onChunk: (c: LogChunk) => void },
): Promise<{ ended: Promise<Error | undefined> }> {
  const parsed = logsInputSchema.safeParse(input);
  if (!parsed.success) throw new InvalidInput('containers.logs', parsed.error.issues.map((x) => `${x.path.join('.')}: ${x.message}`));
  const i = parsed.data;
  if (o.signal.aborted) throw new Cancelled('containers.logs');
  let end!: (e?: Error) => void;
  const ended = new Promise<Error | undefined>((resolve) => (end = resolve));
  const stream = await deps.actions.logs(i.id, nameOf(deps, i), { tail: i.tail, onData: o.onChunk, onEnd: (e) => end(e) });
  const stop = () => {
    stream.dispose();
    end();
  };
  if (o.signal.aborted) stop();
  else o.signal.addEventListener('abort', stop, { once: true });
  void ended.then(() => o.signal.removeEventListener('abort', stop));
  return { ended };
}

/** Every containers use case: what the CLI and the HTTP API register (logs stream on their own route). */
export const containersUseCases = [list, act, inspect] as const;
