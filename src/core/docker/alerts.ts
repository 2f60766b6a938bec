// Alerts about containers that fail: a Docker healthcheck turning unhealthy, an unexpected exit,
// a restart loop, and (raised by the runtime health prober) a runtime that stops answering its
// health endpoint. Fed by the engine's raw container events plus the events-fed container cache;
// keeps the set of active alerts, and decides which ones deserve a notification (rate limit per
// container and kind, mutes per container). No VS Code here: src/vscode/health/alertNotifications.ts shows the notifications.
//
// Rules (all times from the injectable clock):
// - unhealthy: "health_status: unhealthy" event (or an unhealthy running container in the list
//   after a (re)load). Cleared by "health_status: healthy", by a start (a new health cycle) or by
//   the container no longer running.
// - exited: "die" with a non-zero exit code (or after an "oom"), unless a user stop preceded it: a
//   "kill" event at most userStopWindowMs before the die (docker stop / restart / rm -f send one),
//   or expectStop(id) called by the extension itself. The alert waits exitGraceMs: a "start"
//   (restart policy) or "stop" (a stop whose kill event was missed) within it cancels it.
//   Cleared when the container runs again.
// - restart-loop: restartThreshold (3) starts that follow an unexpected die (any exit code) within
//   restartWindowMs (60 s). Cleared once the container stays up for restartWindowMs after a start,
//   or when a user stops it.
// - probe-failed: raised and resolved by HealthProber through raise() / resolve().
// Severity: restart-loop is always an error; unhealthy and exited are errors for LLM runtime
// containers (the classifier knows them) and warnings for other containers; probe-failed is a
// warning (the container may be fine, its server does not answer).
// Every alert of any kind is cleared when its container is removed.
import { Disposable, Emitter, errorMessage, type Event, type Logger, silentLogger } from '../lifecycle';
import { ContainerActions, type ContainerAction } from './actions';
import type { EngineConnection } from './connection';
import type { CacheChange, EngineEvent } from './containerCache';
import type { Classifier, ContainerRecord } from './containers';

export type AlertKind = 'unhealthy' | 'exited' | 'restart-loop' | 'probe-failed';
type AlertSeverity = 'warning' | 'error';

export interface Alert {
  /** Unique per raised alert. */
  readonly id: string;
  /** The container's full id; for a runtime endpoint without a container, the endpoint id. */
  readonly containerId: string;
  readonly containerName: string;
  readonly kind: AlertKind;
  readonly severity: AlertSeverity;
  /** One line, starting with the container name: "llmstack-x: unhealthy (healthcheck failing 3 times)". */
  readonly message: string;
  /** Epoch ms when it was raised. */
  readonly at: number;
  /** 'endpoint' when there is no container to show logs of or restart (a user-configured server). */
  readonly target: 'container' | 'endpoint';
  /** The runtime endpoint a probe-failed alert is about. */
  readonly endpointId?: string;
  /** True when the container is muted (the alert is active, no notification is shown). */
  readonly muted: boolean;
}

/** What onAlert carries: the alert and whether a notification may be shown for it now. */
export interface AlertNotice {
  readonly alert: Alert;
  /** False when the container is muted or a notification of this kind was shown for it recently. */
  readonly notify: boolean;
}

/**
 * What the front ends show and do with alerts: the monitor itself where it runs in this process,
 * or a mirror of the service's monitor in an editor window.
 */
export interface AlertSource {
  readonly onAlert: Event<AlertNotice>;
  readonly onDidChange: Event<readonly Alert[]>;
  active(): Alert[];
  /** The containers muted now. */
  readonly mutedIds: string[];
  mute(containerId: string, untilMs?: number): void | Promise<void>;
  unmute(containerId: string): void | Promise<void>;
  unmuteAll(): void | Promise<void>;
  expectStop(containerId: string): void | Promise<void>;
}

