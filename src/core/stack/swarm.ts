// Deploys a stack file to Docker Swarm as services (`<stack>_<svc>` on an attachable overlay network
// `<stack>_default`), updates it in place on a second deploy, lists it and removes it.
import * as os from 'node:os';
import * as path from 'node:path';
import type Docker from 'dockerode';
import { z } from 'zod';
import { TimeoutError, withTimeout } from '../docker/connection';
import { engineMessage } from '../docker/engineError';
import { commandArgs, dependenciesOf, uiWiringEnv, durationMs, envStrings, healthcheckTest, networkName, parsePort, parseVolume, sizeBytes, volumeName } from './normalize';
import type { ServiceEntry, StackFile } from './schema';
import { LABEL_SERVICE, LABEL_STACK, services } from './schema';
import type { ResolvedParams } from './types';
import { commonWarnings, exportParams } from './export/common';

type SwarmState = 'active' | 'inactive' | 'pending' | 'error' | 'locked';

interface SwarmDeployOptions {
  readonly params?: ReadonlyMap<string, ResolvedParams>;
  /**
   * Publish the file's ports through the routing mesh. Off by default: Swarm cannot bind an address
   * such as 127.0.0.1, it publishes on every interface of every node.
   */
  readonly publishPorts?: boolean;
  /** The stack file's folder: relative bind mounts are resolved against it (Swarm needs absolute paths). */
  readonly stackDir?: string;
  readonly signal?: AbortSignal;
}

interface SwarmDeployResult {
  /** Swarm service names, `<stack>_<svc>`, in file order. */
  readonly services: string[];
  readonly created: string[];
  readonly updated: string[];
  readonly network: string;
  readonly warnings: string[];
}

interface SwarmTaskInfo {
  readonly id: string;
  readonly state: string;
  readonly desiredState: string;
  /** The task's status message, and its error when it failed. */
  readonly message: string;
  readonly error?: string;
}

interface SwarmServiceInfo {
  readonly id: string;
  /** `<stack>_<svc>` */
  readonly name: string;
  /** The stack file's service name (LABEL_SERVICE). */
  readonly service: string;
  readonly image: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly replicas: number;
  readonly running: number;
  /** The service's version index: it grows with every update. */
  readonly version: number;
  readonly tasks: SwarmTaskInfo[];
}

/** A failure a user can act on (no swarm, missing images, a clashing network). */
export class SwarmError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SwarmError';
  }
}

export const NOT_IN_SWARM = 'This engine is not part of a swarm: run `docker swarm init` (LLM Stack: Initialise Swarm…) first';

/** One engine call may take this long; Swarm answers from its raft store, so this is generous. */
const CALL_MS = 30_000;
/** How long removal waits for the tasks to let go of the network. */
const NETWORK_RELEASE_MS = 30_000;

/** The Swarm service name of a stack's service (what `docker stack deploy` names it too). */
function swarmServiceName(stack: string, service: string): string {
  return `${stack}_${service}`;
}

const infoSchema = z.looseObject({
  Swarm: z.looseObject({ LocalNodeState: z.string().nullish(), ControlAvailable: z.boolean().nullish(), Nodes: z.number().nullish() }).nullish(),
});

const serviceSchema = z.looseObject({
  ID: z.string(),
  Version: z.looseObject({ Index: z.number() }).nullish(),
  Spec: z.looseObject({
    Name: z.string(),
    Labels: z.record(z.string(), z.string()).nullish(),
    TaskTemplate: z.looseObject({ ContainerSpec: z.looseObject({ Image: z.string().nullish() }).nullish() }).nullish(),
    Mode: z.looseObject({ Replicated: z.looseObject({ Replicas: z.number().nullish() }).nullish() }).nullish(),
  }),
});

const taskSchema = z.looseObject({
  ID: z.string(),
  ServiceID: z.string(),
  DesiredState: z.string().default(''),
  Status: z.looseObject({ State: z.string().default(''), Message: z.string().nullish(), Err: z.string().nullish() }).nullish(),
});

