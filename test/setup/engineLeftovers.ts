// Fails a test run that leaves containers, networks, volumes or dangling images on the engine:
// `snapshot FILE` records what the engine holds before the run, `check FILE` compares after it
// and names every object the run added. Run by scripts/test-all.sh around all tiers.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { z } from 'zod';
import { engine, ping, DEFAULT_SOCKET, waitUntil } from '../support/engine';

const snapshotSchema = z.object({
  containers: z.record(z.string(), z.string()),
  networks: z.record(z.string(), z.string()),
  volumes: z.record(z.string(), z.string()),
  danglingImages: z.record(z.string(), z.string()),
});
type Snapshot = z.infer<typeof snapshotSchema>;
const kinds = ['containers', 'networks', 'volumes', 'danglingImages'] as const;

/** id → what a person reads in the report (name, image, size). */
async function take(): Promise<Snapshot> {
  const d = engine();
  const [containers, networks, volumes, images] = await Promise.all([
    d.listContainers({ all: true }),
    d.listNetworks(),
    d.listVolumes(),
    d.listImages({ filters: { dangling: ['true'] } }),
  ]);
  return {
    containers: Object.fromEntries(containers.map((c) => [c.Id, `${c.Names[0]?.replace(/^\//, '') ?? c.Id.slice(0, 12)} (image ${c.Image}, ${c.Status})`])),
    networks: Object.fromEntries(networks.map((n) => [n.Id, `${n.Name} (${n.Driver})`])),
    volumes: Object.fromEntries((volumes.Volumes ?? []).map((v) => [v.Name, `${v.Name} (labels ${JSON.stringify(v.Labels ?? {})})`])),
    danglingImages: Object.fromEntries(images.map((i) => [i.Id, `${i.Id.slice(7, 19)} (${Math.round(i.Size / 1e6)} MB, labels ${JSON.stringify(i.Labels ?? {})})`])),
  };
}

function added(before: Snapshot, now: Snapshot): string[] {
  const out: string[] = [];
  for (const k of kinds) for (const [id, what] of Object.entries(now[k])) if (!(id in before[k])) out.push(`${k}: ${what}`);
  return out;
}

async function main(argv: string[]): Promise<number> {
  const [cmd, file] = argv;
  if ((cmd !== 'snapshot' && cmd !== 'check') || !file) {
    console.error('usage: engineLeftovers.js snapshot|check FILE');
    return 2;
  }
  if (!(await ping(DEFAULT_SOCKET))) {
    console.error(`[leftovers] no engine answers on ${DEFAULT_SOCKET}: nothing to ${cmd}`);
    return cmd === 'check' ? 1 : 0;
  }
  if (cmd === 'snapshot') {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, JSON.stringify(await take(), null, 1));
    return 0;
  }
  const before = snapshotSchema.parse(JSON.parse(fs.readFileSync(file, 'utf8')));
  // A removal the last test started may still be finishing: give the engine a bounded moment.
  let left: string[] = [];
  try {
    await waitUntil('the engine to hold nothing the run added', async () => (left = added(before, await take())).length === 0, 15_000, 500);
  } catch {
    /* reported below */
  }
  if (left.length) {
    console.error(`[leftovers] the test run left ${left.length} object(s) on the engine:\n${left.map((l) => `  - ${l}`).join('\n')}`);
    return 1;
  }
  console.log('[leftovers] the engine holds no container, network, volume or dangling image the run added');
  return 0;
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (e: unknown) => {
      console.error('[leftovers] failed:', e);
      process.exit(1);
    },
  );
}
