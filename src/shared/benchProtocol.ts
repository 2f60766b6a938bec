// The messages between the benchmark view (webview-ui/bench) and the extension, defined once and
// validated with zod at both ends. Imported by both bundles; it must not import vscode or Node.
import { z } from 'zod';

const num = z.number().finite();
const runSchema = z.object({
  runId: z.string().max(200).nullable(),
  ts: num,
  hardware: z.string().max(500),
  promptSet: z.string().max(200),
  concurrency: z.number().int().min(1).max(1024),
  ttftMs: num.nullable(),
  promptTps: num.nullable(),
  genTps: num.nullable(),
  ttftP99Ms: num.optional(),
  tpotMs: num.optional(),
  e2elMs: num.optional(),
  /** The CV of the mean generation speed (the per-request CV for runs stored before it was kept). */
  cvPct: num.optional(),
  throughputTps: num.optional(),
  regression: z.boolean(),
  dropPct: num.optional(),
});
export type BenchRunMessage = z.infer<typeof runSchema>;

const modelSchema = z.object({
  key: z.string().min(1).max(2000),
  runtimeId: z.string().max(1000),
  runtime: z.string().max(300),
  name: z.string().max(500),
  runs: z.array(runSchema).max(5000),
});
export type BenchModelMessage = z.infer<typeof modelSchema>;

// ---- extension → view
export const toBenchViewSchema = z.discriminatedUnion('type', [
  /** Every model with runs, and the one or two chosen (kept by the extension across reloads). */
  z.object({ type: z.literal('init'), models: z.array(modelSchema).max(500), selected: z.array(z.string().max(2000)).max(2) }),
  z.object({ type: z.literal('error'), message: z.string().max(2000) }),
]);
export type ToBenchView = z.infer<typeof toBenchViewSchema>;

// ---- view → extension
export const fromBenchViewSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('ready') }),
  /** One model, or two side by side. */
  z.object({ type: z.literal('select'), keys: z.array(z.string().min(1).max(2000)).min(1).max(2) }),
  z.object({ type: z.literal('refresh') }),
]);
export type FromBenchView = z.infer<typeof fromBenchViewSchema>;
