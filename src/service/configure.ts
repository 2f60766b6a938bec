// service.configure: an editor window hands the service the user's settings that the service acts
// on (llmStack.registry.*, llmStack.models.idle*, llmStack.alerts.*, llmStack.metrics.*: user
// level), which the service keeps in its config.json and applies: the registry is reopened when its
// settings change how the file is written; idle handling, the health probes and the sampler take
// the new times at once (the sampler's GPU settings at the next start).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { z } from 'zod';
import { defineUseCase } from '../app/useCase';

const registrySettingsSchema = z.object({
  encrypt: z.boolean(),
  keepBackups: z.number().int().min(1).max(1000),
  backupIntervalHours: z.number().min(0).max(24 * 365),
  retentionDays: z.number().int().min(1).max(36_500),
});
const idleSettingsSchema = z.object({
  /** Minutes before an unused model is unloaded; 0: never. */
  idleUnloadMinutes: z.number().min(0).max(100_000),
  /** Minutes before an idle runtime container is stopped; 0: never. */
  idleStopContainerMinutes: z.number().min(0).max(100_000),
  /** Minutes before a model's regular time of use to load it; 0: never (absent from older windows: left as it is). */
  preloadMinutes: z.number().min(0).max(240).optional(),
});

const alertSettingsSchema = z.object({
  /** Minutes between two notifications of one kind for one container. */
  rateLimitMinutes: z.number().min(0).max(100_000),
  /** Seconds between health probes of a runtime; 0: no probes. */
  probeIntervalSeconds: z.number().min(0).max(86_400),
  /** Failed probes in a row before an alert. */
  probeFailures: z.number().int().min(1).max(1000),
  /** Seconds before a probe counts as failed. */
  probeTimeoutSeconds: z.number().min(1).max(3600),
});

const metricsSettingsSchema = z.object({
  /** Seconds between samples while a client is subscribed. */
  intervalSeconds: z.number().min(0.25).max(3600),
  /** Minutes of samples kept. */
  historyMinutes: z.number().min(1).max(24 * 60),
  /** Whether nvidia-smi is read; with nvidiaSmiPath, applied at the service's next start. */
  gpu: z.boolean(),
  nvidiaSmiPath: z.string().max(4096),
});

export interface ConfigSections {
  registry: z.infer<typeof registrySettingsSchema>;
  models: z.infer<typeof idleSettingsSchema> & Record<string, unknown>;
  alerts: z.infer<typeof alertSettingsSchema>;
  metrics: z.infer<typeof metricsSettingsSchema>;
}

interface ConfigureDeps {
  readonly configFile: string;
  /** The settings in use; changed in place. */
  readonly current: ConfigSections;
  /** Reopens the registry so that the new settings apply (a no-op while it is closed). */
  readonly reopen: () => Promise<void>;
  /** Idle handling looks at its times again. */
  readonly reschedule: () => void;
  /** The health probes take their new interval. */
  readonly reprobe: () => void;
  /** The sampler takes its new interval and history. */
  readonly resample: () => void;
}

export const configure = defineUseCase({
  name: 'service.configure',
  summary: "Sets the settings the service acts on: the registry's (encryption, backups, retention), idle handling's, the alerts' and health probes', and the metrics sampler's, as an editor window's llmStack.registry.*, llmStack.models.idle*, llmStack.alerts.* and llmStack.metrics.* say.",
  input: z.object({ registry: registrySettingsSchema.optional(), idle: idleSettingsSchema.optional(), alerts: alertSettingsSchema.optional(), metrics: metricsSettingsSchema.optional() }),
  output: z.object({ changed: z.array(z.enum(['registry', 'idle', 'alerts', 'metrics'])) }),
  run: async (deps: ConfigureDeps, input) => {
    const changed: ('registry' | 'idle' | 'alerts' | 'metrics')[] = [];
    const differs = (a: Record<string, unknown>, b: Record<string, unknown>) => Object.keys(b).some((k) => a[k] !== b[k]);
    if (input.registry && differs(deps.current.registry, input.registry)) {
      Object.assign(deps.current.registry, input.registry);
      changed.push('registry');
    }
    if (input.idle && differs(deps.current.models, input.idle)) {
      Object.assign(deps.current.models, input.idle);
      changed.push('idle');
    }
    if (input.alerts && differs(deps.current.alerts, input.alerts)) {
      Object.assign(deps.current.alerts, input.alerts);
      changed.push('alerts');
    }
    if (input.metrics && differs(deps.current.metrics, input.metrics)) {
      Object.assign(deps.current.metrics, input.metrics);
      changed.push('metrics');
    }
    if (!changed.length) return { changed };
    // Kept for the next start; the rest of config.json is left as it is.
    let existing: Record<string, unknown> = {};
    try {
      const parsed: unknown = JSON.parse(fs.readFileSync(deps.configFile, 'utf8'));
      if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) existing = parsed as Record<string, unknown>;
    } catch {
      // none yet, or unreadable: it is rewritten with what is known
    }
    const models = { ...(existing.models && typeof existing.models === 'object' ? existing.models : {}), idleUnloadMinutes: deps.current.models.idleUnloadMinutes, idleStopContainerMinutes: deps.current.models.idleStopContainerMinutes, preloadMinutes: deps.current.models.preloadMinutes };
    const temp = `${deps.configFile}.${process.pid}.tmp`;
    fs.mkdirSync(path.dirname(deps.configFile), { recursive: true, mode: 0o700 });
    fs.writeFileSync(temp, JSON.stringify({ ...existing, registry: { ...deps.current.registry }, models, alerts: { ...deps.current.alerts }, metrics: { ...deps.current.metrics } }, null, 2), { mode: 0o600 });
    fs.renameSync(temp, deps.configFile);
    if (changed.includes('idle')) deps.reschedule();
    if (changed.includes('alerts')) deps.reprobe();
    if (changed.includes('metrics')) deps.resample();
    if (changed.includes('registry')) await deps.reopen();
    return { changed };
  },
});
