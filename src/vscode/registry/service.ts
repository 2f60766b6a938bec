// The editor's registry: the app's RegistryHost with the file in global storage, the key in
// SecretStorage, the settings from the configuration, and a recovered file reported as a warning.
import * as path from 'node:path';
import * as vscode from 'vscode';
import { RegistryHost, registryFile } from '../../app/registry/host';
import { registrySettings } from '../settings';

export class RegistryService extends RegistryHost implements vscode.Disposable {
  constructor(context: vscode.ExtensionContext, log: vscode.LogOutputChannel) {
    super({
      file: registryFile(context.globalStorageUri.fsPath),
      wasmPath: context.asAbsolutePath(path.join('dist', 'sql-wasm.wasm')),
      settings: registrySettings,
      keys: {
        get: (name) => Promise.resolve(context.secrets.get(name)),
        set: (name, value) => Promise.resolve(context.secrets.store(name, value)),
        delete: (name) => Promise.resolve(context.secrets.delete(name)),
      },
      log: { debug: (m) => log.debug(m), info: (m) => log.info(m), warn: (m) => log.warn(m), error: (m) => log.error(m) },
      onRecovery: (r) => {
        const what = r.restoredFrom ? `The newest good backup was restored (${path.basename(r.restoredFrom)}).` : 'No usable backup was found, so a new registry was started.';
        void vscode.window
          .showWarningMessage(`The model registry file was damaged and has been moved aside to ${r.movedTo}. ${what}`, 'Reveal Damaged File', 'Show Log')
          .then((a) => {
            if (a === 'Reveal Damaged File') void vscode.commands.executeCommand('revealFileInOS', vscode.Uri.file(r.movedTo));
            if (a === 'Show Log') log.show();
          });
      },
    });
  }
}
