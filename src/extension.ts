// Composition root: the only place that wires core objects to VS Code. Everything created here
// is pushed onto context.subscriptions, so deactivate has nothing left to do.
import * as vscode from 'vscode';
import { MonitoredContainerActions, type AlertSource } from './core/docker/alerts';
import { HealthWatch } from './vscode/health/watch';
import { MetricsSampler } from './core/metrics/sampler';
import { FeedRelay, type MetricsFeed } from './core/metrics/feed';
import { RemoteSampler } from './service/remoteSampler';
import { registerMetricsPanel, type MetricsPanel } from './vscode/metrics/panel';
import { registerMetricsCommands } from './vscode/metrics/commands';
import { registerEngineCommands } from './vscode/containers/engineCommands';
import { AlertNotifications } from './vscode/health/alertNotifications';
import { ContainerCache } from './core/docker/containerCache';
import { EngineConnection } from './core/docker/connection';
import { ClassifierOwner } from './core/docker/containers';
import type { ContainersDeps } from './app/containers/useCases';
import { registerContainerCommands } from './vscode/containers/commands';
import { ContainerLogs } from './vscode/containers/logs';
import { ContainersTreeProvider, registerContainersView } from './vscode/containers/treeView';
import { registerInspect } from './vscode/containers/inspectDocument';
import { canGenerateWith, type ModelsDeps } from './app/models';
import { idleHooks } from './app/models/idleHooks';
import { ModelCatalog } from './core/runtimes/catalog';
import { IdleManager } from './core/runtimes/idle';

import { registerModelCommands } from './vscode/models/commands';
import { registerModelDetails } from './vscode/models/details';
import { ModelSources } from './vscode/models/sources';
import { ApiKeyHandover } from './vscode/models/apiKeys';
import { ServiceModelsFollower } from './service/modelsFollower';
import { ModelsTreeProvider, registerModelsView } from './vscode/models/treeView';
import { registerRegistryCommands } from './vscode/registry/commands';
import { registerTokenCommands } from './vscode/tokens/commands';
import { fitLine, registerBenchCommands } from './vscode/bench/commands';
import { type BenchPanel, registerBenchPanel } from './vscode/bench/panel';
import type { BenchDeps } from './app/bench/useCases';
import { registerWebhookCommands } from './vscode/webhooks/commands';
import type { WebhookDeps } from './app/webhooks/useCases';
import { ServiceLink, type ServiceState } from './vscode/service';
import { RemoteRegistryPort } from './service/remotePort';
import { remoteRunner } from './service/client';
import type { RegistryDeps } from './app/registry/useCases';
import { apiKeySecret, idleSettings, imagePatterns, metricsSettings, resolveFromSettings, SECTION } from './vscode/settings';
import { HealthStatusBar } from './vscode/statusBar';
import { StatusBarMetrics } from './vscode/metrics/statusBarMetrics';
import { HardwareProbe } from './core/stack/hardware';
import { registerStackCommands, type StackController } from './vscode/stack/commands';
import { registerStackEditor, type StackDocuments } from './vscode/stack/editor';

/** What the extension exports; the tests in the real host drive it through this and the UI. */
export interface LlmStackApi {
  readonly connection: EngineConnection;
  readonly cache: ContainerCache;
  readonly containersTree: ContainersTreeProvider;
  readonly containersView: vscode.TreeView<unknown>;
  readonly statusBar: HealthStatusBar;
  readonly logs: ContainerLogs;
  /** The local service this window is a client of (it owns the registry). */
  readonly service: ServiceLink;
  /** This window's way to the registry: what its catalog and use cases record go through it. */
  readonly registryPort: RemoteRegistryPort;
  readonly catalog: ModelCatalog;
  readonly modelsTree: ModelsTreeProvider;
  readonly modelsView: vscode.TreeView<unknown>;
  readonly idle: IdleManager;
  readonly alerts: AlertNotifications;
  /** The alerts shown: the service's, or this window's own when it watches by itself. */
  readonly alertSource: AlertSource;
  /** Who watches this window's engine and runtimes (the service, or the window itself). */
  readonly watch: HealthWatch;
  /** The metrics the panel and the status bar show: the service's, or this window's own sampler. */
  readonly sampler: MetricsFeed;
  readonly statusBarMetrics: StatusBarMetrics;
  readonly stackDocuments: StackDocuments;
  readonly stacks: StackController;
  readonly hardware: HardwareProbe;
  readonly metricsPanel: MetricsPanel;
  readonly benchPanel: BenchPanel;
  /** The extension's own storage folder (where a registry lived before the service). */
  readonly globalStorage: string;
  /** Duration of activate() in milliseconds. */
  readonly activationMs: number;
}

