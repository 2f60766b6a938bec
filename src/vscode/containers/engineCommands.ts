// The engine's own commands: refresh, reconnect, Set Docker Host…, the status bar's Show Actions…,
// and Show Extension Log.
import * as vscode from 'vscode';
import type { EngineConnection } from '../../core/docker/connection';
import type { ContainerCache } from '../../core/docker/containerCache';
import { EndpointError, parseHost } from '../../core/docker/endpoint';
import { dockerHostSetting, setDockerHostSetting } from '../settings';

interface EngineCommandDeps {
  readonly connection: EngineConnection;
  readonly cache: ContainerCache;
  readonly log: vscode.LogOutputChannel;
  /** What the status bar says now (the Show Actions… placeholder). */
  readonly summary: () => string | undefined;
}

export function registerEngineCommands(deps: EngineCommandDeps): vscode.Disposable[] {
  return [
    vscode.commands.registerCommand('llmStack.containers.refresh', () => deps.cache.reload()),
    vscode.commands.registerCommand('llmStack.docker.reconnect', () => deps.connection.reconnect()),
    vscode.commands.registerCommand('llmStack.showLog', () => deps.log.show()),
    vscode.commands.registerCommand('llmStack.docker.configureHost', () => configureHost()),
    vscode.commands.registerCommand('llmStack.showActions', () => showActions(deps)),
  ];
}

async function configureHost(): Promise<void> {
  const current = dockerHostSetting();
  const value = await vscode.window.showInputBox({
    title: 'Docker host for LLM Stack',
    prompt: 'unix:///var/run/docker.sock, tcp://127.0.0.1:2376, npipe:////./pipe/docker_engine — empty to use DOCKER_HOST, the Docker context or the default sockets',
    value: current,
    validateInput: (v) => {
      if (!v.trim()) return undefined;
      try {
        parseHost(v);
        return undefined;
      } catch (e) {
        return e instanceof EndpointError ? e.message : String(e);
      }
    },
  });
  if (value === undefined) return;
  await setDockerHostSetting(value.trim());
}

async function showActions(deps: EngineCommandDeps): Promise<void> {
  const connected = deps.connection.state.kind === 'connected';
  const items: (vscode.QuickPickItem & { command: string })[] = [
    { label: '$(list-tree) Show Containers', command: 'llmStack.containers.focus' },
    ...(connected
      ? [
          { label: '$(debug-start) Start Containers…', command: 'llmStack.containers.start' },
          { label: '$(debug-stop) Stop Containers…', command: 'llmStack.containers.stop' },
          { label: '$(output) Show Logs…', command: 'llmStack.containers.logs' },
          { label: '$(refresh) Refresh Containers', command: 'llmStack.containers.refresh' },
        ]
      : []),
    { label: '$(plug) Reconnect to Engine', command: 'llmStack.docker.reconnect' },
    { label: '$(settings-gear) Set Docker Host…', command: 'llmStack.docker.configureHost' },
    { label: '$(output) Show Extension Log', command: 'llmStack.showLog' },
  ];
  const pick = await vscode.window.showQuickPick(items, { placeHolder: deps.summary() ?? 'LLM Stack' });
  if (pick) await vscode.commands.executeCommand(pick.command);
}
