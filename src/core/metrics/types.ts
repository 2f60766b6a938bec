// The shapes every metrics source produces and the panel draws: named series of (time, value)
// points, grouped by host, GPU, container and model.
type MetricGroup = 'host' | 'gpu' | 'container' | 'model';
export type MetricUnit = '%' | 'bytes' | 'B/s' | '°C' | 'W' | 'tok/s' | 'count';

export interface SeriesInfo {
  /** Stable key, e.g. "host.cpu", "gpu.0.util", "container.<id>.memory", "model.<runtimeId>\u0000<name>.tps". */
  readonly key: string;
  readonly group: MetricGroup;
  /** What the series belongs to, as shown: "this machine", "GPU 0 · NVIDIA H100", a container or model name. */
  readonly entity: string;
  /** The entity's stable id (container id, GPU uuid, model key) so charts can group series. */
  readonly entityId: string;
  /** Short metric name: "cpu", "memory", "net.rx", "util", "power" … */
  readonly metric: string;
  readonly unit: MetricUnit;
  /** Upper bound when known (memory limit, GPU memory total), for axes and percentages. */
  readonly max?: number;
}

/** One sample for many series at one time (epoch ms). */
export interface SampleBatch {
  readonly t: number;
  readonly values: ReadonlyMap<string, number>;
}

export type GpuStatus =
  | { readonly kind: 'ok'; readonly gpus: number }
  | { readonly kind: 'absent'; readonly message: string }
  | { readonly kind: 'error'; readonly message: string };
