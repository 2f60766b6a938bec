// What the stack use cases say about a plan or an apply, worked out once for every front end: the
// plan document's text, what a confirmation must name, a plan's fingerprint, an apply's summary.
import { createHash } from 'node:crypto';
import { hostPathWarnings } from '../../core/stack/hostPaths';
import { formatPlan, type PlanStep, type StackPlan } from '../../core/stack/plan';
import type { ApplyReport } from '../../core/stack/apply';
import type { PreparedStack } from '../../core/stack/workflow';

/** The plan as the user reads it: the diff lines, then a summary and the `auto` choices. */
export function planDocumentText(p: PreparedStack, plan: StackPlan): string {
  const lines = [`# Plan for stack "${p.file.name}" (${p.stackDir})`, '#', formatPlan(plan)];
  if (p.resolved.explanations.length) {
    lines.push('', '# auto values on this machine:');
    for (const x of p.resolved.explanations) lines.push(`#   ${x.path.join('.')}: ${x.text}`);
  }
  return `${lines.join('\n')}\n`;
}

/** What the destructive changes (recreate, stop, remove) act on: what a confirmation names. */
export function destructiveTargets(plan: StackPlan): string[] {
  return plan.changes.filter((s) => s.kind === 'recreate' || s.kind === 'remove' || s.kind === 'stop').map((s) => s.service ?? s.target);
}

/** The warnings about sensitive host paths the containers would get. */
export function planWarnings(plan: StackPlan): string[] {
  return hostPathWarnings(plan.hostMounts ?? []).map((w) => w.message);
}

/**
 * Identifies the changes of a plan: an apply given the fingerprint of the plan the user confirmed
 * refuses to carry out a different one (the engine or the file changed in between).
 */
export function planFingerprint(plan: StackPlan): string {
  const key = (s: PlanStep) => [s.kind, s.service ?? '', s.target, s.reason, s.containerId ?? '', s.dependsOn.join(',')];
  const mounts = (plan.hostMounts ?? []).map((m) => [m.service, m.kind, m.source, m.target, m.readOnly]);
  return createHash('sha256').update(JSON.stringify([plan.stack, plan.changes.map(key), mounts])).digest('hex').slice(0, 16);
}

/** "1 create, 2 pull in 3.4 s": what was done, by kind, and how long it took. */
export function applySummary(report: ApplyReport): string {
  const counts = new Map<string, number>();
  for (const s of report.done) counts.set(s.kind, (counts.get(s.kind) ?? 0) + 1);
  const parts = [...counts].map(([k, n]) => `${n} ${k}`);
  return `${parts.join(', ') || 'nothing'} in ${(report.durationMs / 1000).toFixed(1)} s`;
}
