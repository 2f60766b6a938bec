// Second runner for the same "(host)" suite: desktop VS Code through @vscode/test-electron.
// It downloads VS Code, so it only works where that download is reachable.
import * as path from 'node:path';
import { runTests } from '@vscode/test-electron';
import { ROOT } from './codeServerHost';

async function main(): Promise<void> {
  try {
    await runTests({
      version: process.env.VSCODE_TEST_VERSION || '1.100.3',
      extensionDevelopmentPath: ROOT,
      extensionTestsPath: path.join(ROOT, 'out', 'test', 'host', 'suite', 'index.js'),
      launchArgs: ['--disable-extensions', '--disable-workspace-trust'],
    });
  } catch (e) {
    console.error(`The host suite under desktop VS Code failed or could not start: ${(e as Error).message}`);
    console.error('Where VS Code cannot be downloaded, use `npm run test:host` (code-server + Chromium) instead.');
    process.exit(1);
  }
}

void main();
