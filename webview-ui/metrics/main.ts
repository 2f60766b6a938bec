// The metrics panel app (runs in the webview): sections of uPlot charts fed by init/append messages
// from the extension, a toolbar (window, pause, copy snapshot), VS Code theme colours, and frame
// timing reported back as frameStats. Every incoming message is validated with the shared schema.
// This entry wires the page to the app: app.ts holds the state and layout, chart.ts one chart,
// theme.ts the colours, frames.ts the drawing clock.
import './zodConfig';
import 'uplot/dist/uPlot.min.css';
import './style.css';
import { parseMessage, toPanelSchema } from '../../src/shared/metricsProtocol';
import { MetricsApp, type VsCodeApi } from './app';
import { el } from './dom';

declare function acquireVsCodeApi(): VsCodeApi;

const STATS_INTERVAL_MS = 10_000;

const vscode = acquireVsCodeApi();
const root = document.getElementById('app') ?? document.body.appendChild(el('main', { attrs: { id: 'app' } }));
const app = new MetricsApp(vscode, root);
setInterval(() => app.flushStats(), STATS_INTERVAL_MS);

window.addEventListener('message', (event: MessageEvent) => {
  let r: ReturnType<typeof parseMessage<typeof toPanelSchema>>;
  try {
    r = parseMessage(toPanelSchema, event.data);
  } catch (e) {
    r = { ok: false, reason: String(e) };
  }
  if (!r.ok) {
    console.warn(`[LLM Stack metrics] ignored a message: ${r.reason}`);
    return;
  }
  app.onMessage(r.message);
});

// On a theme change VS Code sets body classes (vscode-light/-dark/-high-contrast[-light]) and data
// attributes, and rewrites the CSS variables in the html element's style. Charts draw on canvas, so
// they are rebuilt with the colours read again (only when those actually changed).
const themeObserver = new MutationObserver(() => app.themeChanged());
themeObserver.observe(document.body, { attributes: true, attributeFilter: ['class', 'data-vscode-theme-kind', 'data-vscode-theme-id', 'data-vscode-theme-name'] });
themeObserver.observe(document.documentElement, { attributes: true, attributeFilter: ['style'] });

app.start();