export interface MuteEntry {
  readonly id: string;
  /** Epoch ms; absent: muted until unmuted. */
  readonly until?: number;
}

/** Timers and time, injectable so rules can be tested without waiting. */
export interface Clock {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => {
    const t = setTimeout(fn, ms);
    t.unref?.();
    return t;
  },
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
};

export interface AlertSettings {
  /** At most one notification per container and kind within this many minutes (default 10; 0: no limit). */
  readonly rateLimitMinutes: number;
}

/** What the monitor reads from the container cache (ContainerCache has all of it). */
export interface AlertContainerSource {
  readonly onEngineEvent: Event<EngineEvent>;
  readonly onDidChange: Event<CacheChange>;
  readonly isLoaded: boolean;
  get(id: string): ContainerRecord | undefined;
  list(): ContainerRecord[];
}

/** How an unhealthy container's healthcheck is failing, read from its inspect answer. */
interface HealthDetails {
  readonly failingStreak?: number;
  /** The last healthcheck's output, trimmed. */
  readonly output?: string;
}

export interface AlertMonitorOptions {
  /** Raw events and container records; without it, feed events through handleEvent(). */
  readonly source?: AlertContainerSource;
  /** Tells LLM runtime containers apart (they get error severity). */
  readonly classifier?: () => Classifier;
  readonly settings?: () => AlertSettings;
  readonly clock?: Clock;
  readonly log?: Logger;
  /** Reads the failing streak and last output of a healthcheck (inspect); bounded by detailsTimeoutMs. */
  readonly healthDetails?: (containerId: string) => Promise<HealthDetails | undefined>;
  readonly detailsTimeoutMs?: number;
  /** A die within this long after a kill event counts as a user stop (default 30 s: docker stop waits 10 s, then kills). */
  readonly userStopWindowMs?: number;
  /** How long expectStop() covers (default 30 s). */
  readonly expectStopWindowMs?: number;
  /** An exit alert waits this long for a restart or stop that cancels it (default 3 s). */
  readonly exitGraceMs?: number;
  /** Starts after an unexpected die counted within this window (default 60 s). */
  readonly restartWindowMs?: number;
  /** Starts within the window that make a restart loop (default 3). */
  readonly restartThreshold?: number;
  /** Initial mutes (what the glue persisted). */
  readonly mutes?: readonly MuteEntry[];
}

/** Input of raise(): an alert from another source (the runtime health prober). */
export interface AlertInput {
  readonly containerId: string;
  readonly containerName: string;
  readonly kind: AlertKind;
  readonly message: string;
  readonly severity?: AlertSeverity;
  readonly target?: 'container' | 'endpoint';
  readonly endpointId?: string;
}

interface Track {
  name?: string;
  image?: string;
  labels?: Record<string, string>;
  lastKillAt?: number;
  expectedUntil?: number;
  oomAt?: number;
  /** Set by an unexpected die, consumed by the next start. */
  unexpectedDieAt?: number;
  /** Starts that followed an unexpected die. */
  restarts: number[];
  pendingExit?: { handle: unknown; exitCode: number; oom: boolean };
  stableTimer?: unknown;
  /** Bumped on every health transition, so a late health-details answer for an old one is dropped. */
  healthSeq: number;
  /** The last health status an event reported (undefined after a die or start). */
  health?: string;
}

const key = (containerId: string, kind: AlertKind) => `${containerId}\u0000${kind}`;

/** Parses what the monitor wants from GET /containers/{id}/json (State.Health.FailingStreak and the last Log entry). */
export function healthDetailsFromInspect(raw: unknown): HealthDetails | undefined {
  const health = (raw as { State?: { Health?: { FailingStreak?: unknown; Log?: unknown } } } | undefined)?.State?.Health;
  if (!health || typeof health !== 'object') return undefined;
  const failingStreak = typeof health.FailingStreak === 'number' ? health.FailingStreak : undefined;
  const log = Array.isArray(health.Log) ? health.Log : [];
  const last = log[log.length - 1] as { Output?: unknown } | undefined;
  const output = typeof last?.Output === 'string' ? last.Output.trim().replace(/\s+/g, ' ').slice(0, 200) || undefined : undefined;
  return { failingStreak, output };
}

