// What an apply would do: the stack's current state read from the engine, and a pure plan that
// compares it with the desired containers (create, recreate and why, start, stop, remove).
import type Docker from 'dockerode';
import { withTimeout } from '../docker/connection';
import type { EngineError } from '../docker/engineError';
import { diffDigests, digestHoldsEnvValues, envRecord, envValueChanges, LABEL_CONFIG, parseConfigDigest, type ConfigDigest, type DesiredService } from './containerSpec';
import { hostMounts, hostPathWarnings, type HostMount } from './hostPaths';
import { networkName } from './normalize';
import { LABEL_CONFIG_HASH, LABEL_SERVICE, LABEL_STACK } from './schema';

/** A container of the stack as the engine has it. */
export interface ExistingContainer {
  readonly id: string;
  /** Without the leading "/". */
  readonly name: string;
  /** The service label; undefined on a container labelled with the stack only. */
  readonly service?: string;
  /** Engine state: running, exited, created, paused, restarting, dead, removing. */
  readonly status: string;
  readonly health?: 'starting' | 'healthy' | 'unhealthy';
  readonly startedAt?: string;
  /** The image as the container was created with it (a reference), and the image id it runs. */
  readonly image: string;
  readonly imageId: string;
  readonly configHash?: string;
  readonly configDigest?: ConfigDigest;
  readonly labels: Readonly<Record<string, string>>;
  /** Its environment as the engine reports it (the image's variables included): env changes are found against it. */
  readonly env: Readonly<Record<string, string>>;
}

interface ImagePresence {
  readonly present: boolean;
  /** The local image id, when present. */
  readonly id?: string;
}

export interface StackState {
  readonly stack: string;
  readonly containers: readonly ExistingContainer[];
  readonly networkExists: boolean;
  /** Engine names of the existing volumes whose name starts with "<stack>_". */
  readonly volumes: readonly string[];
  readonly images: Readonly<Record<string, ImagePresence>>;
}

type StepKind = 'pull' | 'create-network' | 'create-volume' | 'create' | 'recreate' | 'start' | 'stop' | 'remove' | 'unchanged';

export interface PlanStep {
  readonly kind: StepKind;
  /** The service the step is about (service steps and removals of labelled containers). */
  readonly service?: string;
  /** Image (pull), network, volume or container name. */
  readonly target: string;
  /** Why, in words for the plan document: "env changed (OLLAMA_BASE_URL)", "not present locally". */
  readonly reason: string;
  /** Services this one waits for. */
  readonly dependsOn: readonly string[];
  /** Engine id of the container the step acts on (recreate, start, stop, remove, unchanged). */
  readonly containerId?: string;
}

export interface StackPlan {
  readonly stack: string;
  readonly steps: readonly PlanStep[];
  /** The steps that change something: everything but "unchanged". Empty right after an apply. */
  readonly changes: readonly PlanStep[];
  /** Every host path (bind mount, device) each service gets, sensitive ones with a warning. */
  readonly hostMounts?: readonly HostMount[];
}

interface PlanOptions {
  /** Stack name; default the state's. */
  readonly stack?: string;
  /** The network to ensure; default networkName(stack) when there are services, none otherwise. */
  readonly network?: string | null;
  /** Volumes to ensure; default every named volume the services mount. */
  readonly volumes?: readonly string[];
  /** Resolves links in host paths that exist, so the plan names what a container really gets (realHostPath). */
  readonly realpath?: (p: string) => string;
}

// ---------------------------------------------------------------------------------------------
// Reading the state

const DEFAULT_TIMEOUT_MS = 10_000;

/**
 * The stack's containers (stopped ones too), its network and volumes, and which of `images` are
 * present locally. Every request is bounded by timeoutMs and aborted with signal.
 */
