// The HTML shell of the benchmark view (src/vscode/bench/panel.ts): the metrics panel's page, with
// its strict CSP. Pure string code: no DOM, no Node, no vscode.
import { webviewPageHtml } from '../metrics/page';

export function benchPageHtml(o: { cspSource: string; nonce: string; scriptUri: string; styleUri: string }): string {
  return webviewPageHtml({ ...o, title: 'LLM Stack Benchmarks', loading: 'Loading benchmarks…' });
}
