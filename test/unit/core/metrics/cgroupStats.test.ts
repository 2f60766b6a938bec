// Kernel stats parsers on recorded file contents, and the cgroup v1/v2 layouts as real file trees
// (this machine runs cgroup v1; the v2 layout is laid out in a temp folder as the kernel shows it).
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { CgroupStatsSource, cgroupPaths, openCgroupFiles, parseBlockIo, parseNetDev, statValue } from '../../../../src/core/metrics/cgroupStats';

const ID = 'd1043af7c46d96dd037a2822538b18579df5f434d7420ee6119875ca138c5475';
const NET_DEV = `Inter-|   Receive                                                |  Transmit
 face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed
    lo:    9999       4    0    0    0     0          0         0     9999       4    0    0    0     0       0          0
  eth0:     376       4    0    0    0     0          0         0      120       2    0    0    0     0       0          0
  eth1:      24       1    0    0    0     0          0         0        6       1    0    0    0     0       0          0
`;

describe('cgroup stats parsers (unit)', () => {
  it('reads a key of a "key value" file, first line and later lines, and not a key that only ends the same', () => {
    const stat = 'cache 100\ninactive_file 7\ntotal_inactive_file 40\n';
    assert.equal(statValue(stat, 'cache'), 100);
    assert.equal(statValue(stat, 'inactive_file'), 7);
    assert.equal(statValue(stat, 'total_inactive_file'), 40);
    assert.equal(statValue(stat, 'rss'), undefined);
    assert.equal(statValue('usage_usec 12345', 'usage_usec'), 12345);
  });

  it('sums every interface but loopback from /proc/<pid>/net/dev', () => {
    assert.deepEqual(parseNetDev(NET_DEV), { rx: 400, tx: 126 });
    assert.deepEqual(parseNetDev(''), { rx: 0, tx: 0 });
  });

  it('sums block reads and writes in the v1 and v2 formats', () => {
    assert.deepEqual(parseBlockIo('8:0 Read 4096\n8:0 Write 512\n8:0 Sync 4608\n8:0 Total 4608\n8:16 Read 100\nTotal 4708\n', false), { read: 4196, write: 512 });
    assert.deepEqual(parseBlockIo('8:0 rbytes=4096 wbytes=512 rios=1 wios=1 dbytes=0 dios=0\n8:16 rbytes=100 wbytes=0 rios=1 wios=0\n', true), { read: 4196, write: 512 });
  });

  it("takes only cgroup paths that name the container (a pid of another machine's engine does not)", () => {
    const own = `12:memory:/docker/${ID}\n2:cpu,cpuacct:/docker/${ID}\n0::/docker/${ID}\n`;
    const p = cgroupPaths(own, ID);
    assert.equal(p.v2, `/docker/${ID}`);
    assert.equal(p.v1.get('memory'), `/docker/${ID}`);
    assert.equal(p.v1.get('cpuacct'), `/docker/${ID}`);
    assert.equal(p.v1.get('cpu'), `/docker/${ID}`);
    const other = cgroupPaths('0::/user.slice/user-1000.slice/session-2.scope\n', ID);
    assert.equal(other.v2, undefined);
    assert.equal(other.v1.size, 0);
  });
});

