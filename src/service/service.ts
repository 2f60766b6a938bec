// The service's composition root: one process per user that owns the engine connection, the
// container cache, the model catalog, idle handling, health probes and alerts, and the registry,
// and serves the use cases to every client (editor windows, the CLI, HTTP clients) on its socket.
import * as fs from 'node:fs';
import * as os from 'node:os';
import { AlertMonitor, healthDetailsFromInspect, MonitoredContainerActions } from '../core/docker/alerts';
import { readTextFile, EngineConnection } from '../core/docker/connection';
import { ContainerCache } from '../core/docker/containerCache';
import { ClassifierOwner } from '../core/docker/containers';
import { resolveEndpoints } from '../core/docker/endpoint';
import { viewDescription } from '../core/docker/health';
import { Batcher, Disposable, errorMessage, waitForEvent, type Logger } from '../core/lifecycle';
import { ModelCatalog } from '../core/runtimes/catalog';
import { discoverRuntimes, mergeEndpoints, parseUserEndpoints } from '../core/runtimes/discovery';
import { ggufFolderEndpoint } from '../core/runtimes/ggufFolder';
import { IdleManager } from '../core/runtimes/idle';
import { HealthProber } from '../core/runtimes/probes';
import { MetricsSampler } from '../core/metrics/sampler';
import { metricsUseCases } from '../app/metrics/useCases';
import { metricsSubscription } from './metricsStream';
import { LocalRegistryPort } from '../app/registry/port';
import { HardwareProbe } from '../core/stack/hardware';
import { containersUseCases, type ContainersDeps } from '../app/containers/useCases';
import { modelsUseCases, type ModelsDeps } from '../app/models';
import { idleHooks } from '../app/models/idleHooks';
import { apiKeySecret, setApiKey } from '../app/models/apiKeys';
import { RegistryHost, registryFile } from '../app/registry/host';
import { registryPortUseCases } from '../app/registry/portUseCases';
import { registryUseCases, type RegistryDeps } from '../app/registry/useCases';
import { stackUseCases, type StackDeps } from '../app/stack';
import { configFile, readConfig, type ServiceConfig } from './config';
import { configure, type ConfigSections } from './configure';
import { attach, ClientRuntimes } from './attach';
import { alertsState, healthUseCases } from '../app/health/useCases';
import { loadMutes, saveMutes } from './mutes';
import { FileKeyStore } from './keys';
import { acquireLock } from './lock';
import { openapiDocument } from './openapi';
import { ensurePrivateDir, type ServicePaths } from './paths';
import { PROTOCOL, type ServiceVersion } from './protocol';
import { route, ServiceServer, type Route } from './server';
import { TcpGuard } from './tcpGuard';
import { forward } from './gateway';
import { RequestMetrics } from './requestMetrics';
import { TokenStore, tokenUseCases } from './tokens';
import type { ServiceLogger } from './logging';
import { otlpTracesEndpoint, startTracing, type Tracing } from './tracing';
import { WebhookDeliverer } from '../core/webhooks/deliverer';
import { WebhookStore } from '../core/webhooks/store';
import { webhookSecretName, webhookUseCases } from '../app/webhooks/useCases';
import { benchUseCases } from '../app/bench/useCases';
import { fitModel, recommendModels, unusedModels } from '../app/bench/fit';
import { LoadCalibrator } from '../app/bench/calibration';
import { Preloader } from '../app/models/preload';
import { IdlePulls } from '../app/models/idlePulls';
import { checkImageUpdates } from '../app/updates/useCases';
import { RegistryClient } from '../core/registries/client';
import { dockerCredentials } from '../core/registries/credentials';
import { alertCleared, alertRaised, useCaseEvents, type Outgoing } from './webhookEvents';

/** The TCP listener was not opened: the address is malformed, or not loopback without the flag. */
export class ListenRefused extends Error {
  override readonly name = 'ListenRefused';
}

/** The certificate and key for HTTPS, read once; both or neither, each a readable PEM file. */
function readTls(cert: string, key: string): { cert: Buffer; key: Buffer } | undefined {
  if (!cert && !key) return undefined;
  if (!cert || !key) throw new ListenRefused('HTTPS needs both a certificate and its key (--tls-cert and --tls-key, or service.tlsCert and service.tlsKey).');
  const read = (file: string, what: string) => {
    try {
      const text = fs.readFileSync(file);
      if (!text.includes('-----BEGIN ')) throw new Error('not a PEM file');
      return text;
    } catch (e) {
      throw new ListenRefused(`The TLS ${what} ${file} could not be read: ${errorMessage(e)}.`);
    }
  };
  return { cert: read(cert, 'certificate'), key: read(key, 'key') };
}

