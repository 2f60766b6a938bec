// Active health probes of the runtime endpoints: every interval, each server endpoint is asked for
// its health (llama.cpp, vLLM, TGI, LocalAI, LM Studio and other OpenAI-compatible servers through
// OpenAiClient.health(), Ollama through /api/version). failureThreshold failures in a row raise a
// 'probe-failed' alert for the runtime's container (or the endpoint when it has none); the next
// success clears it. One timer, one round at a time, each probe bounded in time; nothing runs
// between stop() and start(). No VS Code here.
import type { AlertInput, AlertKind } from '../docker/alerts';
import type { ContainerState } from '../docker/containers';
import { Disposable, Emitter, errorMessage, type Logger, silentLogger } from '../lifecycle';
import { OllamaClient } from './ollama';
import { OpenAiClient } from './openai';
import type { RuntimeEndpoint } from './runtime';

export interface ProbeSettings {
  /** Between the end of one round and the start of the next; 0 turns probing off (default 30 s). */
  readonly intervalMs: number;
  /** Failures in a row that raise the alert (default 2). */
  readonly failureThreshold: number;
  /** Bound on each probe (default 5 s). */
  readonly timeoutMs: number;
}

const defaultProbeSettings: ProbeSettings = { intervalMs: 30_000, failureThreshold: 2, timeoutMs: 5000 };

export interface ProbeOutcome {
  readonly ok: boolean;
  /** What the server said: "loading model", "HTTP 503", the connection error… */
  readonly detail?: string;
}

/** One probe of one endpoint; the default uses the runtime clients. */
type ProbeFn = (endpoint: RuntimeEndpoint, options: { timeoutMs: number; apiKey?: string }) => Promise<ProbeOutcome>;

interface ProbeStatus {
  readonly endpoint: RuntimeEndpoint;
  readonly ok: boolean;
  readonly consecutiveFailures: number;
  readonly detail?: string;
  readonly checkedAt: number;
}

/** Where probe-failed alerts go (AlertMonitor has both). */
interface ProbeAlertSink {
  raise(input: AlertInput): unknown;
  resolve(containerId: string, kind?: AlertKind): void;
}

interface HealthProberOptions {
  /** The endpoints to probe, read at every round (ModelCatalog.list().map((s) => s.endpoint)). */
  readonly endpoints: () => readonly RuntimeEndpoint[];
  readonly settings?: () => ProbeSettings;
  readonly alerts?: ProbeAlertSink;
  /** The API key of an endpoint that needs one. */
  readonly apiKey?: (endpoint: RuntimeEndpoint) => Promise<string | undefined>;
  /** A container endpoint is probed only while this says 'running' (when given). */
  readonly containerState?: (containerId: string) => ContainerState | undefined;
  readonly probe?: ProbeFn;
  readonly log?: Logger;
  readonly now?: () => number;
}

