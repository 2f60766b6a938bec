// Extension-tests entry (the contract both code-server's and @vscode/test-electron's hosts use):
// runs every "(host)" mocha test in this folder inside the real extension host.
// LLMSTACK_HOST_GREP narrows the run to the tests whose full title matches it (a regular
// expression), for iterating on a few tests: `LLMSTACK_HOST_GREP='commands' node out/test/host/runSubset.js`.
import * as fs from 'node:fs';
import * as path from 'node:path';
import Mocha from 'mocha';

function grep(): RegExp {
  const only = process.env.LLMSTACK_HOST_GREP;
  return only ? new RegExp(`(?=.*\\(host\\))(?=.*(?:${only}))`) : /\(host\)/;
}

export function run(): Promise<void> {
  const mocha = new Mocha({ ui: 'bdd', timeout: 120_000, color: false, reporter: 'spec', grep: grep() });
  for (const f of (fs.readdirSync(__dirname, { recursive: true }) as string[]).sort()) {
    if (f.endsWith('.test.js')) mocha.addFile(path.join(__dirname, f));
  }
  return new Promise((resolve, reject) => {
    mocha.run((failures) => {
      console.log(`host suite: ${failures} failure(s)`);
      if (failures) reject(new Error(`${failures} host test(s) failed`));
      else resolve();
    });
  });
}