/** HOST:PORT (or [IPv6]:PORT), refused before anything starts when malformed or not loopback without the flag. */
function parseListen(listen: string, allowRemote: boolean): { host: string; port: number; loopback: boolean } {
  const m = /^(?:\[([^\]]+)\]|([^:]+)):(\d{1,5})$/.exec(listen.trim());
  const port = m ? Number(m[3]) : NaN;
  if (!m || port > 65535) throw new ListenRefused(`The listen address "${listen}" is not HOST:PORT (for example 127.0.0.1:7711).`);
  const host = m[1] ?? m[2];
  const loopback = host === '127.0.0.1' || host === '::1' || host === 'localhost';
  if (!loopback && !allowRemote) throw new ListenRefused(`Listening on ${host} would open the stack to other machines; pass --allow-remote (or set service.allowRemote) to mean it.`);
  return { host, port, loopback };
}

interface StartOptions {
  readonly paths: ServicePaths;
  /** The product version the service answers with (package.json's). */
  readonly version: string;
  /** Started by a client: exit after this many idle minutes. Undefined (by hand): stay. */
  readonly idleExitMinutes?: number;
  readonly log: Logger & Partial<Pick<ServiceLogger, 'event'>>;
  /** Where sql.js finds its WASM (beside the bundle); resolved from node_modules when absent. */
  readonly wasmPath?: string;
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** host:port for the TCP listener (tokens and roles); overrides config.json's service.listen. */
  readonly listen?: string;
  /** Allows a listen address other than loopback (a warning is printed). */
  readonly allowRemote?: boolean;
  /** PEM certificate and key files: HTTPS on the TCP listener; override config.json's service.tlsCert/tlsKey. */
  readonly tlsCert?: string;
  readonly tlsKey?: string;
}

/** The use cases that change the registry (directly or through their audit entry). */
const WRITES = new Set([
  'registry.backup',
  'registry.restore',
  'registry.import',
  'registry.recordAudit',
  'registry.syncListing',
  'registry.recordUsage',
  'registry.recordDigest',
  'containers.action',
  'models.pull',
  'models.delete',
  'models.load',
  'models.unload',
  'models.tryPrompt',
  'models.verify',
  'models.acceptVersion',
  'stack.apply',
  'stack.down',
  'swarm.deploy',
  'swarm.remove',
  'webhooks.create',
  'webhooks.delete',
  'webhooks.redeliver',
  'webhooks.ping',
  'bench.run',
  'bench.importLlamaBench',
]);

export class LocalService extends Disposable {
  readonly startedAt = Date.now();
  private stopping: Promise<void> | undefined;
  private idleTimer: NodeJS.Timeout | undefined;
  private readonly releaseLock: () => void;
  readonly server: ServiceServer;
  readonly registry: RegistryHost;
  readonly connection: EngineConnection;
  readonly cache: ContainerCache;
  readonly catalog: ModelCatalog;
  private readonly sampler: MetricsSampler;
  private readonly tokens: TokenStore;
  private readonly deliverer: WebhookDeliverer;
  /** Resolves when the service has stopped (by signal, by request or when idle). */
  readonly stopped: Promise<void>;
  private resolveStopped!: () => void;
  private readiness: Promise<void> | undefined;

