// Reads what the metrics panel's charts drew, from their canvas pixels inside the webview frame:
// what a user sees, rather than what the panel says it posted.
import type { Frame, Page } from 'playwright-core';
import { z } from 'zod';

const chartSchema = z.object({
  title: z.string(),
  /** The legend's line names, in series order. */
  series: z.array(z.string()),
  /** Canvas pixels that are not transparent: axes, grid and lines. */
  drawn: z.number(),
  /** Per series: opaque pixels in (about) the series' colour, its swatch in the legend. */
  seriesPixels: z.array(z.number()),
});
export type ChartPixels = z.infer<typeof chartSchema>;

/** The panel document: the inner frame of VS Code's webview iframe. */
export async function metricsFrame(page: Page): Promise<Frame> {
  const inner = await page.frameLocator('iframe.webview').locator('iframe#active-frame').elementHandle({ timeout: 30_000 });
  const frame = await inner.contentFrame();
  if (!frame) throw new Error('the metrics webview has no content frame');
  return frame;
}

// Runs in the webview (no DOM types here, hence a string). uPlot leaves its canvas transparent
// where it draws nothing; antialiased line pixels are matched to the swatch colour loosely.
const READ_CHARTS = `(() => {
  const rgb = (css) => { const m = /rgba?\\(([^)]*)\\)/.exec(css || ''); return m ? m[1].split(',').slice(0, 3).map(Number) : null; };
  return [...document.querySelectorAll('figure.chart')].map((fig) => {
    const title = fig.querySelector('.title')?.textContent ?? '';
    const series = [...fig.querySelectorAll('.legend li .name')].map((e) => e.textContent ?? '');
    const colours = [...fig.querySelectorAll('.legend li .swatch')].map((e) => rgb(getComputedStyle(e).borderTopColor));
    const seriesPixels = series.map(() => 0);
    const canvas = fig.querySelector('canvas');
    if (!canvas || !canvas.width || !canvas.height) return { title, series, drawn: 0, seriesPixels };
    const d = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
    let drawn = 0;
    for (let i = 0; i < d.length; i += 4) {
      if (d[i + 3] === 0) continue;
      drawn++;
      if (d[i + 3] < 128) continue;
      colours.forEach((c, k) => {
        if (c && Math.abs(d[i] - c[0]) + Math.abs(d[i + 1] - c[1]) + Math.abs(d[i + 2] - c[2]) <= 60) seriesPixels[k]++;
      });
    }
    return { title, series, drawn, seriesPixels };
  });
})()`;

export async function readChartPixels(frame: Frame): Promise<ChartPixels[]> {
  return z.array(chartSchema).parse(await frame.evaluate<unknown>(READ_CHARTS));
}

/** One line per chart for failure messages: "Container CPU (%): 5120 drawn; busy-1: 0". */
export function describeCharts(charts: readonly ChartPixels[]): string {
  if (!charts.length) return 'no chart in the panel';
  return charts.map((c) => `${c.title}: ${c.drawn} drawn; ${c.series.map((s, i) => `${s}: ${c.seriesPixels[i]}`).join(', ')}`).join(' | ');
}
