// Reads the extension's settings and turns them into inputs for the core.
import * as os from 'node:os';
import * as vscode from 'vscode';
import { readTextFile } from '../core/docker/connection';
import type { EndpointResolution } from '../core/docker/endpoint';
import { resolveEndpoints } from '../core/docker/endpoint';
import type { AlertSettings } from '../core/docker/alerts';
import type { ProbeSettings } from '../core/runtimes/probes';

export const SECTION = 'llmStack';

export function resolveFromSettings(): EndpointResolution {
  // Host and cert path are restricted settings: in an untrusted workspace VS Code returns the user's value only.
  const cfg = vscode.workspace.getConfiguration(SECTION);
  return resolveEndpoints({
    settingHost: cfg.get<string>('docker.host', ''),
    settingCertPath: cfg.get<string>('docker.tlsCertPath', ''),
    env: process.env,
    homedir: os.homedir(),
    platform: process.platform,
    uid: process.getuid?.(),
    readFile: readTextFile,
  });
}

export function imagePatterns(): Record<string, string> {
  const value = vscode.workspace.getConfiguration(SECTION).get<unknown>('runtimes.imagePatterns', {});
  if (!value || typeof value !== 'object' || Array.isArray(value)) return {};
  return Object.fromEntries(Object.entries(value).filter((e): e is [string, string] => typeof e[1] === 'string'));
}

export function logsSettings(): { target: 'terminal' | 'outputChannel'; tail: number } {
  const cfg = vscode.workspace.getConfiguration(SECTION);
  const target = cfg.get<string>('logs.target') === 'outputChannel' ? 'outputChannel' : 'terminal';
  const tail = Math.max(0, Math.floor(cfg.get<number>('logs.tail', 500) || 0));
  return { target, tail };
}

/** Where an endpoint's API key lives in SecretStorage (never in settings or logs). */
export { apiKeySecret } from '../app/models/apiKeys';

export function ggufFolders(): string[] {
  const value = vscode.workspace.getConfiguration(SECTION).get<unknown>('models.ggufFolders', []);
  if (!Array.isArray(value)) return [];
  const home = os.homedir();
  return [...new Set(value.filter((v): v is string => typeof v === 'string' && !!v.trim()).map((v) => v.trim().replace(/^~(?=$|[\\/])/, home)))];
}

export function userEndpointsSetting(): unknown {
  return vscode.workspace.getConfiguration(SECTION).get<unknown>('runtimes.endpoints', []);
}

export function idleSettings(): { unloadMinutes: number; stopContainerMinutes: number } {
  const cfg = vscode.workspace.getConfiguration(SECTION);
  const num = (k: string, d: number) => {
    const v = cfg.get<number>(k, d);
    return typeof v === 'number' && Number.isFinite(v) && v > 0 ? v : 0;
  };
  return { unloadMinutes: num('models.idleUnloadMinutes', 30), stopContainerMinutes: num('models.idleStopContainerMinutes', 0) };
}

/**
 * What a window hands the per-user service: the user's own values of the registry's, idle
 * handling's and the alerts' settings, never a workspace's (a folder must not configure every
 * window's service).
 */
export function serviceSettings(): {
  registry: { encrypt: boolean; keepBackups: number; backupIntervalHours: number; retentionDays: number };
  idle: { idleUnloadMinutes: number; idleStopContainerMinutes: number; preloadMinutes: number };
  alerts: { rateLimitMinutes: number; probeIntervalSeconds: number; probeFailures: number; probeTimeoutSeconds: number };
  metrics: { intervalSeconds: number; historyMinutes: number; gpu: boolean; nvidiaSmiPath: string };
} {
  const cfg = vscode.workspace.getConfiguration(SECTION);
  // The user's value where it is valid, else the manifest's default (the one place defaults are written).
  const user = <T>(key: string, ok: (v: unknown) => boolean): T => {
    const i = cfg.inspect<T>(key);
    return (ok(i?.globalValue) ? i?.globalValue : i?.defaultValue) as T;
  };
  const num = (min: number) => (v: unknown) => typeof v === 'number' && Number.isFinite(v) && v >= min;
  return {
    registry: {
      encrypt: user('registry.encrypt', (v) => typeof v === 'boolean'),
      keepBackups: Math.floor(user('registry.keepBackups', num(1))),
      backupIntervalHours: user('registry.backupIntervalHours', num(0)),
      retentionDays: Math.floor(user('registry.retentionDays', num(1))),
    },
    idle: { idleUnloadMinutes: user('models.idleUnloadMinutes', num(0)), idleStopContainerMinutes: user('models.idleStopContainerMinutes', num(0)), preloadMinutes: Math.min(240, user('models.preloadMinutes', num(0))) },
    alerts: {
      rateLimitMinutes: user('alerts.rateLimitMinutes', num(0)),
      probeIntervalSeconds: user('alerts.probeIntervalSeconds', num(0)),
      probeFailures: Math.floor(user('alerts.probeFailures', num(1))),
      probeTimeoutSeconds: user('alerts.probeTimeoutSeconds', num(1)),
    },
    metrics: {
      intervalSeconds: user('metrics.intervalSeconds', num(0.25)),
      historyMinutes: user('metrics.historyMinutes', num(1)),
      gpu: user('metrics.gpu', (v) => typeof v === 'boolean'),
      nvidiaSmiPath: user('metrics.nvidiaSmiPath', (v) => typeof v === 'string'),
    },
  };
}