describe('cgroup files on real file trees (unit)', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'llmstack-cgroup-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  const write = (rel: string, text: string) => {
    fs.mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
    fs.writeFileSync(path.join(dir, rel), text);
  };

  it('reads a cgroup v2 container: CPU from usage_usec, memory without inactive_file, limit, IO and network rates', async () => {
    const scope = `/system.slice/docker-${ID}.scope`;
    write('proc/4242/cgroup', `0::${scope}\n`);
    write('proc/4242/net/dev', NET_DEV);
    write('cg/cgroup.controllers', 'cpu memory io\n');
    write(`cg${scope}/cpu.stat`, 'usage_usec 1000000\nuser_usec 900000\n');
    write(`cg${scope}/memory.current`, '50000000\n');
    write(`cg${scope}/memory.stat`, 'anon 30000000\nfile 20000000\ninactive_file 10000000\n');
    write(`cg${scope}/memory.max`, '268435456\n');
    write(`cg${scope}/io.stat`, '8:0 rbytes=1000 wbytes=2000 rios=1 wios=1\n');
    const files = openCgroupFiles(ID, 4242, path.join(dir, 'cg'), path.join(dir, 'proc'));
    assert.notEqual(typeof files, 'string', String(files));
    let now = 1_000;
    const source = new CgroupStatsSource(ID, files as Exclude<typeof files, string>, () => now);
    try {
      const first = source.read();
      assert.equal(first.cpu, undefined, 'no rate from one reading');
      assert.equal(first.memory, 40_000_000);
      assert.equal(first.memoryLimit, 268435456);
      // Half a core for the time between the reads: usage grows by half the elapsed time.
      const t0 = performance.now();
      await new Promise<void>((resolve) => setImmediate(resolve));
      while (performance.now() - t0 < 50) await new Promise<void>((resolve) => setImmediate(resolve));
      const elapsedUs = Math.round((performance.now() - t0) * 1000);
      write(`cg${scope}/cpu.stat`, `usage_usec ${1_000_000 + Math.round(elapsedUs / 2)}\n`);
      write(`cg${scope}/io.stat`, '8:0 rbytes=5000 wbytes=2000 rios=1 wios=1\n');
      now = 2_000;
      const second = source.read();
      assert.ok(second.cpu! > 30 && second.cpu! <= 50.5, `about 50 % of a core, got ${second.cpu}`);
      assert.ok(second.blockRead! > 0);
      assert.equal(second.blockWrite, 0);
      assert.equal(second.netRx, 0);
      assert.equal(second.at, 2_000);
    } finally {
      source.dispose();
    }
    assert.throws(() => source.read(), /closed/);
  });

  it('reads a cgroup v1 container (cpuacct.usage in ns, total_inactive_file, an unlimited limit)', () => {
    write('proc/7/cgroup', `4:memory:/docker/${ID}\n2:cpuacct:/docker/${ID}\n7:blkio:/docker/${ID}\n`);
    write('proc/7/net/dev', NET_DEV);
    write(`cg/cpuacct/docker/${ID}/cpuacct.usage`, '123456789\n');
    write(`cg/memory/docker/${ID}/memory.usage_in_bytes`, '3000000\n');
    write(`cg/memory/docker/${ID}/memory.stat`, 'cache 2000000\ninactive_file 0\ntotal_inactive_file 1000000\n');
    write(`cg/memory/docker/${ID}/memory.limit_in_bytes`, '9223372036854771712\n');
    write(`cg/blkio/docker/${ID}/blkio.throttle.io_service_bytes`, '8:0 Read 10\n8:0 Write 20\nTotal 30\n');
    const files = openCgroupFiles(ID, 7, path.join(dir, 'cg'), path.join(dir, 'proc'));
    assert.notEqual(typeof files, 'string', String(files));
    const source = new CgroupStatsSource(ID, files as Exclude<typeof files, string>);
    try {
      const r = source.read();
      assert.equal(r.memory, 2_000_000);
      assert.equal(r.memoryLimit, undefined);
    } finally {
      source.dispose();
    }
  });

  it('says why it cannot read a container: no process, no /proc entry, a path of someone else', () => {
    assert.match(openCgroupFiles(ID, 0, dir, dir) as string, /no process/);
    assert.match(openCgroupFiles(ID, 99, dir, dir) as string, /cannot read .*99\/cgroup \(ENOENT\)/);
    write('proc/5/cgroup', '0::/user.slice/session-1.scope\n');
    assert.match(openCgroupFiles(ID, 5, path.join(dir, 'cg'), path.join(dir, 'proc')) as string, /no cgroup v1 cpuacct\/memory path/);
  });

  it('throws on a read once the files are gone (the container stopped), so the caller locates it again', () => {
    write('proc/8/cgroup', `0::/docker/${ID}\n`);
    write('cg/cgroup.controllers', 'cpu memory\n');
    write(`cg/docker/${ID}/cpu.stat`, 'usage_usec 1\n');
    write(`cg/docker/${ID}/memory.current`, '1\n');
    write(`cg/docker/${ID}/memory.stat`, 'inactive_file 0\n');
    const files = openCgroupFiles(ID, 8, path.join(dir, 'cg'), path.join(dir, 'proc'));
    const source = new CgroupStatsSource(ID, files as Exclude<typeof files, string>);
    source.read();
    // The kernel empties a removed cgroup's files; an emptied file reads as zero bytes here.
    fs.truncateSync(path.join(dir, `cg/docker/${ID}/cpu.stat`));
    assert.throws(() => source.read(), /empty read/);
    source.dispose();
  });
});