const networkSchema = z.looseObject({ Id: z.string(), Name: z.string(), Scope: z.string().nullish(), Driver: z.string().nullish(), Labels: z.record(z.string(), z.string()).nullish() });


function statusCode(e: unknown): number | undefined {
  return (e as { statusCode?: number })?.statusCode;
}

/** Runs one engine call with a bound, aborted with the caller's signal as well. */
function call<T>(what: string, signal: AbortSignal | undefined, fn: (signal: AbortSignal) => Promise<T>): Promise<T> {
  signal?.throwIfAborted();
  return withTimeout(what, CALL_MS, (own) => fn(signal ? AbortSignal.any([own, signal]) : own));
}

/** The engine's swarm membership, as `docker info` shows it (an empty state reads as inactive). */
export async function swarmStatus(docker: Docker): Promise<SwarmState> {
  const info = infoSchema.parse(await call('The engine (docker info)', undefined, () => docker.info()));
  const s = info.Swarm?.LocalNodeState ?? '';
  return s === 'active' || s === 'pending' || s === 'error' || s === 'locked' ? s : 'inactive';
}

async function requireManager(docker: Docker, signal?: AbortSignal): Promise<number> {
  const info = infoSchema.parse(await call('The engine (docker info)', signal, () => docker.info()));
  const state = info.Swarm?.LocalNodeState ?? '';
  if (state === 'locked') throw new SwarmError('The swarm is locked: unlock it with `docker swarm unlock` and the unlock key, then deploy again.');
  if (state === 'pending') throw new SwarmError('This engine is still joining a swarm: wait until `docker info` shows "Swarm: active", then deploy again.');
  if (state === 'error') throw new SwarmError('The swarm of this engine is in an error state: see `docker info`, or leave it (`docker swarm leave --force`) and initialise it again.');
  if (state !== 'active') throw new SwarmError(NOT_IN_SWARM);
  if (info.Swarm?.ControlAvailable === false) throw new SwarmError('This engine is a swarm worker: services can only be deployed from a manager node (`docker node ls` lists them).');
  return info.Swarm?.Nodes ?? 1;
}

const RESTART: Record<string, string> = { no: 'none', always: 'any', 'unless-stopped': 'any', 'on-failure': 'on-failure' };