  private constructor(
    private readonly options: StartOptions,
    readonly config: ServiceConfig,
    release: () => void,
  ) {
    super();
    this.releaseLock = release;
    this.stopped = new Promise((r) => (this.resolveStopped = r));
    const log = options.log;
    const env = options.env ?? process.env;
    const resolve = () =>
      resolveEndpoints({
        settingHost: config.docker.host,
        settingCertPath: config.docker.tlsCertPath,
        env,
        homedir: os.homedir(),
        platform: process.platform,
        uid: process.getuid?.(),
        readFile: readTextFile,
      });
    this.connection = this.register(new EngineConnection({ log, resolve }));
    const cache = (this.cache = this.register(new ContainerCache(this.connection, { log })));
    const classifiers = this.register(new ClassifierOwner(config.runtimes.imagePatterns));
    const alertMonitor: AlertMonitor = this.register(
      new AlertMonitor({
        source: cache,
        classifier: () => classifiers.current,
        settings: () => ({ rateLimitMinutes: config.alerts.rateLimitMinutes }),
        log,
        healthDetails: async (id) => healthDetailsFromInspect(await actions.inspect(id)),
        // Mutes are the user's, kept in the data folder: every window shows the same ones.
        mutes: loadMutes(options.paths.dataDir, log),
      }),
    );
    this.register(alertMonitor.onDidChangeMutes((mutes) => saveMutes(options.paths.dataDir, mutes, log)));
    const actions = new MonitoredContainerActions(this.connection, (id) => alertMonitor.expectStop(id));
    const keys = new FileKeyStore(options.paths.dataDir, env);
    const registry = (this.registry = new RegistryHost({
      file: registryFile(options.paths.dataDir),
      wasmPath: options.wasmPath,
      settings: () => ({
        encrypt: config.registry.encrypt,
        keepBackups: config.registry.keepBackups,
        backupIntervalHours: config.registry.backupIntervalHours,
        usageDays: config.registry.retentionDays,
      }),
      keys,
      log,
      onRecovery: (r) => log.error(`The registry file was damaged and moved aside to ${r.movedTo}; ${r.restoredFrom ? `restored from ${r.restoredFrom}` : 'a new registry was started'}.`),
      // Deliveries a stop or a crash left queued go out once the registry is open. It is not opened
      // for them alone: the first listing of a runtime or the first request opens it.
      onOpen: () => this.deliverer.wake(),
    }));
    const audit = (op: string, target: string, error?: string) => registry.audit(op, target, error);
    // Webhooks: deliveries are queued in the registry in the transaction of what they report, and
    // sent by the deliverer (woken when one is queued, and at start for what a restart left).
    const webhookStore = async () => new WebhookStore((await registry.get()).registry);
    const flush = async () => {
      if (registry.isOpen) await (await registry.get()).registry.flush();
    };
    const requestMetrics = new RequestMetrics();
    const deliverer = (this.deliverer = this.register(
      new WebhookDeliverer({
        store: webhookStore,
        secret: (name) => keys.get(webhookSecretName(name)),
        persist: flush,
        retryBaseMs: config.webhooks.retryBaseSeconds * 1000,
        maxAttempts: Math.max(1, Math.floor(config.webhooks.maxAttempts)),
        userAgent: `llmstack/${options.version}`,
        log,
        onAttempt: (outcome) => requestMetrics.webhookAttempt(outcome),
      }),
    ));
    /** Queues deliveries; `persist` flushes them (a use case's own write flushes them otherwise). */
    const queue = async (out: readonly Outgoing[], persist = true) => {
      if (!out.length) return;
      try {
        const store = await webhookStore();
        const ids = out.flatMap((o) => store.enqueue(o.event, o.data));
        if (ids.length && persist) await flush();
        if (ids.length) deliverer.wake();
      } catch (e) {
        log.warn(`Could not queue webhook deliveries (${out.map((o) => o.event).join(', ')}): ${errorMessage(e)}`);
      }
    };
    const registryPort = new LocalRegistryPort(async () => (await registry.get()).repos, log, (e, model) => void queue([{ event: 'model.updated', data: { runtime: { id: e.id, name: e.name }, model } }]));
    const tokens = (this.tokens = new TokenStore(options.paths.dataDir));
    // Generations a window or the service ran are charted (tokens/s) as they are recorded.
    const chartGeneration = (runtimeId: string, model: string, kind: string, d: { outputTokens?: number; durationMs?: number }) => {
      if (kind === 'generate' && d.outputTokens && d.durationMs) sampler.recordGeneration(runtimeId, model, d.outputTokens, d.durationMs);
    };
    const apiKey = (e: { id: string }) => keys.get(apiKeySecret(e.id));
    const catalog = (this.catalog = this.register(
      new ModelCatalog({
        log,
        hooks: {
          apiKey,
          onListing: (e, l) => registryPort.syncListing(e, l),
          onUsage: (e, m, k, d) => {
            chartGeneration(e.id, typeof m === 'string' ? m : m.name, k, d);
            return registryPort.recordUsage(e, m, k, d);
          },
          onAudit: audit,
        },
      }),
    ));
    const idle = this.register(
      new IdleManager(catalog, {
        settings: () => ({ unloadMinutes: config.models.idleUnloadMinutes, stopContainerMinutes: config.models.idleStopContainerMinutes }),
        log,
        ...idleHooks({ containers: cache, actions, audit }),
      }),
    );
    // Opt-in: models used at regular times are loaded shortly before (models.preloadMinutes).
    const preloader = this.register(new Preloader({ catalog, repos: async () => (await registry.get()).repos, leadMinutes: () => config.models.preloadMinutes ?? 0, log }));
    const prober = this.register(
      new HealthProber({
        endpoints: () => catalog.list().map((st) => st.endpoint),
        settings: () => ({
          intervalMs: config.alerts.probeIntervalSeconds * 1000,
          failureThreshold: Math.max(1, Math.floor(config.alerts.probeFailures)),
          timeoutMs: Math.max(1, config.alerts.probeTimeoutSeconds) * 1000,
        }),
        alerts: alertMonitor,
        log,
        containerState: (id) => cache.get(id)?.state,
        apiKey,
      }),
    );
    prober.start();
    // Samples only while a client is subscribed to /v1/metrics/events.
    const sampler: MetricsSampler = (this.sampler = this.register(
      new MetricsSampler({
        engine: this.connection,
        containers: cache,
        catalog,
        intervalMs: config.metrics.intervalSeconds * 1000,
        historyMinutes: config.metrics.historyMinutes,
        nvidia: config.metrics.gpu ? { binary: config.metrics.nvidiaSmiPath || 'nvidia-smi' } : false,
        models: { apiKey },
        log,
      }),
    ));
    const relist = this.register(new Batcher<string>(250, (ids) => ids.forEach((id) => void catalog.refresh(id))));
    const showContainers = () => sampler.setContainers(cache.list().filter((r) => r.state === 'running' || r.state === 'paused').map((r) => r.id));
    showContainers();
    this.register(cache.onDidChange(showContainers));
    // Runtimes: the runtime containers the engine reports, the endpoints and GGUF folders in
    // config.json, and those each attached window brought (its settings', workspace ones included).
    const user = parseUserEndpoints(config.runtimes.endpoints);
    for (const e of user.errors) log.warn(`runtimes.endpoints: ${e}`);
    const folders = config.models.ggufFolders.map((f) => ggufFolderEndpoint(f));
    const clients = new ClientRuntimes(() => updateEndpoints());
    const updateEndpoints = () => catalog.setEndpoints(mergeEndpoints(user.endpoints, clients.all(), discoverRuntimes(cache.list(), classifiers.current).endpoints, folders));
    updateEndpoints();
    this.register(cache.onDidChange(updateEndpoints));

    const hardware = new HardwareProbe({});
    // Each single-model load is measured (container memory from the sampler): the fit estimate calibrates on it.
    this.register(new LoadCalibrator({ catalog, repos: async () => (await registry.get()).repos, hardware, samples: sampler, log }));
    const containersDeps: ContainersDeps = { containers: cache, actions, classifier: () => classifiers.current, audit };
    const modelsDeps: ModelsDeps = { catalog, registry: registryPort, inspectContainer: (id) => actions.inspect(id), log };
    const registryDeps: RegistryDeps = { registry };
    // A stack file's `pull: idle` models wait here until no model has been used for 10 minutes.
    const idlePulls = this.register(new IdlePulls({ catalog, log }));
    const stackDeps: StackDeps = { engine: this.connection, hardware, log, models: catalog, audit, imagePatterns: () => config.runtimes.imagePatterns, queueIdlePull: (id, name) => idlePulls.add(id, name) };
    const routes: Route[] = [
      ...containersUseCases.map((u) => route(u, containersDeps, WRITES.has(u.name))),
      ...modelsUseCases.map((u) => route(u, modelsDeps, WRITES.has(u.name))),
      ...registryUseCases.map((u) => route(u, registryDeps, WRITES.has(u.name))),
      ...stackUseCases.map((u) => route(u, stackDeps, WRITES.has(u.name))),
      ...registryPortUseCases.map((u) =>
        route(
          u,
          {
            port: registryPort,
            // A window loaded, unloaded, pulled or ran a model: this catalog lists the runtime again
            // (once per burst), so idle handling here counts from what is in memory now.
            onRecordedUsage: (id, model, kind, detail) => {
              chartGeneration(id, model, kind, detail);
              if (catalog.get(id)) relist.add(id);
            },
          },
          WRITES.has(u.name),
        ),
      ),
      ...healthUseCases.map((u) => route(u, { alerts: alertMonitor })),
      ...metricsUseCases.map((u) => route(u, { sampler })),
      route(configure, {
        configFile: configFile(options.paths.dataDir),
        current: config as unknown as ConfigSections,
        reopen: () => registry.onSettingsChanged(),
        reschedule: () => {
          idle.reschedule();
          preloader.reschedule();
        },
        reprobe: () => prober.reschedule(),
        resample: () => {
          sampler.setIntervalMs(config.metrics.intervalSeconds * 1000);
          sampler.setHistoryMinutes(config.metrics.historyMinutes);
        },
      }),
      route(attach, { clients, engine: () => resolve().candidates[0]?.url }),
      ...tokenUseCases.map((u) => route(u, { tokens })),
      ...webhookUseCases.map((u) => route(u, { store: webhookStore, secrets: keys, wake: () => deliverer.wake() }, WRITES.has(u.name))),
      // Updates: each image's tag asked of its registry with the user's Docker credentials.
      route(checkImageUpdates, { containers: cache, engine: this.connection, classifier: () => classifiers.current, registry: new RegistryClient({ credentials: (host) => dockerCredentials(host) }) }),
      ...[...benchUseCases, fitModel, recommendModels, unusedModels].map((u) => route(u, { catalog, repos: async () => (await registry.get()).repos, hardware }, WRITES.has(u.name))),
      route(setApiKey, { keys, refresh: (id) => (catalog.get(id) ? catalog.refresh(id) : Promise.resolve()) }),
    ];
    const scrapeHold: { lease?: { dispose(): void }; timer?: NodeJS.Timeout } = {};
    this.register({ dispose: () => (clearTimeout(scrapeHold.timer), scrapeHold.lease?.dispose()) });
    const server = (this.server = this.register(
      new ServiceServer({
        routes,
        version: () => this.version(),
        status: () => Promise.resolve(this.status()),
        openapi: () => openapiDocument(options.version, routes.map((r) => r.useCase)),
        // An acknowledged write is on disk: the answer waits for the registry's journal append.
        afterWrite: flush,
        // What a use case did is queued for the webhooks before its write is flushed and answered.
        onDone: (name, result) => queue(useCaseEvents(name, result), false),
        ready: () => (this.readiness ??= this.firstLook()),
        onStop: () => void this.stop('asked by a client'),
        metrics: (send) => metricsSubscription(sampler, send),
        gateway: (req, res, pathname, search, who) =>
          forward(req, res, pathname, search, who, {
            runtime: (name) => catalog.list().find((r) => r.endpoint.name === name || r.endpoint.id === name)?.endpoint,
            apiKey,
            onOverhead: (ms) => requestMetrics.gatewayOverhead(ms / 1000),
            // A generation through the gateway is recorded like one a window ran: the registry's
            // usage (with who asked and the time to first token), the chart, the idle clock; and
            // its tokens count against the token's limit.
            onUsage: (endpoint, usage, who) => {
              const { model, ...detail } = usage;
              if (who) this.guard?.limiter.spend(who.name, who.limits, (detail.promptTokens ?? 0) + (detail.outputTokens ?? 0));
              chartGeneration(endpoint.id, model, 'generate', detail);
              void registryPort.recordUsage(endpoint, model, 'generate', { ...detail, client: who?.name }).catch((e: unknown) => log.warn(`Could not record the usage of ${model} through the gateway: ${errorMessage(e)}`));
              relist.add(endpoint.id);
            },
          }),
        requestMetrics,
        // A scrape keeps the sampler running for a minute: the next scrape reads fresh figures.
        prometheus: () => {
          clearTimeout(scrapeHold.timer);
          scrapeHold.lease ??= sampler.acquire('prometheus');
          scrapeHold.timer = setTimeout(() => {
            scrapeHold.lease?.dispose();
            scrapeHold.lease = undefined;
          }, 60_000);
          scrapeHold.timer.unref();
          return sampler.toPrometheus();
        },
        // Each answered request is a debug line with its id (the log's level decides whether it is written).
        onRequestDone: log.event ? (r) => log.event?.(r.status >= 500 ? 'warn' : 'debug', 'request', r) : undefined,
        onTcpRefused: (route, why) => registry.auditSoon(`api ${route}`, `refused ${why.status}`, why.code),
        // Every request on the TCP listener is in the audit log: who, which route, the status, how long.
        onTcpRequest: (who, route, res) => {
          const started = performance.now();
          res.once('close', () => {
            const status = res.statusCode;
            registry.auditSoon(`api ${route}`, `${who.name} (${who.role}) ${status} ${Math.round(performance.now() - started)} ms`, status >= 400 || !res.writableFinished ? `HTTP ${status}${res.writableFinished ? '' : ', closed before the answer ended'}` : undefined);
          });
        },
        log,
      }),
    ));
    this.register(this.connection.onDidChangeState((s) => server.publish({ type: 'engine', state: s.kind, detail: viewDescription(s) })));
    this.register(cache.onDidChange(() => server.publish({ type: 'containers', count: cache.list().length })));
    this.register(catalog.onDidChange((ids) => server.publish({ type: 'models', runtimeIds: [...ids] })));
    this.register(alertMonitor.onAlert((n) => server.publish({ type: 'alert', alert: n.alert, notify: n.notify })));
    this.register(alertMonitor.onDidChange(() => server.publish({ type: 'alerts', ...alertsState(alertMonitor) })));
    this.register(alertMonitor.onDidChangeMutes(() => server.publish({ type: 'alerts', ...alertsState(alertMonitor) })));
    this.register(alertMonitor.onAlert((n) => void (n.alert.muted ? undefined : queue([alertRaised(n.alert)]))));
    this.register(alertMonitor.onDidClear((a) => void queue([alertCleared(a)])));
    this.register(server.onClientGone((id) => clients.drop(id)));
    this.register(server.onDidChangeActivity(() => this.scheduleIdleExit()));
  }

