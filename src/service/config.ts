// The service's settings: `config.json` in its data folder, the same settings the editor has under
// `llmStack.*` (user level only: a workspace never configures the per-user service). Missing or
// out-of-range values take the editor's defaults; a malformed file is reported and ignored.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { z } from 'zod';

const positive = (d: number) => z.number().finite().min(0).catch(d).default(d);

const configSchema = z.object({
  docker: z.object({ host: z.string().catch('').default(''), tlsCertPath: z.string().catch('').default('') }).prefault({}),
  runtimes: z
    .object({
      imagePatterns: z.record(z.string(), z.string()).catch({}).default({}),
      endpoints: z.array(z.unknown()).catch([]).default([]),
    })
    .prefault({}),
  models: z
    .object({
      ggufFolders: z.array(z.string()).catch([]).default([]),
      idleUnloadMinutes: positive(30),
      idleStopContainerMinutes: positive(0),
      /** Minutes before a regular time of use to load a model; 0 (the default): no preloading. */
      preloadMinutes: positive(0),
    })
    .prefault({}),
  registry: z
    .object({
      encrypt: z.boolean().catch(false).default(false),
      keepBackups: positive(10),
      backupIntervalHours: positive(24),
      retentionDays: positive(365),
    })
    .prefault({}),
  alerts: z
    .object({
      rateLimitMinutes: positive(10),
      probeIntervalSeconds: positive(30),
      probeFailures: positive(2),
      probeTimeoutSeconds: positive(5),
    })
    .prefault({}),
  metrics: z
    .object({
      intervalSeconds: positive(1),
      historyMinutes: positive(60),
      gpu: z.boolean().catch(true).default(true),
      nvidiaSmiPath: z.string().catch('').default(''),
    })
    .prefault({}),
  webhooks: z
    .object({
      /** The first retry of a failed delivery waits this long; each next one three times longer (at most an hour). */
      retryBaseSeconds: positive(10),
      /** Attempts before a delivery is marked failed (10: about 4 hours of retries). */
      maxAttempts: positive(10),
    })
    .prefault({}),
  tracing: z
    .object({
      /** OTLP/HTTP traces URL (http://127.0.0.1:4318/v1/traces); empty: OTEL_EXPORTER_OTLP_* or none. */
      otlpEndpoint: z.string().catch('').default(''),
    })
    .prefault({}),
  logs: z
    .object({
      /** debug writes a line per request (with its id); info and above are always written. */
      level: z.enum(['debug', 'info', 'warn', 'error']).catch('info').default('info'),
      /** The log file is rotated past this size… */
      maxMegabytes: positive(5),
      /** …keeping this many old files. */
      keep: positive(3),
    })
    .prefault({}),
  service: z
    .object({
      /** A service started by a client exits after this many minutes with no client and no work. */
      idleExitMinutes: positive(10),
      /** host:port of the TCP listener (tokens and roles); empty: the Unix socket only. */
      listen: z.string().catch('').default(''),
      /** Allows a listen address other than loopback. */
      allowRemote: z.boolean().catch(false).default(false),
      /** Host header names answered to besides the listen address. */
      hostNames: z.array(z.string()).catch([]).default([]),
      /** Browser origins allowed on the TCP listener; none by default. */
      allowedOrigins: z.array(z.string()).catch([]).default([]),
      /** PEM files of a certificate and its key: the TCP listener speaks HTTPS. */
      tlsCert: z.string().catch('').default(''),
      tlsKey: z.string().catch('').default(''),
      /** GET /metrics without a token on a loopback listener (for a local Prometheus). */
      metricsWithoutToken: z.boolean().catch(false).default(false),
    })
    .prefault({}),
});
export type ServiceConfig = z.output<typeof configSchema>;

export function configFile(dataDir: string): string {
  return path.join(dataDir, 'config.json');
}

/** Reads the settings (defaults where absent); `problem` says why a file present was not used. */
export function readConfig(dataDir: string): { config: ServiceConfig; problem?: string } {
  const file = configFile(dataDir);
  let text: string;
  try {
    const st = fs.statSync(file);
    if (!st.isFile() || st.size > 1024 * 1024) return { config: configSchema.parse({}), problem: `${file} is not a regular file under 1 MiB; the defaults are used.` };
    text = fs.readFileSync(file, 'utf8');
  } catch {
    return { config: configSchema.parse({}) };
  }
  try {
    return { config: configSchema.parse(JSON.parse(text)) };
  } catch (e) {
    return { config: configSchema.parse({}), problem: `${file} is not valid JSON (${e instanceof Error ? e.message : String(e)}); the defaults are used.` };
  }
}