/** The service spec for one service of the file; throws SwarmError for what cannot run at all. */
function serviceSpec(file: StackFile, entry: ServiceEntry, network: string, o: SwarmDeployOptions, warnings: string[]): Docker.CreateServiceOptions {
  const spec = entry.spec;
  const p = exportParams(entry, o.params);
  warnings.push(...p.warnings, ...commonWarnings(entry, 'Swarm'));
  const wiring = uiWiringEnv(file, entry);
  warnings.push(...wiring.warnings);
  const env: Record<string, string> = { ...wiring.env, ...envStrings(spec.env), ...p.env };
  // Swarm reserves GPUs only as generic resources the node advertises (node-generic-resources in
  // daemon.json, differing per install); asking for ones no node has leaves the task pending
  // forever. The NVIDIA runtime, when it is the engine's default, reads NVIDIA_VISIBLE_DEVICES.
  switch (p.gpu.kind) {
    case 'none':
      break;
    case 'all':
      env.NVIDIA_VISIBLE_DEVICES ??= 'all';
      break;
    case 'devices':
      env.NVIDIA_VISIBLE_DEVICES ??= p.gpu.devices.join(',');
      break;
    case 'count':
      env.NVIDIA_VISIBLE_DEVICES ??= Array.from({ length: p.gpu.count }, (_, i) => String(i)).join(',');
      break;
  }
  if (p.gpu.kind !== 'none') {
    warnings.push(
      `${entry.name}: Swarm does not reserve GPUs here; NVIDIA_VISIBLE_DEVICES=${env.NVIDIA_VISIBLE_DEVICES} is set, which gives the GPUs only when the node's default runtime is nvidia ("default-runtime": "nvidia" in daemon.json).`,
    );
  }

  const labels = { ...(spec.labels ?? {}), [LABEL_STACK]: file.name, [LABEL_SERVICE]: entry.name };
  const mounts: Docker.MountSettings[] = [];
  for (const vs of spec.volumes ?? []) {
    const v = parseVolume(vs);
    if (v.kind === 'named') {
      mounts.push({
        Type: 'volume',
        Source: volumeName(file.name, v.name),
        Target: v.target,
        ReadOnly: v.readOnly,
        VolumeOptions: { NoCopy: false, Labels: { [LABEL_STACK]: file.name }, DriverConfig: { Name: 'local', Options: {} } },
      });
      continue;
    }
    let source = v.source;
    if (source === '~' || source.startsWith('~/')) source = path.join(os.homedir(), source.slice(1));
    else if (!path.isAbsolute(source)) {
      if (!o.stackDir) throw new SwarmError(`Service "${entry.name}": the bind mount "${v.source}" is relative, and Swarm needs an absolute path; deploy from a saved stack file (its folder resolves it) or write the full path.`);
      source = path.resolve(o.stackDir, source);
    }
    mounts.push({ Type: 'bind', Source: source, Target: v.target, ReadOnly: v.readOnly });
  }
  // Swarm has no ShmSize: a tmpfs of that size over /dev/shm stands in for it, world-writable with
  // the sticky bit (1777) like Docker's own /dev/shm.
  if (spec.shmSize !== undefined) {
    mounts.push({ Type: 'tmpfs', Source: '', Target: '/dev/shm', TmpfsOptions: { SizeBytes: sizeBytes(spec.shmSize), Mode: 0o1777 } });
  }

  const containerSpec: Docker.ContainerSpec = { Image: spec.image, Labels: labels, Env: Object.entries(env).map(([k, v]) => `${k}=${v}`) };
  const args = [...commandArgs(spec.command), ...p.args];
  if (args.length) containerSpec.Args = args;
  if (mounts.length) containerSpec.Mounts = mounts;
  if (spec.healthcheck) {
    const h = spec.healthcheck;
    const ns = (d: typeof h.interval) => (d === undefined ? undefined : Math.round(durationMs(d) * 1e6));
    // The Engine API's field is "Healthcheck"; @types/dockerode spells it "HealthCheck", which the engine ignores.
    const health: Docker.HealthConfig = { Test: healthcheckTest(h), Interval: ns(h.interval), Timeout: ns(h.timeout), Retries: h.retries, StartPeriod: ns(h.startPeriod) };
    Object.assign(containerSpec, { Healthcheck: health });
  }

  const ports: Docker.PortConfig[] = [];
  for (const ps of spec.ports ?? []) {
    const n = parsePort(ps);
    ports.push({ Protocol: n.protocol, TargetPort: n.containerPort, ...(n.hostPort ? { PublishedPort: n.hostPort } : {}), PublishMode: 'ingress' });
  }
  if (ports.length && o.publishPorts) {
    warnings.push(`${entry.name}: ports ${ports.map((x) => x.PublishedPort ?? x.TargetPort).join(', ')} are published on every interface of every node (Swarm cannot bind 127.0.0.1).`);
  } else if (ports.length) {
    warnings.push(
      `${entry.name}: ports not published (Swarm cannot bind 127.0.0.1, only every interface); reach the service through the attachable network "${network}", or deploy with published ports.`,
    );
  }
  const deps = dependenciesOf(entry);
  if (deps.length) warnings.push(`${entry.name}: Swarm has no start order; it starts together with ${deps.join(', ')} and retries until they answer.`);

  return {
    Name: swarmServiceName(file.name, entry.name),
    Labels: labels,
    TaskTemplate: {
      ContainerSpec: containerSpec,
      RestartPolicy: { Condition: RESTART[spec.restart ?? 'unless-stopped'] },
      // The alias lets services reach each other by their stack-file name, as with Compose.
      Networks: [{ Target: network, Aliases: [entry.name] }],
    },
    Mode: { Replicated: { Replicas: spec.state === 'stopped' ? 0 : 1 } },
    ...(ports.length && o.publishPorts ? { EndpointSpec: { Mode: 'vip', Ports: ports } } : { EndpointSpec: { Mode: 'vip' } }),
  };
}

