// nvidia-smi CSV parsing on recorded lines, and loop-process handling with stand-in scripts.
import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import { classifyFailure, NvidiaSmi, parseComputeAppLine, parseGpuLine } from '../../../../src/core/metrics/nvidia';
import { waitUntil } from '../../../support/engine';
import { isAlive, nvidiaSmiStandIn, StandIn } from '../../../support/nvidiaSmiStandIn';

const MIB = 1024 * 1024;

// Lines as nvidia-smi prints them for
// --query-gpu=index,uuid,name,utilization.gpu,memory.used,memory.total,temperature.gpu,power.draw --format=csv,noheader,nounits
const H100 = '0, GPU-5d7e3f1b-2c4a-4e6b-9a1d-7c8e9f0a1b2c, NVIDIA H100 80GB HBM3, 87, 61327, 81559, 64, 512.38';
const RTX4090 = '1, GPU-1b7b9a53-9f3c-9d4e-5e0a-2f3c2b1e8a11, NVIDIA GeForce RTX 4090, 0, 3, 24564, 34, 18.75';
/** Laptop parts report no power draw. */
const GTX1050 = '0, GPU-a3c8e0f4-6b1d-11e9-8f3a-0242ac120002, NVIDIA GeForce GTX 1050, 2, 364, 4096, 45, [N/A]';
/** Old GeForce boards answer [Not Supported] for utilisation and power. */
const GTX680 = '0, GPU-0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0, GeForce GTX 680, [Not Supported], 512, 2047, 38, [Not Supported]';
// --query-compute-apps=gpu_uuid,pid,used_memory --format=csv,noheader,nounits
const APP1 = 'GPU-5d7e3f1b-2c4a-4e6b-9a1d-7c8e9f0a1b2c, 23817, 58114';
const APP2 = 'GPU-1b7b9a53-9f3c-9d4e-5e0a-2f3c2b1e8a11, 4242, 1210';
/** Windows in WDDM mode cannot say how much a process uses. */
const APP_WDDM = 'GPU-1b7b9a53-9f3c-9d4e-5e0a-2f3c2b1e8a11, 10432, [N/A]';
const DRIVER_FAILED = "NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver. Make sure that the latest NVIDIA driver is installed and running.";

