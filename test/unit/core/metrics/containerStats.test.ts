// `docker stats` figures computed from recorded Engine API stats frames, and the pid column of `docker top`.
import * as assert from 'node:assert/strict';
import {
  blockTotals,
  cpuPercent,
  isNotRunningFrame,
  memoryUsage,
  networkTotals,
  parseTopPids,
  StatsFrame,
  StatsRates,
} from '../../../../src/core/metrics/containerStats';
import { parseInspectState, parseStatsFrame } from '../../../../src/core/metrics/containerStats/answers';

/** A cgroup v2 frame (Docker 24+, as GET /containers/{id}/stats?stream=true sends it), trimmed of unused fields. */
const V2: StatsFrame = {
  read: '2024-05-14T09:21:07.318545918Z',
  preread: '2024-05-14T09:21:06.314093502Z',
  cpu_stats: { cpu_usage: { total_usage: 45_172_533_000 }, system_cpu_usage: 1_850_443_230_000_000, online_cpus: 8 },
  precpu_stats: { cpu_usage: { total_usage: 44_170_030_000 }, system_cpu_usage: 1_850_435_210_000_000, online_cpus: 8 },
  memory_stats: {
    usage: 52_584_448,
    limit: 16_663_506_944,
    stats: { anon: 31_371_264, file: 19_783_680, inactive_file: 12_288_000, active_file: 7_495_680 },
  },
  networks: { eth0: { rx_bytes: 12_345, tx_bytes: 6_789 }, eth1: { rx_bytes: 1000, tx_bytes: 11 } },
  blkio_stats: {
    io_service_bytes_recursive: [
      { op: 'read', value: 4_096_000 },
      { op: 'write', value: 81_920 },
      { op: 'read', value: 1000 },
    ],
  },
};

/** A cgroup v1 frame: ops capitalised, per-CPU usage listed, total_inactive_file beside cache. */
const V1: StatsFrame = {
  read: '2020-11-03T10:00:01.000000000Z',
  preread: '2020-11-03T10:00:00.000000000Z',
  cpu_stats: { cpu_usage: { total_usage: 2_000_000_000, percpu_usage: [1, 2, 3, 4] }, system_cpu_usage: 20_000_000_000 },
  precpu_stats: { cpu_usage: { total_usage: 1_500_000_000, percpu_usage: [1, 2, 3, 4] }, system_cpu_usage: 16_000_000_000 },
  memory_stats: { usage: 100_000_000, limit: 2 ** 63 - 1, stats: { cache: 30_000_000, total_inactive_file: 20_000_000, inactive_file: 19_000_000 } },
  blkio_stats: {
    io_service_bytes_recursive: [
      { op: 'Read', value: 10 },
      { op: 'Write', value: 20 },
      { op: 'Sync', value: 30 },
      { op: 'Total', value: 30 },
    ],
  },
};

/** What the engine streams for a container that is not running. */
const STOPPED: StatsFrame = {
  read: '0001-01-01T00:00:00Z',
  preread: '0001-01-01T00:00:00Z',
  cpu_stats: { cpu_usage: { total_usage: 0 } },
  precpu_stats: { cpu_usage: { total_usage: 0 } },
  memory_stats: {},
};

