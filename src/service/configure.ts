// service.configureRegistry: an editor window hands the service the user's registry settings
// (llmStack.registry.*, user level), which the service keeps in its config.json and applies by
// reopening the registry when they change how the file is written.
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
export type RegistryConfig = z.infer<typeof registrySettingsSchema>;

interface ConfigureDeps {
  readonly configFile: string;
  /** The settings in use; changed in place. */
  readonly current: RegistryConfig;
  /** Reopens the registry so that the new settings apply (a no-op while it is closed). */
  readonly reopen: () => Promise<void>;
}

export const configureRegistry = defineUseCase({
  name: 'service.configureRegistry',
  summary: "Sets the registry's settings (encryption, backups kept, backup interval, retention): what an editor window's llmStack.registry.* say.",
  input: registrySettingsSchema,
  output: z.object({ changed: z.boolean() }),
  run: async (deps: ConfigureDeps, input) => {
    const changed = (Object.keys(input) as (keyof RegistryConfig)[]).some((k) => deps.current[k] !== input[k]);
    if (!changed) return { changed: false };
    Object.assign(deps.current, input);
    // Kept for the next start; the rest of config.json is left as it is.
    let existing: Record<string, unknown> = {};
    try {
      const parsed: unknown = JSON.parse(fs.readFileSync(deps.configFile, 'utf8'));
      if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) existing = parsed as Record<string, unknown>;
    } catch {
      // none yet, or unreadable: it is rewritten with what is known
    }
    const temp = `${deps.configFile}.${process.pid}.tmp`;
    fs.mkdirSync(path.dirname(deps.configFile), { recursive: true, mode: 0o700 });
    fs.writeFileSync(temp, JSON.stringify({ ...existing, registry: { ...input } }, null, 2), { mode: 0o600 });
    fs.renameSync(temp, deps.configFile);
    await deps.reopen();
    return { changed: true };
  },
});