describe('nvidia-smi CSV parsers (unit)', () => {
  it('reads a GPU line: numbers, MiB to bytes, name and uuid', () => {
    assert.deepEqual(parseGpuLine(H100, 5), {
      index: 0,
      uuid: 'GPU-5d7e3f1b-2c4a-4e6b-9a1d-7c8e9f0a1b2c',
      name: 'NVIDIA H100 80GB HBM3',
      utilization: 87,
      memoryUsed: 61327 * MIB,
      memoryTotal: 81559 * MIB,
      temperature: 64,
      power: 512.38,
      at: 5,
    });
    assert.equal(parseGpuLine(RTX4090)?.index, 1);
  });

  it('turns [N/A] and [Not Supported] into missing values, keeping the rest', () => {
    const a = parseGpuLine(GTX1050)!;
    assert.equal(a.power, undefined);
    assert.equal(a.utilization, 2);
    assert.equal(a.memoryTotal, 4096 * MIB);
    const b = parseGpuLine(GTX680)!;
    assert.equal(b.utilization, undefined);
    assert.equal(b.power, undefined);
    assert.equal(b.temperature, 38);
    assert.equal(b.name, 'GeForce GTX 680');
  });

  it('keeps a name holding commas whole by parsing from both ends', () => {
    const g = parseGpuLine('2, GPU-00000000-1111-2222-3333-444444444444, Board, rev. 2, lab', 0);
    assert.equal(g, undefined, 'too few fields after the name');
    const h = parseGpuLine('2, GPU-00000000-1111-2222-3333-444444444444, Board, rev. 2, 10, 100, 1000, 50, 75.5')!;
    assert.equal(h.name, 'Board, rev. 2');
    assert.equal(h.utilization, 10);
    assert.equal(h.power, 75.5);
  });

  it('rejects what is not a reading: error text, headers, blank lines', () => {
    assert.equal(parseGpuLine(DRIVER_FAILED), undefined);
    assert.equal(parseGpuLine('index, uuid, name, utilization.gpu [%], memory.used [MiB], memory.total [MiB], temperature.gpu, power.draw [W]'), undefined);
    assert.equal(parseGpuLine(''), undefined);
    assert.equal(parseComputeAppLine('No running processes found'), undefined);
    assert.equal(parseComputeAppLine('gpu_uuid, pid, used_gpu_memory [MiB]'), undefined);
  });

  it('reads compute-app lines, with [N/A] memory as unknown', () => {
    assert.deepEqual(parseComputeAppLine(APP1, 9), { gpuUuid: 'GPU-5d7e3f1b-2c4a-4e6b-9a1d-7c8e9f0a1b2c', pid: 23817, usedMemory: 58114 * MIB, at: 9 });
    assert.deepEqual(parseComputeAppLine(APP_WDDM, 0), { gpuUuid: 'GPU-1b7b9a53-9f3c-9d4e-5e0a-2f3c2b1e8a11', pid: 10432, usedMemory: undefined, at: 0 });
  });

  it('classifies failures: no binary and no driver are "absent", others "error"', () => {
    assert.equal(classifyFailure('', null, null, 'ENOENT').kind, 'absent');
    const noDriver = classifyFailure(`${DRIVER_FAILED}\n`, 9, null);
    assert.equal(noDriver.kind, 'absent');
    assert.match(noDriver.kind === 'absent' ? noDriver.message : '', /^No NVIDIA GPU available: NVIDIA-SMI has failed/);
    assert.equal(classifyFailure('No devices were found\n', 6, null).kind, 'absent');
    const crash = classifyFailure('Segmentation fault\n', null, 'SIGSEGV');
    assert.equal(crash.kind, 'error');
    assert.match(crash.kind === 'error' ? crash.message : '', /killed by SIGSEGV: Segmentation fault/);
  });
});