/** "health_status: unhealthy" (Docker) or "health_status" with a health_status attribute (Podman). */
function healthOf(action: string, e: EngineEvent): string | undefined {
  if (!action.startsWith('health_status')) return undefined;
  const m = /^health_status:\s*(\S+)/.exec(action);
  return m?.[1] ?? e.Actor?.Attributes?.health_status ?? undefined;
}

export class AlertMonitor extends Disposable implements AlertSource {
  private readonly onAlertEmitter = this.register(new Emitter<AlertNotice>());
  /** Fires for every raised alert; `notify` says whether a notification may be shown for it. */
  readonly onAlert = this.onAlertEmitter.event;
  private readonly onDidChangeEmitter = this.register(new Emitter<readonly Alert[]>());
  /** Fires with the active alerts whenever one is raised or cleared (the status bar follows it). */
  readonly onDidChange = this.onDidChangeEmitter.event;
  private readonly onDidChangeMutesEmitter = this.register(new Emitter<readonly MuteEntry[]>());
  /** Fires with the mutes after mute/unmute, for the glue to persist. */
  readonly onDidChangeMutes = this.onDidChangeMutesEmitter.event;
  private readonly onDidClearEmitter = this.register(new Emitter<Alert>());
  /** Fires with each alert as it is cleared (the service's webhooks send alert.cleared). */
  readonly onDidClear = this.onDidClearEmitter.event;

  private readonly alerts = new Map<string, Alert>();
  private readonly tracks = new Map<string, Track>();
  private readonly lastNotified = new Map<string, number>();
  private readonly muteMap = new Map<string, number | undefined>();
  /** Containers whose unhealthy alert waits for its healthcheck details. */
  private readonly detailsPending = new Map<string, number>();
  private readonly clock: Clock;
  private readonly log: Logger;
  private seq = 0;

  private readonly userStopWindowMs: number;
  private readonly expectStopWindowMs: number;
  private readonly exitGraceMs: number;
  private readonly restartWindowMs: number;
  private readonly restartThreshold: number;
  private readonly detailsTimeoutMs: number;

  constructor(private readonly options: AlertMonitorOptions = {}) {
    super();
    this.clock = options.clock ?? systemClock;
    this.log = options.log ?? silentLogger;
    this.userStopWindowMs = options.userStopWindowMs ?? 30_000;
    this.expectStopWindowMs = options.expectStopWindowMs ?? 30_000;
    this.exitGraceMs = options.exitGraceMs ?? 3000;
    this.restartWindowMs = options.restartWindowMs ?? 60_000;
    this.restartThreshold = options.restartThreshold ?? 3;
    this.detailsTimeoutMs = options.detailsTimeoutMs ?? 3000;
    for (const m of options.mutes ?? []) this.muteMap.set(m.id, m.until);
    this.register({
      dispose: () => {
        for (const t of this.tracks.values()) this.cancelTimers(t);
      },
    });
    const source = options.source;
    if (source) {
      this.register(source.onEngineEvent((e) => this.handleEvent(e)));
      this.register(source.onDidChange((c) => this.handleCacheChange(c)));
      if (source.isLoaded) this.handleCacheChange({ ids: 'all' });
    }
  }

  // ---- queries ---------------------------------------------------------------------------

  /** The active alerts, oldest first; muted containers' alerts included (with muted: true). */
  active(): Alert[] {
    return [...this.alerts.values()].map((a) => this.withMute(a)).sort((a, b) => a.at - b.at);
  }

