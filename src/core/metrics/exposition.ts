// The latest metrics as Prometheus text exposition format (0.0.4) and the JSON snapshot's shape.
import type { GpuStatus, MetricUnit, SeriesInfo } from './types';

export interface LatestValue {
  readonly info: SeriesInfo;
  /** Prometheus labels of the series' entity: container, gpu, model… */
  readonly labels: Readonly<Record<string, string>>;
  readonly t: number;
  readonly value: number;
}

const UNIT_SUFFIX: Record<MetricUnit, string> = {
  '%': 'percent',
  bytes: 'bytes',
  'B/s': 'bytes_per_second',
  '°C': 'celsius',
  W: 'watts',
  'tok/s': 'tokens_per_second',
  count: '',
};

/** Help text per group.metric; families not listed get a generic one. */
const HELP: Record<string, string> = {
  'host.cpu': 'CPU use of this machine over all cores.',
  'host.memory': 'Memory in use on this machine (total minus available).',
  'host.disk': 'Disk space in use on the watched file system.',
  'host.net.rx': 'Bytes received per second over the physical network interfaces.',
  'host.net.tx': 'Bytes sent per second over the physical network interfaces.',
  'gpu.util': 'GPU utilisation: share of the last period a kernel ran.',
  'gpu.memory': 'GPU memory in use.',
  'gpu.temperature': 'GPU core temperature.',
  'gpu.power': 'GPU power draw.',
  'container.cpu': 'Container CPU use in percent of one core, as docker stats shows it.',
  'container.memory': 'Container memory in use without reclaimable page cache.',
  'container.net.rx': 'Bytes per second the container received.',
  'container.net.tx': 'Bytes per second the container sent.',
  'container.block.read': 'Bytes per second the container read from block devices.',
  'container.block.write': 'Bytes per second the container wrote to block devices.',
  'container.gpu.memory': 'GPU memory used by the container’s processes.',
  'model.tps': 'Generated tokens per second.',
};

/** The metric family name: llmstack_<group>_<metric>_<unit>, e.g. llmstack_container_net_rx_bytes_per_second. */
function familyName(info: SeriesInfo): string {
  const metric = info.group === 'model' && info.metric === 'tps' ? 'generation' : info.metric;
  const parts = ['llmstack', info.group, metric.replace(/[^a-zA-Z0-9_]+/g, '_'), UNIT_SUFFIX[info.unit]].filter(Boolean);
  return parts.join('_').replace(/_+/g, '_');
}

function escapeLabel(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

function escapeHelp(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}

function formatValue(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  return Number.isInteger(v) ? String(v) : String(Math.round(v * 1e6) / 1e6);
}

/** Text exposition of the values, one gauge family per metric, samples of a family together. */
export function formatPrometheus(values: readonly LatestValue[]): string {
  const families = new Map<string, { info: SeriesInfo; lines: string[] }>();
  for (const v of values) {
    const name = familyName(v.info);
    let f = families.get(name);
    if (!f) families.set(name, (f = { info: v.info, lines: [] }));
    const labels = Object.entries(v.labels)
      .filter(([k]) => /^[a-zA-Z_][a-zA-Z0-9_]*$/.test(k))
      .map(([k, val]) => `${k}="${escapeLabel(val)}"`)
      .join(',');
    f.lines.push(`${name}${labels ? `{${labels}}` : ''} ${formatValue(v.value)}`);
  }
  const out: string[] = [];
  for (const [name, f] of families) {
    const help = HELP[`${f.info.group}.${f.info.metric}`] ?? `${f.info.metric} of ${f.info.group} (${f.info.unit}).`;
    out.push(`# HELP ${name} ${escapeHelp(help)}`, `# TYPE ${name} gauge`, ...f.lines);
  }
  return out.length ? `${out.join('\n')}\n` : '';
}

export interface MetricsSnapshot {
  readonly takenAt: string;
  readonly intervalMs: number;
  readonly gpu: GpuStatus;
  readonly series: readonly (SeriesInfo & { labels: Readonly<Record<string, string>>; last: { t: number; value: number } | null })[];
  /** The window's points when asked for: shared time axis and one column per series (same order). */
  readonly window?: { readonly ms: number; readonly t: readonly number[]; readonly columns: readonly (readonly (number | null)[])[] };
}