  /** Takes the lock, opens the socket, connects to the engine. Throws ServiceRunning when another service owns the folder. */
  static async start(options: StartOptions): Promise<LocalService> {
    const { paths, log } = options;
    ensurePrivateDir(paths.runDir);
    ensurePrivateDir(paths.dataDir);
    const release = acquireLock(paths.lockFile);
    let service: LocalService | undefined;
    try {
      const { config, problem } = readConfig(paths.dataDir);
      if (problem) log.warn(problem);
      const listen = options.listen ?? config.service.listen;
      if (listen) parseListen(listen, options.allowRemote ?? config.service.allowRemote);
      // We hold the lock: a socket file left there is from a service that was killed.
      if (process.platform !== 'win32') fs.rmSync(paths.socket, { force: true });
      service = new LocalService(options, config, release);
      const tracing = (service.tracing = await startTracing({ endpoint: otlpTracesEndpoint(config.tracing.otlpEndpoint, options.env ?? process.env), version: options.version }));
      if (tracing.endpoint) log.info(`Traces go to ${tracing.endpoint} (OTLP/HTTP).`);
      await service.server.listen(paths.socket);
      if (process.platform !== 'win32') fs.chmodSync(paths.socket, 0o600);
      if (listen) service.tcpAddress = await service.listenTcp(listen, options.allowRemote ?? config.service.allowRemote, config);
      void service.connection.connect();
      service.scheduleIdleExit();
      log.info(`llmstack service ${options.version} (pid ${process.pid}) listening on ${paths.socket}${options.idleExitMinutes !== undefined ? `; exits after ${options.idleExitMinutes} idle minutes` : ''}`);
      return service;
    } catch (e) {
      await service?.server.close();
      await service?.tracing?.shutdown();
      service?.dispose();
      release();
      throw e;
    }
  }

