// Carries out a stack plan on the engine (pulls first, then network and volumes, removals, and the
// services level by level, each after its dependencies are running and healthy), and takes a stack down.
import type { Readable } from 'node:stream';
import type Docker from 'dockerode';
import { withTimeout } from '../docker/connection';
import { engineMessage, type EngineError } from '../docker/engineError';
import { errorMessage, silentLogger, type Logger } from '../lifecycle';
import type { DesiredService } from './containerSpec';
import { dependencyLevels } from './normalize';
import type { PlanStep, StackPlan } from './plan';
import { LABEL_STACK } from './schema';

export interface ApplyProgress {
  readonly step: PlanStep;
  readonly status: 'started' | 'done' | 'failed' | 'skipped';
  readonly message?: string;
}

interface ApplyOptions {
  readonly stack: string;
  /** Stops the apply before its next step (and ends a wait for health). */
  readonly signal?: AbortSignal;
  readonly onProgress?: (e: ApplyProgress) => void;
  /** How long a dependency may take to become healthy (default 120 s). */
  readonly healthTimeoutMs?: number;
  /** Seconds a container gets to stop before it is killed, on recreate, stop and remove (default 10). */
  readonly stopTimeoutS?: number;
  /** Bound on each engine request other than pulls and stops (default 60 s). */
  readonly requestTimeoutMs?: number;
  /** Bound on one image pull (default 30 min). */
  readonly pullTimeoutMs?: number;
  /** false: the services of a level one by one instead of in parallel (for comparison). */
  readonly parallel?: boolean;
  readonly log?: Logger;
}

interface StepFailure {
  readonly step: PlanStep;
  readonly error: string;
}

export interface ApplyReport {
  /** Steps carried out, in the order they finished. "unchanged" steps are not listed. */
  readonly done: PlanStep[];
  /** The first failure; every failure of the same level is in `failures`. */
  readonly failed?: StepFailure;
  readonly failures: StepFailure[];
  /** Changes not attempted because of the failure or a cancellation. */
  readonly notRun: PlanStep[];
  readonly cancelled: boolean;
  readonly durationMs: number;
}

/** An apply that stopped half-way: the message says what was done and what was not. */
export class ApplyError extends Error {
  constructor(
    message: string,
    readonly report: ApplyReport,
  ) {
    super(message);
    this.name = 'ApplyError';
  }
}


const describe = (s: PlanStep) => `${s.kind} ${s.service ?? s.target}`;

class Cancelled extends Error {
  constructor() {
    super('the apply was cancelled');
  }
}

/**
 * Applies `plan` (made by planStack from `desired`). Throws ApplyError when a step fails or the
 * signal fires; the error's report lists what was done, what failed and what was not run.
 */
