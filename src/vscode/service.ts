// The editor window as a client of the local service: finds or starts it (with this editor's own
// Node), hands it the user's registry settings, moves a registry the extension kept in its own
// storage to the service's data folder once, and notices when the service dies (it is started
// again on the next request, and the log says so).
import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { KEY_SECRET, registryFile } from '../app/registry/host';
import { Emitter, errorMessage } from '../core/lifecycle';
import { connectService, ServiceError, startCommandFor, type ServiceClient } from '../service/client';
import { FileKeyStore } from '../service/keys';
import { ensurePrivateDir, servicePaths, type ServicePaths } from '../service/paths';
import type { ServiceEvent } from '../service/protocol';
import { clientSettings, serviceSettings } from './settings';

/**
 * The window's link to the service, as the views show it: starting (the first time), connected,
 * restarting (it went away and is started again), or unreachable (with why).
 */
export type ServiceState = { kind: 'starting' } | { kind: 'connected' } | { kind: 'restarting' } | { kind: 'unreachable'; message: string };

/** What service.attach answers: whether the service watches this window's engine. */
interface Attachment {
  readonly sameEngine: boolean;
  readonly engine: string | null;
  readonly problems: string[];
}

export class ServiceLink implements vscode.Disposable {
  readonly paths: ServicePaths = servicePaths();
  private connecting: Promise<ServiceClient> | undefined;
  private events: { dispose(): void } | undefined;
  private disposed = false;
  private migrated = false;
  /** This window's id at the service: what it attached lasts while its event stream is open. */
  readonly clientId = randomUUID();
  private readonly eventEmitter = new Emitter<ServiceEvent>();
  /** The service's events; a `hello` starts each connection. */
  readonly onEvent = this.eventEmitter.event;
  private readonly attachEmitter = new Emitter<Attachment | undefined>();
  /** Fires after each attach (undefined: the service could not be reached or went away). */
  readonly onDidAttach = this.attachEmitter.event;
  private attachment: Attachment | undefined;
  private restarts: number[] = [];
  private currentState: ServiceState = { kind: 'starting' };
  private readonly stateEmitter = new Emitter<ServiceState>();
  /** Fires when the window's link to the service changes (the views say so). */
  readonly onDidChangeState = this.stateEmitter.event;

  constructor(
    private readonly context: vscode.ExtensionContext,
    private readonly log: vscode.LogOutputChannel,
  ) {}

  /** The registry file the service keeps (for the statistics and the tests). */
  get registryFile(): string {
    return registryFile(this.paths.dataDir);
  }

  /**
   * Calls a use case in the service. When the service is gone (killed, crashed) the request never
   * reached it: the service is started again and the call made once more.
   */
  async call<T>(name: string, input: unknown, options?: Parameters<ServiceClient['call']>[2]): Promise<T> {
    try {
      return await (await this.client()).call<T>(name, input, options);
    } catch (e) {
      if (!(e instanceof ServiceError && e.code === 'not_running') || this.disposed) throw e;
      this.log.warn('The LLM Stack service is gone; starting it again.');
      this.connecting = undefined;
      return (await this.client()).call<T>(name, input, options);
    }
  }

  /** A client of the running service, started first when none answers. */
  client(): Promise<ServiceClient> {
    if (this.disposed) return Promise.reject(new Error('LLM Stack is shutting down.'));
    if (!this.connecting) {
      if (this.currentState.kind !== 'starting') this.setState({ kind: 'restarting' });
      this.connecting = this.connect().then(
        (client) => {
          this.setState({ kind: 'connected' });
          return client;
        },
        (e: unknown) => {
          this.connecting = undefined;
          const error = new Error(`The LLM Stack service could not be reached: ${errorMessage(e)} (its log: ${this.paths.logFile}).`);
          this.setState({ kind: 'unreachable', message: error.message });
          throw error;
        },
      );
    }
    return this.connecting;
  }

  get state(): ServiceState {
    return this.currentState;
  }

  private setState(state: ServiceState): void {
    if (this.disposed || (state.kind === this.currentState.kind && state.kind !== 'unreachable')) return;
    this.currentState = state;
    this.stateEmitter.fire(state);
  }