/** The default probe: Ollama's version, the others' health, LocalAI's readiness (loading counts as up, and says so). */
export const defaultProbe: ProbeFn = async (endpoint, { timeoutMs, apiKey }) => {
  if (endpoint.api === 'ollama') {
    const version = await new OllamaClient(endpoint.baseUrl, { timeoutMs, displayName: endpoint.name }).version();
    return { ok: true, detail: `version ${version}` };
  }
  const h = await new OpenAiClient(endpoint.baseUrl, { timeoutMs, apiKey, displayName: endpoint.name }).health(endpoint.kind);
  return h.status === 'unavailable' ? { ok: false, detail: h.detail ?? 'unavailable' } : { ok: true, detail: h.status === 'loading' ? (h.detail ?? 'loading') : h.detail };
};

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const bound = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not answer within ${ms} ms`)), ms);
  });
  return Promise.race([p, bound]).finally(() => clearTimeout(timer));
}

export class HealthProber extends Disposable {
  private readonly onDidProbeEmitter = this.register(new Emitter<readonly ProbeStatus[]>());
  /** Fires after each round with the status of every probed endpoint. */
  readonly onDidProbe = this.onDidProbeEmitter.event;

  private readonly states = new Map<string, ProbeStatus>();
  /** Endpoint id → the alert subject (container id or endpoint id) an alert was raised for. */
  private readonly alerted = new Map<string, string>();
  private timer: NodeJS.Timeout | undefined;
  private round: Promise<void> | undefined;
  private started = false;
  private readonly log: Logger;
  private readonly now: () => number;

  constructor(private readonly options: HealthProberOptions) {
    super();
    this.log = options.log ?? silentLogger;
    this.now = options.now ?? Date.now;
    this.register({ dispose: () => this.stop() });
  }

  private get settings(): ProbeSettings {
    const s = this.options.settings?.() ?? defaultProbeSettings;
    return {
      intervalMs: Number.isFinite(s.intervalMs) && s.intervalMs > 0 ? s.intervalMs : 0,
      failureThreshold: Math.max(1, Math.floor(s.failureThreshold) || 1),
      timeoutMs: Number.isFinite(s.timeoutMs) && s.timeoutMs > 0 ? s.timeoutMs : defaultProbeSettings.timeoutMs,
    };
  }

  get isRunning(): boolean {
    return this.started;
  }

  /** Starts probing at the interval (the first round after one interval); a no-op while the interval is 0. */
  start(): void {
    if (this.isDisposed || this.started) return;
    this.started = true;
    this.schedule();
  }

  /** Stops the timer; a round in flight finishes, and schedules nothing. */
  stop(): void {
    this.started = false;
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** Call after the settings changed: applies a new interval (or 0: off) at once. */
  reschedule(): void {
    if (!this.started) return;
    clearTimeout(this.timer);
    this.timer = undefined;
    if (!this.round) this.schedule();
  }

  private schedule(): void {
    if (!this.started || this.isDisposed || this.timer) return;
    const { intervalMs } = this.settings;
    if (!intervalMs) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.probeNow();
    }, intervalMs);
    this.timer.unref?.();
  }

  status(endpointId: string): ProbeStatus | undefined {
    return this.states.get(endpointId);
  }

  statuses(): ProbeStatus[] {
    return [...this.states.values()];
  }

  /** Runs one round now (also while stopped); a round in flight is shared rather than overlapped. */
  probeNow(): Promise<void> {
    if (this.round) return this.round;
    clearTimeout(this.timer);
    this.timer = undefined;
    const round = this.runRound()
      .catch((e) => this.log.warn(`Health probes failed: ${errorMessage(e)}`))
      .finally(() => {
        this.round = undefined;
        this.schedule();
      });
    this.round = round;
    return round;
  }

  private subject(e: RuntimeEndpoint): { containerId: string; target: 'container' | 'endpoint' } {
    return e.containerId ? { containerId: e.containerId, target: 'container' } : { containerId: e.id, target: 'endpoint' };
  }

  private forget(endpointId: string): void {
    this.states.delete(endpointId);
    const subject = this.alerted.get(endpointId);
    if (subject !== undefined) {
      this.alerted.delete(endpointId);
      this.options.alerts?.resolve(subject, 'probe-failed');
    }
  }

  private async runRound(): Promise<void> {
    const { timeoutMs, failureThreshold } = this.settings;
    const probeFn = this.options.probe ?? defaultProbe;
    const all = this.options.endpoints().filter((e) => e.api !== 'gguf');
    const probed = all.filter((e) => !e.containerId || !this.options.containerState || this.options.containerState(e.containerId) === 'running');
    const keep = new Set(probed.map((e) => e.id));
    // Gone, or its container is not running (the container's own alerts say why): nothing to probe.
    for (const id of [...this.states.keys(), ...this.alerted.keys()]) if (!keep.has(id)) this.forget(id);
    await Promise.all(
      probed.map(async (endpoint) => {
        let outcome: ProbeOutcome;
        try {
          const apiKey = endpoint.api === 'openai' ? await this.options.apiKey?.(endpoint) : undefined;
          outcome = await withTimeout(probeFn(endpoint, { timeoutMs, apiKey }), timeoutMs + 1000, `The health probe of ${endpoint.name}`);
        } catch (e) {
          outcome = { ok: false, detail: errorMessage(e) };
        }
        if (this.isDisposed) return;
        // The endpoint may have gone while its probe ran.
        if (!this.options.endpoints().some((e) => e.id === endpoint.id)) return this.forget(endpoint.id);
        this.record(endpoint, outcome, failureThreshold);
      }),
    );
    if (!this.isDisposed) this.onDidProbeEmitter.fire(this.statuses());
  }

  private record(endpoint: RuntimeEndpoint, outcome: ProbeOutcome, threshold: number): void {
    const prev = this.states.get(endpoint.id);
    const failures = outcome.ok ? 0 : (prev?.consecutiveFailures ?? 0) + 1;
    this.states.set(endpoint.id, { endpoint, ok: outcome.ok, consecutiveFailures: failures, detail: outcome.detail, checkedAt: this.now() });
    const { containerId, target } = this.subject(endpoint);
    const alertedFor = this.alerted.get(endpoint.id);
    if (outcome.ok) {
      if (alertedFor !== undefined) {
        this.alerted.delete(endpoint.id);
        this.options.alerts?.resolve(alertedFor, 'probe-failed');
        this.log.info(`${endpoint.name} answers its health probe again.`);
      }
      return;
    }
    this.log.debug(`Health probe of ${endpoint.name} failed (${failures} in a row): ${outcome.detail ?? 'no detail'}`);
    if (failures >= threshold) {
      // Raised again at every failing round: a no-op while the alert is active, and back if the
      // container's own alerts cleared it meanwhile (it exited and came back, still not answering).
      this.alerted.set(endpoint.id, containerId);
      this.options.alerts?.raise({
        containerId,
        containerName: endpoint.name,
        kind: 'probe-failed',
        target,
        endpointId: endpoint.id,
        message: `${endpoint.name}: not answering its health probe (${failures} failures in a row${outcome.detail ? `: ${outcome.detail}` : ''})`,
      });
    }
  }
}