export async function applyStack(docker: Docker, desired: readonly DesiredService[], plan: StackPlan, o: ApplyOptions): Promise<ApplyReport> {
  const started = Date.now();
  const log = o.log ?? silentLogger;
  const requestMs = o.requestTimeoutMs ?? 60_000;
  const stopS = o.stopTimeoutS ?? 10;
  const parallel = o.parallel !== false;
  const progress = (step: PlanStep, status: ApplyProgress['status'], message?: string) => {
    try {
      o.onProgress?.({ step, status, message });
    } catch (e) {
      log.warn(`Apply progress listener failed: ${errorMessage(e)}`);
    }
  };
  const engine = new StepEngine(docker, requestMs, stopS, o.signal);

  const byService = new Map(desired.map((d) => [d.service, d]));
  const levels = serviceLevels(desired);
  const serviceSteps = new Map(plan.steps.filter((s) => s.service && s.kind !== 'remove' && byService.has(s.service)).map((s) => [s.service!, s]));
  const needed = new Set(desired.flatMap((d) => d.dependsOn));

  const done: PlanStep[] = [];
  const failures: StepFailure[] = [];
  const attempted = new Set<PlanStep>();
  let cancelled = false;

  const report = (): ApplyReport => ({
    done: [...done],
    failed: failures[0],
    failures: [...failures],
    notRun: plan.changes.filter((s) => !attempted.has(s)),
    cancelled,
    durationMs: Date.now() - started,
  });

  /** Runs one step: progress events, bookkeeping, and no throw (the failure is recorded). */
  const run = async (step: PlanStep, work: () => Promise<string | void>): Promise<boolean> => {
    if (o.signal?.aborted) {
      cancelled = true;
      return false;
    }
    attempted.add(step);
    const change = step.kind !== 'unchanged';
    if (change) progress(step, 'started');
    try {
      const message = await work();
      if (change) done.push(step);
      progress(step, change ? 'done' : 'skipped', message || undefined);
      return true;
    } catch (e) {
      if (e instanceof Cancelled || o.signal?.aborted) cancelled = true;
      const error = e instanceof Cancelled ? e.message : errorMessage(e);
      failures.push({ step, error });
      log.error(`Apply of stack "${o.stack}": ${describe(step)} failed: ${error}`);
      progress(step, 'failed', error);
      return false;
    }
  };

  /** Runs a batch of steps in parallel (or one by one); false when any failed or the apply was cancelled. */
  const batch = async (items: readonly PlanStep[], work: (s: PlanStep) => Promise<string | void>): Promise<boolean> => {
    if (!parallel) {
      for (const s of items) if (!(await run(s, () => work(s)))) return false;
      return true;
    }
    const results = await Promise.all(items.map((s) => run(s, () => work(s))));
    return results.every(Boolean) && !cancelled;
  };

  const finish = (): ApplyReport => {
    const r = report();
    if (!r.failed && !r.cancelled) return r;
    for (const s of r.notRun) progress(s, 'skipped', r.cancelled ? 'cancelled' : 'not run after an earlier failure');
    throw new ApplyError(failureMessage(o.stack, r), r);
  };

  // 1. Pulls, before anything changes: a missing image must not leave the stack half-updated.
  const pulls = plan.changes.filter((s) => s.kind === 'pull');
  if (!(await batch(pulls, (s) => engine.pull(s.target, o.pullTimeoutMs ?? 30 * 60_000)))) return finish();

  // 2. Network and volumes, labelled so `down` finds them.
  const infra = plan.changes.filter((s) => s.kind === 'create-network' || s.kind === 'create-volume');
  if (!(await batch(infra, (s) => (s.kind === 'create-network' ? engine.createNetwork(s.target, o.stack) : engine.createVolume(s.target, o.stack))))) return finish();

  // 3. Containers of services no longer in the file (frees their names and ports first).
  const removals = plan.changes.filter((s) => s.kind === 'remove');
  if (!(await batch(removals, (s) => engine.remove(s.containerId ?? s.target)))) return finish();

  // 4. Services, level by level; dependencies are running (and healthy) before their dependents start.
  for (const level of levels) {
    const steps = level.map((name) => serviceSteps.get(name)).filter((s): s is PlanStep => !!s);
    const ok = await batch(steps, async (step) => {
      const d = byService.get(step.service!)!;
      const id = await serviceWork(engine, step, d);
      if (needed.has(d.service) && d.desiredState === 'running') {
        const containerId = id ?? step.containerId ?? d.containerName;
        await engine.waitReady(containerId, d.service, d.waitHealthy, o.healthTimeoutMs ?? 120_000);
        return d.waitHealthy ? 'healthy' : 'running';
      }
    });
    if (!ok) return finish();
  }
  return finish();
}

/** Carries out one service step; returns the id of the container it created, if any. */
async function serviceWork(engine: StepEngine, step: PlanStep, d: DesiredService): Promise<string | undefined> {
  switch (step.kind) {
    case 'create':
      return engine.createAndStart(d);
    case 'recreate':
      await engine.remove(step.containerId ?? d.containerName);
      return engine.createAndStart(d);
    case 'start':
      await engine.start(step.containerId ?? d.containerName, d.service);
      return undefined;
    case 'stop':
      await engine.stop(step.containerId ?? d.containerName);
      return undefined;
    default:
      return undefined;
  }
}

/** Start order from the desired services' dependencies: each level needs only earlier ones. */
function serviceLevels(desired: readonly DesiredService[]): string[][] {
  return dependencyLevels(new Map(desired.map((d) => [d.service, d.dependsOn])));
}

