// Files from a stack: Compose or Kubernetes next to the stack file, a new stack file from a
// template, and a stack file from what runs now. Every write goes through safeWrite (no links, never
// outside the folder); an existing file is replaced only when the input says so.
import * as path from 'node:path';
import { z } from 'zod';
import { createClassifier, normalizeImage } from '../../core/docker/containers';
import { safeTarget, writeFileSafely } from '../../core/safeWrite';
import { toCompose } from '../../core/stack/export/compose';
import { toKubernetes } from '../../core/stack/export/kubernetes';
import { exportRunningStack } from '../../core/stack/exportRunning';
import { LABEL_STACK } from '../../core/stack/schema';
import { findStackTemplate, stackTemplates } from '../../core/stack/templates';
import { defineUseCase } from '../useCase';
import { engineOf, prepare, stackFileInput, type StackDeps } from './deps';

const NOT_CONNECTED = 'The Docker Engine is not connected.';

/** What a write answers: the real path, and whether it was written or is there already. */
const written = z.object({
  /** The real path (links in the folder's path resolved): what a confirmation names. */
  file: z.string(),
  /** A file is there: without `overwrite` nothing was written. */
  exists: z.boolean(),
  written: z.boolean(),
});

/** Writes `text` unless a file is there and `overwrite` is not set; links and escapes are refused first. */
async function writeUnlessThere(dir: string, name: string, text: string, overwrite: boolean): Promise<z.input<typeof written>> {
  const t = await safeTarget(dir, name);
  if (t.exists && !overwrite) return { file: t.path, exists: true, written: false };
  const file = await writeFileSafely(dir, name, text, { overwrite: t.exists });
  return { file, exists: t.exists, written: true };
}

export const stackExport = defineUseCase({
  name: 'stack.export',
  summary: 'Writes the stack as docker-compose.yaml or as Kubernetes manifests (<stack>.k8s.yaml) next to the stack file.',
  input: stackFileInput.extend({
    target: z.enum(['compose', 'kubernetes']),
    /** Replace the file when it exists; otherwise the answer says it exists and nothing is written. */
    overwrite: z.boolean().default(false),
  }),
  output: written.extend({ warnings: z.array(z.string()) }),
  run: async (deps: StackDeps, input) => {
    const prepared = await prepare(deps, input);
    const dir = path.dirname(input.file);
    const out =
      input.target === 'compose'
        ? { name: 'docker-compose.yaml', ...toCompose(prepared.file, { params: prepared.resolved.params }) }
        : { name: `${prepared.file.name}.k8s.yaml`, ...toKubernetes(prepared.file, { params: prepared.resolved.params, stackDir: dir }) };
    const r = await writeUnlessThere(dir, out.name, out.text, input.overwrite);
    return { ...r, warnings: r.written ? out.warnings : [] };
  },
});

/** 1–63 lower-case letters, digits, "-", "_" or ".", starting with a letter or digit. */
export const STACK_NAME = /^[a-z0-9][a-z0-9_.-]{0,62}$/;

export const stackTemplatesUseCase = defineUseCase({
  name: 'stack.templates',
  summary: 'Lists the templates a new stack file can start from.',
  input: z.object({}),
  output: z.array(z.object({ id: z.string(), label: z.string(), description: z.string(), fileName: z.string() })),
  run: async () => stackTemplates.map((t) => ({ id: t.id, label: t.label, description: t.description, fileName: t.fileName })),
});

export const stackNew = defineUseCase({
  name: 'stack.new',
  summary: "Starts a stack file from a template, with the given stack name; writes it when given a path.",
  input: z.object({
    template: z.string(),
    name: z.string().regex(STACK_NAME, 'use 1–63 lower-case letters, digits, "-", "_" or ".", starting with a letter or digit'),
    /** Absolute path to write to; without it only the text is returned. */
    file: z.string().refine((f) => path.isAbsolute(f), 'must be an absolute path').optional(),
    overwrite: z.boolean().default(false),
  }),
  output: z.object({ text: z.string(), file: z.string().optional(), exists: z.boolean(), written: z.boolean() }),
  run: async (_deps: unknown, input) => {
    const template = findStackTemplate(input.template);
    if (!template) throw new Error(`No stack template "${input.template}": one of ${stackTemplates.map((t) => t.id).join(', ')}.`);
    const text = template.text({ name: input.name });
    if (!input.file) return { text, exists: false, written: false };
    return { text, ...(await writeUnlessThere(path.dirname(input.file), path.basename(input.file), text, input.overwrite)) };
  },
});

export const stackList = defineUseCase({
  name: 'stack.list',
  summary: 'Lists the stacks whose containers run on the engine, and every running LLM runtime container.',
  input: z.object({}),
  output: z.object({
    /** Stack names from the running containers' labels, in the order the engine lists them. */
    stacks: z.array(z.object({ name: z.string(), containers: z.number().int() })),
    /** Running containers the classifier takes for LLM runtimes (built-in and user image patterns). */
    runtimes: z.array(z.object({ id: z.string(), name: z.string(), kind: z.string(), stack: z.string().optional() })),
  }),
  run: async (deps: StackDeps) => {
    const containers = await engineOf(deps, NOT_CONNECTED).listContainers({ all: false });
    const stacks = new Map<string, number>();
    for (const c of containers) {
      const s = c.Labels?.[LABEL_STACK];
      if (s) stacks.set(s, (stacks.get(s) ?? 0) + 1);
    }
    const classifier = createClassifier(deps.imagePatterns?.() ?? {});
    const runtimes = containers.flatMap((c) => {
      const kind = classifier.classify({ image: normalizeImage(c.Image), labels: c.Labels ?? {} });
      const stack = c.Labels?.[LABEL_STACK];
      return kind === undefined ? [] : [{ id: c.Id, name: c.Names[0]?.replace(/^\//, '') ?? c.Id.slice(0, 12), kind, ...(stack ? { stack } : {}) }];
    });
    return { stacks: [...stacks].map(([name, n]) => ({ name, containers: n })), runtimes };
  },
});

export const stackExportRunning = defineUseCase({
  name: 'stack.exportRunning',
  summary: "Builds a stack file from containers that run now: one stack's (by label) or the given ones.",
  input: z.object({
    stack: z.string().min(1).optional(),
    /** Container ids or names. */
    containerIds: z.array(z.string().min(1)).optional(),
    /** The exported stack's name (default: the stack's, else the containers' common stack label, else "local"). */
    name: z.string().min(1).optional(),
  }),
  output: z.object({ name: z.string(), text: z.string(), warnings: z.array(z.string()) }),
  run: async (deps: StackDeps, input) => {
    const r = await exportRunningStack(engineOf(deps), { ...input, imagePatterns: deps.imagePatterns?.() ?? {} });
    return { name: r.file.name, text: r.text, warnings: r.warnings };
  },
});