export async function readStackState(docker: Docker, stack: string, images: readonly string[], signal?: AbortSignal, timeoutMs = DEFAULT_TIMEOUT_MS): Promise<StackState> {
  const call = <T>(what: string, fn: (abortSignal: AbortSignal) => Promise<T>): Promise<T> => {
    signal?.throwIfAborted();
    return withTimeout(what, timeoutMs, (timeout) => fn(signal ? AbortSignal.any([timeout, signal]) : timeout));
  };
  const net = networkName(stack);

  const containersP = call('Listing the stack\'s containers', (abortSignal) =>
    docker.listContainers({ all: true, filters: { label: [`${LABEL_STACK}=${stack}`] }, abortSignal } as Docker.ContainerListOptions),
  ).then((list) =>
    Promise.all(
      list.map((c) =>
        call(`Reading container ${c.Names?.[0] ?? c.Id.slice(0, 12)}`, (abortSignal) => docker.getContainer(c.Id).inspect({ abortSignal })).then(
          toExisting,
          (e: unknown) => {
            // Removed between list and inspect: it is not there any more.
            if ((e as EngineError)?.statusCode === 404) return undefined;
            throw e;
          },
        ),
      ),
    ),
  );
  const networkP = call('Listing networks', (abortSignal) => docker.listNetworks({ filters: { name: [net] }, abortSignal })).then((list) =>
    list.some((n) => n.Name === net),
  );
  const volumesP = call('Listing volumes', (abortSignal) => docker.listVolumes({ filters: { name: [`${stack}_`] }, abortSignal })).then((r) => {
    const list = r.Volumes ?? [];
    return list.map((v) => v.Name).filter((n) => n.startsWith(`${stack}_`));
  });
  const imagesP = Promise.all(
    [...new Set(images)].map(async (ref): Promise<[string, ImagePresence]> => {
      try {
        const info = await call(`Reading image ${ref}`, () => docker.getImage(ref).inspect());
        return [ref, { present: true, id: info.Id }];
      } catch (e) {
        if ((e as EngineError)?.statusCode === 404) return [ref, { present: false }];
        throw e;
      }
    }),
  );

  const [containers, networkExists, volumes, imageList] = await Promise.all([containersP, networkP, volumesP, imagesP]);
  return {
    stack,
    containers: containers.filter((c): c is ExistingContainer => !!c),
    networkExists,
    volumes,
    images: Object.fromEntries(imageList),
  };
}