function failureMessage(stack: string, r: ApplyReport): string {
  const list = (steps: readonly PlanStep[]) => (steps.length ? steps.map(describe).join(', ') : 'nothing');
  const head = r.failed
    ? r.failed.step.kind === 'pull'
      ? r.failed.error
      : `Applying stack "${stack}" failed at "${describe(r.failed.step)}": ${r.failed.error}`
    : `Applying stack "${stack}" was cancelled.`;
  const more = r.failures.slice(1).map((f) => ` Also failed: "${describe(f.step)}": ${f.error}`).join('');
  return `${head}${more} Done: ${list(r.done)}. Not run: ${list(r.notRun)}.`;
}

// ---------------------------------------------------------------------------------------------
// Engine operations, each bounded in time and worded for the user

class StepEngine {
  constructor(
    private readonly docker: Docker,
    private readonly requestMs: number,
    private readonly stopS: number,
    private readonly signal: AbortSignal | undefined,
  ) {}

  private call<T>(what: string, fn: (abortSignal: AbortSignal) => Promise<T>, ms = this.requestMs): Promise<T> {
    return withTimeout(what, ms, fn);
  }

  async pull(image: string, timeoutMs: number): Promise<string> {
    try {
      await this.call(
        `Pulling ${image}`,
        async (abortSignal) => {
          const signal = this.signal ? AbortSignal.any([abortSignal, this.signal]) : abortSignal;
          const stream = (await this.docker.pull(image, { abortSignal: signal })) as Readable;
          await new Promise<void>((resolve, reject) => {
            this.docker.modem.followProgress(stream, (err: Error | null, output: { error?: string; errorDetail?: { message?: string } }[]) => {
              const failed = output?.find((x) => x.error || x.errorDetail);
              if (err) reject(err);
              else if (failed) reject(new Error(failed.errorDetail?.message ?? failed.error));
              else resolve();
            });
          });
        },
        timeoutMs,
      );
      return `pulled ${image}`;
    } catch (e) {
      throw new Error(`Image ${image} is not present locally and could not be pulled: ${engineMessage(e)}; build or load it (docker build / docker load), then apply again. Nothing was changed.`);
    }
  }

  async createNetwork(name: string, stack: string): Promise<void> {
    try {
      await this.call(`Creating network ${name}`, () => this.docker.createNetwork({ Name: name, Driver: 'bridge', CheckDuplicate: true, Labels: { [LABEL_STACK]: stack } }));
    } catch (e) {
      if ((e as EngineError)?.statusCode === 409) return; // made meanwhile: that is what we wanted
      throw new Error(`Creating network ${name} failed: ${engineMessage(e)}`);
    }
  }

  async createVolume(name: string, stack: string): Promise<void> {
    try {
      await this.call(`Creating volume ${name}`, () => this.docker.createVolume({ Name: name, Labels: { [LABEL_STACK]: stack } }));
    } catch (e) {
      throw new Error(`Creating volume ${name} failed: ${engineMessage(e)}`);
    }
  }

  /** Stops gracefully (stopS seconds), then removes. A container already gone is fine. */
  async remove(id: string): Promise<void> {
    await this.stop(id);
    try {
      await this.call(`Removing ${id}`, () => this.docker.getContainer(id).remove({ force: true, v: false }));
    } catch (e) {
      if ((e as EngineError)?.statusCode === 404) return;
      throw new Error(`Removing container ${id} failed: ${engineMessage(e)}`);
    }
  }

  async stop(id: string): Promise<void> {
    try {
      await this.call(`Stopping ${id}`, () => this.docker.getContainer(id).stop({ t: this.stopS }), this.stopS * 1000 + this.requestMs);
    } catch (e) {
      const code = (e as EngineError)?.statusCode;
      if (code === 304 || code === 404) return; // already stopped, or already gone
      throw new Error(`Stopping container ${id} failed: ${engineMessage(e)}`);
    }
  }

  async start(id: string, service: string): Promise<void> {
    const c = this.docker.getContainer(id);
    try {
      const info = await this.call(`Reading ${id}`, (abortSignal) => c.inspect({ abortSignal }));
      if (info.State.Paused) await this.call(`Unpausing ${id}`, () => c.unpause());
      else await this.call(`Starting ${id}`, () => c.start());
    } catch (e) {
      if ((e as EngineError)?.statusCode === 304) return;
      throw new Error(startFailure(service, e));
    }
  }

