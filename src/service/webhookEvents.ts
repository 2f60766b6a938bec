// What the service tells webhooks: alerts raised and cleared, and the results of the use cases that
// change models and stacks, as (event, data) pairs. Only what happened is sent: a pull that failed
// sends nothing, a stack apply with no changes sends nothing.
import type { Alert } from '../core/docker/alerts';
import type { WebhookEvent } from '../core/webhooks/store';

export interface Outgoing {
  readonly event: WebhookEvent;
  readonly data: unknown;
}

const ALERT_EVENTS: Record<Alert['kind'], WebhookEvent> = {
  unhealthy: 'container.unhealthy',
  exited: 'container.exited',
  'restart-loop': 'container.restart-loop',
  'probe-failed': 'runtime.unreachable',
};

function alertData(a: Alert) {
  return { alert: { kind: a.kind, severity: a.severity, message: a.message, at: new Date(a.at).toISOString() }, container: a.target === 'container' ? { id: a.containerId, name: a.containerName } : undefined, runtime: a.endpointId };
}

export function alertRaised(a: Alert): Outgoing {
  return { event: ALERT_EVENTS[a.kind], data: alertData(a) };
}

export function alertCleared(a: Alert): Outgoing {
  return { event: 'alert.cleared', data: alertData(a) };
}

type Result = Record<string, unknown>;

/** The events a use case's result stands for. */
export function useCaseEvents(name: string, result: unknown): Outgoing[] {
  const r = (result ?? {}) as Result;
  switch (name) {
    case 'models.pull': {
      const results = (r.results ?? []) as { name: string; outcome: string }[];
      return results.filter((p) => p.outcome === 'pulled').map((p) => ({ event: 'model.pulled', data: { runtime: { id: r.runtimeId, name: r.runtimeName }, model: p.name } }));
    }
    case 'models.delete': {
      const results = (r.results ?? []) as { runtimeId: string; name: string; ok: boolean }[];
      return results.filter((d) => d.ok).map((d) => ({ event: 'model.deleted', data: { runtime: { id: d.runtimeId }, model: d.name } }));
    }
    case 'stack.apply':
      return r.skipped ? [] : [{ event: 'stack.applied', data: { stack: r.stack, summary: r.summary, models: r.models } }];
    case 'bench.run': {
      const levels = (r.levels ?? []) as { concurrency: number; tgTps?: { p50: number }; ttftMs?: { p50: number }; regression: { regression: boolean } }[];
      return [{ event: 'benchmark.finished', data: { runId: r.runId, runtime: r.runtime, model: r.model, hardware: r.hardware, promptSet: r.promptSet, regression: r.regression, levels: levels.map((l) => ({ concurrency: l.concurrency, tgTpsP50: l.tgTps?.p50, ttftMsP50: l.ttftMs?.p50, regression: l.regression.regression })) } }];
    }
    case 'stack.down':
      return [{ event: 'stack.down', data: { stack: r.stack, removed: r.removed, volumesRemoved: r.volumesRemoved } }];
    default:
      return [];
  }
}
