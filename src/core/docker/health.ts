// The engine's health in one line, for the status bar: level, text and tooltip. Active alerts
// (see alerts.ts) raise the level to their severity and are listed in the tooltip.
import type { Alert } from './alerts';
import type { ConnectionState } from './connection';
import { Classifier, ContainerRecord, displayState, formatDuration } from './containers';

type HealthLevel = 'ok' | 'warning' | 'error' | 'stopped';

export interface HealthSummary {
  readonly level: HealthLevel;
  /** Short text without icons, e.g. "Docker · 3 runtimes up · 1 unhealthy". */
  readonly text: string;
  /** Markdown. */
  readonly tooltip: string;
  readonly counts: { readonly runtimesUp: number; readonly runtimes: number; readonly unhealthy: number; readonly restarting: number; readonly containers: number };
  /** The active alerts the summary took into account (errors first); absent when there are none. */
  readonly alerts?: readonly HealthAlert[];
}

/** The part of an alert the summary reads. */
export type HealthAlert = Pick<Alert, 'containerName' | 'kind' | 'severity' | 'message'> & { readonly muted?: boolean };

/** Container names and healthcheck output may hold characters Markdown would read as formatting. */
function escapeMarkdown(text: string): string {
  return text.replace(/[\\`*_[\]<>|]/g, (c) => `\\${c}`);
}

const levelRank: Record<HealthLevel, number> = { stopped: 0, ok: 1, warning: 2, error: 3 };

export function summarizeHealth(state: ConnectionState, records: readonly ContainerRecord[], classifier: Classifier, now = Date.now(), alerts: readonly HealthAlert[] = []): HealthSummary {
  const counts = { runtimesUp: 0, runtimes: 0, unhealthy: 0, restarting: 0, containers: records.length };
  if (state.kind === 'connecting') {
    return { level: 'stopped', text: 'Engine · connecting…', tooltip: 'Connecting to the container engine…', counts };
  }
  if (state.kind === 'disconnected') {
    const tried = state.failures.map((f) => `- ${f.origin}: ${f.reason}`);
    const next = state.nextAttemptAt ? `Next attempt in ${formatDuration(Math.max(0, state.nextAttemptAt - now))}.` : '';
    return {
      level: 'error',
      text: 'Engine · not connected',
      tooltip: ['**No container engine answers.**', '', ...(tried.length ? ['Tried:', ...tried] : []), ...state.problems.map((p) => `- ${p}`), '', next, 'Click for actions.'].join('\n'),
      counts,
    };
  }
  for (const r of records) {
    const ds = displayState(r);
    if (ds.text === 'unhealthy') counts.unhealthy++;
    if (r.state === 'restarting') counts.restarting++;
    if (classifier.classify(r)) {
      counts.runtimes++;
      if (r.state === 'running') counts.runtimesUp++;
    }
  }
  const parts = [state.engine.name, `${counts.runtimesUp} runtime${counts.runtimesUp === 1 ? '' : 's'} up`];
  if (counts.unhealthy) parts.push(`${counts.unhealthy} unhealthy`);
  if (counts.restarting) parts.push(`${counts.restarting} restarting`);
  let level: HealthLevel = counts.unhealthy ? 'error' : counts.restarting ? 'warning' : 'ok';
  const sorted = [...alerts].sort((a, b) => (a.severity === b.severity ? 0 : a.severity === 'error' ? -1 : 1));
  for (const a of sorted) if (levelRank[a.severity] > levelRank[level]) level = a.severity;
  if (sorted.length) parts.push(`${sorted.length} alert${sorted.length === 1 ? '' : 's'}`);
  const tooltip = [
    `**${state.engine.name} ${state.engine.version}** (API ${state.engine.apiVersion}, ${state.engine.os}/${state.engine.arch})`,
    '',
    `Endpoint: \`${state.endpoint.url}\` via ${state.endpoint.origin}`,
    `Containers: ${counts.containers}, LLM runtimes: ${counts.runtimes} (${counts.runtimesUp} up)`,
    ...(counts.unhealthy ? [`Unhealthy: ${counts.unhealthy}`] : []),
    ...(counts.restarting ? [`Restarting: ${counts.restarting}`] : []),
    ...(sorted.length ? ['', `**Alerts (${sorted.length}):**`, ...sorted.map((a) => `- ${a.severity === 'error' ? 'Error' : 'Warning'}: ${escapeMarkdown(a.message)}${a.muted ? ' (muted)' : ''}`)] : []),
    '',
    sorted.length ? 'Click to see the alerts.' : 'Click for actions.',
  ].join('\n');
  return sorted.length ? { level, text: parts.join(' · '), tooltip, counts, alerts: sorted } : { level, text: parts.join(' · '), tooltip, counts };
}

/**
 * Context keys the welcome content keys on: what was tried (source) and why it failed (problem),
 * so the view gives advice that fits without a popup. Details live in the status bar tooltip and the log.
 */
export function connectionContext(state: ConnectionState): { connection: string; source: string; problem: string } {
  if (state.kind !== 'disconnected') return { connection: state.kind, source: '', problem: '' };
  const kinds = new Set(state.failures.map((f) => f.kind));
  const problem =
    state.source === 'none' ? 'invalid' : kinds.has('permission') ? 'permission' : kinds.has('tls') ? 'tls' : kinds.has('lost') ? 'lost' : [...kinds].every((k) => k === 'missing') ? 'missing' : 'unreachable';
  return { connection: 'disconnected', source: state.source, problem };
}

/** One line next to the view title: the engine when connected, the problem otherwise. */
export function viewDescription(state: ConnectionState): string | undefined {
  if (state.kind === 'connected') return `${state.engine.name} ${state.engine.version}`;
  if (state.kind === 'connecting') return 'connecting…';
  return state.failures.length ? `not connected: ${state.failures[0].reason}` : 'not connected';
}