/**
 * The Swarm service specs of a stack file, in file order, and what they cannot carry (pushed onto
 * `warnings`). Throws SwarmError for a relative bind mount without `o.stackDir`.
 */
export function swarmServiceSpecs(file: StackFile, o: SwarmDeployOptions = {}, warnings: string[] = []): Docker.CreateServiceOptions[] {
  const network = networkName(file.name);
  return services(file).map((e) => serviceSpec(file, e, network, o, warnings));
}

async function listStackServices(docker: Docker, stack: string, signal?: AbortSignal) {
  const raw = await call('Listing swarm services', signal, (abortSignal) => docker.listServices({ filters: { label: [`${LABEL_STACK}=${stack}`] }, abortSignal }));
  return z.array(serviceSchema).parse(raw);
}

async function findNetworks(docker: Docker, name: string, signal?: AbortSignal) {
  const raw = await call('Listing networks', signal, (abortSignal) => docker.listNetworks({ filters: { name: [name] }, abortSignal }));
  // The name filter matches parts of names; only the exact name counts.
  return z.array(networkSchema).parse(raw).filter((n) => n.Name === name);
}

/**
 * Deploys (or updates) the stack as Swarm services. Everything that can fail for a reason the user
 * can fix (no swarm, a worker node, missing images, relative bind mounts, a non-overlay network of
 * the same name) is checked before anything is created.
 */
export async function deploySwarm(docker: Docker, file: StackFile, o: SwarmDeployOptions = {}): Promise<SwarmDeployResult> {
  const signal = o.signal;
  const nodes = await requireManager(docker, signal);
  const warnings: string[] = [];
  const all = services(file);
  const network = networkName(file.name);

  const images = [...new Set(all.map((e) => e.spec.image))];
  const missing: string[] = [];
  for (const image of images) {
    try {
      await call(`Inspecting image ${image}`, signal, () => docker.getImage(image).inspect());
    } catch (e) {
      if (statusCode(e) === 404) missing.push(image);
      else throw e;
    }
  }
  if (missing.length) {
    throw new SwarmError(`${missing.length === 1 ? 'The image' : 'The images'} ${missing.map((i) => `"${i}"`).join(', ')} ${missing.length === 1 ? 'is' : 'are'} not on this engine: pull or build ${missing.length === 1 ? 'it' : 'them'} first. Nothing was deployed.`);
  }
  if (nodes > 1) warnings.push(`The swarm has ${nodes} nodes: each node that runs a task needs the images (${images.join(', ')}) or access to their registry.`);

  const specs = swarmServiceSpecs(file, o, warnings);

  const existingNets = await findNetworks(docker, network, signal);
  const clash = existingNets.find((n) => n.Scope !== 'swarm');
  if (clash) {
    throw new SwarmError(
      `A ${clash.Driver ?? ''} network "${network}" exists on this engine (the stack runs as plain containers?), and a swarm network of the same name would make the name ambiguous. Remove the stack's containers and network first, then deploy to the swarm. Nothing was deployed.`,
    );
  }

  const existing = await listStackServices(docker, file.name, signal);
  const byName = new Map(existing.map((s) => [s.Spec.Name, s]));
  const stale = existing.filter((s) => !specs.some((sp) => sp.Name === s.Spec.Name)).map((s) => s.Spec.Name);
  if (stale.length) warnings.push(`The swarm stack also has ${stale.join(', ')}, no longer in the file; left running (removing the stack removes them).`);

  if (!existingNets.length) {
    try {
      await call(`Creating network ${network}`, signal, (abortSignal) =>
        docker.createNetwork({ Name: network, Driver: 'overlay', Attachable: true, CheckDuplicate: true, Labels: { [LABEL_STACK]: file.name }, abortSignal }),
      );
    } catch (e) {
      // Created meanwhile by a concurrent deploy: fine.
      if (statusCode(e) !== 409) throw new SwarmError(`Creating the overlay network "${network}" failed: ${engineMessage(e)}`);
    }
  }

  const created: string[] = [];
  const updated: string[] = [];
  for (const spec of specs) {
    const name = spec.Name!;
    const current = byName.get(name);
    try {
      if (current) {
        const version = current.Version?.Index ?? 0;
        await call(`Updating service ${name}`, signal, (abortSignal) => docker.getService(current.ID).update({ _query: { version }, _body: spec, abortSignal }));
        updated.push(name);
      } else {
        await call(`Creating service ${name}`, signal, (abortSignal) => docker.createService({ ...spec, abortSignal }));
        created.push(name);
      }
    } catch (e) {
      if (e instanceof TimeoutError || signal?.aborted) throw e;
      throw new SwarmError(`${current ? 'Updating' : 'Creating'} the swarm service "${name}" failed: ${engineMessage(e)}`);
    }
  }
  return { services: specs.map((s) => s.Name!), created, updated, network, warnings };
}

