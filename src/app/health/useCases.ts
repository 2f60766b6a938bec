// Alerts as every front end sees them: the active alerts and the mutes, muting and unmuting a
// container, and telling the watcher that a stop is the user's own (no alert for it). The alert
// rules themselves live in the core (AlertMonitor); one monitor runs in the service for every window.
import { z } from 'zod';
import type { AlertMonitor } from '../../core/docker/alerts';
import { defineUseCase } from '../useCase';

interface HealthDeps {
  readonly alerts: AlertMonitor;
}

export const alertSchema = z.object({
  id: z.string(),
  containerId: z.string(),
  containerName: z.string(),
  kind: z.enum(['unhealthy', 'exited', 'restart-loop', 'probe-failed']),
  severity: z.enum(['warning', 'error']),
  message: z.string(),
  at: z.number(),
  target: z.enum(['container', 'endpoint']),
  endpointId: z.string().optional(),
  muted: z.boolean(),
});
export const muteSchema = z.object({ id: z.string().min(1).max(256), until: z.number().optional() });
const stateSchema = z.object({ alerts: z.array(alertSchema), mutes: z.array(muteSchema) });
type AlertsState = z.infer<typeof stateSchema>;

const containerId = z.string().min(1).max(256);

/** The active alerts (oldest first) and the mutes: what the status bar and the alerts list show. */
export function alertsState(monitor: AlertMonitor): AlertsState {
  return { alerts: monitor.active(), mutes: monitor.mutes };
}

const list = defineUseCase({
  name: 'alerts.list',
  summary: 'Lists the active alerts (oldest first, muted ones marked) and the muted containers.',
  input: z.object({}),
  output: stateSchema,
  run: (deps: HealthDeps) => Promise.resolve(alertsState(deps.alerts)),
});

const mute = defineUseCase({
  name: 'alerts.mute',
  summary: "Mutes a container's alert notifications, until a time (epoch ms) or until unmuted; its alerts stay listed.",
  input: z.object({ containerId, untilMs: z.number().positive().optional() }),
  output: stateSchema,
  run: (deps: HealthDeps, input) => {
    deps.alerts.mute(input.containerId, input.untilMs);
    return Promise.resolve(alertsState(deps.alerts));
  },
});

const unmute = defineUseCase({
  name: 'alerts.unmute',
  summary: "Unmutes one container's alert notifications, or every container's with all: true.",
  input: z.union([z.object({ containerId }), z.object({ all: z.literal(true) })]),
  output: stateSchema,
  run: (deps: HealthDeps, input) => {
    if ('all' in input) deps.alerts.unmuteAll();
    else deps.alerts.unmute(input.containerId);
    return Promise.resolve(alertsState(deps.alerts));
  },
});

const expectStop = defineUseCase({
  name: 'alerts.expectStop',
  summary: 'Says that a container is about to be stopped, restarted or removed on purpose: its exit in the next 30 s raises no alert.',
  input: z.object({ containerId }),
  output: z.object({}),
  run: (deps: HealthDeps, input) => {
    deps.alerts.expectStop(input.containerId);
    return Promise.resolve({});
  },
});

export const healthUseCases = [list, mute, unmute, expectStop] as const;
