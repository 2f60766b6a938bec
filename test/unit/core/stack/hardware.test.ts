// Hardware detection: the nvidia-smi inventory parser on recorded lines, one bounded nvidia-smi run
// against stand-in scripts, the real machine, and the cached probe.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { detectHardware, GPU_INVENTORY_QUERY, HardwareProbe, parseGpuInventory, parseMemAvailable } from '../../../../src/core/stack/hardware';
import type { HardwareInfo } from '../../../../src/core/stack/types';
import { nvidiaSmiStandIn, type StandIn } from '../../../support/nvidiaSmiStandIn';

const MIB = 1024 * 1024;

// Lines as nvidia-smi prints them for
// --query-gpu=index,uuid,name,memory.total,memory.free --format=csv,noheader,nounits
const RTX4090 = '0, GPU-1b7b9a53-9f3c-9d4e-5e0a-2f3c2b1e8a11, NVIDIA GeForce RTX 4090, 24564, 23987';
const RTX3090 = '1, GPU-8c2d1e0f-3a4b-5c6d-7e8f-9a0b1c2d3e4f, NVIDIA GeForce RTX 3090, 24576, 1024';
/** Some boards (and unified-memory parts) cannot say their memory. */
const NA_FREE = '0, GPU-a3c8e0f4-6b1d-11e9-8f3a-0242ac120002, NVIDIA GeForce GTX 1050, 4096, [N/A]';
const NA_BOTH = '1, GPU-0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0, NVIDIA GH200 480GB, [N/A], [N/A]';
const DRIVER_FAILED = "NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver. Make sure that the latest NVIDIA driver is installed and running.";

describe('GPU inventory parser (unit)', () => {
  it('reads two GPUs: index, uuid, name, MiB to bytes', () => {
    assert.deepEqual(parseGpuInventory(`${RTX4090}\n${RTX3090}\n`), [
      { index: 0, uuid: 'GPU-1b7b9a53-9f3c-9d4e-5e0a-2f3c2b1e8a11', name: 'NVIDIA GeForce RTX 4090', memoryTotal: 24564 * MIB, memoryFree: 23987 * MIB },
      { index: 1, uuid: 'GPU-8c2d1e0f-3a4b-5c6d-7e8f-9a0b1c2d3e4f', name: 'NVIDIA GeForce RTX 3090', memoryTotal: 24576 * MIB, memoryFree: 1024 * MIB },
    ]);
  });

  it('sorts by index and tolerates CRLF, blank lines and extra spaces', () => {
    const csv = `\r\n   ${RTX3090.replace(/, /g, ' ,   ')}   \r\n\r\n${RTX4090}\r\n\n`;
    const gpus = parseGpuInventory(csv);
    assert.deepEqual(
      gpus.map((g) => [g.index, g.name, g.memoryTotal]),
      [
        [0, 'NVIDIA GeForce RTX 4090', 24564 * MIB],
        [1, 'NVIDIA GeForce RTX 3090', 24576 * MIB],
      ],
    );
  });

  it('keeps a GPU whose memory is [N/A]: free = total, or both 0', () => {
    const [a, b] = parseGpuInventory(`${NA_FREE}\n${NA_BOTH}`);
    assert.equal(a.memoryTotal, 4096 * MIB);
    assert.equal(a.memoryFree, 4096 * MIB);
    assert.equal(b.name, 'NVIDIA GH200 480GB');
    assert.equal(b.memoryTotal, 0);
    assert.equal(b.memoryFree, 0);
  });

  it('keeps a name holding commas whole', () => {
    const [g] = parseGpuInventory('2, GPU-00000000-1111-2222-3333-444444444444, Board, rev. 2, 8192, 4096');
    assert.equal(g.name, 'Board, rev. 2');
    assert.equal(g.memoryFree, 4096 * MIB);
  });

  it('skips headers, messages and garbage', () => {
    const csv = [
      'index, uuid, name, memory.total [MiB], memory.free [MiB]',
      DRIVER_FAILED,
      'No devices were found',
      'x, GPU-1, a, 1, 2',
      '0, not-a-uuid, name, 1, 2',
      '-1, GPU-abc, name, 1, 2',
      '1.5, GPU-abc, name, 1, 2',
      '0, GPU-abc, too, few',
      '\u0000\u0001garbage',
      RTX4090,
    ].join('\n');
    assert.deepEqual(
      parseGpuInventory(csv).map((g) => g.index),
      [0],
    );
    assert.deepEqual(parseGpuInventory(''), []);
  });

  it('reads MemAvailable from /proc/meminfo text', () => {
    const text = 'MemTotal:       32658836 kB\nMemFree:         1234567 kB\nMemAvailable:   20000000 kB\nBuffers:  1 kB\n';
    assert.equal(parseMemAvailable(text), 20000000 * 1024);
    assert.equal(parseMemAvailable('MemTotal: 1 kB\n'), undefined);
  });
});