  /** The active alert of a kind for a container, if any. */
  get(containerId: string, kind: AlertKind): Alert | undefined {
    const a = this.alerts.get(key(containerId, kind));
    return a && this.withMute(a);
  }

  private withMute(a: Alert): Alert {
    const muted = this.isMuted(a.containerId);
    return muted === a.muted ? a : { ...a, muted };
  }

  // ---- mutes -----------------------------------------------------------------------------

  isMuted(containerId: string): boolean {
    if (!this.muteMap.has(containerId)) return false;
    const until = this.muteMap.get(containerId);
    if (until !== undefined && until <= this.clock.now()) {
      this.muteMap.delete(containerId);
      return false;
    }
    return true;
  }

  /** Mutes notifications for a container, until untilMs (epoch) or until unmuted. */
  mute(containerId: string, untilMs?: number): void {
    this.muteMap.set(containerId, untilMs);
    this.mutesChanged();
  }

  unmute(containerId: string): void {
    if (this.muteMap.delete(containerId)) this.mutesChanged();
  }

  unmuteAll(): void {
    if (!this.muteMap.size) return;
    this.muteMap.clear();
    this.mutesChanged();
  }

  /** The containers muted now (expired mutes dropped). */
  get mutedIds(): string[] {
    return [...this.muteMap.keys()].filter((id) => this.isMuted(id));
  }

  /** Replaces the mutes with these ids, each muted until unmuted. */
  set mutedIds(ids: readonly string[]) {
    this.mutes = ids.map((id) => ({ id }));
  }

  /** The mutes with their end, for persisting. */
  get mutes(): MuteEntry[] {
    return this.mutedIds.map((id) => {
      const until = this.muteMap.get(id);
      return until === undefined ? { id } : { id, until };
    });
  }

  set mutes(entries: readonly MuteEntry[]) {
    this.muteMap.clear();
    for (const m of entries) if (typeof m?.id === 'string') this.muteMap.set(m.id, typeof m.until === 'number' ? m.until : undefined);
    this.mutesChanged();
  }

  private mutesChanged(): void {
    this.onDidChangeMutesEmitter.fire(this.mutes);
    if (this.alerts.size) this.onDidChangeEmitter.fire(this.active());
  }

  // ---- the extension's own actions -------------------------------------------------------

  /** The extension is about to stop, restart or remove this container: its exit is not an alert. */
  expectStop(containerId: string, windowMs = this.expectStopWindowMs): void {
    const t = this.track(containerId);
    t.expectedUntil = this.clock.now() + windowMs;
  }

  // ---- raising and clearing --------------------------------------------------------------

  /** Raises an alert from another source (the health prober); nothing happens when one of its kind is active. */
  raise(input: AlertInput): Alert | undefined {
    if (this.isDisposed) return undefined;
    const k = key(input.containerId, input.kind);
    if (this.alerts.has(k)) return undefined;
    const now = this.clock.now();
    const muted = this.isMuted(input.containerId);
    const alert: Alert = {
      id: `alert-${++this.seq}`,
      containerId: input.containerId,
      containerName: input.containerName,
      kind: input.kind,
      severity: input.severity ?? this.defaultSeverity(input.kind, input.containerId),
      message: input.message,
      at: now,
      target: input.target ?? 'container',
      ...(input.endpointId !== undefined ? { endpointId: input.endpointId } : {}),
      muted,
    };
    this.alerts.set(k, alert);
    const last = this.lastNotified.get(k);
    const limitMs = Math.max(0, (this.options.settings?.().rateLimitMinutes ?? 10) * 60_000);
    const notify = !muted && (last === undefined || now - last >= limitMs);
    if (notify) this.lastNotified.set(k, now);
    this.log.info(`Alert: ${alert.message}${notify ? '' : muted ? ' (muted)' : ' (notification rate-limited)'}`);
    this.onAlertEmitter.fire({ alert, notify });
    this.onDidChangeEmitter.fire(this.active());
    return alert;
  }

