// The metrics panel host: one WebviewPanel (webview-ui/metrics) fed from the metrics sampler. It
// holds the sampler only while the panel is visible, validates every message both ways with the
// shared protocol, and answers each `ready` with a fresh `init` (the webview is not retained when
// hidden, so it reloads and asks again when shown).
import { randomBytes } from 'node:crypto';
import * as vscode from 'vscode';
import { metricsPageHtml } from '../../../webview-ui/metrics/page';
import { Disposable, DisposableStore, errorMessage, type Event, type IDisposable, type Logger } from '../../core/lifecycle';
import type { GpuStatus, SampleBatch, SeriesInfo } from '../../core/metrics/types';
import { fromPanelSchema, parseMessage, seriesMessage, toPanelSchema, type FromPanel, type SeriesInfoMessage, type ToPanel, type WindowMinutes } from '../../shared/metricsProtocol';

const METRICS_VIEW_TYPE = 'llmStack.metrics';

/** One sampling round as the sampler reports it. */
interface MetricsSample {
  readonly batch: SampleBatch;
  readonly added: readonly SeriesInfo[];
  readonly removed: readonly string[];
}

/** The points of a time window: a shared time axis and one column per series (null: no point). */
interface MetricsWindow {
  readonly t: readonly number[];
  readonly series: readonly SeriesInfo[];
  readonly columns: readonly (readonly (number | null)[])[];
}

/** What the panel needs from the metrics sampler (src/core/metrics/sampler.ts). */
interface MetricsSource {
  /** Keeps the sampler running until the returned handle is disposed. */
  acquire(reason: string): IDisposable;
  readonly onDidSample: Event<MetricsSample>;
  readonly store: { window(ms: number): MetricsWindow };
  readonly gpuStatus: GpuStatus;
  /** Fires when the GPU status changes between samples (nvidia-smi found, lost, failing). */
  readonly onDidChangeGpuStatus?: Event<GpuStatus>;
  /** Fires when the store was replaced (the service's history arrived): the charts start over. */
  readonly onDidReset?: Event<void>;
  /** Every series' latest value, plus the points of the window when given. */
  snapshotJson(windowMs?: number): string | Promise<string>;
}

interface MetricsPanelDeps {
  readonly extensionUri: vscode.Uri;
  readonly source: MetricsSource;
  readonly log: Logger;
}

type FrameStats = Extract<FromPanel, { type: 'frameStats' }>;

// The protocol's limits; a series or point beyond them is left out instead of failing the message.
const MAX_SERIES = 2000;
const MAX_POINTS = 100_000;


function finiteOrNull(v: number | null | undefined): number | null {
  return typeof v === 'number' && Number.isFinite(v) ? v : null;
}

export class MetricsPanel extends Disposable {
  private current: vscode.WebviewPanel | undefined;
  private panelListeners: DisposableStore | undefined;
  /** The sampler lease, held while the panel is visible. */
  private lease: IDisposable | undefined;
  /** Sampler events, listened to while the webview is ready for them. */
  private sourceListeners: DisposableStore | undefined;
  /** The webview said `ready` since it last (re)loaded: posting before that is lost. */
  private ready = false;
  private windowMinutes: WindowMinutes = 5;
  private paused = false;
  private lastGpu = '';

  /** Messages from the webview refused by the protocol (for tests and the log). */
  rejectedMessages = 0;
  /** How many messages of each type were posted to the webview. */
  readonly postedCounts: Record<ToPanel['type'], number> = { init: 0, append: 0, gpu: 0, error: 0 };
  lastPosted: ToPanel | undefined;
  lastFrameStats: FrameStats | undefined;

  constructor(private readonly deps: MetricsPanelDeps) {
    super();
    this.register({ dispose: () => this.current?.dispose() });
  }

  get panel(): vscode.WebviewPanel | undefined {
    return this.current;
  }

  get visible(): boolean {
    return this.current?.visible ?? false;
  }

  /** Whether the sampler is held for the panel now. */
  get holdsSampler(): boolean {
    return this.lease !== undefined;
  }

  /** Opens the panel, or reveals the one already open. */
  show(): vscode.WebviewPanel {
    if (this.current) {
      this.current.reveal();
      return this.current;
    }
    const root = vscode.Uri.joinPath(this.deps.extensionUri, 'dist', 'webview');
    // No retainContextWhenHidden: the webview keeps its settings in getState/setState and asks for
    // an init when it comes back, which costs far less than keeping a hidden renderer alive.
    const panel = vscode.window.createWebviewPanel(METRICS_VIEW_TYPE, 'LLM Stack Metrics', vscode.ViewColumn.Active, {
      enableScripts: true,
      localResourceRoots: [root],
    });
    return this.adopt(panel);
  }

