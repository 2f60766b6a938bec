// Show Logs: follows a container's stdout/stderr in a terminal (closing it stops following) or in
// an output channel; one view and one stream per container, revealed again when asked twice.
import * as vscode from 'vscode';
import { ContainersDeps, followLogs } from '../../app/containers/useCases';
import type { LogChunk } from '../../core/docker/actions';
import { toDisposable, type IDisposable } from '../../core/lifecycle';
import { logsSettings } from '../settings';

const RED = '\x1b[31m';
const RESET = '\x1b[0m';

/** A container's output channel and the stream feeding it (none once the stream ended). */
interface ChannelFollow {
  readonly channel: vscode.OutputChannel;
  follow?: IDisposable;
}

export class ContainerLogs implements vscode.Disposable {
  private readonly follows = new Set<IDisposable>();
  private readonly channels = new Map<string, ChannelFollow>();
  /** Container id → its logs terminal, what stops its stream, and whether the stream still runs. */
  private readonly terminals = new Map<string, { terminal: vscode.Terminal; stop: () => void; live: boolean }>();
  /** Streams being opened, so a second Show Logs while the first is connecting waits for it. */
  private readonly opening = new Map<string, Promise<void>>();
  private readonly closeListener: vscode.Disposable;

  constructor(private readonly deps: ContainersDeps) {
    this.closeListener = vscode.window.onDidCloseTerminal((t) => {
      for (const [id, entry] of this.terminals) {
        if (entry.terminal !== t) continue;
        entry.stop();
        this.terminals.delete(id);
      }
    });
  }

  /** Number of log streams being followed (tests check that closing a terminal stops one). */
  get activeFollows(): number {
    return this.follows.size;
  }

  async show(id: string, name: string): Promise<void> {
    const pending = this.opening.get(id);
    if (pending) return pending;
    const { target, tail } = logsSettings();
    const opened = target === 'outputChannel' ? this.showInChannel(id, name, tail) : this.showInTerminal(id, name, tail);
    this.opening.set(id, opened);
    try {
      await opened;
    } finally {
      this.opening.delete(id);
    }
  }

  /**
   * Opens the stream (a failure to open throws: one clear error, no empty view) and counts it as
   * followed until it ends or is disposed; `onEnd` is told when it ended by itself.
   */
  private async follow(id: string, name: string, tail: number, onChunk: (c: LogChunk) => void, onEnd: (error?: Error) => void): Promise<IDisposable> {
    const ctl = new AbortController();
    const { ended } = await followLogs(this.deps, { id, name, tail }, { signal: ctl.signal, onChunk });
    const raw = toDisposable(() => ctl.abort());
    void ended.then((error) => {
      if (ctl.signal.aborted) return;
      this.follows.delete(raw);
      onEnd(error);
    });
    return raw;
  }

  private track(follow: IDisposable): IDisposable {
    this.follows.add(follow);
    return {
      dispose: () => {
        follow.dispose();
        this.follows.delete(follow);
      },
    };
  }

  private async showInTerminal(id: string, name: string, tail: number): Promise<void> {
    // Running it again reveals the terminal that already follows this container; one whose
    // stream ended (the container stopped) is replaced by a fresh one.
    const open = this.terminals.get(id);
    if (open?.live) {
      open.terminal.show(true);
      return;
    }
    open?.terminal.dispose();
    this.terminals.delete(id);
    const write = new vscode.EventEmitter<string>();
    const close = new vscode.EventEmitter<void>();
    let follow: IDisposable | undefined;
    const stop = () => {
      follow?.dispose();
      follow = undefined;
    };
    // Start the stream before the terminal so a failure is one clear error, not an empty terminal.
    const raw = await this.follow(
      id,
      name,
      tail,
      (c) => write.fire((c.stream === 'stderr' ? RED : '') + c.text.replace(/\r?\n/g, '\r\n') + (c.stream === 'stderr' ? RESET : '')),
      (error) => {
        write.fire(error ? `\r\n${RED}${error.message}${RESET}\r\n` : `\r\n[log stream ended: container "${name}" stopped]\r\n`);
        const entry = this.terminals.get(id);
        if (entry?.stop === stop) entry.live = false;
      },
    );
    follow = this.track(raw);
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
    this.terminals.set(id, { terminal, stop, live: true });
    terminal.show(true);
  }

  private async showInChannel(id: string, name: string, tail: number): Promise<void> {
    let entry = this.channels.get(id);
    if (!entry) {
      entry = { channel: vscode.window.createOutputChannel(`LLM Stack Logs: ${name}`) };
      this.channels.set(id, entry);
    }
    const e = entry;
    // Still following: reveal the channel; a second stream would print every line twice.
    if (e.follow) {
      e.channel.show(true);
      return;
    }
    // The previous stream ended (the container stopped): start over with the tail.
    e.channel.clear();
    const raw = await this.follow(
      id,
      name,
      tail,
      (c) => e.channel.append(c.stream === 'stderr' ? c.text.replace(/^(?=.)/gm, '[stderr] ') : c.text),
      (error) => {
        e.channel.appendLine(error ? error.message : `[log stream ended: container "${name}" stopped]`);
        if (e.follow === tracked) e.follow = undefined;
      },
    );
    const tracked = this.track(raw);
    e.follow = tracked;
    e.channel.show(true);
  }

  dispose(): void {
    this.closeListener.dispose();
    this.terminals.clear();
    for (const f of this.follows) f.dispose();
    this.follows.clear();
    for (const { channel, follow } of this.channels.values()) {
      follow?.dispose();
      channel.dispose();
    }
    this.channels.clear();
  }
}