  /** Clears a container's alert of one kind, or all of its alerts. */
  resolve(containerId: string, kind?: AlertKind): void {
    const kinds: AlertKind[] = kind ? [kind] : ['unhealthy', 'exited', 'restart-loop', 'probe-failed'];
    let changed = false;
    for (const k of kinds) {
      const a = this.alerts.get(key(containerId, k));
      if (a && this.alerts.delete(key(containerId, k))) {
        changed = true;
        this.log.info(`Alert cleared: ${a.containerName}: ${a.kind}`);
        if (!this.isDisposed) this.onDidClearEmitter.fire(a);
      }
    }
    if (changed && !this.isDisposed) this.onDidChangeEmitter.fire(this.active());
  }

  private defaultSeverity(kind: AlertKind, containerId: string): AlertSeverity {
    if (kind === 'restart-loop') return 'error';
    if (kind === 'probe-failed') return 'warning';
    return this.isRuntime(containerId) ? 'error' : 'warning';
  }

  private isRuntime(containerId: string): boolean {
    const classifier = this.options.classifier?.();
    if (!classifier) return false;
    const t = this.tracks.get(containerId);
    const r = this.options.source?.get(containerId);
    const image = r?.image ?? t?.image ?? '';
    const labels = r?.labels ?? t?.labels ?? {};
    return classifier.classify({ image, labels }) !== undefined;
  }

  private nameOf(containerId: string): string {
    return this.tracks.get(containerId)?.name ?? this.options.source?.get(containerId)?.name ?? containerId.slice(0, 12);
  }

  private track(id: string): Track {
    let t = this.tracks.get(id);
    if (!t) {
      t = { restarts: [], healthSeq: 0 };
      this.tracks.set(id, t);
    }
    return t;
  }

  private cancelTimers(t: Track): void {
    if (t.pendingExit) this.clock.clearTimeout(t.pendingExit.handle);
    t.pendingExit = undefined;
    if (t.stableTimer !== undefined) this.clock.clearTimeout(t.stableTimer);
    t.stableTimer = undefined;
  }

  // ---- engine events ---------------------------------------------------------------------

  /** Applies one container event of the engine's /events stream. */
  handleEvent(e: EngineEvent): void {
    if (this.isDisposed) return;
    const action = e.Action ?? e.status ?? '';
    const id = e.Actor?.ID ?? e.id;
    if ((e.Type && e.Type !== 'container') || !id || !action) return;
    if (action.startsWith('exec_') || action === 'attach' || action === 'resize' || action === 'top') return;
    const now = this.clock.now();
    const attrs = e.Actor?.Attributes ?? {};
    if (action === 'destroy') {
      const t = this.tracks.get(id);
      if (t) this.cancelTimers(t);
      this.tracks.delete(id);
      this.resolve(id);
      for (const k of [...this.lastNotified.keys()]) if (k.startsWith(`${id}\u0000`)) this.lastNotified.delete(k);
      if (this.muteMap.delete(id)) this.onDidChangeMutesEmitter.fire(this.mutes);
      return;
    }
    const t = this.track(id);
    if (attrs.name) t.name = attrs.name;
    if (attrs.image) t.image = attrs.image;
    if (Object.keys(attrs).length) {
      const { name: _n, image: _i, exitCode: _x, signal: _s, execDuration: _d, ...labels } = attrs;
      t.labels = labels;
    }
    const health = healthOf(action, e);
    if (health !== undefined) {
      if (health !== t.health) t.healthSeq++;
      t.health = health;
      if (health === 'unhealthy') this.raiseUnhealthy(id, t.healthSeq);
      else if (health === 'healthy') this.resolve(id, 'unhealthy');
      return;
    }
    switch (action) {
      case 'kill':
        t.lastKillAt = now;
        break;
      case 'oom':
        t.oomAt = now;
        break;
      case 'die':
        this.onDie(id, t, attrs.exitCode, now);
        break;
      case 'stop':
        // A stop that arrives after its die (the kill event was missed): not an unexpected exit.
        if (t.pendingExit) {
          this.clock.clearTimeout(t.pendingExit.handle);
          t.pendingExit = undefined;
        }
        this.endRestartLoop(id, t);
        break;
      case 'start':
      case 'restart':
        this.onStart(id, t, action, now);
        break;
    }
  }