  private async connect(): Promise<ServiceClient> {
    if (!this.migrated) {
      this.migrated = true;
      await this.moveOwnRegistry();
    }
    const { client, version, started } = await connectService(this.paths, { start: startCommandFor(this.context.asAbsolutePath(path.join('dist', 'cli.js')), 10) });
    this.log.info(`${started ? 'Started' : 'Connected to'} the LLM Stack service ${version.version} (pid ${version.pid}) on ${this.paths.socket}.`);
    // The event stream is the window's tie to the service: while it is open the service stays
    // (and keeps what this window attached), and when it ends the service has stopped or died.
    this.events?.dispose();
    this.events = client.events(
      (e) => this.eventEmitter.fire(e),
      (why) => {
        if (this.disposed) return;
        this.log.warn(`The LLM Stack service went away (${why}); starting it again.`);
        this.connecting = undefined;
        this.setState({ kind: 'restarting' });
        this.setAttachment(undefined);
        // Started again at once, so the alerts come back without waiting for a request; but not
        // in a loop: after 3 restarts in a minute the next request starts it.
        const now = Date.now();
        this.restarts = this.restarts.filter((t) => t > now - 60_000);
        if (this.restarts.length >= 3) {
          const message = `The LLM Stack service stopped 3 times in a minute; it is started again on the next request. Its log: ${this.paths.logFile}`;
          this.log.error(message);
          return this.setState({ kind: 'unreachable', message });
        }
        this.restarts.push(now);
        void this.client().catch((e: unknown) => this.log.error(errorMessage(e)));
      },
      this.clientId,
    );
    await client.call('service.configure', serviceSettings());
    this.setAttachment(await client.call<Attachment>('service.attach', { client: this.clientId, ...clientSettings() }));
    return client;
  }

  private setAttachment(a: Attachment | undefined): void {
    this.attachment = a;
    for (const p of a?.problems ?? []) this.log.warn(`llmStack.runtimes.endpoints: ${p}`);
    if (!this.disposed) this.attachEmitter.fire(a);
  }

  /** The last attach answer; undefined before the first and while the service is away. */
  get attached(): Attachment | undefined {
    return this.attachment;
  }

  /** This window's runtimes or engine changed: the service is told (and the watch may switch). */
  async reattach(): Promise<void> {
    const client = await this.client();
    this.setAttachment(await client.call<Attachment>('service.attach', { client: this.clientId, ...clientSettings() }));
  }

  /** llmStack.registry.* or llmStack.models.idle* changed: the service applies them (reopening the registry when needed). */
  async settingsChanged(): Promise<void> {
    await this.call('service.configure', serviceSettings());
  }

  /**
   * Before the service, each window kept a registry in the extension's storage. The first time,
   * that file (and its journal) moves to the service's data folder, with its encryption key, and
   * the old file stays beside itself as `*.moved-to-service`. Never over a registry the service has.
   */
  private async moveOwnRegistry(): Promise<void> {
    const old = registryFile(this.context.globalStorageUri.fsPath);
    const target = this.registryFile;
    if (!fs.existsSync(old) || fs.existsSync(target)) return;
    try {
      ensurePrivateDir(this.paths.dataDir);
      const key = await this.context.secrets.get(KEY_SECRET);
      const keys = new FileKeyStore(this.paths.dataDir);
      if (key && !(await keys.get(KEY_SECRET))) await keys.set(KEY_SECRET, key);
      for (const suffix of ['', '.journal']) {
        if (fs.existsSync(old + suffix)) fs.copyFileSync(old + suffix, target + suffix, fs.constants.COPYFILE_EXCL);
      }
      for (const suffix of ['', '.journal']) {
        if (fs.existsSync(old + suffix)) fs.renameSync(old + suffix, `${old + suffix}.moved-to-service`);
      }
      this.log.info(`Moved the model registry from ${old} to the LLM Stack service's ${target} (the old file is kept as ${old}.moved-to-service).`);
    } catch (e) {
      this.log.error(`Could not move the model registry from ${old} to ${target}: ${errorMessage(e)}. The old file is unchanged.`);
    }
  }

  dispose(): void {
    this.disposed = true;
    this.events?.dispose();
    this.eventEmitter.dispose();
    this.attachEmitter.dispose();
    this.stateEmitter.dispose();
  }
}
