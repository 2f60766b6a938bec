// Live figures in the health status bar item (setting llmStack.statusBar.metrics): while on, the
// item holds the metrics sampler like the visible panel does; turned off or disposed, it lets go,
// so nothing is sampled for nobody.
import * as vscode from 'vscode';
import { Disposable, type Event, type IDisposable } from '../../core/lifecycle';
import type { SampleBatch } from '../../core/metrics/types';
import { SECTION, statusBarMetricsSetting } from '../settings';

const STATUS_BAR_METRICS_SETTING = 'statusBar.metrics';

interface LiveFigureSource {
  acquire(reason: string): IDisposable;
  readonly onDidSample: Event<{ readonly batch: SampleBatch }>;
}

interface LiveFigureTarget {
  setLive(text: string | undefined, tooltip?: string): void;
}

/** "CPU 12 % · GPU 40 %" from one sample: host CPU, and the busiest GPU when there are any. */
function liveFigure(batch: SampleBatch): { text: string; tooltip: string } | undefined {
  const cpu = batch.values.get('host.cpu');
  let gpu: number | undefined;
  let gpuKey: string | undefined;
  for (const [key, v] of batch.values) {
    if (key.startsWith('gpu.') && key.endsWith('.util') && (gpu === undefined || v > gpu)) {
      gpu = v;
      gpuKey = key;
    }
  }
  if (cpu === undefined && gpu === undefined) return undefined;
  const parts: string[] = [];
  if (cpu !== undefined) parts.push(`CPU ${Math.round(cpu)} %`);
  if (gpu !== undefined) parts.push(`GPU ${Math.round(gpu)} %`);
  const tooltip = `Host CPU${gpuKey ? ` and GPU ${gpuKey.split('.')[1]}` : ''}, sampled while this item shows live figures (${SECTION}.${STATUS_BAR_METRICS_SETTING}).`;
  return { text: parts.join(' · '), tooltip };
}

export class StatusBarMetrics extends Disposable {
  private hold: IDisposable | undefined;
  private sampleSub: IDisposable | undefined;

  constructor(
    private readonly source: LiveFigureSource,
    private readonly target: LiveFigureTarget,
  ) {
    super();
    this.register(vscode.workspace.onDidChangeConfiguration((e) => e.affectsConfiguration(`${SECTION}.${STATUS_BAR_METRICS_SETTING}`) && this.update()));
    this.register({ dispose: () => this.release() });
    this.update();
  }

  /** Whether the item holds the sampler now. */
  get holding(): boolean {
    return this.hold !== undefined;
  }

  private update(): void {
    const wanted = statusBarMetricsSetting();
    if (wanted && !this.hold) {
      this.sampleSub = this.source.onDidSample((s) => {
        const f = liveFigure(s.batch);
        this.target.setLive(f?.text, f?.tooltip);
      });
      this.hold = this.source.acquire('status bar');
    } else if (!wanted && this.hold) {
      this.release();
    }
  }

  private release(): void {
    this.hold?.dispose();
    this.hold = undefined;
    this.sampleSub?.dispose();
    this.sampleSub = undefined;
    this.target.setLive(undefined);
  }
}
