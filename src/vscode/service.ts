// The editor window as a client of the local service: finds or starts it (with this editor's own
// Node), hands it the user's registry settings, moves a registry the extension kept in its own
// storage to the service's data folder once, and notices when the service dies (it is started
// again on the next request, and the log says so).
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { KEY_SECRET, registryFile } from '../app/registry/host';
import { errorMessage } from '../core/lifecycle';
import { connectService, ServiceError, startCommandFor, type ServiceClient } from '../service/client';
import { FileKeyStore } from '../service/keys';
import { ensurePrivateDir, servicePaths, type ServicePaths } from '../service/paths';
import { serviceSettings } from './settings';

export class ServiceLink implements vscode.Disposable {
  readonly paths: ServicePaths = servicePaths();
  private connecting: Promise<ServiceClient> | undefined;
  private events: { dispose(): void } | undefined;
  private disposed = false;
  private migrated = false;

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
    this.connecting ??= this.connect().catch((e: unknown) => {
      this.connecting = undefined;
      throw new Error(`The LLM Stack service could not be reached: ${errorMessage(e)} (its log: ${this.paths.logFile}).`);
    });
    return this.connecting;
  }

  private async connect(): Promise<ServiceClient> {
    if (!this.migrated) {
      this.migrated = true;
      await this.moveOwnRegistry();
    }
    const { client, version, started } = await connectService(this.paths, { start: startCommandFor(this.context.asAbsolutePath(path.join('dist', 'cli.js')), 10) });
    this.log.info(`${started ? 'Started' : 'Connected to'} the LLM Stack service ${version.version} (pid ${version.pid}) on ${this.paths.socket}.`);
    await client.call('service.configure', serviceSettings());
    // The event stream is the window's tie to the service: while it is open the service stays,
    // and when it ends the service has stopped or died.
    this.events?.dispose();
    this.events = client.events(
      () => undefined,
      (why) => {
        if (this.disposed) return;
        this.log.warn(`The LLM Stack service went away (${why}); it is started again on the next request.`);
        this.connecting = undefined;
      },
    );
    return client;
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
  }
}