export function activate(context: vscode.ExtensionContext): LlmStackApi {
  const started = performance.now();
  const log = vscode.window.createOutputChannel('LLM Stack', { log: true });
  const coreLog = {
    debug: (m: string) => log.debug(m),
    info: (m: string) => log.info(m),
    warn: (m: string) => log.warn(m),
    error: (m: string) => log.error(m),
  };
  const connection = new EngineConnection({ resolve: resolveFromSettings, log: coreLog });
  const cache = new ContainerCache(connection, { log: coreLog });
  const classifiers = new ClassifierOwner(imagePatterns());
  // The registry, idle unloads, health probes and alert rules live in the local service: one
  // process for however many windows are open. This window shows what it says.
  const service = new ServiceLink(context, log);
  const benchRunner = remoteRunner<BenchDeps>(service);
  const benchPanel = registerBenchPanel(context.extensionUri, benchRunner, coreLog);
  // Stops, restarts and removals the extension performs are expected: they raise no alert.
  const actions: MonitoredContainerActions = new MonitoredContainerActions(connection, (id) => watch.alerts.expectStop(id));
  const tree = new ContainersTreeProvider(cache, connection, classifiers);
  const { view, disposables } = registerContainersView(tree, connection);
  const statusBar = new HealthStatusBar(connection, cache, classifiers);
  const registryPort = new RemoteRegistryPort(service);
  /** Records an operation in the registry's audit log; never throws into the caller's path. */
  const audit = async (operation: string, target: string, error?: string) => {
    try {
      await registryPort.audit(operation, target, error);
    } catch (e) {
      log.warn(`Could not write the audit entry for ${operation} ${target}: ${e instanceof Error ? e.message : String(e)}`);
    }
  };
  const containerApp: ContainersDeps = { containers: cache, actions, classifier: () => classifiers.current, audit };
  const logs = new ContainerLogs(containerApp);
  const catalog = new ModelCatalog({
    log: coreLog,
    hooks: {
      apiKey: (e) => Promise.resolve(context.secrets.get(apiKeySecret(e.id))),
      onListing: (e, l) => registryPort.syncListing(e, l),
      onUsage: (e, m, k, d) => {
        if (k === 'generate' && d.outputTokens && d.durationMs) sampler.recordGeneration(e.id, typeof m === 'string' ? m : m.name, d.outputTokens, d.durationMs);
        return registryPort.recordUsage(e, m, k, d);
      },
      onAudit: audit,
    },
  });
  const watch: HealthWatch = new HealthWatch({ context, service, cache, classifiers, catalog, actions: () => actions, log: coreLog });
  statusBar.setAlerts(watch.alerts);
  const idle = new IdleManager(catalog, {
    settings: idleSettings,
    log: coreLog,
    // Unloads here only when this window watches by itself; otherwise the service does, for every window.
    enforce: () => watch.enforcesIdle,
    // A stack file's keepLoaded models stay loaded; an idle runtime container is stopped with an audit entry.
    ...idleHooks({ containers: cache, actions, audit }),
  });
  // What the models use cases run on, whichever front end calls them.
  const modelsApp: ModelsDeps = { catalog, registry: registryPort, inspectContainer: (id) => actions.inspect(id), log: coreLog };
  const modelsTree = new ModelsTreeProvider(catalog, idle, context.workspaceState);
  const models = registerModelsView(modelsTree);
  const sources = new ModelSources(catalog, cache, classifiers, log);
  const apiKeys = new ApiKeyHandover(catalog, context.secrets, service, log);
  // What the service changed in a runtime (its idle unloads, another window's or the CLI's load,
  // pull or delete) shows here: this window lists those runtimes again.
  const followService = new ServiceModelsFollower(catalog, service.onEvent);
  const alerts = new AlertNotifications(watch.alerts, log);
  const metricsCfg = metricsSettings();
  // Samples only while someone holds it (the panel while visible): a hidden panel costs nothing.
  const sampler = new MetricsSampler({
    engine: connection,
    containers: cache,
    catalog,
    intervalMs: metricsCfg.intervalMs,
    historyMinutes: metricsCfg.historyMinutes,
    nvidia: metricsCfg.gpu ? { binary: metricsCfg.nvidiaSmiPath ?? 'nvidia-smi' } : false,
    models: { apiKey: (ep) => Promise.resolve(context.secrets.get(apiKeySecret(ep.id))) },
    log: coreLog,
  });
  // The containers the Containers view shows, running ones get a stats stream.
  const showContainers = () => sampler.setContainers(cache.list().filter((r) => r.state === 'running' || r.state === 'paused').map((r) => r.id));
  showContainers();
  // The service samples once for every window (while one of them looks); a window that watches by
  // itself (another engine, no service) samples with its own sampler.
  const remoteSampler = new RemoteSampler({
    subscribe: async (listener, onEnd) => (await service.client()).metrics(listener, onEnd),
    call: (name, input) => service.call(name, input),
    onDidConnect: (listener) => service.onDidChangeState((st) => st.kind === 'connected' && listener(undefined)),
    log: coreLog,
  });
  const metricsFeed = new FeedRelay(remoteSampler);
  const metrics = registerMetricsPanel({ extensionUri: context.extensionUri, source: metricsFeed, log: coreLog });
  const statusBarMetrics = new StatusBarMetrics(metricsFeed, statusBar);
  // Stack files: diagnostics, auto hovers and CodeLenses in the editor; plan/apply/down/export commands.
  const hardware = new HardwareProbe({ nvidiaSmiPath: metricsCfg.nvidiaSmiPath });
  const stackEditor = registerStackEditor(coreLog, hardware, (name, contextSize) => fitLine(benchRunner, name, { contextSize }));
  const stackCommands = registerStackCommands({
    log,
    app: { engine: connection, hardware, log: coreLog, models: catalog, audit, imagePatterns },
  });

  // The views say when the service is starting, gone or out of reach; nothing when it answers.
  const serviceMessage = (state: ServiceState) =>
    state.kind === 'starting' ? 'Starting the local LLM Stack service…' : state.kind === 'restarting' ? 'The local LLM Stack service stopped; starting it again…' : state.kind === 'unreachable' ? state.message : undefined;
  const showServiceState = (state: ServiceState) => {
    view.message = models.view.message = serviceMessage(state);
  };
  showServiceState(service.state);

  context.subscriptions.push(
    service.onDidChangeState(showServiceState),
    log,
    classifiers,
    connection,
    cache,
    logs,
    tree,
    statusBar,
    ...disposables,
    watch,
    watch.onDidChangeMode((mode) => {
      idle.reschedule();
      metricsFeed.use(mode === 'window' ? sampler : remoteSampler);
    }),
    alerts,
    statusBarMetrics,
    ...stackEditor.disposables,
    ...stackCommands.disposables,
    sampler,
    remoteSampler,
    metricsFeed,
    cache.onDidChange(() => showContainers()),
    ...metrics.disposables,
    ...registerMetricsCommands(metricsFeed),
    catalog,
    idle,
    modelsTree,
    ...models.disposables,
    sources,
    registerModelDetails(modelsApp, (runtimeId, name) => fitLine(benchRunner, name, { runtimeId })),
    apiKeys,
    followService,
    ...registerModelCommands({ app: modelsApp, tree: modelsTree, secrets: context.secrets, handKey: (id, key) => apiKeys.set(id, key), log, fit: (runtimeId, name) => fitLine(benchRunner, name, { runtimeId }) }),
    ...registerBenchCommands({
      run: benchRunner,
      log,
      models: () => catalog.list().flatMap((st) => (canGenerateWith(st) ? st.models.map((m) => ({ runtimeId: st.endpoint.id, runtime: st.endpoint.name, name: m.name })) : [])),
      showView: (key) => void benchPanel.panel.show(key),
    }),
    ...benchPanel.disposables,
    registerInspect(containerApp),
    ...registerContainerCommands({ app: containerApp, logs, log }),
    ...registerRegistryCommands(remoteRunner<RegistryDeps>(service), log),
    ...registerTokenCommands(remoteRunner(service), log),
    ...registerWebhookCommands(remoteRunner<WebhookDeps>(service), log),
    service,
    ...registerEngineCommands({ connection, cache, log, summary: () => statusBar.summary?.text }),
    vscode.workspace.onDidChangeConfiguration((e) => {
      if (e.affectsConfiguration(`${SECTION}.models.idleUnloadMinutes`) || e.affectsConfiguration(`${SECTION}.models.idleStopContainerMinutes`) || e.affectsConfiguration(`${SECTION}.models.preloadMinutes`)) {
        idle.reschedule();
        service.settingsChanged().catch((err) => log.error(`Applying the idle settings in the service failed: ${err instanceof Error ? err.message : String(err)}`));
      }
      if (e.affectsConfiguration(`${SECTION}.alerts`)) {
        watch.reprobe();
        service.settingsChanged().catch((err) => log.error(`Applying the alert settings in the service failed: ${err instanceof Error ? err.message : String(err)}`));
      }
      if (e.affectsConfiguration(`${SECTION}.docker`)) {
        log.info('Docker host settings changed; reconnecting.');
        void connection.reconnect();
      }
      if (e.affectsConfiguration(`${SECTION}.docker`) || e.affectsConfiguration(`${SECTION}.runtimes.endpoints`) || e.affectsConfiguration(`${SECTION}.models.ggufFolders`)) {
        service.reattach().catch((err) => log.error(`Handing this window's runtimes to the service failed: ${err instanceof Error ? err.message : String(err)}`));
      }
      if (e.affectsConfiguration(`${SECTION}.registry`) || e.affectsConfiguration(`${SECTION}.metrics`)) {
        service.settingsChanged().catch((err) => log.error(`Applying the registry settings failed: ${err instanceof Error ? err.message : String(err)}`));
      }
      if (e.affectsConfiguration(`${SECTION}.runtimes.imagePatterns`)) {
        classifiers.setPatterns(imagePatterns());
      }
    }),
  );

  void connection.connect();
  // The service is asked at once: it decides who watches, and a cold start shows in the views.
  service.client().catch((e: unknown) => watch.fallBack(e instanceof Error ? e.message : String(e)));
  const activationMs = performance.now() - started;
  log.info(`Activated in ${activationMs.toFixed(1)} ms`);
  return {
    connection,
    cache,
    containersTree: tree,
    containersView: view as vscode.TreeView<unknown>,
    statusBar,
    logs,
    service,
    registryPort,
    catalog,
    modelsTree,
    modelsView: models.view as vscode.TreeView<unknown>,
    idle,
    alerts,
    alertSource: watch.alerts,
    watch,
    sampler: metricsFeed,
    statusBarMetrics,
    stackDocuments: stackEditor.documents,
    stacks: stackCommands.controller,
    hardware,
    metricsPanel: metrics.panel,
    benchPanel: benchPanel.panel,
    globalStorage: context.globalStorageUri.fsPath,
    activationMs,
  };
}

/** Everything is released through context.subscriptions; the registry is the service's to save. */
export function deactivate(): void {}