describe('nvidia-smi loop processes (unit)', function () {
  this.timeout(20_000);
  const standIns: StandIn[] = [];
  const smis: NvidiaSmi[] = [];
  const make = (o: Parameters<typeof nvidiaSmiStandIn>[0]) => {
    const s = nvidiaSmiStandIn(o);
    standIns.push(s);
    return s;
  };
  const smi = (o: ConstructorParameters<typeof NvidiaSmi>[0]) => {
    const s = new NvidiaSmi(o);
    smis.push(s);
    return s;
  };
  afterEach(async () => {
    for (const s of smis.splice(0)) {
      await s.stop();
      s.dispose();
    }
    for (const s of standIns.splice(0)) s.dispose();
  });

  it('runs each query once in loop mode and keeps the latest reading per GPU and process', async () => {
    const s = make({ gpuLines: [H100, RTX4090], appLines: [APP1, APP2] });
    const n = smi({ binary: s.binary, intervalMs: 250 });
    const statuses: string[] = [];
    n.onDidChangeStatus((st) => statuses.push(st.kind === 'ok' ? `ok:${st.gpus}` : st.kind));
    n.start();
    await waitUntil('two GPUs and two processes', () => n.gpus().length === 2 && n.processes().length === 2, 5000);
    assert.deepEqual(n.status, { kind: 'ok', gpus: 2 });
    assert.deepEqual(statuses.slice(-1), ['ok:2']);
    assert.deepEqual(n.gpus().map((g) => g.name), ['NVIDIA H100 80GB HBM3', 'NVIDIA GeForce RTX 4090']);
    assert.deepEqual(n.processes().map((p) => p.pid).sort((a, b) => a - b), [4242, 23817]);
    // Several ticks later there are still exactly two spawns: one per query, never one per tick.
    await new Promise((r) => setTimeout(r, 400));
    assert.deepEqual(s.starts(), [
      '--query-gpu=index,uuid,name,utilization.gpu,memory.used,memory.total,temperature.gpu,power.draw --format=csv,noheader,nounits -lms 250',
      '--query-compute-apps=gpu_uuid,pid,used_memory --format=csv,noheader,nounits -lms 250',
    ]);
  });

  it('says plainly that there is no GPU when the binary is missing', async () => {
    const n = smi({ binary: path.join(__dirname, 'no-such-dir', 'nvidia-smi') });
    n.start();
    await waitUntil('absent', () => n.status.kind === 'absent', 5000);
    assert.deepEqual(n.status, { kind: 'absent', message: 'No NVIDIA GPU found: nvidia-smi is not installed (not on PATH).' });
    assert.deepEqual(n.childPids, []);
    assert.deepEqual(n.gpus(), []);
  });

  it('reports "NVIDIA-SMI has failed" as absent and does not restart', async () => {
    const s = make({ gpuLines: [DRIVER_FAILED], appLines: [DRIVER_FAILED], exitCode: 9 });
    const n = smi({ binary: s.binary, restartDelaysMs: [20, 20] });
    n.start();
    await waitUntil('absent', () => n.status.kind === 'absent', 5000);
    assert.match(n.status.kind === 'absent' ? n.status.message : '', /couldn't communicate with the NVIDIA driver/);
    await new Promise((r) => setTimeout(r, 300));
    assert.ok(s.starts().length <= 2, `started ${s.starts().length} times`);
    assert.equal(n.running, false);
  });

  it('restarts a loop that dies, a bounded number of times, then reports an error', async () => {
    const s = make({ gpuLines: [H100], appLines: [], exitCode: 1, stderr: 'Unable to determine the device handle for GPU0000:41:00.0: Unknown Error' });
    const n = smi({ binary: s.binary, restartDelaysMs: [20, 20, 20] });
    n.start();
    await waitUntil('error', () => n.status.kind === 'error', 5000);
    assert.match(n.status.kind === 'error' ? n.status.message : '', /^GPU metrics stopped: nvidia-smi exited with code 1: Unable to determine the device handle/);
    await new Promise((r) => setTimeout(r, 300));
    const gpuStarts = s.starts().filter((a) => a.startsWith('--query-gpu'));
    assert.equal(gpuStarts.length, 4, 'the first start and three restarts');
  });

  it('kills the loops on stop and on dispose: their pids are gone', async () => {
    const s = make({ gpuLines: [H100], appLines: [APP1] });
    const n = smi({ binary: s.binary, intervalMs: 200, killTimeoutMs: 1000 });
    n.start();
    await waitUntil('a reading', () => n.gpus().length === 1, 5000);
    const first = n.childPids;
    assert.equal(first.length, 2);
    await n.stop();
    assert.deepEqual(n.childPids, []);
    for (const pid of first) await waitUntil(`pid ${pid} to be gone`, () => !isAlive(pid), 3000);
    assert.deepEqual(n.gpus(), [], 'readings are forgotten while stopped');

    n.start();
    await waitUntil('a reading after the restart', () => n.gpus().length === 1, 5000);
    const second = n.childPids;
    assert.equal(second.length, 2);
    n.dispose();
    for (const pid of second) await waitUntil(`pid ${pid} to be gone`, () => !isAlive(pid), 3000);
  });

  it('drops a process that no longer appears (nvidia-smi prints nothing for no processes)', async () => {
    const s = make({ gpuLines: [H100], appLines: [APP1], appsOnce: true });
    const n = smi({ binary: s.binary, intervalMs: 100, staleAfterMs: 400 });
    n.start();
    await waitUntil('the process', () => n.processes().length === 1, 5000);
    await waitUntil('the process to age out', () => n.processes().length === 0, 3000);
    assert.equal(n.gpus().length, 1, 'the GPU loop keeps printing');
  });
});