  /** Creates the container; starts it unless the file wants it stopped. Returns its id. */
  async createAndStart(d: DesiredService): Promise<string> {
    let container: Docker.Container;
    try {
      // dockerode deletes keys from the options it is given: hand it a copy.
      container = await this.call(`Creating ${d.containerName}`, () => this.docker.createContainer({ ...d.create }));
    } catch (e) {
      const err = e as EngineError;
      if (err?.statusCode === 409) {
        throw new Error(`Creating "${d.service}" failed: the name ${d.containerName} is taken by a container that is not part of this stack (${engineMessage(e)}). Remove or rename that container, then apply again.`);
      }
      if (err?.statusCode === 404) throw new Error(`Creating "${d.service}" failed: ${engineMessage(e)}. Is image ${d.image} present (docker images)?`);
      throw new Error(`Creating "${d.service}" failed: ${engineMessage(e)}`);
    }
    if (d.desiredState === 'running') {
      try {
        await this.call(`Starting ${d.containerName}`, () => container.start());
      } catch (e) {
        if ((e as EngineError)?.statusCode !== 304) throw new Error(startFailure(d.service, e));
      }
    }
    return container.id;
  }

  /**
   * Waits until the container runs and, with a healthcheck, is healthy. Woken by the container's
   * events (health_status, die…) and, as a safety net, by an inspect with growing backoff.
   */
  async waitReady(id: string, service: string, healthy: boolean, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    const ac = new AbortController();
    const onAbort = () => ac.abort();
    this.signal?.addEventListener('abort', onAbort, { once: true });
    let wake: (() => void) | undefined;
    ac.signal.addEventListener('abort', () => wake?.(), { once: true });
    let events: Readable | undefined;
    try {
      const options: Docker.GetEventsOptions & { abortSignal: AbortSignal } = {
        filters: { type: ['container'], container: [id], event: ['health_status', 'die', 'start', 'destroy'] },
        abortSignal: ac.signal,
      };
      // Not bounded by call(): the stream lives until the wait ends (ac aborts it then).
      events = (await this.call('Subscribing to container events', () => this.docker.getEvents(options))) as Readable;
      events.on('data', () => wake?.());
      events.on('error', () => undefined);
    } catch {
      events = undefined; // the polling below still bounds the wait
    }
    try {
      let delay = 50;
      let last: Docker.ContainerInspectInfo | undefined;
      for (;;) {
        if (this.signal?.aborted) throw new Cancelled();
        last = await this.call(`Reading ${service}`, (abortSignal) => this.docker.getContainer(id).inspect({ abortSignal }));
        const s = last.State;
        if (s.Status === 'exited' || s.Status === 'dead') {
          throw new Error(`"${service}" stopped (exit code ${s.ExitCode}) before it was ${healthy ? 'healthy' : 'running'}${healthLine(last)}. Its logs say why (Show Logs).`);
        }
        if (s.Status === 'running' && !s.Restarting) {
          const h = s.Health?.Status;
          if (!healthy || !h || h === 'healthy') return;
          if (h === 'unhealthy') throw new Error(`"${service}" is unhealthy${healthLine(last)}. Dependent services were not started.`);
        }
        const left = deadline - Date.now();
        if (left <= 0) {
          throw new Error(`"${service}" did not become ${healthy ? 'healthy' : 'running'} within ${Math.round(timeoutMs / 1000)} s (state ${s.Status}${s.Health ? `, ${s.Health.Status}` : ''})${healthLine(last)}.`);
        }
        await new Promise<void>((resolve) => {
          const timer = setTimeout(done, Math.min(delay, left));
          function done() {
            clearTimeout(timer);
            wake = undefined;
            resolve();
          }
          wake = done;
        });
        delay = Math.min(delay * 2, 1000);
      }
    } finally {
      this.signal?.removeEventListener('abort', onAbort);
      ac.abort();
      events?.destroy();
    }
  }
}

/** The last health check's output, as " (last health check: …)". */
function healthLine(info: Docker.ContainerInspectInfo): string {
  const logs = (info.State.Health as { Log?: { Output?: string; ExitCode?: number }[] } | undefined)?.Log;
  const lastLog = logs?.[logs.length - 1];
  if (!lastLog) return '';
  const line = (lastLog.Output ?? '').trim().split('\n').filter(Boolean).pop() ?? '';
  return `; last health check: exit ${lastLog.ExitCode}${line ? `, "${line.slice(0, 300)}"` : ''}`;
}

