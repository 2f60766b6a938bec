// Shared pieces of the benchmarks: sizes from the environment, a seeded generator, and budget checks.
import { round } from './stats';

/** A positive integer from the environment (BENCH_* overrides), else the fallback. */
export function envNumber(name: string, fallback: number): number {
  const v = Number(process.env[name]);
  return process.env[name] && Number.isFinite(v) && v > 0 ? Math.floor(v) : fallback;
}

/** A small LCG, so every run builds the same data set. */
export function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

export interface BudgetCheck {
  readonly target: string;
  readonly value: number | null;
  readonly met: boolean | null;
  readonly ratio: number | null;
}

/** A measured value against its budget; met and ratio are null when the value could not be measured. */
export function budget(value: unknown, limit: number, unit: string, op: '<=' | '>=' | '=' = '<='): BudgetCheck {
  const v = typeof value === 'number' && Number.isFinite(value) ? value : null;
  return {
    target: `${op} ${limit} ${unit}`.trim(),
    value: v,
    met: v === null ? null : op === '=' ? v === limit : op === '>=' ? v >= limit : v <= limit,
    ratio: v === null ? null : limit === 0 ? (v === 0 ? 0 : null) : round(v / limit, 3),
  };
}

/** The names of the budgets missed and of those not measured. */
export function budgetSummary(targets: Record<string, BudgetCheck>): { targetsMissed: string[]; targetsNotMeasured: string[] } {
  const entries = Object.entries(targets);
  return { targetsMissed: entries.filter(([, t]) => t.met === false).map(([k]) => k), targetsNotMeasured: entries.filter(([, t]) => t.met === null).map(([k]) => k) };
}
