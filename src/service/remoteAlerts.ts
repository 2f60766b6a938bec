// An editor window's mirror of the service's alerts: the active alerts and the mutes as the service
// last sent them (a full list on each change), the alerts raised as they come, and muting or
// expecting a stop done by asking the service. The window shows notifications; the rules run once,
// in the service, however many windows are open.
import type { Alert, AlertNotice, AlertSource, MuteEntry } from '../core/docker/alerts';
import { Disposable, Emitter, errorMessage, type Event, type Logger } from '../core/lifecycle';
import type { ServiceEvent } from './protocol';

interface AlertsState {
  readonly alerts: Alert[];
  readonly mutes: MuteEntry[];
}

interface RemoteAlertsOptions {
  /** Calls a use case in the service. */
  readonly call: <T>(name: string, input: unknown) => Promise<T>;
  /** The service's event stream; a `hello` starts each (re)connection. */
  readonly onEvent: Event<ServiceEvent>;
  readonly log: Logger;
}

export class RemoteAlerts extends Disposable implements AlertSource {
  private readonly onAlertEmitter = this.register(new Emitter<AlertNotice>());
  readonly onAlert = this.onAlertEmitter.event;
  private readonly onDidChangeEmitter = this.register(new Emitter<readonly Alert[]>());
  readonly onDidChange = this.onDidChangeEmitter.event;
  private state: AlertsState = { alerts: [], mutes: [] };

  constructor(private readonly options: RemoteAlertsOptions) {
    super();
    this.register(
      options.onEvent((e) => {
        if (e.type === 'hello') void this.refresh();
        else if (e.type === 'alerts') this.set(e);
        else if (e.type === 'alert') this.onAlertEmitter.fire({ alert: e.alert, notify: e.notify });
      }),
    );
  }

  /** Asks the service for the whole list (on each connection: alerts raised while away show). */
  async refresh(): Promise<void> {
    try {
      this.set(await this.options.call<AlertsState>('alerts.list', {}));
    } catch (e) {
      this.options.log.warn(`Could not read the alerts from the LLM Stack service: ${errorMessage(e)}`);
    }
  }

  private set(state: AlertsState): void {
    if (this.isDisposed) return;
    this.state = { alerts: state.alerts, mutes: state.mutes };
    this.onDidChangeEmitter.fire(this.state.alerts);
  }

  active(): Alert[] {
    return [...this.state.alerts];
  }

  get mutedIds(): string[] {
    const now = Date.now();
    return this.state.mutes.filter((m) => m.until === undefined || m.until > now).map((m) => m.id);
  }

  async mute(containerId: string, untilMs?: number): Promise<void> {
    this.set(await this.options.call<AlertsState>('alerts.mute', { containerId, untilMs }));
  }

  async unmute(containerId: string): Promise<void> {
    this.set(await this.options.call<AlertsState>('alerts.unmute', { containerId }));
  }

  async unmuteAll(): Promise<void> {
    this.set(await this.options.call<AlertsState>('alerts.unmute', { all: true }));
  }

  /** Asked before the window stops a container; a service that cannot be asked does not stop the stop. */
  async expectStop(containerId: string): Promise<void> {
    try {
      await this.options.call('alerts.expectStop', { containerId });
    } catch (e) {
      this.options.log.warn(`Could not tell the LLM Stack service that ${containerId.slice(0, 12)} is stopped on purpose: ${errorMessage(e)}`);
    }
  }
}

/**
 * One AlertSource that forwards another, chosen later: a window does not know at activation whether
 * the service watches its engine (then the service's alerts) or not (then its own monitor). Before
 * a source is chosen there are no alerts, and actions do nothing.
 */
export class AlertRelay extends Disposable implements AlertSource {
  private readonly onAlertEmitter = this.register(new Emitter<AlertNotice>());
  readonly onAlert = this.onAlertEmitter.event;
  private readonly onDidChangeEmitter = this.register(new Emitter<readonly Alert[]>());
  readonly onDidChange = this.onDidChangeEmitter.event;
  private source: AlertSource | undefined;
  private subscriptions: { dispose(): void }[] = [];

  constructor() {
    super();
    this.register({ dispose: () => this.subscriptions.forEach((s) => s.dispose()) });
  }

  /** The source followed from now on (or none); its alerts replace the previous one's. */
  use(source: AlertSource | undefined): void {
    this.subscriptions.forEach((s) => s.dispose());
    this.source = source;
    this.subscriptions = source ? [source.onAlert((n) => this.onAlertEmitter.fire(n)), source.onDidChange((a) => this.onDidChangeEmitter.fire(a))] : [];
    this.onDidChangeEmitter.fire(this.active());
  }

  get current(): AlertSource | undefined {
    return this.source;
  }

  active(): Alert[] {
    return this.source?.active() ?? [];
  }

  get mutedIds(): string[] {
    return this.source?.mutedIds ?? [];
  }

  async mute(containerId: string, untilMs?: number): Promise<void> {
    await this.source?.mute(containerId, untilMs);
  }

  async unmute(containerId: string): Promise<void> {
    await this.source?.unmute(containerId);
  }

  async unmuteAll(): Promise<void> {
    await this.source?.unmuteAll();
  }

  async expectStop(containerId: string): Promise<void> {
    await this.source?.expectStop(containerId);
  }
}