function startFailure(service: string, e: unknown): string {
  const msg = engineMessage(e);
  const port = /(?:Bind for [^ ]*?:|0\.0\.0\.0:|127\.0\.0\.1:|:)(\d+) failed: port is already allocated|address already in use/.exec(msg);
  if (port) {
    return `Starting "${service}" failed: a host port it publishes is already in use (${msg}). Stop what uses the port or change "ports" of "${service}" in the stack file, then apply again.`;
  }
  return `Starting "${service}" failed: ${msg}`;
}

// ---------------------------------------------------------------------------------------------
// Down

interface DownOptions {
  /** Also remove the stack's labelled volumes (their data is lost). Default false. */
  readonly removeVolumes?: boolean;
  readonly signal?: AbortSignal;
  /** Seconds each container gets to stop before it is killed (default 2). */
  readonly stopTimeoutS?: number;
  readonly requestTimeoutMs?: number;
}

interface DownResult {
  /** Names of the removed containers. */
  readonly removed: string[];
  readonly volumesRemoved: string[];
  readonly networkRemoved: boolean;
}

/** Removes the stack's containers (stopped first), its network, and its volumes when asked. */
export async function downStack(docker: Docker, stack: string, o: DownOptions = {}): Promise<DownResult> {
  const stopS = o.stopTimeoutS ?? 2;
  const ms = o.requestTimeoutMs ?? 30_000;
  const call = <T>(what: string, fn: (abortSignal: AbortSignal) => Promise<T>, limit = ms): Promise<T> => {
    o.signal?.throwIfAborted();
    return withTimeout(what, limit, (t) => fn(o.signal ? AbortSignal.any([t, o.signal]) : t));
  };
  const label = `${LABEL_STACK}=${stack}`;
  const errors: string[] = [];

  const list = await call('Listing the stack\'s containers', (abortSignal) => docker.listContainers({ all: true, filters: { label: [label] }, abortSignal }));
  const removed: string[] = [];
  await Promise.all(
    list.map(async (c) => {
      const name = (c.Names?.[0] ?? c.Id.slice(0, 12)).replace(/^\//, '');
      const container = docker.getContainer(c.Id);
      try {
        if (c.State === 'running' || c.State === 'restarting' || c.State === 'paused') {
          await call(`Stopping ${name}`, () => container.stop({ t: stopS }), stopS * 1000 + ms).catch((e: EngineError) => {
            if (e?.statusCode !== 304 && e?.statusCode !== 404) throw e;
          });
        }
        await call(`Removing ${name}`, () => container.remove({ force: true }));
        removed.push(name);
      } catch (e) {
        if ((e as EngineError)?.statusCode === 404) removed.push(name);
        else errors.push(`container ${name}: ${engineMessage(e)}`);
      }
    }),
  );

  let networkRemoved = false;
  // Only networks the stack made (labelled): a network of that name made by hand is left alone.
  const nets = await call('Listing networks', (abortSignal) => docker.listNetworks({ filters: { label: [label] }, abortSignal }));
  for (const n of nets) {
    try {
      await call(`Removing network ${n.Name}`, () => docker.getNetwork(n.Id).remove());
      networkRemoved = true;
    } catch (e) {
      if ((e as EngineError)?.statusCode === 404) networkRemoved = true;
      else errors.push(`network ${n.Name}: ${engineMessage(e)} (is a container outside the stack attached to it?)`);
    }
  }

  const volumesRemoved: string[] = [];
  if (o.removeVolumes) {
    const vols = await call('Listing volumes', (abortSignal) => docker.listVolumes({ filters: { label: [label] }, abortSignal }));
    for (const v of vols.Volumes ?? []) {
      try {
        await call(`Removing volume ${v.Name}`, () => docker.getVolume(v.Name).remove());
        volumesRemoved.push(v.Name);
      } catch (e) {
        if ((e as EngineError)?.statusCode === 404) volumesRemoved.push(v.Name);
        else errors.push(`volume ${v.Name}: ${engineMessage(e)}`);
      }
    }
  }

  if (errors.length) {
    throw new Error(`Taking stack "${stack}" down left things behind: ${errors.join('; ')}. Removed: ${removed.join(', ') || 'no containers'}.`);
  }
  return { removed: removed.sort(), volumesRemoved: volumesRemoved.sort(), networkRemoved };
}