  /**
   * Takes over a panel VS Code restored after a reload (WebviewPanelSerializer): the same page,
   * listeners and sampler lease as a new one. A second restored panel replaces the first.
   */
  adopt(panel: vscode.WebviewPanel): vscode.WebviewPanel {
    if (this.current && this.current !== panel) this.current.dispose();
    const root = vscode.Uri.joinPath(this.deps.extensionUri, 'dist', 'webview');
    panel.webview.options = { enableScripts: true, localResourceRoots: [root] };
    panel.iconPath = vscode.Uri.joinPath(this.deps.extensionUri, 'media', 'llm-stack.svg');
    this.current = panel;
    this.ready = false;
    const listeners = (this.panelListeners = new DisposableStore());
    listeners.add(panel.webview.onDidReceiveMessage((raw: unknown) => this.received(raw)));
    listeners.add(panel.onDidChangeViewState((e) => this.setVisible(e.webviewPanel.visible)));
    listeners.add(panel.onDidDispose(() => this.disposed(panel)));
    panel.webview.html = this.html(panel.webview, root);
    this.setVisible(panel.visible);
    return panel;
  }

  /** Handles one message from the webview: the same path the webview's postMessage takes. Never throws. */
  received(raw: unknown): void {
    try {
      const r = parseMessage(fromPanelSchema, raw);
      if (!r.ok) {
        this.rejectedMessages++;
        this.deps.log.warn(`Metrics panel: ${r.reason}`);
        return;
      }
      this.handle(r.message);
    } catch (e) {
      this.deps.log.error(`Metrics panel: handling a message failed: ${errorMessage(e)}`);
    }
  }

  private handle(m: FromPanel): void {
    switch (m.type) {
      case 'ready':
        this.ready = true;
        this.listenToSource();
        this.postInit();
        return;
      case 'setWindow':
        this.windowMinutes = m.windowMinutes;
        if (this.ready) this.postInit();
        return;
      case 'pause':
        if (m.paused === this.paused) return;
        this.paused = m.paused;
        // Appends stop while paused; resuming sends the whole window again, gap included.
        if (!m.paused && this.ready) this.postInit();
        return;
      case 'copySnapshot':
        void this.copySnapshot();
        return;
      case 'frameStats':
        this.lastFrameStats = m;
        this.deps.log.debug(`Metrics panel drew ${m.frames} frames: p50 ${m.p50Ms} ms, p95 ${m.p95Ms} ms.`);
        return;
    }
  }

  private setVisible(visible: boolean): void {
    if (visible) {
      this.lease ??= this.deps.source.acquire('panel');
      return;
    }
    // Hidden: VS Code drops the webview's document; it posts `ready` again once shown.
    this.lease?.dispose();
    this.lease = undefined;
    this.setNotReady();
  }

  private listenToSource(): void {
    if (this.sourceListeners) return;
    const l = (this.sourceListeners = new DisposableStore());
    l.add(this.deps.source.onDidSample((s) => this.onSample(s)));
    if (this.deps.source.onDidChangeGpuStatus) l.add(this.deps.source.onDidChangeGpuStatus(() => this.postGpuIfChanged()));
    if (this.deps.source.onDidReset) {
      l.add(
        this.deps.source.onDidReset(() => {
          if (this.ready && !this.paused) this.postInit();
        }),
      );
    }
  }

  private setNotReady(): void {
    this.ready = false;
    this.sourceListeners?.dispose();
    this.sourceListeners = undefined;
  }

  private postGpuIfChanged(): void {
    if (!this.ready) return;
    const gpu = this.deps.source.gpuStatus;
    const text = JSON.stringify(gpu);
    if (text === this.lastGpu) return;
    this.lastGpu = text;
    this.post({ type: 'gpu', gpu });
  }

  private disposed(panel: vscode.WebviewPanel): void {
    if (this.current !== panel) return;
    this.current = undefined;
    this.lease?.dispose();
    this.lease = undefined;
    this.setNotReady();
    this.panelListeners?.dispose();
    this.panelListeners = undefined;
  }

