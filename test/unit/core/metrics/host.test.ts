// Host sampling: /proc parsers, real readings of this machine, and failing or hanging sources.
import * as assert from 'node:assert/strict';
import { HostSampler, HostSource, hostSeries, parseProcNetDev, parseProcStat, pickFilesystem } from '../../../../src/core/metrics/host';
import { captureLog } from '../../../support/fixtures';

const PROC_NET_DEV = `Inter-|   Receive                                                |  Transmit
 face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed
    lo: 9182736     8123    0    0    0     0          0         0  9182736     8123    0    0    0     0       0          0
  eth0: 1000000    12000    0    0    0     0          0         0   250000     3000    0    0    0     0       0          0
wlp2s0:  500000     4000    0    0    0     0          0         0   100000     1000    0    0    0     0       0          0
docker0:  777777     999    0    0    0     0          0         0   888888      999    0    0    0     0       0          0
vethab12cd: 4242       10    0    0    0     0          0         0     4242       10    0    0    0     0       0          0
`;


describe('host metrics (unit)', () => {
  it('sums the physical interfaces of /proc/net/dev, leaving out loopback, bridges and veths', () => {
    assert.deepEqual(parseProcNetDev(PROC_NET_DEV), { rx: 1_500_000, tx: 350_000 });
    assert.equal(parseProcNetDev('Inter-| Receive\n face |bytes\n'), undefined);
  });

  it('reads the aggregate cpu line of /proc/stat, iowait counted as idle', () => {
    const t = parseProcStat('cpu  100 5 50 800 40 3 2 0 0 0\ncpu0 50 2 25 400 20 1 1 0 0 0\n')!;
    assert.deepEqual(t, { idle: 840, total: 1000 });
    assert.equal(parseProcStat('intr 1 2 3\n'), undefined);
  });

  it('picks the watched mount, or the largest file system when it is not listed', () => {
    const list = [
      { mount: '/boot', size: 1, used: 1 },
      { mount: '/', size: 100, used: 10 },
      { mount: '/data', size: 1000, used: 1 },
    ];
    assert.equal(pickFilesystem(list, '/')?.mount, '/');
    assert.equal(pickFilesystem(list, '/nope')?.mount, '/data');
    assert.equal(pickFilesystem([{ mount: 'C:', size: 5, used: 1 }], 'C:\\')?.mount, 'C:');
  });

  it('reads this machine: memory and disk at once, CPU from the second sample on', async function () {
    const h = new HostSampler();
    const first = await h.sample();
    assert.ok(first.memoryUsed! > 0 && first.memoryTotal! >= first.memoryUsed!, 'memory');
    assert.ok(first.diskUsed! > 0 && first.diskTotal! >= first.diskUsed!, 'disk');
    assert.equal(first.cpu, undefined, 'no CPU figure without a previous reading');
    await new Promise((r) => setTimeout(r, 150));
    const second = await h.sample();
    assert.ok(second.cpu !== undefined && second.cpu >= 0 && second.cpu <= 100, `cpu ${second.cpu}`);
    if (process.platform === 'linux') assert.ok(second.netRx !== undefined && second.netRx >= 0, 'network rate on Linux');
    const keys = hostSeries(second).map((s) => s.key);
    assert.ok(keys.includes('host.cpu') && keys.includes('host.memory') && keys.includes('host.disk'), keys.join(','));
  });

  it('a failing part gives a gap and one warning, not one per tick', async () => {
    const log = captureLog();
    let calls = 0;
    const source: HostSource = {
      cpuTimes: async () => ({ idle: (calls += 1) * 50, total: calls * 100 }),
      memory: async () => {
        throw new Error('EACCES: /proc/meminfo');
      },
      disk: async () => ({ used: 1, total: 2, mount: '/' }),
    };
    const h = new HostSampler({ source, log });
    for (let i = 0; i < 3; i++) {
      const r = await h.sample();
      assert.equal(r.memoryUsed, undefined);
    }
    const warnings = log.lines.filter((l) => /^(warn|error) /.test(l));
    assert.equal(warnings.length, 1);
    assert.match(warnings[0], /^warn Reading the host memory failed \(EACCES/);
    assert.equal((await h.sample()).cpu, 50);
  });

  it('a hanging call is bounded, and not started again while it hangs', async () => {
    let started = 0;
    const source: HostSource = {
      cpuTimes: async () => ({ idle: 1, total: 2 }),
      memory: async () => ({ total: 100, available: 40 }),
      disk: () => {
        started++;
        return new Promise(() => undefined);
      },
    };
    const h = new HostSampler({ source, callTimeoutMs: 100, log: captureLog() });
    const t0 = Date.now();
    const r = await h.sample();
    assert.ok(Date.now() - t0 < 1000, 'the tick was not held up');
    assert.equal(r.diskUsed, undefined);
    assert.equal(r.memoryUsed, 60);
    await h.sample();
    assert.equal(started, 1);
  });

  it('reads a dear part at most once per its interval', async () => {
    let now = 0;
    let diskReads = 0;
    const source: HostSource = {
      cpuTimes: async () => undefined,
      memory: async () => undefined,
      disk: async () => ({ used: ++diskReads, total: 10, mount: '/' }),
      minIntervalMs: { disk: 60_000 },
    };
    const h = new HostSampler({ source, now: () => now });
    for (let i = 0; i < 120; i++) {
      now = i * 1000;
      const r = await h.sample();
      assert.ok(r.diskUsed !== undefined, 'the last disk reading is reused between reads');
    }
    assert.equal(diskReads, 2);
  });
});
