// The engine's JSON answers that container figures come from (a stats frame, `docker top`,
// inspect's State), read with zod: a field of the wrong type is a reason to skip the answer, not a
// TypeError thrown from a stream's data handler. Engines differ, so every field is optional and null
// reads as absent.
import { z } from 'zod';

/** The fields of a stats frame used here (Engine API ContainerStatsResponse); all optional, engines differ. */
export interface StatsFrame {
  read?: string;
  preread?: string;
  num_procs?: number;
  cpu_stats?: CpuStats;
  precpu_stats?: CpuStats;
  memory_stats?: {
    usage?: number;
    limit?: number;
    stats?: Record<string, number>;
    /** Windows */
    privateworkingset?: number;
  };
  networks?: Record<string, { rx_bytes?: number; tx_bytes?: number }>;
  blkio_stats?: { io_service_bytes_recursive?: { op?: string; value?: number }[] | null };
}

interface CpuStats {
  cpu_usage?: { total_usage?: number; percpu_usage?: number[] | null };
  system_cpu_usage?: number;
  online_cpus?: number;
}

/**
 * Lists and mappings longer than any real frame holds (CPUs, interfaces, block devices × ops) are
 * refused rather than summed.
 */
const MAX_ENTRIES = 8192;

/** Absent, null or a value of `schema`; null reads as absent. */
const opt = <T extends z.ZodType>(schema: T) => schema.nullish().transform((v) => v ?? undefined);
const count = opt(z.number());
const boundedRecord = <T extends z.ZodType>(value: T) =>
  z.record(z.string(), value).refine((r) => Object.keys(r).length <= MAX_ENTRIES, `more than ${MAX_ENTRIES} entries`);

const cpuStatsSchema = z.object({
  cpu_usage: opt(z.object({ total_usage: count, percpu_usage: opt(z.array(z.number()).max(MAX_ENTRIES)) })),
  system_cpu_usage: count,
  online_cpus: count,
});

const statsFrameSchema: z.ZodType<StatsFrame> = z.object({
  read: opt(z.string()),
  preread: opt(z.string()),
  num_procs: count,
  cpu_stats: opt(cpuStatsSchema),
  precpu_stats: opt(cpuStatsSchema),
  memory_stats: opt(
    z.object({
      usage: count,
      limit: count,
      stats: opt(boundedRecord(z.number())),
      privateworkingset: count,
    }),
  ),
  networks: opt(boundedRecord(z.object({ rx_bytes: count, tx_bytes: count }))),
  blkio_stats: opt(z.object({ io_service_bytes_recursive: opt(z.array(z.object({ op: opt(z.string()), value: count })).max(MAX_ENTRIES)) })),
});

/** The first problem zod found, as "path: message". */
function firstIssue(error: z.ZodError): string {
  const issue = error.issues[0];
  return issue ? `${issue.path.length > 0 ? `${issue.path.join('.')}: ` : ''}${issue.message}` : 'not a stats frame';
}

/** One line of the stats stream as a frame, or why it was skipped. */
export function parseStatsFrame(line: string): { frame: StatsFrame } | { skipped: string } {
  let json: unknown;
  try {
    json = JSON.parse(line);
  } catch (e) {
    return { skipped: `not JSON (${e instanceof Error ? e.message : String(e)})` };
  }
  const parsed = statsFrameSchema.safeParse(json);
  return parsed.success ? { frame: parsed.data } : { skipped: firstIssue(parsed.error) };
}

const topSchema = z.object({ Titles: z.array(z.unknown()), Processes: z.array(z.unknown()) });

/** The PID column of a `docker top` answer ({ Titles, Processes }). */
export function parseTopPids(top: unknown): number[] {
  const t = topSchema.safeParse(top);
  if (!t.success) return [];
  const col = t.data.Titles.findIndex((x) => String(x).toUpperCase() === 'PID');
  if (col < 0) return [];
  const out: number[] = [];
  for (const row of t.data.Processes) {
    const v = Array.isArray(row) ? Number(row[col]) : NaN;
    if (Number.isInteger(v) && v > 0) out.push(v);
  }
  return out;
}

const inspectStateSchema = z.object({
  State: opt(z.object({ Running: opt(z.boolean()), Pid: count })),
});

/** Whether an inspected container runs, and its init pid; undefined for an answer that is not an inspect document. */
export function parseInspectState(info: unknown): { running: boolean; pid: number } | undefined {
  const parsed = inspectStateSchema.safeParse(info);
  if (!parsed.success) return undefined;
  return { running: parsed.data.State?.Running === true, pid: parsed.data.State?.Pid ?? 0 };
}