  private postInit(): void {
    const source = this.deps.source;
    let w: MetricsWindow;
    try {
      w = source.store.window(this.windowMinutes * 60_000);
    } catch (e) {
      this.deps.log.error(`Metrics panel: reading the sample window failed: ${errorMessage(e)}`);
      this.post({ type: 'error', message: `Reading the metrics failed: ${errorMessage(e)}`.slice(0, 2000) });
      return;
    }
    const from = Math.max(0, w.t.length - MAX_POINTS);
    const series: SeriesInfoMessage[] = [];
    const columns: (number | null)[][] = [];
    w.series.forEach((s, i) => {
      const msg = series.length < MAX_SERIES ? seriesMessage(s) : undefined;
      if (!msg) return;
      series.push(msg);
      const col = w.columns[i] ?? [];
      const out: (number | null)[] = new Array(w.t.length - from);
      for (let j = from; j < w.t.length; j++) out[j - from] = finiteOrNull(col[j]);
      columns.push(out);
    });
    if (series.length < w.series.length) this.deps.log.warn(`Metrics panel: ${w.series.length - series.length} series left out (key too long, or over ${MAX_SERIES}).`);
    const gpu = source.gpuStatus;
    this.lastGpu = JSON.stringify(gpu);
    this.post({ type: 'init', windowMinutes: this.windowMinutes, paused: this.paused, gpu, series, t: w.t.slice(from), columns });
  }

  private onSample(s: MetricsSample): void {
    if (!this.ready || !this.current) return;
    this.postGpuIfChanged();
    if (this.paused) return;
    const values: Record<string, number> = {};
    for (const [key, v] of s.batch.values) if (Number.isFinite(v)) values[key] = v;
    const added = s.added.map(seriesMessage).filter((x): x is SeriesInfoMessage => x !== undefined);
    this.post({ type: 'append', t: s.batch.t, added: added.slice(0, MAX_SERIES), removed: s.removed.slice(0, MAX_SERIES), values });
  }

  /** Validates (a bug here must show in the log, not as a silently refused message in the webview) and posts. */
  private post(m: ToPanel): boolean {
    const panel = this.current;
    if (!panel) return false;
    try {
      const r = parseMessage(toPanelSchema, m);
      if (!r.ok) {
        this.deps.log.warn(`Metrics panel: not posting an invalid message: ${r.reason}`);
        return false;
      }
    } catch (e) {
      this.deps.log.warn(`Metrics panel: validating a message failed: ${errorMessage(e)}`);
    }
    this.postedCounts[m.type]++;
    this.lastPosted = m;
    panel.webview.postMessage(m).then(undefined, (e: unknown) => this.deps.log.debug(`Metrics panel: posting ${m.type} failed: ${errorMessage(e)}`));
    return true;
  }

  private async copySnapshot(): Promise<void> {
    try {
      const json = await this.deps.source.snapshotJson(this.windowMinutes * 60_000);
      await vscode.env.clipboard.writeText(json);
      void vscode.window.showInformationMessage('Copied a metrics snapshot (JSON) to the clipboard.');
    } catch (e) {
      this.deps.log.error(`Copying the metrics snapshot failed: ${errorMessage(e)}`);
      void vscode.window.showErrorMessage(`Copying the metrics snapshot failed: ${errorMessage(e)}`);
    }
  }

  private html(webview: vscode.Webview, root: vscode.Uri): string {
    return metricsPageHtml({
      cspSource: webview.cspSource,
      nonce: randomBytes(18).toString('base64'),
      scriptUri: webview.asWebviewUri(vscode.Uri.joinPath(root, 'metrics.js')).toString(),
      styleUri: webview.asWebviewUri(vscode.Uri.joinPath(root, 'metrics.css')).toString(),
    });
  }
}

/** The panel and its command; push the disposables onto context.subscriptions. */
export function registerMetricsPanel(deps: MetricsPanelDeps): { panel: MetricsPanel; disposables: vscode.Disposable[] } {
  const panel = new MetricsPanel(deps);
  return {
    panel,
    disposables: [
      panel,
      vscode.commands.registerCommand('llmStack.metrics.show', () => void panel.show()),
      // After a reload VS Code restores an open panel through this; the webview's own state
      // (window, pause) comes back through getState.
      vscode.window.registerWebviewPanelSerializer(METRICS_VIEW_TYPE, {
        deserializeWebviewPanel: async (restored) => {
          panel.adopt(restored);
        },
      }),
    ],
  };
}