  private onDie(id: string, t: Track, exitCodeText: string | undefined, now: number): void {
    t.healthSeq++;
    t.health = undefined;
    this.resolve(id, 'unhealthy');
    if (t.stableTimer !== undefined) {
      this.clock.clearTimeout(t.stableTimer);
      t.stableTimer = undefined;
    }
    const exitCode = Number(exitCodeText ?? 0) || 0;
    const killed = t.lastKillAt !== undefined && now - t.lastKillAt <= this.userStopWindowMs;
    const expected = t.expectedUntil !== undefined && now <= t.expectedUntil;
    const oom = t.oomAt !== undefined && now - t.oomAt <= 5000;
    t.lastKillAt = undefined;
    t.expectedUntil = undefined;
    t.oomAt = undefined;
    if (killed || expected) {
      // The user (or the extension) stopped it: no alert, and a loop in progress ends here.
      t.unexpectedDieAt = undefined;
      this.endRestartLoop(id, t);
      return;
    }
    t.unexpectedDieAt = now;
    if (exitCode === 0 && !oom) return;
    if (t.pendingExit) this.clock.clearTimeout(t.pendingExit.handle);
    const handle = this.clock.setTimeout(() => {
      if (t.pendingExit?.handle !== handle) return;
      t.pendingExit = undefined;
      if (this.alerts.has(key(id, 'restart-loop'))) return; // the loop alert says it already
      const name = this.nameOf(id);
      const why = oom ? `killed: out of memory (exit code ${exitCode})` : `exited unexpectedly with code ${exitCode}`;
      this.raise({ containerId: id, containerName: name, kind: 'exited', message: `${name}: ${why}` });
    }, this.exitGraceMs);
    t.pendingExit = { handle, exitCode, oom };
  }

  private onStart(id: string, t: Track, action: string, now: number): void {
    if (t.pendingExit) {
      this.clock.clearTimeout(t.pendingExit.handle);
      t.pendingExit = undefined;
    }
    if (action === 'start') {
      // A new run: a new health cycle, and it is no longer exited.
      t.healthSeq++;
      t.health = undefined;
      this.resolve(id, 'unhealthy');
      this.resolve(id, 'exited');
    }
    if (t.unexpectedDieAt !== undefined) {
      t.unexpectedDieAt = undefined;
      t.restarts = t.restarts.filter((at) => now - at <= this.restartWindowMs);
      t.restarts.push(now);
      if (t.restarts.length >= this.restartThreshold && !this.alerts.has(key(id, 'restart-loop'))) {
        const name = this.nameOf(id);
        this.resolve(id, 'exited');
        this.raise({
          containerId: id,
          containerName: name,
          kind: 'restart-loop',
          message: `${name}: restarting in a loop (${t.restarts.length} restarts within ${Math.round(this.restartWindowMs / 1000)} s)`,
        });
      }
    }
    if (action === 'start' && (t.restarts.length || this.alerts.has(key(id, 'restart-loop')))) {
      // Up for a whole window without dying: the loop is over.
      if (t.stableTimer !== undefined) this.clock.clearTimeout(t.stableTimer);
      const handle = this.clock.setTimeout(() => {
        if (t.stableTimer !== handle) return;
        t.stableTimer = undefined;
        this.endRestartLoop(id, t);
      }, this.restartWindowMs);
      t.stableTimer = handle;
    }
  }

