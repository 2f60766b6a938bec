// What the service and its clients agree on: the route of a use case, the wire shape of errors
// and of a streamed answer, the events, and the protocol version checked at each connection.
import { z } from 'zod';
import { alertSchema, muteSchema } from '../app/health/useCases';

export { NDJSON, PROTOCOL, routeOf } from './wire';

export const errorBodySchema = z.object({
  error: z.object({
    /** invalid_input (400), not_found (404), cancelled (499), conflict (409), failed (500)… */
    code: z.string(),
    message: z.string(),
    issues: z.array(z.string()).optional(),
  }),
});
export type ErrorBody = z.infer<typeof errorBodySchema>;

export const versionSchema = z.object({
  name: z.literal('llmstack'),
  version: z.string(),
  protocol: z.number().int(),
  pid: z.number().int(),
  startedAt: z.number(),
  /** Started by a client (exits when idle) or by hand (stays). */
  idleExitMinutes: z.number().nullable(),
});
export type ServiceVersion = z.infer<typeof versionSchema>;

/** What the event stream (GET /v1/events, server-sent events) carries. */
export const serviceEventSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('hello'), version: z.string(), protocol: z.number() }),
  z.object({ type: z.literal('engine'), state: z.string(), detail: z.string().optional() }),
  z.object({ type: z.literal('containers'), count: z.number().int() }),
  z.object({ type: z.literal('models'), runtimeIds: z.array(z.string()) }),
  z.object({ type: z.literal('registry'), operation: z.string() }),
  /** An alert was raised; `notify` is false when the container is muted or was notified of recently. */
  z.object({ type: z.literal('alert'), alert: alertSchema, notify: z.boolean() }),
  /** The active alerts or the mutes changed: all of them, as alerts.list answers. */
  z.object({ type: z.literal('alerts'), alerts: z.array(alertSchema), mutes: z.array(muteSchema) }),
]);
export type ServiceEvent = z.infer<typeof serviceEventSchema>;

const seriesInfoSchema = z.object({
  key: z.string(),
  group: z.enum(['host', 'gpu', 'container', 'model']),
  entity: z.string(),
  entityId: z.string(),
  metric: z.string(),
  unit: z.enum(['%', 'bytes', 'B/s', '°C', 'W', 'tok/s', 'count']),
  max: z.number().optional(),
});
const gpuStatusSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('ok'), gpus: z.number() }),
  z.object({ kind: z.literal('absent'), message: z.string() }),
  z.object({ kind: z.literal('error'), message: z.string() }),
]);

/** What GET /v1/metrics/events streams: the history first, then each sample as it is taken. */
export const metricsEventSchema = z.discriminatedUnion('type', [
  z.object({
    type: z.literal('metrics.init'),
    intervalMs: z.number(),
    historyMinutes: z.number(),
    gpu: gpuStatusSchema,
    series: z.array(seriesInfoSchema),
    /** Sample times (epoch ms), oldest first; columns[i][j] is series i at t[j] (null: no value). */
    t: z.array(z.number()),
    columns: z.array(z.array(z.number().nullable())),
  }),
  z.object({
    type: z.literal('metrics.sample'),
    t: z.number(),
    values: z.record(z.string(), z.number()),
    added: z.array(seriesInfoSchema),
    removed: z.array(z.string()),
    gpu: gpuStatusSchema,
  }),
]);
export type MetricsEvent = z.infer<typeof metricsEventSchema>;