describe('container stats figures (unit)', () => {
  it('CPU percent is cpu delta / system delta × online CPUs × 100, as docker stats computes it', () => {
    const v2 = cpuPercent(V2)!;
    assert.ok(Math.abs(v2 - (1_002_503_000 / 8_020_000_000) * 8 * 100) < 1e-9, String(v2));
    // v1 without online_cpus falls back to the number of per-CPU entries.
    assert.equal(cpuPercent(V1), (500_000_000 / 4_000_000_000) * 4 * 100);
  });

  it('the first frame of a stream, without a previous reading, has no CPU figure', () => {
    assert.equal(cpuPercent({ ...V2, precpu_stats: { cpu_usage: { total_usage: 0 } } }), undefined);
  });

  it('an idle container is at 0 %, not missing', () => {
    assert.equal(cpuPercent({ ...V2, precpu_stats: { ...V2.precpu_stats, cpu_usage: { total_usage: 45_172_533_000 } } }), 0);
  });

  it('Windows frames: 100 ns intervals over the read interval and processor count', () => {
    const win: StatsFrame = {
      read: '2024-01-01T00:00:01Z',
      preread: '2024-01-01T00:00:00Z',
      num_procs: 2,
      cpu_stats: { cpu_usage: { total_usage: 15_000_000 } },
      precpu_stats: { cpu_usage: { total_usage: 5_000_000 } },
      memory_stats: { privateworkingset: 123_456 },
    };
    assert.equal(cpuPercent(win), 50);
    assert.deepEqual(memoryUsage(win), { used: 123_456 });
  });

  it('memory leaves out the inactive page cache: inactive_file on v2, total_inactive_file on v1', () => {
    assert.deepEqual(memoryUsage(V2), { used: 52_584_448 - 12_288_000, limit: 16_663_506_944 });
    // An unlimited v1 container reports 2^63-1 as its limit: no limit.
    assert.deepEqual(memoryUsage(V1), { used: 80_000_000, limit: undefined });
    assert.deepEqual(memoryUsage({ memory_stats: { usage: 50, stats: { cache: 20 } } }), { used: 30, limit: undefined }, 'old v1 engines: cache');
    assert.deepEqual(memoryUsage({ memory_stats: { usage: 10, stats: { inactive_file: 20 } } }), { used: 10, limit: undefined });
  });

  it('network and block IO are summed over interfaces and devices', () => {
    assert.deepEqual(networkTotals(V2), { rx: 13_345, tx: 6_800 });
    assert.equal(networkTotals(V1), undefined, 'host network: no interfaces of its own');
    assert.deepEqual(blockTotals(V2), { read: 4_097_000, write: 81_920 });
    assert.deepEqual(blockTotals(V1), { read: 10, write: 20 });
    assert.equal(blockTotals({ blkio_stats: { io_service_bytes_recursive: null } }), undefined);
  });

  it('rates come from two frames and their read times', () => {
    const rates = new StatsRates();
    const first = rates.update(V2, 1);
    assert.equal(first.netRx, undefined);
    const later: StatsFrame = {
      ...V2,
      read: '2024-05-14T09:21:09.318545918Z',
      networks: { eth0: { rx_bytes: 12_345 + 4000, tx_bytes: 6_789 + 1000 }, eth1: { rx_bytes: 1000, tx_bytes: 11 } },
      blkio_stats: { io_service_bytes_recursive: [{ op: 'read', value: 4_097_000 + 2_000_000 }, { op: 'write', value: 81_920 }] },
    };
    const second = rates.update(later, 2);
    assert.equal(second.at, 2);
    assert.equal(second.netRx, 2000);
    assert.equal(second.netTx, 500);
    assert.equal(second.blockRead, 1_000_000);
    assert.equal(second.blockWrite, 0);
    assert.ok(second.cpu! > 0 && second.memory! > 0);
  });

  it('recognises the frames of a container that is not running', () => {
    assert.equal(isNotRunningFrame(STOPPED), true);
    assert.equal(isNotRunningFrame(V2), false);
  });

  it('finds the PID column of docker top, whatever its position', () => {
    const linux = {
      Titles: ['UID', 'PID', 'PPID', 'C', 'STIME', 'TTY', 'TIME', 'CMD'],
      Processes: [
        ['root', '31187', '31166', '0', '09:20', '?', '00:00:00', '/bin/sh -c while true; do :; done'],
        ['root', '31250', '31187', '0', '09:20', '?', '00:00:00', 'sleep 1'],
      ],
    };
    assert.deepEqual(parseTopPids(linux), [31187, 31250]);
    const windows = { Titles: ['Name', 'PID', 'CPU', 'Private Working Set'], Processes: [['smss.exe', '1234', '00:00:00.031', '241.7kB']] };
    assert.deepEqual(parseTopPids(windows), [1234]);
    assert.deepEqual(parseTopPids({ Titles: ['X'], Processes: [['1']] }), []);
    assert.deepEqual(parseTopPids(undefined), []);
  });
});

describe('the engine answers behind container stats, read with zod (unit)', () => {
  it('a recorded frame reads back as it was, the fields not used here left out', () => {
    for (const frame of [V2, V1, STOPPED]) assert.deepEqual(parseStatsFrame(JSON.stringify({ ...frame, id: 'abc', pids_stats: { current: 3 } })), { frame });
  });

  it('null reads as absent, as engines send for lists they do not have', () => {
    const read = parseStatsFrame(JSON.stringify({ read: V2.read, networks: null, blkio_stats: { io_service_bytes_recursive: null }, memory_stats: { usage: 10, stats: null } }));
    assert.ok('frame' in read);
    assert.equal(networkTotals(read.frame), undefined);
    assert.equal(blockTotals(read.frame), undefined);
    assert.deepEqual(memoryUsage(read.frame), { used: 10, limit: undefined });
  });

  it('a line that is not a frame is skipped with its reason', () => {
    assert.match(String((parseStatsFrame('{"read": "2024') as { skipped: string }).skipped), /^not JSON/);
    assert.match(String((parseStatsFrame('42') as { skipped: string }).skipped), /expected object/);
    assert.match(String((parseStatsFrame('{"read": 5}') as { skipped: string }).skipped), /^read: .*expected string/);
    assert.match(String((parseStatsFrame('{"networks": {"eth0": {"rx_bytes": "12"}}}') as { skipped: string }).skipped), /^networks\.eth0\.rx_bytes: /);
    const many = Object.fromEntries(Array.from({ length: 9000 }, (_, i) => [`veth${i}`, { rx_bytes: 1, tx_bytes: 1 }]));
    assert.match(String((parseStatsFrame(JSON.stringify({ networks: many })) as { skipped: string }).skipped), /^networks: more than 8192 entries/);
    const long = { blkio_stats: { io_service_bytes_recursive: Array.from({ length: 9000 }, () => ({ op: 'read', value: 1 })) } };
    assert.ok('skipped' in parseStatsFrame(JSON.stringify(long)));
  });

  it("inspect's State: running and the init pid, or nothing for an answer that is no container", () => {
    assert.deepEqual(parseInspectState({ Id: 'x', State: { Status: 'running', Running: true, Pid: 4242 } }), { running: true, pid: 4242 });
    assert.deepEqual(parseInspectState({ State: { Running: false, Pid: 0 } }), { running: false, pid: 0 });
    assert.deepEqual(parseInspectState({}), { running: false, pid: 0 });
    assert.equal(parseInspectState('not found'), undefined);
    assert.equal(parseInspectState({ State: { Running: 'yes' } }), undefined);
  });
});