/**
 * What is this window's own, handed to the service with service.attach: the engine it resolved and
 * the runtimes its settings name (a trusted workspace's included; in Restricted Mode VS Code
 * returns the user's values of these restricted settings only).
 */
export function clientSettings(): { engine: string | undefined; endpoints: unknown[]; ggufFolders: string[] } {
  const endpoints = userEndpointsSetting();
  return { engine: resolveFromSettings().candidates[0]?.url, endpoints: Array.isArray(endpoints) ? endpoints : [], ggufFolders: ggufFolders() };
}

/** The metrics sampler's settings, read once at activation (a change applies after a reload). */
export function metricsSettings(): { intervalMs: number; historyMinutes: number; gpu: boolean; nvidiaSmiPath: string | undefined } {
  const cfg = vscode.workspace.getConfiguration(SECTION);
  return {
    intervalMs: Math.max(250, cfg.get<number>('metrics.intervalSeconds', 1) * 1000),
    historyMinutes: Math.max(1, cfg.get<number>('metrics.historyMinutes', 60)),
    gpu: cfg.get<boolean>('metrics.gpu', true),
    nvidiaSmiPath: cfg.get<string>('metrics.nvidiaSmiPath', '') || undefined,
  };
}

/** llmStack.docker.host as the user set it ('' when unset). */
export function dockerHostSetting(): string {
  return vscode.workspace.getConfiguration(SECTION).get<string>('docker.host', '');
}

export async function setDockerHostSetting(value: string): Promise<void> {
  await vscode.workspace.getConfiguration(SECTION).update('docker.host', value, vscode.ConfigurationTarget.Global);
}

/** The alert monitor's settings. */
export function alertSettings(): AlertSettings {
  const v = vscode.workspace.getConfiguration(SECTION).get<number>('alerts.rateLimitMinutes', 10);
  return { rateLimitMinutes: typeof v === 'number' && Number.isFinite(v) && v >= 0 ? v : 10 };
}

export function probeSettings(): ProbeSettings {
  const cfg = vscode.workspace.getConfiguration(SECTION);
  const num = (k: string, d: number, min: number) => {
    const v = cfg.get<number>(k, d);
    return typeof v === 'number' && Number.isFinite(v) && v >= min ? v : d;
  };
  return {
    intervalMs: num('alerts.probeIntervalSeconds', 30, 0) * 1000,
    failureThreshold: Math.floor(num('alerts.probeFailures', 2, 1)),
    timeoutMs: num('alerts.probeTimeoutSeconds', 5, 1) * 1000,
  };
}

/** llmStack.statusBar.metrics: live CPU and GPU figures in the status bar item. */
export function statusBarMetricsSetting(): boolean {
  return vscode.workspace.getConfiguration(SECTION).get<boolean>('statusBar.metrics', false);
}

/** Adds an endpoint to llmStack.runtimes.endpoints (user settings). */
export async function addUserEndpointSetting(entry: { url: string; kind: string; name?: string }): Promise<void> {
  const cfg = vscode.workspace.getConfiguration(SECTION);
  const list = cfg.get<unknown[]>('runtimes.endpoints', []);
  await cfg.update('runtimes.endpoints', [...(Array.isArray(list) ? list : []), entry], vscode.ConfigurationTarget.Global);
}

/** Adds folders to llmStack.models.ggufFolders (user settings), each once. */
export async function addGgufFoldersSetting(folders: readonly string[]): Promise<void> {
  const cfg = vscode.workspace.getConfiguration(SECTION);
  const list = cfg.get<string[]>('models.ggufFolders', []);
  await cfg.update('models.ggufFolders', [...new Set([...(Array.isArray(list) ? list : []), ...folders])], vscode.ConfigurationTarget.Global);
}
