// The registry's use cases: back up, list backups, restore, export to and import from a JSON file,
// statistics and the audit log. Each mutating one records itself in the audit log, as the editor
// always did. The front end asks first (which backup, where to save, "Restore?") and then calls.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { z } from 'zod';
import { writeFileSafely } from '../../core/safeWrite';
import { RegistryError } from '../../core/registry/fileStore';
import { exportRegistry, importRegistry, parseExport } from '../../core/registry/transfer';
import { defineUseCase } from '../useCase';
import type { RegistryHost } from './host';

export interface RegistryDeps {
  /** The open-on-first-use handle and the audit log (a RegistryHost). */
  readonly registry: Pick<RegistryHost, 'get' | 'audit' | 'flushAudits'>;
}

export const backupInfoSchema = z.object({
  file: z.string(),
  createdAt: z.number(),
  reason: z.string(),
  schemaVersion: z.number().int(),
  counts: z.record(z.string(), z.number()),
  encrypted: z.boolean(),
});
export type BackupInfoOutput = z.infer<typeof backupInfoSchema>;

const absolutePath = z.string().min(1).refine((p) => path.isAbsolute(p), 'an absolute path');

export const backup = defineUseCase({
  name: 'registry.backup',
  summary: 'Backs up the model registry now (a snapshot and its row counts beside the registry file).',
  input: z.object({ reason: z.string().min(1).max(100).default('manual') }),
  output: backupInfoSchema,
  run: async (deps: RegistryDeps, input) => {
    const { registry } = await deps.registry.get();
    const b = await registry.backupNow(input.reason);
    await deps.registry.audit('registry.backup', path.basename(b.file));
    return b;
  },
});

export const listBackups = defineUseCase({
  name: 'registry.listBackups',
  summary: 'Lists the registry backups, newest first.',
  input: z.object({}),
  output: z.object({ backups: z.array(backupInfoSchema) }),
  run: async (deps: RegistryDeps) => ({ backups: (await deps.registry.get()).registry.listBackups() }),
});

export const restore = defineUseCase({
  name: 'registry.restore',
  summary: 'Replaces the registry with one of its backups (the current state is backed up first).',
  input: z.object({ file: z.string().min(1).describe('a backup as registry.listBackups lists it: its path or its file name') }),
  output: backupInfoSchema,
  run: async (deps: RegistryDeps, input) => {
    const { registry } = await deps.registry.get();
    // Only a listed backup: a path from a request must not make the registry read any file it names.
    const chosen = registry.listBackups().find((b) => b.file === input.file || path.basename(b.file) === input.file);
    if (!chosen) throw new RegistryError(`${input.file} is not one of the registry's backups. Nothing was restored.`, 'validation');
    await registry.restore(chosen.file);
    await deps.registry.audit('registry.restore', path.basename(chosen.file));
    return chosen;
  },
});

export const exportToFile = defineUseCase({
  name: 'registry.export',
  summary: 'Writes the whole registry as JSON to a file (natural keys, importable on another machine).',
  input: z.object({ file: absolutePath, overwrite: z.boolean().default(false) }),
  output: z.object({ file: z.string(), models: z.number().int(), usage: z.number().int() }),
  run: async (deps: RegistryDeps, input) => {
    const { registry } = await deps.registry.get();
    const data = exportRegistry(registry);
    const file = await writeFileSafely(path.dirname(input.file), path.basename(input.file), JSON.stringify(data, null, 1), { overwrite: input.overwrite });
    await deps.registry.audit('registry.export', input.file);
    return { file, models: data.models.length, usage: data.usage.length };
  },
});

export const importReportSchema = z.object({
  runtimes: z.number().int(),
  models: z.number().int(),
  versions: z.number().int(),
  usage: z.number().int(),
  benchmarks: z.number().int(),
  audit: z.number().int(),
});

export const importFromFile = defineUseCase({
  name: 'registry.import',
  summary: 'Merges a registry export into the registry (existing rows kept); a malformed file imports nothing.',
  input: z.object({ file: absolutePath }),
  output: importReportSchema,
  run: async (deps: RegistryDeps, input) => {
    let text: string;
    try {
      text = await fs.promises.readFile(input.file, 'utf8');
    } catch (e) {
      throw new RegistryError(`${input.file} cannot be read (${(e as NodeJS.ErrnoException).code ?? String(e)}). Nothing was imported.`, 'import');
    }
    // Checked completely before the registry is touched.
    const data = parseExport(text, input.file);
    const { registry } = await deps.registry.get();
    await registry.backupNow('before-import');
    const report = importRegistry(registry, data);
    await deps.registry.audit('registry.import', input.file);
    return report;
  },
});

export const stats = defineUseCase({
  name: 'registry.stats',
  summary: 'The registry file, its size, schema, row counts, usage range and backups.',
  input: z.object({}),
  output: z.object({
    file: z.string(),
    fileBytes: z.number().int(),
    encrypted: z.boolean(),
    schemaVersion: z.number().int(),
    counts: z.record(z.string(), z.number()),
    oldestUsage: z.number().nullable(),
    newestUsage: z.number().nullable(),
    backups: z.number().int(),
    backupsDir: z.string(),
    newestBackupAt: z.number().nullable(),
  }),
  run: async (deps: RegistryDeps) => {
    const { registry, repos } = await deps.registry.get();
    await registry.flush();
    const size = fs.existsSync(registry.file) ? fs.statSync(registry.file).size : 0;
    const s = repos.stats(size);
    return { ...s, file: registry.file, backupsDir: registry.backupsDir, newestBackupAt: registry.listBackups()[0]?.createdAt ?? null };
  },
});

export const auditLog = defineUseCase({
  name: 'registry.audit',
  summary: 'The newest audit log entries: what the extension changed, and whether it worked.',
  input: z.object({ limit: z.number().int().min(1).max(1000).default(100) }),
  output: z.object({
    entries: z.array(z.object({ ts: z.number(), operation: z.string(), target: z.string(), outcome: z.enum(['ok', 'error']), error: z.string().nullable() })),
  }),
  run: async (deps: RegistryDeps, input) => {
    await deps.registry.flushAudits();
    const { repos } = await deps.registry.get();
    return { entries: repos.recentAudit(input.limit).map((a) => ({ ...a, outcome: a.outcome === 'error' ? ('error' as const) : ('ok' as const) })) };
  },
});

export const recordAudit = defineUseCase({
  name: 'registry.recordAudit',
  summary: 'Appends an entry to the audit log: how a front end in another process (an editor window) records what it did.',
  input: z.object({
    operation: z.string().trim().min(1).max(100),
    target: z.string().max(2000),
    error: z.string().max(4000).optional(),
  }),
  output: z.object({ recorded: z.literal(true) }),
  run: async (deps: RegistryDeps, input) => {
    const { repos } = await deps.registry.get();
    repos.audit({ operation: input.operation, target: input.target, outcome: input.error ? 'error' : 'ok', error: input.error ?? null });
    return { recorded: true as const };
  },
});

/** Every registry use case: what the CLI and the HTTP API register. */
export const registryUseCases = [backup, listBackups, restore, exportToFile, importFromFile, stats, auditLog, recordAudit] as const;
