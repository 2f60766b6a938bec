// The benchmark view's entry (runs in the webview): every message from the extension is checked
// against the shared protocol before the app sees it; theme changes redraw the charts.
import '../metrics/zodConfig';
import 'uplot/dist/uPlot.min.css';
import '../metrics/style.css';
import './style.css';
import { parseMessage } from '../../src/shared/metricsProtocol';
import { toBenchViewSchema } from '../../src/shared/benchProtocol';
import { BenchApp, type VsCodeApi } from './app';
import { el } from '../metrics/dom';

declare function acquireVsCodeApi(): VsCodeApi;

const vscode = acquireVsCodeApi();
const root = document.getElementById('app') ?? document.body.appendChild(el('main', { attrs: { id: 'app' } }));
const app = new BenchApp(vscode, root);

window.addEventListener('message', (event: MessageEvent) => {
  const r = parseMessage(toBenchViewSchema, event.data);
  if (!r.ok) {
    console.warn(`[LLM Stack benchmarks] ignored a message: ${r.reason}`);
    return;
  }
  app.onMessage(r.message);
});

const themeObserver = new MutationObserver(() => app.themeChanged());
themeObserver.observe(document.body, { attributes: true, attributeFilter: ['class', 'data-vscode-theme-kind'] });

app.start();