function toExisting(info: Docker.ContainerInspectInfo): ExistingContainer {
  const labels = info.Config?.Labels ?? {};
  const health = info.State?.Health?.Status;
  return {
    id: info.Id,
    name: info.Name.replace(/^\//, ''),
    service: labels[LABEL_SERVICE],
    status: info.State?.Status ?? 'unknown',
    health: health === 'starting' || health === 'healthy' || health === 'unhealthy' ? health : undefined,
    startedAt: info.State?.StartedAt,
    image: info.Config?.Image ?? '',
    imageId: info.Image,
    configHash: labels[LABEL_CONFIG_HASH],
    configDigest: parseConfigDigest(labels[LABEL_CONFIG]),
    labels,
    env: envRecord(info.Config?.Env),
  };
}

// ---------------------------------------------------------------------------------------------
// Planning (pure)

/** Compares desired and actual. Pure and cheap: no I/O, linear in services + containers. */
export function planStack(desired: readonly DesiredService[], state: StackState, o: PlanOptions = {}): StackPlan {
  const stack = o.stack ?? state.stack;
  const steps: PlanStep[] = [];

  // Pulls first: an apply stops before changing anything when one fails.
  const pulled = new Set<string>();
  for (const d of desired) {
    if (pulled.has(d.image) || state.images[d.image]?.present !== false) continue;
    pulled.add(d.image);
    steps.push({ kind: 'pull', target: d.image, reason: 'not present locally', dependsOn: [] });
  }

  const net = o.network === undefined ? (desired.length ? networkName(stack) : null) : o.network;
  if (net && !state.networkExists) steps.push({ kind: 'create-network', target: net, reason: 'the stack network does not exist', dependsOn: [] });
  const wantedVolumes = o.volumes ?? [...new Set(desired.flatMap((d) => d.volumes))];
  const haveVolumes = new Set(state.volumes);
  for (const v of wantedVolumes) if (!haveVolumes.has(v)) steps.push({ kind: 'create-volume', target: v, reason: 'the volume does not exist', dependsOn: [] });

  // Which existing container belongs to which service: the one with the expected name, else none.
  const wanted = new Map(desired.map((d) => [d.containerName, d]));
  const matched = new Map<string, ExistingContainer>();
  const removals: PlanStep[] = [];
  for (const c of state.containers) {
    const d = wanted.get(c.name);
    if (d && !matched.has(d.service)) {
      matched.set(d.service, c);
      continue;
    }
    const why = !c.service ? 'carries the stack label but no service label' : d || desired.some((x) => x.service === c.service) ? `a second container of service "${c.service}"` : 'no longer in the stack file';
    removals.push({ kind: 'remove', service: c.service, target: c.name, reason: why, dependsOn: [], containerId: c.id });
  }
  steps.push(...removals);

  for (const d of desired) steps.push(serviceStep(d, matched.get(d.service), state, pulled.has(d.image)));
  return { stack, steps, changes: steps.filter((s) => s.kind !== 'unchanged'), hostMounts: hostMounts(desired, { realpath: o.realpath }) };
}

function serviceStep(d: DesiredService, c: ExistingContainer | undefined, state: StackState, willPull: boolean): PlanStep {
  const base = { service: d.service, target: d.containerName, dependsOn: d.dependsOn };
  if (!c) return { ...base, kind: 'create', reason: createSummary(d) };
  const step = (kind: StepKind, reason: string): PlanStep => ({ ...base, kind, reason, containerId: c.id });

  const reasons: string[] = [];
  // The hash leaves env values out (it is a label): they are compared with the container's own.
  const envChanged = envValueChanges(d.create.Env, c.env);
  if (c.configHash !== d.configHash || envChanged.length) {
    const fields = diffDigests(c.configDigest, d.configDigest, envChanged);
    if (digestHoldsEnvValues(c.configDigest)) fields.push('its labels hold digests of env values (made by an older version): recreated without them');
    reasons.push(...(fields.length ? fields : ['configuration changed']));
  }
  const localId = state.images[d.image]?.id;
  if (!reasons.some((r) => r.startsWith('image')) && (willPull || (localId && c.imageId && localId !== c.imageId))) {
    reasons.push(`image updated (${d.image} is a newer local image than the container runs)`);
  }
  if (c.status === 'dead' || c.status === 'removing') reasons.push(`the container is ${c.status}`);
  if (reasons.length) return step('recreate', reasons.join('; ') + (d.desiredState === 'stopped' ? ' (left stopped)' : ''));

  const running = c.status === 'running' || c.status === 'restarting';
  if (d.desiredState === 'running' && !running) return step('start', c.status === 'paused' ? 'paused' : `${c.status === 'created' ? 'created but never started' : c.status}`);
  if (d.desiredState === 'stopped' && (running || c.status === 'paused')) return step('stop', 'the file wants it stopped');
  return step('unchanged', d.desiredState === 'running' ? (c.health ? `running, ${c.health}` : 'running') : 'stopped');
}

function createSummary(d: DesiredService): string {
  const parts = [`image ${d.image}`];
  for (const p of d.ports) parts.push(`${p.hostIp.includes(':') ? `[${p.hostIp}]` : p.hostIp}:${p.hostPort === 0 ? 'any' : p.hostPort}→${p.containerPort}${p.protocol === 'udp' ? '/udp' : ''}`);
  if (d.desiredState === 'stopped') parts.push('left stopped');
  return parts.join(', ');
}

const MARK: Record<StepKind, string> = {
  pull: '↓ pull',
  'create-network': '+ network',
  'create-volume': '+ volume',
  create: '+ create',
  recreate: '~ recreate',
  start: '▶ start',
  stop: '■ stop',
  remove: '- remove',
  unchanged: '= unchanged',
};

/** The plan as a readable diff, shown before anything runs. "No changes." when there is nothing to do. */
export function formatPlan(plan: StackPlan): string {
  const lines: string[] = [];
  const count = (k: StepKind) => plan.changes.filter((s) => s.kind === k).length;
  if (!plan.changes.length) lines.push('No changes.');
  else {
    const parts = (['pull', 'create', 'recreate', 'start', 'stop', 'remove'] as const).filter((k) => count(k)).map((k) => `${count(k)} to ${k}`);
    const other = count('create-network') + count('create-volume');
    if (other) parts.push(`${other} network/volume to create`);
    lines.push(`Stack "${plan.stack}": ${parts.join(', ')}.`);
  }
  // Before the steps, as the first thing read: what hands a container this machine.
  const mounts = plan.hostMounts ?? [];
  for (const w of hostPathWarnings(mounts)) lines.push(`! warning: ${w.message}`);
  for (const s of plan.steps) {
    const name = s.service ?? s.target;
    const after = s.dependsOn.length && (s.kind === 'create' || s.kind === 'recreate' || s.kind === 'start') ? ` [after ${s.dependsOn.join(', ')}]` : '';
    if (s.kind === 'recreate') lines.push(`${MARK[s.kind]} ${name}: ${s.reason}${after}`);
    else if (s.kind === 'remove') lines.push(`${MARK[s.kind]} ${name}  (${s.reason})`);
    else lines.push(`${MARK[s.kind].padEnd(11)} ${name}  (${s.reason})${after}`);
  }
  if (mounts.length) {
    lines.push('', 'Host paths the containers get:');
    for (const m of mounts) {
      const what = m.kind === 'device' ? 'device ' : '';
      lines.push(`  ${m.service}: ${what}${m.source} → ${m.target}${m.readOnly ? ' (read-only)' : ''}${m.warning ? `  ! ${m.warning}` : ''}`);
    }
  }
  return lines.join('\n');
}
