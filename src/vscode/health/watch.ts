// Who watches this window's containers and runtimes: the service, when it is connected to the same
// engine (then its alerts are shown here, and idle unloads and health probes run there, once for
// every window); or, when the service is on another engine or cannot be reached, this window by
// itself (its own alert rules and probes, idle unloads here). Nothing is shown before the service
// has answered, so a cold start never notifies twice.
import * as vscode from 'vscode';
import { AlertMonitor, healthDetailsFromInspect, type MuteEntry } from '../../core/docker/alerts';
import type { ContainerActions } from '../../core/docker/actions';
import type { ContainerCache } from '../../core/docker/containerCache';
import type { ClassifierSource } from '../../core/docker/containers';
import { errorMessage, type Logger } from '../../core/lifecycle';
import type { ModelCatalog } from '../../core/runtimes/catalog';
import { HealthProber } from '../../core/runtimes/probes';
import { AlertRelay, RemoteAlerts } from '../../service/remoteAlerts';
import type { ServiceLink } from '../service';
import { alertSettings, apiKeySecret, probeSettings } from '../settings';

/** globalState key of the mutes a window kept before the service (moved there once). */
const MUTES_KEY = 'llmStack.alerts.muted';
const MUTES_MOVED_KEY = 'llmStack.alerts.mutesMovedToService';

interface WatchDeps {
  readonly context: vscode.ExtensionContext;
  readonly service: ServiceLink;
  readonly cache: ContainerCache;
  readonly classifiers: ClassifierSource;
  readonly catalog: ModelCatalog;
  /** For a local monitor's healthcheck details. */
  readonly actions: () => ContainerActions;
  readonly log: Logger;
}

type Mode = 'pending' | 'service' | 'window';

export class HealthWatch implements vscode.Disposable {
  /** What the status bar and the notifications follow, whoever watches. */
  readonly alerts = new AlertRelay();
  private local: { monitor: AlertMonitor; prober: HealthProber; subscriptions: vscode.Disposable[] } | undefined;
  private remote: RemoteAlerts | undefined;
  private current: Mode = 'pending';
  private readonly subscriptions: vscode.Disposable[] = [];
  private readonly modeEmitter = new vscode.EventEmitter<Mode>();
  /** Fires when the watcher changes (the tests wait on it). */
  readonly onDidChangeMode = this.modeEmitter.event;

  constructor(private readonly deps: WatchDeps) {
    this.subscriptions.push(
      deps.service.onDidAttach((a) => {
        // The service went away: keep what is shown until it answers again (it is restarted at once).
        if (!a) return;
        if (!a.sameEngine) deps.log.info(`The LLM Stack service watches ${a.engine ?? 'no engine'}; this window uses another engine, so it watches its containers itself.`);
        this.use(a.sameEngine ? 'service' : 'window');
      }),
    );
  }

  /** 'service' when the service's alerts are shown here, 'window' when this window watches by itself. */
  get mode(): Mode {
    return this.current;
  }

  /** The service could not be started: this window watches by itself until it can. */
  fallBack(why: string): void {
    if (this.current !== 'pending') return;
    this.deps.log.warn(`Watching this window's containers and runtimes here: ${why}`);
    this.use('window');
  }

  /** Idle unloads run here only when this window watches by itself. */
  get enforcesIdle(): boolean {
    return this.current === 'window';
  }

  /** The probe settings changed (a window that watches by itself reschedules its probes). */
  reprobe(): void {
    this.local?.prober.reschedule();
  }

  private use(mode: Mode): void {
    if (mode === this.current) return;
    this.current = mode;
    this.dropLocal();
    this.remote?.dispose();
    this.remote = undefined;
    if (mode === 'service') {
      this.remote = new RemoteAlerts({ call: (n, i) => this.deps.service.call(n, i), onEvent: this.deps.service.onEvent, log: this.deps.log });
      void this.remote.refresh();
      this.alerts.use(this.remote);
      void this.moveMutes();
    } else if (mode === 'window') {
      this.alerts.use(this.startLocal());
    }
    this.modeEmitter.fire(mode);
  }

  private startLocal(): AlertMonitor {
    const { context, cache, classifiers, catalog, log } = this.deps;
    const saved = context.globalState.get<unknown>(MUTES_KEY, []);
    const monitor = new AlertMonitor({
      source: cache,
      classifier: () => classifiers.current,
      settings: alertSettings,
      log,
      healthDetails: async (id) => healthDetailsFromInspect(await this.deps.actions().inspect(id)),
      mutes: Array.isArray(saved) ? saved.filter((m): m is MuteEntry => !!m && typeof (m as MuteEntry).id === 'string') : [],
    });
    const prober = new HealthProber({
      endpoints: () => catalog.list().map((st) => st.endpoint),
      settings: probeSettings,
      alerts: monitor,
      log,
      containerState: (id) => cache.get(id)?.state,
      apiKey: (e) => Promise.resolve(context.secrets.get(apiKeySecret(e.id))),
    });
    prober.start();
    const persist = monitor.onDidChangeMutes((mutes) => {
      context.globalState.update(MUTES_KEY, mutes).then(undefined, (e: unknown) => log.warn(`Saving the muted alerts failed: ${errorMessage(e)}`));
    });
    this.local = { monitor, prober, subscriptions: [persist] };
    return monitor;
  }

  private dropLocal(): void {
    if (!this.local) return;
    this.local.subscriptions.forEach((s) => s.dispose());
    this.local.prober.dispose();
    this.local.monitor.dispose();
    this.local = undefined;
  }

  /** Mutes this window kept before the service are moved there, once. */
  private async moveMutes(): Promise<void> {
    const { context, log } = this.deps;
    if (context.globalState.get<boolean>(MUTES_MOVED_KEY)) return;
    const saved = context.globalState.get<unknown>(MUTES_KEY, []);
    try {
      for (const m of Array.isArray(saved) ? saved : []) {
        if (m && typeof (m as MuteEntry).id === 'string') await this.remote?.mute((m as MuteEntry).id, (m as MuteEntry).until);
      }
      await context.globalState.update(MUTES_MOVED_KEY, true);
    } catch (e) {
      log.warn(`Moving the muted alerts to the LLM Stack service failed: ${errorMessage(e)}`);
    }
  }

  dispose(): void {
    this.subscriptions.forEach((s) => s.dispose());
    this.dropLocal();
    this.remote?.dispose();
    this.alerts.dispose();
    this.modeEmitter.dispose();
  }
}
