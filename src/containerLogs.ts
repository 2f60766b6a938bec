// Show Logs: follows a container's stdout/stderr in a terminal (closing it stops following) or in
// an output channel.
import * as vscode from 'vscode';
import type { ContainerActions, LogChunk } from './core/docker/actions';
import type { IDisposable } from './core/lifecycle';
import { logsSettings } from './settings';

const RED = '\x1b[31m';
const RESET = '\x1b[0m';

export class ContainerLogs implements vscode.Disposable {
  private readonly follows = new Set<IDisposable>();
  private readonly channels = new Map<string, vscode.OutputChannel>();
  /** Terminal → stop following; closing a terminal (by the user or by code) ends its stream. */
  private readonly terminals = new Map<vscode.Terminal, () => void>();
  private readonly closeListener: vscode.Disposable;

  constructor(private readonly actions: ContainerActions) {
    this.closeListener = vscode.window.onDidCloseTerminal((t) => {
      this.terminals.get(t)?.();
      this.terminals.delete(t);
    });
  }

  /** Number of log streams being followed (tests check that closing a terminal stops one). */
  get activeFollows(): number {
    return this.follows.size;
  }

  async show(id: string, name: string): Promise<void> {
    const { target, tail } = logsSettings();
    if (target === 'outputChannel') return this.showInChannel(id, name, tail);
    return this.showInTerminal(id, name, tail);
  }

  private async showInTerminal(id: string, name: string, tail: number): Promise<void> {
    const write = new vscode.EventEmitter<string>();
    const close = new vscode.EventEmitter<void>();
    let follow: IDisposable | undefined;
    const stop = () => {
      if (follow) {
        follow.dispose();
        this.follows.delete(follow);
        follow = undefined;
      }
    };
    // Start the stream before the terminal so a failure is one clear error, not an empty terminal.
    follow = await this.actions.logs(id, name, {
      tail,
      onData: (c: LogChunk) => write.fire((c.stream === 'stderr' ? RED : '') + c.text.replace(/\r?\n/g, '\r\n') + (c.stream === 'stderr' ? RESET : '')),
      onEnd: (error) => {
        write.fire(error ? `\r\n${RED}${error.message}${RESET}\r\n` : `\r\n[log stream ended: container "${name}" stopped]\r\n`);
        if (follow) this.follows.delete(follow);
      },
    });
    this.follows.add(follow);
    const pty: vscode.Pseudoterminal = {
      onDidWrite: write.event,
      onDidClose: close.event,
      open: () => undefined,
      close: () => {
        stop();
        write.dispose();
        close.dispose();
      },
      handleInput: (data) => {
        if (data === '\x03') close.fire();
      },
    };
    const terminal = vscode.window.createTerminal({ name: `Logs: ${name}`, pty, iconPath: new vscode.ThemeIcon('output') });
    this.terminals.set(terminal, stop);
    terminal.show(true);
  }

  private async showInChannel(id: string, name: string, tail: number): Promise<void> {
    let channel = this.channels.get(id);
    if (!channel) {
      channel = vscode.window.createOutputChannel(`LLM Stack Logs: ${name}`);
      this.channels.set(id, channel);
    }
    const ch = channel;
    ch.clear();
    const follow = await this.actions.logs(id, name, {
      tail,
      onData: (c) => ch.append(c.stream === 'stderr' ? c.text.replace(/^(?=.)/gm, '[stderr] ') : c.text),
      onEnd: (error) => {
        ch.appendLine(error ? error.message : `[log stream ended: container "${name}" stopped]`);
        this.follows.delete(follow);
      },
    });
    this.follows.add(follow);
    ch.show(true);
  }

  dispose(): void {
    this.closeListener.dispose();
    this.terminals.clear();
    for (const f of this.follows) f.dispose();
    this.follows.clear();
    for (const c of this.channels.values()) c.dispose();
    this.channels.clear();
  }
}
