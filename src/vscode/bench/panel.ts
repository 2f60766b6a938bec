// The benchmark view's host: one WebviewPanel (webview-ui/bench) fed from bench.overview in the
// service. Every message is checked with the shared protocol both ways; each `ready` (a new page,
// or the page coming back after being hidden) gets a fresh `init` with the chosen models.
import { randomBytes } from 'node:crypto';
import * as vscode from 'vscode';
import { benchPageHtml } from '../../../webview-ui/bench/page';
import { benchUseCases, type BenchDeps } from '../../app/bench/useCases';
import type { Runner } from '../../app/useCase';
import { Disposable, DisposableStore, errorMessage, type Logger } from '../../core/lifecycle';
import { fromBenchViewSchema, toBenchViewSchema, type ToBenchView } from '../../shared/benchProtocol';
import { parseMessage } from '../../shared/metricsProtocol';

const BENCH_VIEW_TYPE = 'llmStack.benchmarks';
const overview = benchUseCases[4];

export class BenchPanel extends Disposable {
  private current: vscode.WebviewPanel | undefined;
  private listeners: DisposableStore | undefined;
  private selected: string[] = [];
  /** Messages from the webview refused by the protocol (for tests and the log). */
  rejectedMessages = 0;
  /** The last init posted (tests read what the page was given). */
  lastInit: Extract<ToBenchView, { type: 'init' }> | undefined;

  constructor(
    private readonly extensionUri: vscode.Uri,
    private readonly run: Runner<BenchDeps>,
    private readonly log: Logger,
  ) {
    super();
    this.register({ dispose: () => this.current?.dispose() });
  }

  /** Opens the view (or reveals it), showing `key` (runtimeId|name) when given. */
  show(key?: string): vscode.WebviewPanel {
    if (key) this.selected = [key];
    if (this.current) {
      this.current.reveal();
      if (key) void this.postInit();
      return this.current;
    }
    return this.adopt(vscode.window.createWebviewPanel(BENCH_VIEW_TYPE, 'LLM Stack Benchmarks', vscode.ViewColumn.Active, { enableScripts: true }));
  }

  adopt(panel: vscode.WebviewPanel): vscode.WebviewPanel {
    if (this.current && this.current !== panel) this.current.dispose();
    const root = vscode.Uri.joinPath(this.extensionUri, 'dist', 'webview');
    panel.webview.options = { enableScripts: true, localResourceRoots: [root] };
    panel.iconPath = vscode.Uri.joinPath(this.extensionUri, 'media', 'llm-stack.svg');
    this.current = panel;
    this.listeners?.dispose();
    const l = (this.listeners = new DisposableStore());
    l.add(panel.webview.onDidReceiveMessage((raw: unknown) => this.received(raw)));
    l.add(
      panel.onDidDispose(() => {
        if (this.current === panel) this.current = undefined;
        l.dispose();
      }),
    );
    panel.webview.html = benchPageHtml({
      cspSource: panel.webview.cspSource,
      nonce: randomBytes(18).toString('base64'),
      scriptUri: panel.webview.asWebviewUri(vscode.Uri.joinPath(root, 'bench.js')).toString(),
      styleUri: panel.webview.asWebviewUri(vscode.Uri.joinPath(root, 'bench.css')).toString(),
    });
    return panel;
  }

  /** One message from the webview, as its postMessage delivers it. Never throws. */
  received(raw: unknown): void {
    const r = parseMessage(fromBenchViewSchema, raw);
    if (!r.ok) {
      this.rejectedMessages++;
      this.log.warn(`Benchmark view: ${r.reason}`);
      return;
    }
    const m = r.message;
    if (m.type === 'select') this.selected = m.keys;
    void this.postInit();
  }

  private async postInit(): Promise<void> {
    const panel = this.current;
    if (!panel) return;
    let message: ToBenchView;
    try {
      const { models } = await this.run(overview, {});
      message = { type: 'init', models, selected: this.selected };
    } catch (e) {
      message = { type: 'error', message: `The benchmarks could not be read: ${errorMessage(e)}`.slice(0, 2000) };
    }
    // What the page is sent is what the protocol allows: checked here as the page checks it.
    const checked = parseMessage(toBenchViewSchema, message);
    if (!checked.ok) {
      this.log.error(`Benchmark view: not sent, ${checked.reason}`);
      return;
    }
    if (checked.message.type === 'init') this.lastInit = checked.message;
    await panel.webview.postMessage(checked.message);
  }
}

export function registerBenchPanel(extensionUri: vscode.Uri, run: Runner<BenchDeps>, log: Logger): { panel: BenchPanel; disposables: vscode.Disposable[] } {
  const panel = new BenchPanel(extensionUri, run, log);
  return {
    panel,
    disposables: [
      panel,
      vscode.commands.registerCommand('llmStack.bench.show', (key?: unknown) => void panel.show(typeof key === 'string' ? key : undefined)),
      vscode.window.registerWebviewPanelSerializer(BENCH_VIEW_TYPE, { deserializeWebviewPanel: async (restored) => void panel.adopt(restored) }),
    ],
  };
}
