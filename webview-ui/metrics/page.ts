// The HTML shell of the metrics panel, shared by the extension (src/vscode/metrics/panel.ts) and the render
// harness (test/webview/renderHarness.ts) so both run the bundle under the same strict CSP.
// Pure string code: no DOM, no Node, no vscode.

interface MetricsPageOptions {
  /** webview.cspSource in VS Code; a scheme such as `file:` in a plain browser page. */
  readonly cspSource: string;
  /** A fresh random value per page load. */
  readonly nonce: string;
  /** URL of dist/webview/metrics.js (webview.asWebviewUri in VS Code). */
  readonly scriptUri: string;
  /** URL of dist/webview/metrics.css. */
  readonly styleUri: string;
}

function attr(value: string): string {
  return value.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function metricsCsp(cspSource: string, nonce: string): string {
  return [
    "default-src 'none'",
    `img-src ${cspSource} data:`,
    `style-src ${cspSource}`,
    `script-src 'nonce-${nonce}'`,
    `font-src ${cspSource}`,
  ].join('; ');
}

/** A webview page of the extension (this panel, the benchmark view): the bundle under the strict CSP. */
export function webviewPageHtml(o: MetricsPageOptions & { readonly title: string; readonly loading: string }): string {
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${attr(metricsCsp(o.cspSource, o.nonce))}">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<link rel="stylesheet" href="${attr(o.styleUri)}">
<title>${attr(o.title)}</title>
</head>
<body>
<main id="app" aria-busy="true"><p class="placeholder">${attr(o.loading)}</p></main>
<script nonce="${attr(o.nonce)}" src="${attr(o.scriptUri)}"></script>
</body>
</html>
`;
}

export function metricsPageHtml(o: MetricsPageOptions): string {
  return webviewPageHtml({ ...o, title: 'LLM Stack Metrics', loading: 'Loading metrics…' });
}
