// Turns cache records into what the Containers view shows: groups, labels, descriptions,
// tooltips, icons and context values. Pure functions, so the view stays thin and this is
// measurable in plain Node.
import {
  Classifier,
  ContainerRecord,
  displayState,
  formatDuration,
  formatPorts,
  portUrl,
  RuntimeKind,
  runtimeDisplayNames,
} from './containers';

export interface ContainerNodeModel {
  readonly kind: 'container';
  readonly id: string;
  readonly name: string;
  readonly runtime: RuntimeKind | undefined;
  readonly label: string;
  readonly description: string;
  /** Markdown. */
  readonly tooltip: string;
  /** Codicon id and theme colour id. */
  readonly icon: { readonly id: string; readonly color: string };
  /** e.g. "container:running runtime ports" — matched by the manifest's `when` clauses. */
  readonly contextValue: string;
  readonly record: ContainerRecord;
}

export interface ContainerTreeModel {
  readonly runtimes: ContainerNodeModel[];
  readonly others: ContainerNodeModel[];
}

const iconByState: Record<string, { id: string; color: string }> = {
  running: { id: 'vm-running', color: 'testing.iconPassed' },
  unhealthy: { id: 'warning', color: 'testing.iconFailed' },
  starting: { id: 'loading~spin', color: 'charts.yellow' },
  restarting: { id: 'sync~spin', color: 'charts.yellow' },
  paused: { id: 'debug-pause', color: 'charts.yellow' },
  dead: { id: 'error', color: 'testing.iconFailed' },
  exited: { id: 'vm-outline', color: 'disabledForeground' },
  created: { id: 'vm-outline', color: 'disabledForeground' },
};

function escapeMd(text: string): string {
  return text.replace(/[\\`*_{}[\]()#+\-.!|<>]/g, '\\$&');
}

export function describeContainer(r: ContainerRecord, runtime: RuntimeKind | undefined, now: number): ContainerNodeModel {
  const ds = displayState(r);
  const uptime = r.startedAt !== undefined && (r.state === 'running' || r.state === 'paused') ? formatDuration(now - r.startedAt) : undefined;
  const ports = formatPorts(r.ports);
  const parts = [ds.text + (uptime ? ` ${uptime}` : ''), r.image];
  if (ports) parts.push(ports);
  const tooltip = [
    `**${escapeMd(r.name)}** — ${escapeMd(ds.text)}${runtime ? ` · ${escapeMd(runtimeDisplayNames[runtime])}` : ''}`,
    '',
    `Image: \`${r.image}\``,
    `Status: ${escapeMd(r.statusText || r.state)}`,
    ...(uptime ? [`Uptime: ${uptime}`] : []),
    ...(r.ports.length ? [`Ports: ${r.ports.map((p) => `[${p.hostPort}→${p.containerPort}/${p.protocol}](${portUrl(p)})`).join(', ')}`] : []),
    `ID: \`${r.id.slice(0, 12)}\``,
  ].join('  \n');
  const ctx = [`container:${r.state}`];
  if (r.health) ctx.push(`health:${r.health}`);
  if (runtime) ctx.push('runtime');
  if (r.ports.some((p) => p.protocol === 'tcp')) ctx.push('ports');
  return {
    kind: 'container',
    id: r.id,
    name: r.name,
    runtime,
    label: r.name,
    description: parts.join(' · '),
    tooltip,
    icon: iconByState[ds.text] ?? iconByState.exited,
    contextValue: ctx.join(' '),
    record: r,
  };
}

const runtimeOrder: Record<RuntimeKind, number> = { ollama: 0, llamacpp: 1, vllm: 2, tgi: 3, localai: 4, other: 5, openwebui: 6 };

/** Runtimes first (grouped by kind, then by name), then every other container by name. */
export function buildContainerTree(records: Iterable<ContainerRecord>, classifier: Classifier, now: number): ContainerTreeModel {
  const runtimes: ContainerNodeModel[] = [];
  const others: ContainerNodeModel[] = [];
  for (const r of records) {
    const kind = classifier.classify(r);
    (kind ? runtimes : others).push(describeContainer(r, kind, now));
  }
  runtimes.sort((a, b) => runtimeOrder[a.runtime!] - runtimeOrder[b.runtime!] || a.name.localeCompare(b.name));
  others.sort((a, b) => a.name.localeCompare(b.name));
  return { runtimes, others };
}
