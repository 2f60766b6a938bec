// The messages between the metrics panel (webview-ui/) and the extension, defined once and
// validated with zod at both ends. Imported by both bundles; it must not import vscode or Node.
import { z } from 'zod';

const metricUnitSchema = z.enum(['%', 'bytes', 'B/s', '°C', 'W', 'tok/s', 'count']);
const metricGroupSchema = z.enum(['host', 'gpu', 'container', 'model']);

const seriesInfoSchema = z.object({
  key: z.string().min(1).max(500),
  group: metricGroupSchema,
  entity: z.string().max(300),
  entityId: z.string().max(500),
  metric: z.string().min(1).max(100),
  unit: metricUnitSchema,
  max: z.number().finite().optional(),
});
export type SeriesInfoMessage = z.infer<typeof seriesInfoSchema>;

/** A series as the protocol carries it: over-long text cut to its limits, a series with an unusable key or metric left out. */
export function seriesMessage(s: SeriesInfoMessage): SeriesInfoMessage | undefined {
  if (!s.key || s.key.length > 500 || !s.metric || s.metric.length > 100) return undefined;
  return {
    key: s.key,
    group: s.group,
    entity: s.entity.slice(0, 300),
    entityId: s.entityId.slice(0, 500),
    metric: s.metric,
    unit: s.unit,
    ...(s.max !== undefined && Number.isFinite(s.max) ? { max: s.max } : {}),
  };
}

export const gpuStatusSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('ok'), gpus: z.number().int().nonnegative() }),
  z.object({ kind: z.literal('absent'), message: z.string().max(1000) }),
  z.object({ kind: z.literal('error'), message: z.string().max(1000) }),
]);

/** Allowed time windows in minutes. */
export const windowMinutesSchema = z.union([z.literal(1), z.literal(5), z.literal(15), z.literal(60)]);
export type WindowMinutes = z.infer<typeof windowMinutesSchema>;

const finiteOrNull = z.number().finite().nullable();

// ---- extension → panel
export const toPanelSchema = z.discriminatedUnion('type', [
  /** Everything the panel needs after ready (or after a reload): series, their points in the window, settings. */
  z.object({
    type: z.literal('init'),
    windowMinutes: windowMinutesSchema,
    paused: z.boolean(),
    gpu: gpuStatusSchema,
    series: z.array(seriesInfoSchema).max(2000),
    /** Shared time axis (epoch ms) and one value column per series (null where a series has no point). */
    t: z.array(z.number().finite()).max(100_000),
    columns: z.array(z.array(finiteOrNull)).max(2000),
  }),
  /** One new sample for some series; series seen for the first time are described in `added`. */
  z.object({
    type: z.literal('append'),
    t: z.number().finite(),
    added: z.array(seriesInfoSchema).max(2000),
    /** Series that went away (a container removed). */
    removed: z.array(z.string()).max(2000),
    values: z.record(z.string(), z.number().finite()),
  }),
  z.object({ type: z.literal('gpu'), gpu: gpuStatusSchema }),
  z.object({ type: z.literal('error'), message: z.string().max(2000) }),
]);
export type ToPanel = z.infer<typeof toPanelSchema>;

// ---- panel → extension
export const fromPanelSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('ready') }),
  z.object({ type: z.literal('setWindow'), windowMinutes: windowMinutesSchema }),
  z.object({ type: z.literal('pause'), paused: z.boolean() }),
  z.object({ type: z.literal('copySnapshot') }),
  /** Timing the panel measured while drawing (the benchmark and the log use it). */
  z.object({ type: z.literal('frameStats'), frames: z.number().int().nonnegative(), p50Ms: z.number().finite(), p95Ms: z.number().finite() }),
]);
export type FromPanel = z.infer<typeof fromPanelSchema>;

type ParseResult<T> = { ok: true; message: T } | { ok: false; reason: string };

/** Parses a message; a wrong shape yields a reason fit for the log (never throws). */
export function parseMessage<S extends z.ZodType>(schema: S, raw: unknown): ParseResult<z.infer<S>> {
  const r = schema.safeParse(raw);
  if (r.success) return { ok: true, message: r.data };
  const i = r.error.issues[0];
  // Only primitives are turned into text: an object whose toString throws must not break the "never throws" promise.
  const t = raw && typeof raw === 'object' && 'type' in raw ? (raw as { type: unknown }).type : undefined;
  const type = typeof t === 'string' || typeof t === 'number' || typeof t === 'boolean' ? String(t).slice(0, 50) : raw === null ? 'null' : typeof (t ?? raw);
  return { ok: false, reason: `message "${type}" rejected: ${i?.path.join('.') || 'value'}: ${i?.message}` };
}