  /**
   * A service started a moment ago has not seen the engine's containers or asked its runtimes yet:
   * the first request waits for both (at most 5 s each), so `llmstack ps` on a cold start is right.
   */
  private async firstLook(): Promise<void> {
    const quiet = (p: Promise<void>) => p.catch(() => undefined);
    const engineOrCache = (l: (v: unknown) => void) => {
      const a = this.cache.onDidChange(l);
      const b = this.connection.onDidChangeState(l);
      return { dispose: () => (a.dispose(), b.dispose()) };
    };
    await quiet(waitForEvent(engineOrCache, () => this.cache.isLoaded || this.connection.state.kind === 'disconnected', 5_000, 'the container list'));
    await quiet(waitForEvent(this.catalog.onDidChange, () => this.catalog.list().every((s) => s.status !== 'pending'), 5_000, 'the runtimes'));
  }

  private guard: TcpGuard | undefined;
  private tracing: Tracing | undefined;

  /** The TCP listener's address, when there is one. */
  tcpAddress: { host: string; port: number; tls: boolean } | undefined;

  private async listenTcp(listen: string, allowRemote: boolean, config: ServiceConfig): Promise<{ host: string; port: number; tls: boolean }> {
    const { host, port, loopback } = parseListen(listen, allowRemote);
    const tls = readTls(this.options.tlsCert ?? config.service.tlsCert, this.options.tlsKey ?? config.service.tlsKey);
    if (!loopback) this.options.log.warn(`Listening on ${host}:${port}, reachable from other machines: only requests with a token are answered${tls ? '' : ', and the traffic is not encrypted (pass --tls-cert and --tls-key)'}.`);
    if (config.service.metricsWithoutToken && !loopback) this.options.log.warn('service.metricsWithoutToken applies to a loopback listener only; GET /metrics needs a token here.');
    const open = config.service.metricsWithoutToken && loopback ? ['GET /metrics'] : [];
    const guard = (this.guard = new TcpGuard({ tokens: this.tokens, hostNames: config.service.hostNames, origins: config.service.allowedOrigins, open }));
    const a = await this.server.listenTcp(host === 'localhost' ? '127.0.0.1' : host, port, guard, tls);
    this.options.log.info(`Listening on ${tls ? 'HTTPS' : 'HTTP'} ${host}:${a.port} (tokens and roles; Host and Origin checked).`);
    return { host, port: a.port, tls: !!tls };
  }