  private endRestartLoop(id: string, t: Track): void {
    t.restarts = [];
    if (t.stableTimer !== undefined) this.clock.clearTimeout(t.stableTimer);
    t.stableTimer = undefined;
    this.resolve(id, 'restart-loop');
  }

  private raiseUnhealthy(id: string, seq: number): void {
    if (this.alerts.has(key(id, 'unhealthy')) || this.detailsPending.get(id) === seq) return;
    const fetch = this.options.healthDetails;
    const raiseNow = (d: HealthDetails | undefined) => {
      const t = this.tracks.get(id);
      if (this.isDisposed || !t || t.healthSeq !== seq) return; // healthy again, restarted or removed meanwhile
      const name = this.nameOf(id);
      const streak = d?.failingStreak;
      const why = streak ? `healthcheck failing ${streak} time${streak === 1 ? '' : 's'}` : 'healthcheck failing';
      this.raise({ containerId: id, containerName: name, kind: 'unhealthy', message: `${name}: unhealthy (${why}${d?.output ? `: ${d.output}` : ''})` });
    };
    if (!fetch) {
      raiseNow(undefined);
      return;
    }
    let done = false;
    this.detailsPending.set(id, seq);
    const finish = (d: HealthDetails | undefined) => {
      if (done) return;
      done = true;
      if (this.detailsPending.get(id) === seq) this.detailsPending.delete(id);
      this.clock.clearTimeout(timer);
      raiseNow(d);
    };
    const timer = this.clock.setTimeout(() => finish(undefined), this.detailsTimeoutMs);
    fetch(id).then(finish, (err: unknown) => {
      this.log.debug(`Reading the healthcheck of ${id.slice(0, 12)} failed: ${errorMessage(err)}`);
      finish(undefined);
    });
  }

  // ---- the container list ----------------------------------------------------------------

  /** Reconciles with the container list: removed containers, and what events may have been missed. */
  handleCacheChange(change: CacheChange): void {
    const source = this.options.source;
    if (!source || this.isDisposed || !source.isLoaded) return; // disconnected: keep what is known
    if (change.ids === 'all') {
      const present = new Set(source.list().map((r) => r.id));
      for (const a of [...this.alerts.values()]) {
        if (a.target === 'container' && !present.has(a.containerId)) this.resolve(a.containerId);
      }
      for (const r of source.list()) this.reconcile(r.id, r);
      return;
    }
    for (const id of change.ids) {
      const r = source.get(id);
      this.reconcile(id, r && r.id === id ? r : undefined);
    }
  }

  private reconcile(id: string, r: ContainerRecord | undefined): void {
    if (!r) {
      // Removed: nothing to alert about any more (probe alerts of user endpoints have no container).
      if ([...this.alerts.values()].some((a) => a.containerId === id && a.target === 'container')) this.resolve(id);
      return;
    }
    const t = this.track(id);
    t.name = r.name;
    t.image = r.image;
    t.labels = { ...r.labels };
    if (r.state === 'running') {
      this.resolve(id, 'exited');
      if (r.health === 'unhealthy' && !this.alerts.has(key(id, 'unhealthy'))) this.raiseUnhealthy(id, t.healthSeq);
    } else {
      this.resolve(id, 'unhealthy');
      if (r.state === 'exited' || r.state === 'created' || r.state === 'dead') this.resolve(id, 'probe-failed');
    }
  }
}

/**
 * ContainerActions that tell the monitor first when the extension stops, restarts or removes a
 * container, so the exit that follows raises no alert (Docker's kill event covers most cases; this
 * covers engines that send none). Drop-in for ContainerActions.
 */
export class MonitoredContainerActions extends ContainerActions {
  constructor(
    connection: EngineConnection,
    private readonly expectStop: (containerId: string) => void | Promise<void>,
  ) {
    super(connection);
  }

  override async run(action: ContainerAction, id: string, name?: string): Promise<void> {
    if (action !== 'start') await this.expectStop(id);
    return super.run(action, id, name);
  }
}
