// How every feature reports a failure: the message in the extension's log, and an error
// notification whose Show Log button opens that log (with `firstLine`, only the message's first
// line is shown: a stack file's list of problems stays in the log and the editor).
import * as vscode from 'vscode';

export function showErrorWithLog(log: { error(message: string): void; show(): void }, message: string, o: { firstLine?: boolean } = {}): void {
  log.error(message);
  void vscode.window.showErrorMessage(o.firstLine ? message.split('\n')[0] : message, 'Show Log').then((a) => a && log.show());
}