  version(): ServiceVersion {
    return { name: 'llmstack', version: this.options.version, protocol: PROTOCOL, pid: process.pid, startedAt: this.startedAt, idleExitMinutes: this.options.idleExitMinutes ?? null };
  }

  status() {
    const s = this.connection.state;
    return {
      ...this.version(),
      engine: { state: s.kind, description: viewDescription(s) ?? (s.kind === 'connected' ? `${s.engine.version} at ${s.endpoint.url}` : undefined) },
      containers: this.cache.isLoaded ? this.cache.list().length : null,
      runtimes: this.catalog.list().map((r) => ({ id: r.endpoint.id, name: r.endpoint.name, status: r.status, models: r.models.length })),
      registry: { file: this.registry.file, open: this.registry.isOpen },
      tcp: this.tcpAddress ?? null,
      metrics: { sampling: this.sampler.isRunning, samplesTaken: this.sampler.samplesTaken, intervalMs: this.sampler.intervalMs },
      clients: this.server.activity,
      socket: this.options.paths.socket,
      dataDir: this.options.paths.dataDir,
    };
  }

  private scheduleIdleExit(): void {
    const minutes = this.options.idleExitMinutes;
    clearTimeout(this.idleTimer);
    if (minutes === undefined || this.stopping) return;
    const a = this.server.activity;
    if (a.connections > 0 || a.inFlight > 0) return;
    this.idleTimer = setTimeout(() => void this.stop(`no client for ${minutes} minutes`), minutes * 60_000);
  }

  /** Finishes running requests, saves the registry, releases the socket and the lock. */
  stop(reason: string): Promise<void> {
    this.stopping ??= (async () => {
      clearTimeout(this.idleTimer);
      this.options.log.info(`Stopping the service: ${reason}.`);
      // A delivery cut off here is still pending in the registry: the next start sends it.
      this.deliverer.dispose();
      try {
        await this.server.close();
        await this.registry.close();
        await this.tracing?.shutdown();
      } catch (e) {
        this.options.log.error(`Stopping: ${errorMessage(e)}`);
      } finally {
        this.dispose();
        this.releaseLock();
        if (process.platform !== 'win32') fs.rmSync(this.options.paths.socket, { force: true });
        this.resolveStopped();
      }
    })();
    return this.stopping;
  }
}
