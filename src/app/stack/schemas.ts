// The stack use cases' data as zod schemas: what the HTTP API returns and documents. They mirror
// the core types (plan steps, apply reports, model outcomes) field for field.
import { z } from 'zod';

const stepKind = z.enum(['pull', 'create-network', 'create-volume', 'create', 'recreate', 'start', 'stop', 'remove', 'unchanged']);

const planStepSchema = z.object({
  kind: stepKind,
  service: z.string().optional(),
  target: z.string(),
  reason: z.string(),
  dependsOn: z.array(z.string()).readonly(),
  containerId: z.string().optional(),
});

const hostMountSchema = z.object({
  service: z.string(),
  kind: z.enum(['bind', 'device']),
  source: z.string(),
  target: z.string(),
  readOnly: z.boolean(),
  warning: z.string().optional(),
});

export const stackPlanSchema = z.object({
  stack: z.string(),
  steps: z.array(planStepSchema).readonly(),
  changes: z.array(planStepSchema).readonly(),
  hostMounts: z.array(hostMountSchema).readonly().optional(),
});

const stepFailureSchema = z.object({ step: planStepSchema, error: z.string() });

export const applyReportSchema = z.object({
  done: z.array(planStepSchema).readonly(),
  failed: stepFailureSchema.optional(),
  failures: z.array(stepFailureSchema).readonly(),
  notRun: z.array(planStepSchema).readonly(),
  cancelled: z.boolean(),
  durationMs: z.number(),
});

export const stackModelResultSchema = z.object({
  service: z.string(),
  model: z.string(),
  outcome: z.enum(['present', 'pulled', 'loaded', 'skipped', 'queued', 'failed']),
  message: z.string().optional(),
});