/** Processes whose command line mentions `needle` (Linux /proc). */
function processesMentioning(needle: string): number[] {
  const out: number[] = [];
  for (const d of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      if (fs.readFileSync(`/proc/${d}/cmdline`, 'utf8').includes(needle)) out.push(Number(d));
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

describe('detectHardware with a stand-in nvidia-smi (unit)', function () {
  this.timeout(20_000);
  const standIns: StandIn[] = [];
  const standIn = (o: Parameters<typeof nvidiaSmiStandIn>[0]) => {
    const s = nvidiaSmiStandIn(o);
    standIns.push(s);
    return s;
  };
  afterEach(() => {
    for (const s of standIns.splice(0)) s.dispose();
  });

  it('runs nvidia-smi once with the inventory query and lists two GPUs', async () => {
    const s = standIn({ gpuLines: [RTX4090, RTX3090], exitCode: 0 });
    const hw = await detectHardware({ nvidiaSmiPath: s.binary });
    assert.deepEqual(s.starts(), [`--query-gpu=${GPU_INVENTORY_QUERY} --format=csv,noheader,nounits`]);
    assert.deepEqual(
      hw.gpus.map((g) => [g.index, g.name, g.memoryTotal, g.memoryFree]),
      [
        [0, 'NVIDIA GeForce RTX 4090', 24564 * MIB, 23987 * MIB],
        [1, 'NVIDIA GeForce RTX 3090', 24576 * MIB, 1024 * MIB],
      ],
    );
    assert.equal(hw.gpuNote, undefined);
  });

  it('says the driver is the problem when nvidia-smi cannot reach it (exit 9)', async () => {
    const s = standIn({ exitCode: 9, stderr: DRIVER_FAILED });
    const hw = await detectHardware({ nvidiaSmiPath: s.binary });
    assert.deepEqual(hw.gpus, []);
    assert.match(hw.gpuNote ?? '', /No NVIDIA GPU available: .*couldn't communicate with the NVIDIA driver/);
  });

  it('reports another failure with its exit code and output', async () => {
    const s = standIn({ exitCode: 3, stderr: 'Unable to determine the device handle for GPU0000:01:00.0: Unknown Error' });
    const hw = await detectHardware({ nvidiaSmiPath: s.binary });
    assert.deepEqual(hw.gpus, []);
    assert.match(hw.gpuNote ?? '', /^nvidia-smi exited with code 3: Unable to determine the device handle/);
  });

  it('notes "listed none" when nvidia-smi succeeds without rows', async () => {
    const s = standIn({ gpuLines: [], exitCode: 0 });
    const hw = await detectHardware({ nvidiaSmiPath: s.binary });
    assert.deepEqual(hw.gpus, []);
    assert.equal(hw.gpuNote, 'No NVIDIA GPU found (nvidia-smi listed none).');
  });

  it('gives up on a hanging nvidia-smi within the bound, kills it, and says so', async () => {
    const s = standIn({ gpuLines: [] }); // loops for ever
    const t0 = Date.now();
    const hw = await detectHardware({ nvidiaSmiPath: s.binary, timeoutMs: 400 });
    const took = Date.now() - t0;
    assert.ok(took >= 350 && took < 1500, `took ${took} ms`);
    assert.deepEqual(hw.gpus, []);
    assert.equal(hw.gpuNote, 'No GPU information: nvidia-smi did not answer within 0.4 s (the NVIDIA driver may be busy or hung).');
    assert.ok(hw.cpuCores >= 1, 'the rest is still detected');
    // SIGTERM ends the shell at once (SIGKILL would follow only after 1 s).
    const deadline = Date.now() + 500;
    while (processesMentioning(s.binary).length && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    assert.deepEqual(processesMentioning(s.binary), [], 'the stand-in is gone');
  });

  it('says where it looked when the given binary does not exist', async () => {
    const missing = path.join(os.tmpdir(), 'llmstack-no-such-dir', 'nvidia-smi');
    const hw = await detectHardware({ nvidiaSmiPath: missing });
    assert.deepEqual(hw.gpus, []);
    assert.equal(hw.gpuNote, `No NVIDIA GPU found (nvidia-smi not found at ${missing}).`);
  });

  it('does not throw for an unusable binary path', async () => {
    const hw = await detectHardware({ nvidiaSmiPath: '' });
    assert.deepEqual(hw.gpus, []);
    assert.match(hw.gpuNote ?? '', /^No GPU information: nvidia-smi could not be started/);
  });

  it('rejects with the abort reason and kills nvidia-smi when aborted', async () => {
    const s = standIn({ gpuLines: [] });
    const ac = new AbortController();
    const p = detectHardware({ nvidiaSmiPath: s.binary, timeoutMs: 10_000, signal: ac.signal });
    setTimeout(() => ac.abort(new Error('stop looking')), 150);
    const t0 = Date.now();
    await assert.rejects(p, /stop looking/);
    assert.ok(Date.now() - t0 < 1000);
    const already = new AbortController();
    already.abort(new Error('before start'));
    await assert.rejects(detectHardware({ nvidiaSmiPath: s.binary, signal: already.signal }), /before start/);
    const deadline = Date.now() + 3000;
    while (processesMentioning(s.binary).length && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    assert.deepEqual(processesMentioning(s.binary), []);
    assert.equal(s.starts().length, 1, 'an aborted signal starts nothing');
  });
});

/** Whether an executable named nvidia-smi is on PATH. */
function nvidiaSmiOnPath(): boolean {
  return (process.env.PATH ?? '').split(path.delimiter).some((d) => {
    try {
      fs.accessSync(path.join(d, 'nvidia-smi'), fs.constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

describe('detectHardware on this machine (integration)', () => {
  it('reports the cores and memory the OS reports, and GPUs or why there are none', async () => {
    const hw = await detectHardware();
    assert.equal(hw.cpuCores, os.availableParallelism());
    assert.equal(hw.memoryBytes, os.totalmem());
    assert.ok(hw.freeMemoryBytes > 0 && hw.freeMemoryBytes <= hw.memoryBytes);
    // Both read MemAvailable on Linux; allow for what other processes did in between.
    assert.ok(Math.abs(hw.freeMemoryBytes - os.freemem()) < 512 * MIB, `${hw.freeMemoryBytes} vs ${os.freemem()}`);
    if (!nvidiaSmiOnPath()) {
      assert.deepEqual(hw.gpus, []);
      assert.equal(hw.gpuNote, 'No NVIDIA GPU found (nvidia-smi is not installed).');
    } else {
      assert.ok(hw.gpus.length > 0 || (hw.gpuNote ?? '').length > 0, 'GPUs, or a note saying why none');
    }
  });
});

describe('HardwareProbe (unit)', () => {
  const info = (cores: number): HardwareInfo => ({ cpuCores: cores, memoryBytes: 1, freeMemoryBytes: 1, gpus: [] });

  it('reuses one answer for the TTL and shares a detection in flight', async () => {
    let now = 0;
    let calls = 0;
    const probe = new HardwareProbe({ now: () => now, ttlMs: 60_000, detect: async () => info(++calls) });
    const [a, b] = await Promise.all([probe.get(), probe.get()]);
    assert.equal(calls, 1);
    assert.equal(a, b);
    now = 59_999;
    assert.equal((await probe.get()).cpuCores, 1);
    now = 60_000;
    assert.equal((await probe.get()).cpuCores, 2);
    probe.invalidate();
    assert.equal((await probe.get()).cpuCores, 3);
  });

  it('does not remember a failed detection', async () => {
    let calls = 0;
    const probe = new HardwareProbe({
      detect: async () => {
        calls++;
        if (calls === 1) throw new Error('boom');
        return info(8);
      },
    });
    await assert.rejects(probe.get(), /boom/);
    assert.equal((await probe.get()).cpuCores, 8);
    assert.equal(calls, 2);
  });

  it('hands its nvidia-smi path and timeout to the detection', async () => {
    let seen: unknown;
    const probe = new HardwareProbe({ nvidiaSmiPath: '/x/nvidia-smi', timeoutMs: 123, detect: async (o) => ((seen = o), info(1)) });
    await probe.get();
    assert.deepEqual(seen, { nvidiaSmiPath: '/x/nvidia-smi', timeoutMs: 123 });
  });
});

describe('hardware detection at the edges (unit)', function () {
  this.timeout(20_000);
  const standIns: StandIn[] = [];
  afterEach(() => {
    for (const s of standIns.splice(0)) s.dispose();
  });

  it('keeps the free memory a board reports when its total is [N/A]', () => {
    const [g] = parseGpuInventory('0, GPU-0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0, NVIDIA GH200 480GB, [N/A], 2048');
    assert.equal(g.memoryTotal, 0);
    assert.equal(g.memoryFree, 2048 * MIB);
  });

  it('names a whole-second bound without a decimal', async () => {
    const s = nvidiaSmiStandIn({ gpuLines: [] }); // loops for ever
    standIns.push(s);
    const hw = await detectHardware({ nvidiaSmiPath: s.binary, timeoutMs: 1000 });
    assert.equal(hw.gpuNote, 'No GPU information: nvidia-smi did not answer within 1 s (the NVIDIA driver may be busy or hung).');
  });

  it('says nvidia-smi could not be started when the file is not executable', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'llmstack-nvsmi-noexec-'));
    standIns.push({ binary: '', starts: () => [], dispose: () => fs.rmSync(dir, { recursive: true, force: true }) });
    const binary = path.join(dir, 'nvidia-smi');
    fs.writeFileSync(binary, '#!/bin/sh\necho 0, GPU-1, x, 1, 1\n', { mode: 0o644 });
    const hw = await detectHardware({ nvidiaSmiPath: binary });
    assert.deepEqual(hw.gpus, []);
    assert.equal(hw.gpuNote, 'nvidia-smi could not be started (EACCES)');
  });

  it('a probe without its own detection runs nvidia-smi as given', async () => {
    const s = nvidiaSmiStandIn({ gpuLines: [RTX4090], exitCode: 0 });
    standIns.push(s);
    const probe = new HardwareProbe({ nvidiaSmiPath: s.binary, timeoutMs: 5000 });
    const hw = await probe.get();
    assert.deepEqual(
      hw.gpus.map((g) => g.name),
      ['NVIDIA GeForce RTX 4090'],
    );
    assert.equal(await probe.get(), hw, 'cached');
    assert.equal(s.starts().length, 1);
  });
});
