// Runs part of the "(host)" suite inside the real extension host, without the UI driver's
// screenshots: LLMSTACK_HOST_GREP=<regexp> node out/test/host/runSubset.js. For iterating;
// the host tier itself is runCodeServer.ts.
import * as path from 'node:path';
import { registryBeforeTheService, ROOT, startHost, unhandledErrors } from './codeServerHost';
import { buildRuntimeImage } from '../support/runtime';

async function main(): Promise<number> {
  if (!process.env.LLMSTACK_HOST_GREP) throw new Error('set LLMSTACK_HOST_GREP to the tests to run (a regular expression on their titles)');
  buildRuntimeImage();
  const host = await startHost({ testsPath: path.join(ROOT, 'out', 'test', 'host', 'suite', 'index.js'), globalStorageFiles: await registryBeforeTheService(), onLog: (l) => console.log(`  [host] ${l}`) });
  try {
    const code = await Promise.race([host.exit, new Promise<number>((r) => setTimeout(() => r(124), 20 * 60_000))]);
    const unhandled = unhandledErrors(host.dir, host.logs);
    if (unhandled.length) console.error(`unhandled errors from the extension in the host log:\n${unhandled.join('\n---\n')}`);
    return code || (unhandled.length ? 1 : 0);
  } finally {
    await host.close();
  }
}

main().then(
  (c) => process.exit(c),
  (e) => {
    console.error(e);
    process.exit(1);
  },
);