/** The stack's Swarm services with their tasks, in name order. */
export async function listSwarmStack(docker: Docker, stack: string): Promise<SwarmServiceInfo[]> {
  const list = await listStackServices(docker, stack);
  if (!list.length) return [];
  const rawTasks = await call('Listing swarm tasks', undefined, (abortSignal) => docker.listTasks({ filters: { service: list.map((s) => s.ID) }, abortSignal } as object));
  const tasks = z.array(taskSchema).parse(rawTasks);
  return list
    .map((s): SwarmServiceInfo => {
      const own = tasks.filter((t) => t.ServiceID === s.ID);
      const labels = s.Spec.Labels ?? {};
      return {
        id: s.ID,
        name: s.Spec.Name,
        service: labels[LABEL_SERVICE] ?? s.Spec.Name.slice(stack.length + 1),
        image: s.Spec.TaskTemplate?.ContainerSpec?.Image ?? '',
        labels,
        replicas: s.Spec.Mode?.Replicated?.Replicas ?? 1,
        running: own.filter((t) => t.Status?.State === 'running').length,
        version: s.Version?.Index ?? 0,
        tasks: own.map((t) => ({
          id: t.ID,
          state: t.Status?.State ?? '',
          desiredState: t.DesiredState,
          message: t.Status?.Message ?? '',
          ...(t.Status?.Err ? { error: t.Status.Err } : {}),
        })),
      };
    })
    .sort((a, b) => a.name.localeCompare(b.name));
}

/**
 * Removes the stack's services and then its overlay network (once the tasks have let go of it,
 * within a bound). Volumes stay: they hold the models, and the plain-container stack shares them.
 */
export async function removeSwarm(docker: Docker, stack: string): Promise<{ removed: string[]; networkRemoved: boolean }> {
  const list = await listStackServices(docker, stack);
  const removed: string[] = [];
  for (const s of list) {
    try {
      await call(`Removing service ${s.Spec.Name}`, undefined, (abortSignal) => docker.getService(s.ID).remove({ abortSignal }));
      removed.push(s.Spec.Name);
    } catch (e) {
      if (statusCode(e) !== 404) throw new SwarmError(`Removing the swarm service "${s.Spec.Name}" failed: ${engineMessage(e)}`);
    }
  }
  const nets = (await findNetworks(docker, networkName(stack))).filter((n) => n.Scope === 'swarm' && n.Labels?.[LABEL_STACK] === stack);
  let networkRemoved = false;
  for (const n of nets) {
    const deadline = Date.now() + NETWORK_RELEASE_MS;
    for (;;) {
      try {
        await call(`Removing network ${n.Name}`, undefined, (abortSignal) => docker.getNetwork(n.Id).remove({ abortSignal }));
        networkRemoved = true;
        break;
      } catch (e) {
        if (statusCode(e) === 404) break;
        // "has active endpoints" until the removed services' tasks have shut down.
        if (Date.now() > deadline) throw new SwarmError(`The services are removed, but the network "${n.Name}" is still in use: ${engineMessage(e)}. Remove it later with \`docker network rm ${n.Name}\`.`);
        await new Promise((r) => setTimeout(r, 250));
      }
    }
  }
  return { removed, networkRemoved };
}
