// Unit tests for src/core/docker/alerts.ts: the alert rules fed with engine events (plain objects
// in the Engine API's /events shape) on an injected clock, the rate limit, mutes, the reconciliation
// with the container list, and the status bar summary with alerts.
import * as assert from 'node:assert/strict';
import type Docker from 'dockerode';
import { type Alert, type AlertContainerSource, AlertMonitor, type AlertMonitorOptions, type AlertNotice, type Clock, healthDetailsFromInspect, MonitoredContainerActions } from '../../../../src/core/docker/alerts';
import type { CacheChange, EngineEvent } from '../../../../src/core/docker/containerCache';
import type { ConnectionState, EngineConnection } from '../../../../src/core/docker/connection';
import { type ContainerRecord, createClassifier } from '../../../../src/core/docker/containers';
import { summarizeHealth } from '../../../../src/core/docker/health';
import { Emitter } from '../../../../src/core/lifecycle';

const NOW = Date.UTC(2025, 0, 15, 12, 0, 0);

class FakeClock implements Clock {
  t = NOW;
  private seq = 0;
  private readonly timers = new Map<number, { at: number; fn: () => void }>();
  now(): number {
    return this.t;
  }
  setTimeout(fn: () => void, ms: number): unknown {
    const h = ++this.seq;
    this.timers.set(h, { at: this.t + ms, fn });
    return h;
  }
  clearTimeout(h: unknown): void {
    this.timers.delete(h as number);
  }
  get pending(): number {
    return this.timers.size;
  }
  /** Moves time forward, running the timers that fall due on the way, in order. */
  advance(ms: number): void {
    const end = this.t + ms;
    for (;;) {
      let next: [number, { at: number; fn: () => void }] | undefined;
      for (const e of this.timers) if (e[1].at <= end && (!next || e[1].at < next[1].at)) next = e;
      if (!next) break;
      this.timers.delete(next[0]);
      this.t = next[1].at;
      next[1].fn();
    }
    this.t = end;
  }
}

function ev(action: string, id: string, attrs: Record<string, string> = {}, name = `c-${id}`, image = 'busybox'): EngineEvent {
  return { Type: 'container', Action: action, status: action, id, Actor: { ID: id, Attributes: { name, image, ...attrs } }, time: Math.floor(NOW / 1000) };
}

function setup(options: Partial<AlertMonitorOptions> & { rateLimitMinutes?: number } = {}) {
  const clock = new FakeClock();
  let rate = options.rateLimitMinutes ?? 10;
  const monitor = new AlertMonitor({ clock, classifier: () => createClassifier(), settings: () => ({ rateLimitMinutes: rate }), ...options });
  const notices: AlertNotice[] = [];
  let changes = 0;
  monitor.onAlert((n) => notices.push(n));
  monitor.onDidChange(() => changes++);
  return {
    clock,
    monitor,
    notices,
    get changes() {
      return changes;
    },
    setRate(v: number) {
      rate = v;
    },
    feed: (...events: EngineEvent[]) => events.forEach((e) => monitor.handleEvent(e)),
    kinds: () => monitor.active().map((a) => `${a.containerName}:${a.kind}`),
  };
}

describe('alert rules (unit)', () => {
  describe('healthcheck', () => {
    it('health_status: unhealthy raises an alert with a notification; healthy clears it', () => {
      const s = setup();
      s.feed(ev('create', 'a'), ev('start', 'a'), ev('health_status: starting', 'a'), ev('exec_start: /bin/sh -c false', 'a'), ev('health_status: unhealthy', 'a'));
      assert.equal(s.notices.length, 1);
      const { alert, notify } = s.notices[0]!;
      assert.equal(notify, true);
      assert.equal(alert.kind, 'unhealthy');
      assert.equal(alert.containerId, 'a');
      assert.equal(alert.containerName, 'c-a');
      assert.equal(alert.severity, 'warning', 'a non-runtime container is a warning');
      assert.equal(alert.target, 'container');
      assert.equal(alert.muted, false);
      assert.equal(alert.at, NOW);
      assert.equal(alert.message, 'c-a: unhealthy (healthcheck failing)');
      assert.deepEqual(s.kinds(), ['c-a:unhealthy']);
      assert.equal(s.monitor.get('a', 'unhealthy')?.id, alert.id);
      // A repeated unhealthy status (Podman sends one per check) raises nothing new.
      s.feed(ev('health_status: unhealthy', 'a'));
      assert.equal(s.notices.length, 1);
      const before = s.changes;
      s.feed(ev('health_status: healthy', 'a'));
      assert.deepEqual(s.monitor.active(), []);
      assert.equal(s.changes, before + 1);
    });

    it('an LLM runtime container is an error; Podman-style health_status with an attribute works too', () => {
      const s = setup();
      s.feed(ev('health_status', 'o', { health_status: 'unhealthy' }, 'ollama-1', 'ollama/ollama:latest'));
      assert.equal(s.monitor.active()[0]?.severity, 'error');
      assert.equal(s.monitor.active()[0]?.message, 'ollama-1: unhealthy (healthcheck failing)');
      s.feed(ev('health_status', 'o', { health_status: 'healthy' }, 'ollama-1', 'ollama/ollama:latest'));
      assert.deepEqual(s.monitor.active(), []);
    });

    it('a runtime label classifies too', () => {
      const s = setup();
      s.feed(ev('health_status: unhealthy', 'l', { 'io.llmstack.runtime': 'llamacpp' }));
      assert.equal(s.monitor.active()[0]?.severity, 'error');
    });

    it('says how often the healthcheck failed and its output when details are available', async () => {
      const s = setup({ healthDetails: async () => ({ failingStreak: 3, output: 'connection refused' }) });
      s.feed(ev('health_status: unhealthy', 'x', {}, 'llmstack-x'));
      assert.equal(s.notices.length, 0, 'waits for the details');
      await new Promise((r) => setImmediate(r));
      assert.equal(s.notices[0]?.alert.message, 'llmstack-x: unhealthy (healthcheck failing 3 times: connection refused)');
      const one = setup({ healthDetails: async () => ({ failingStreak: 1 }) });
      one.feed(ev('health_status: unhealthy', 'y', {}, 'y'));
      await new Promise((r) => setImmediate(r));
      assert.equal(one.notices[0]?.alert.message, 'y: unhealthy (healthcheck failing 1 time)');
    });

    it('details that fail or never come do not hold the alert back; a recovery meanwhile drops it', async () => {
      const failing = setup({ healthDetails: async () => Promise.reject(new Error('inspect failed')) });
      failing.feed(ev('health_status: unhealthy', 'a'));
      await new Promise((r) => setImmediate(r));
      assert.equal(failing.notices[0]?.alert.message, 'c-a: unhealthy (healthcheck failing)');

      const hanging = setup({ healthDetails: () => new Promise(() => undefined), detailsTimeoutMs: 2000 });
      hanging.feed(ev('health_status: unhealthy', 'a'));
      hanging.clock.advance(1999);
      assert.equal(hanging.notices.length, 0);
      hanging.clock.advance(1);
      assert.equal(hanging.notices.length, 1);

      let answer!: (v: { failingStreak: number }) => void;
      const recovered = setup({ healthDetails: () => new Promise((r) => (answer = r)) });
      recovered.feed(ev('health_status: unhealthy', 'a'), ev('health_status: healthy', 'a'));
      answer({ failingStreak: 2 });
      await new Promise((r) => setImmediate(r));
      assert.equal(recovered.notices.length, 0);
      assert.deepEqual(recovered.monitor.active(), []);
    });

    it('reads the details once per unhealthy transition', async () => {
      const answers: ((v: { failingStreak: number }) => void)[] = [];
      const s = setup({ healthDetails: () => new Promise((r) => answers.push(r)) });
      s.feed(ev('health_status: unhealthy', 'a'), ev('health_status: unhealthy', 'a'));
      assert.equal(answers.length, 1);
      // Healthy and unhealthy again while the first read is out: the second transition is read too.
      s.feed(ev('health_status: healthy', 'a'), ev('health_status: unhealthy', 'a'));
      assert.equal(answers.length, 2);
      answers[0]!({ failingStreak: 1 });
      await new Promise((r) => setImmediate(r));
      assert.equal(s.notices.length, 0, 'the first, outdated read raises nothing');
      answers[1]!({ failingStreak: 5 });
      await new Promise((r) => setImmediate(r));
      assert.deepEqual(
        s.notices.map((n) => n.alert.message),
        ['c-a: unhealthy (healthcheck failing 5 times)'],
      );
    });

    it('a die or a new start ends the unhealthy alert', () => {
      const s = setup();
      s.feed(ev('health_status: unhealthy', 'a'));
      s.feed(ev('kill', 'a', { signal: '15' }), ev('die', 'a', { exitCode: '0' }));
      assert.deepEqual(s.monitor.active(), []);
      s.feed(ev('start', 'a'), ev('health_status: unhealthy', 'a'), ev('restart', 'a'));
      assert.deepEqual(s.kinds(), ['c-a:unhealthy']);
      s.feed(ev('start', 'a'));
      assert.deepEqual(s.monitor.active(), []);
    });
  });

  describe('unexpected exits', () => {
    it('a non-zero exit raises "exited" after the grace period', () => {
      const s = setup({ exitGraceMs: 3000 });
      s.feed(ev('start', 'a'), ev('die', 'a', { exitCode: '3', execDuration: '1' }));
      assert.equal(s.notices.length, 0);
      s.clock.advance(2999);
      assert.equal(s.notices.length, 0);
      s.clock.advance(1);
      assert.equal(s.notices.length, 1);
      const a = s.notices[0]!.alert;
      assert.equal(a.kind, 'exited');
      assert.equal(a.message, 'c-a: exited unexpectedly with code 3');
      assert.equal(a.severity, 'warning');
      assert.equal(a.at, NOW + 3000);
      assert.equal(s.notices[0]!.notify, true);
      // Running again clears it.
      s.feed(ev('start', 'a'));
      assert.deepEqual(s.monitor.active(), []);
    });

    it('an LLM runtime that exits is an error', () => {
      const s = setup({ exitGraceMs: 10 });
      s.feed(ev('die', 'v', { exitCode: '1' }, 'vllm', 'vllm/vllm-openai:v0.6'));
      s.clock.advance(10);
      assert.equal(s.monitor.active()[0]?.severity, 'error');
    });

    it('exit code 0 is no alert', () => {
      const s = setup({ exitGraceMs: 10 });
      s.feed(ev('start', 'a'), ev('die', 'a', { exitCode: '0' }));
      s.clock.advance(1000);
      assert.deepEqual(s.monitor.active(), []);
      assert.equal(s.notices.length, 0);
    });

    it('an out-of-memory kill says so', () => {
      const s = setup({ exitGraceMs: 10 });
      s.feed(ev('oom', 'a'), ev('die', 'a', { exitCode: '137' }));
      s.clock.advance(10);
      assert.equal(s.monitor.active()[0]?.message, 'c-a: killed: out of memory (exit code 137)');
      // An oom also counts when the process exited 0 after it.
      const zero = setup({ exitGraceMs: 10 });
      zero.feed(ev('oom', 'b'), ev('die', 'b', { exitCode: '0' }));
      zero.clock.advance(10);
      assert.equal(zero.monitor.active()[0]?.kind, 'exited');
    });

    it('a user stop (kill event before the die) raises nothing, also when SIGKILL follows the timeout', () => {
      const s = setup({ exitGraceMs: 10 });
      s.feed(ev('start', 'a'), ev('kill', 'a', { signal: '15' }), ev('die', 'a', { exitCode: '143' }), ev('stop', 'a'));
      s.clock.advance(1000);
      s.feed(ev('start', 'a'), ev('kill', 'a', { signal: '15' }));
      s.clock.advance(10_000);
      s.feed(ev('kill', 'a', { signal: '9' }));
      s.clock.advance(100);
      s.feed(ev('die', 'a', { exitCode: '137' }), ev('stop', 'a'));
      s.clock.advance(1000);
      assert.deepEqual(s.monitor.active(), []);
      assert.equal(s.notices.length, 0);
    });

    it('a kill long before the die does not excuse it', () => {
      const s = setup({ exitGraceMs: 10, userStopWindowMs: 30_000 });
      s.feed(ev('start', 'a'), ev('kill', 'a', { signal: '1' }));
      s.clock.advance(30_001);
      s.feed(ev('die', 'a', { exitCode: '2' }));
      s.clock.advance(10);
      assert.deepEqual(s.kinds(), ['c-a:exited']);
    });

    it('a stop event right after the die (its kill event missed) cancels the alert', () => {
      const s = setup({ exitGraceMs: 3000 });
      s.feed(ev('die', 'a', { exitCode: '143' }));
      s.clock.advance(100);
      s.feed(ev('stop', 'a'));
      s.clock.advance(5000);
      assert.deepEqual(s.monitor.active(), []);
    });

    it('expectStop() excuses the next exit within its window only', () => {
      const s = setup({ exitGraceMs: 10, expectStopWindowMs: 5000 });
      s.monitor.expectStop('a');
      s.clock.advance(1000);
      s.feed(ev('die', 'a', { exitCode: '137' }));
      s.clock.advance(100);
      assert.deepEqual(s.monitor.active(), []);
      // Consumed: the next crash alerts.
      s.feed(ev('start', 'a'), ev('die', 'a', { exitCode: '1' }));
      s.clock.advance(100);
      assert.deepEqual(s.kinds(), ['c-a:exited']);
      // Expired.
      s.monitor.expectStop('b', 1000);
      s.clock.advance(1001);
      s.feed(ev('die', 'b', { exitCode: '1' }));
      s.clock.advance(100);
      assert.deepEqual(s.kinds().sort(), ['c-a:exited', 'c-b:exited']);
    });

    it('a restart by the restart policy within the grace period is no exit alert', () => {
      const s = setup({ exitGraceMs: 3000 });
      s.feed(ev('die', 'a', { exitCode: '1' }));
      s.clock.advance(100);
      s.feed(ev('start', 'a'));
      s.clock.advance(10_000);
      assert.deepEqual(s.monitor.active(), []);
    });

    it('ignores events of other types and events without an id', () => {
      const s = setup({ exitGraceMs: 10 });
      s.monitor.handleEvent({ Type: 'network', Action: 'die', Actor: { ID: 'n', Attributes: { exitCode: '1' } } });
      s.monitor.handleEvent({ Type: 'container', Action: 'die' });
      s.monitor.handleEvent({ Type: 'container', id: 'x' });
      s.clock.advance(100);
      assert.deepEqual(s.monitor.active(), []);
    });
  });

  describe('restart loops', () => {
    const crash = (s: ReturnType<typeof setup>, id: string, gapMs: number) => {
      s.feed(ev('die', id, { exitCode: '1' }));
      s.clock.advance(gapMs);
      s.feed(ev('start', id));
    };

    it('three restarts after crashes within 60 s raise one restart-loop error and no exit alerts', () => {
      const s = setup({ exitGraceMs: 3000 });
      s.feed(ev('create', 'a'), ev('start', 'a'));
      crash(s, 'a', 100);
      crash(s, 'a', 200);
      assert.deepEqual(s.monitor.active(), []);
      crash(s, 'a', 400);
      assert.deepEqual(s.kinds(), ['c-a:restart-loop']);
      const a = s.monitor.active()[0]!;
      assert.equal(a.severity, 'error');
      assert.equal(a.message, 'c-a: restarting in a loop (3 restarts within 60 s)');
      // The loop goes on with longer back-offs: no exit alerts meanwhile, no second loop alert.
      crash(s, 'a', 800);
      crash(s, 'a', 5000);
      s.feed(ev('die', 'a', { exitCode: '1' }));
      s.clock.advance(10_000);
      assert.deepEqual(s.kinds(), ['c-a:restart-loop']);
      assert.equal(s.notices.length, 1);
    });

    it('exit code 0 loops count too (restart: always on a one-shot command)', () => {
      const s = setup();
      for (let i = 0; i < 3; i++) {
        s.feed(ev('die', 'a', { exitCode: '0' }));
        s.clock.advance(1000);
        s.feed(ev('start', 'a'));
      }
      assert.deepEqual(s.kinds(), ['c-a:restart-loop']);
    });

    it('restarts spread over more than the window are no loop', () => {
      const s = setup({ exitGraceMs: 10 });
      crash(s, 'a', 100);
      s.clock.advance(35_000);
      crash(s, 'a', 100);
      s.clock.advance(35_000);
      crash(s, 'a', 100);
      assert.deepEqual(s.monitor.active().filter((a) => a.kind === 'restart-loop'), []);
    });

    it('the threshold and window are options', () => {
      const s = setup({ restartThreshold: 2, restartWindowMs: 10_000 });
      crash(s, 'a', 100);
      crash(s, 'a', 100);
      assert.equal(s.monitor.active()[0]?.message, 'c-a: restarting in a loop (2 restarts within 10 s)');
    });

    it('restarts by the user (kill before each die) are no loop', () => {
      const s = setup({ exitGraceMs: 10 });
      for (let i = 0; i < 4; i++) {
        s.feed(ev('kill', 'a', { signal: '15' }), ev('die', 'a', { exitCode: '143' }), ev('stop', 'a'), ev('start', 'a'), ev('restart', 'a'));
        s.clock.advance(1000);
      }
      assert.deepEqual(s.monitor.active(), []);
    });

    it('a restart event without its start (as some engines send) counts once', () => {
      const s = setup();
      for (let i = 0; i < 3; i++) {
        s.feed(ev('die', 'a', { exitCode: '1' }));
        s.clock.advance(100);
        s.feed(ev('restart', 'a'));
      }
      assert.deepEqual(s.kinds(), ['c-a:restart-loop']);
      const t = setup();
      for (let i = 0; i < 2; i++) {
        t.feed(ev('die', 'a', { exitCode: '1' }));
        t.feed(ev('start', 'a'), ev('restart', 'a'));
      }
      assert.deepEqual(t.monitor.active(), []);
    });

    it('clears once the container stays up for the window, or when the user stops it', () => {
      const s = setup({ exitGraceMs: 10 });
      for (let i = 0; i < 3; i++) crash(s, 'a', 100);
      assert.deepEqual(s.kinds(), ['c-a:restart-loop']);
      s.clock.advance(59_000);
      assert.deepEqual(s.kinds(), ['c-a:restart-loop']);
      s.clock.advance(1000);
      assert.deepEqual(s.monitor.active(), []);
      // Counting starts over.
      crash(s, 'a', 100);
      crash(s, 'a', 100);
      assert.deepEqual(s.monitor.active(), []);
      crash(s, 'a', 100);
      assert.deepEqual(s.kinds(), ['c-a:restart-loop']);
      s.feed(ev('kill', 'a', { signal: '15' }), ev('die', 'a', { exitCode: '143' }), ev('stop', 'a'));
      assert.deepEqual(s.monitor.active(), []);
    });
  });

  describe('notifications', () => {
    it('at most one notification per container and kind per rate-limit period; the alert stays active', () => {
      const s = setup({ rateLimitMinutes: 10 });
      s.feed(ev('health_status: unhealthy', 'a'));
      s.feed(ev('health_status: healthy', 'a'));
      s.clock.advance(5 * 60_000);
      s.feed(ev('health_status: unhealthy', 'a'));
      assert.deepEqual(
        s.notices.map((n) => n.notify),
        [true, false],
      );
      assert.deepEqual(s.kinds(), ['c-a:unhealthy']);
      // Another container, and another kind of the same container, are not held back.
      s.feed(ev('health_status: unhealthy', 'b'));
      s.feed(ev('die', 'a', { exitCode: '1' }));
      s.clock.advance(5000);
      assert.deepEqual(
        s.notices.map((n) => `${n.alert.containerId}:${n.alert.kind}:${n.notify}`),
        ['a:unhealthy:true', 'a:unhealthy:false', 'b:unhealthy:true', 'a:exited:true'],
      );
      // After the period it notifies again.
      s.feed(ev('start', 'a'), ev('health_status: unhealthy', 'a'));
      assert.equal(s.notices.at(-1)?.notify, false, '5 min after the first: still held back');
      s.feed(ev('health_status: healthy', 'a'));
      s.clock.advance(5 * 60_000);
      s.feed(ev('health_status: unhealthy', 'a'));
      assert.equal(s.notices.at(-1)?.notify, true);
    });

    it('reads the rate limit from the settings each time; 0 notifies every time', () => {
      const s = setup({ rateLimitMinutes: 0 });
      for (let i = 0; i < 3; i++) s.feed(ev('health_status: unhealthy', 'a'), ev('health_status: healthy', 'a'));
      assert.deepEqual(
        s.notices.map((n) => n.notify),
        [true, true, true],
      );
      s.clock.advance(60_000);
      s.setRate(1);
      s.feed(ev('health_status: unhealthy', 'a'), ev('health_status: healthy', 'a'));
      s.clock.advance(59_000);
      s.feed(ev('health_status: unhealthy', 'a'), ev('health_status: healthy', 'a'));
      assert.deepEqual(
        s.notices.map((n) => n.notify),
        [true, true, true, true, false],
      );
    });

    it('without settings the limit is 10 minutes', () => {
      const clock = new FakeClock();
      const m = new AlertMonitor({ clock });
      const seen: boolean[] = [];
      m.onAlert((n) => seen.push(n.notify));
      const flap = () => {
        m.handleEvent(ev('health_status: unhealthy', 'a'));
        m.handleEvent(ev('health_status: healthy', 'a'));
      };
      flap();
      clock.advance(9 * 60_000);
      flap();
      clock.advance(60_000);
      flap();
      assert.deepEqual(seen, [true, false, true]);
      m.dispose();
    });
  });

  describe('mutes', () => {
    it('a muted container still has active alerts but no notifications', () => {
      const s = setup();
      const persisted: unknown[] = [];
      s.monitor.onDidChangeMutes((m) => persisted.push(m));
      s.monitor.mute('a');
      assert.equal(s.monitor.isMuted('a'), true);
      s.feed(ev('health_status: unhealthy', 'a'));
      assert.equal(s.notices[0]?.notify, false);
      assert.equal(s.notices[0]?.alert.muted, true);
      assert.equal(s.monitor.active()[0]?.muted, true);
      s.monitor.unmute('a');
      assert.equal(s.monitor.active()[0]?.muted, false, 'active() follows the mute state');
      // A muted alert did not use up the rate limit.
      s.feed(ev('health_status: healthy', 'a'), ev('health_status: unhealthy', 'a'));
      assert.equal(s.notices.at(-1)?.notify, true);
      assert.deepEqual(persisted, [[{ id: 'a' }], []]);
    });

    it('a timed mute ends by itself', () => {
      const s = setup({ rateLimitMinutes: 0 });
      s.monitor.mute('a', NOW + 60_000);
      assert.deepEqual(s.monitor.mutes, [{ id: 'a', until: NOW + 60_000 }]);
      s.feed(ev('health_status: unhealthy', 'a'), ev('health_status: healthy', 'a'));
      s.clock.advance(60_000);
      assert.equal(s.monitor.isMuted('a'), false);
      assert.deepEqual(s.monitor.mutedIds, []);
      s.feed(ev('health_status: unhealthy', 'a'));
      assert.deepEqual(
        s.notices.map((n) => n.notify),
        [false, true],
      );
    });

    it('mutes can be restored and read back for persisting; unmuteAll clears them; removal forgets them', () => {
      const s = setup({ mutes: [{ id: 'a' }, { id: 'b', until: NOW + 1000 }] });
      assert.deepEqual(s.monitor.mutedIds, ['a', 'b']);
      s.monitor.mutedIds = ['c'];
      assert.deepEqual(s.monitor.mutes, [{ id: 'c' }]);
      s.monitor.mutes = [{ id: 'd', until: NOW + 5 }, { id: 'e' }, { bad: true } as never];
      assert.deepEqual(s.monitor.mutes, [{ id: 'd', until: NOW + 5 }, { id: 'e' }]);
      const persisted: unknown[] = [];
      s.monitor.onDidChangeMutes((m) => persisted.push(m));
      s.feed(ev('destroy', 'e'));
      assert.deepEqual(persisted, [[{ id: 'd', until: NOW + 5 }]]);
      s.monitor.unmuteAll();
      assert.deepEqual(s.monitor.mutedIds, []);
      s.monitor.unmuteAll();
      s.monitor.unmute('zzz');
      assert.equal(persisted.length, 2);
    });
  });

  describe('removal and other sources', () => {
    it('destroy clears every alert of the container and forgets its pending exit', () => {
      const s = setup({ exitGraceMs: 1000 });
      s.feed(ev('health_status: unhealthy', 'a'));
      s.monitor.raise({ containerId: 'a', containerName: 'c-a', kind: 'probe-failed', message: 'c-a: probe' });
      s.feed(ev('die', 'a', { exitCode: '1' }), ev('destroy', 'a'));
      s.clock.advance(5000);
      assert.deepEqual(s.monitor.active(), []);
      assert.equal(s.clock.pending, 0);
    });

    it('raise() and resolve() serve the health prober: warning, endpoint target, rate limit', () => {
      const s = setup();
      const a = s.monitor.raise({ containerId: 'ollama@http://h:1', containerName: 'remote', kind: 'probe-failed', target: 'endpoint', endpointId: 'ollama@http://h:1', message: 'remote: down' });
      assert.equal(a?.severity, 'warning');
      assert.equal(a?.target, 'endpoint');
      assert.equal(a?.endpointId, 'ollama@http://h:1');
      assert.equal(s.monitor.raise({ containerId: 'ollama@http://h:1', containerName: 'remote', kind: 'probe-failed', message: 'again' }), undefined, 'one active per container and kind');
      s.monitor.resolve('ollama@http://h:1', 'probe-failed');
      assert.deepEqual(s.monitor.active(), []);
      s.monitor.resolve('nothing');
      const b = s.monitor.raise({ containerId: 'x', containerName: 'x', kind: 'exited', severity: 'error', message: 'x: gone' });
      assert.equal(b?.severity, 'error');
      assert.equal(b?.target, 'container');
    });

    it('after dispose nothing is raised and timers are gone', () => {
      const s = setup({ exitGraceMs: 1000 });
      s.feed(ev('die', 'a', { exitCode: '1' }));
      s.monitor.dispose();
      s.clock.advance(2000);
      s.feed(ev('health_status: unhealthy', 'b'));
      assert.equal(s.monitor.raise({ containerId: 'q', containerName: 'q', kind: 'exited', message: 'q' }), undefined);
      assert.equal(s.notices.length, 0);
    });

    it('MonitoredContainerActions announces stop, restart and remove, not start', async () => {
      const expected: string[] = [];
      const actions = new MonitoredContainerActions({ docker: undefined } as unknown as EngineConnection, (id) => {
        expected.push(id);
      });
      for (const a of ['stop', 'restart', 'remove', 'start'] as const) await assert.rejects(actions.run(a, `id-${a}`, a), /no container engine is connected/);
      assert.deepEqual(expected, ['id-stop', 'id-restart', 'id-remove']);
    });

    it('parses the healthcheck details of an inspect answer', () => {
      assert.deepEqual(healthDetailsFromInspect({ State: { Health: { Status: 'unhealthy', FailingStreak: 4, Log: [{ Output: 'old' }, { Output: '  curl: (7)\n failed  \n' }] } } }), { failingStreak: 4, output: 'curl: (7) failed' });
      assert.deepEqual(healthDetailsFromInspect({ State: { Health: { Log: [{ Output: '' }] } } }), { failingStreak: undefined, output: undefined });
      assert.equal(healthDetailsFromInspect({ State: {} }), undefined);
      assert.equal(healthDetailsFromInspect(undefined), undefined);
    });
  });
});

describe('alerts and the container list (unit)', () => {
  function rec(id: string, over: Partial<ContainerRecord> = {}): ContainerRecord {
    return { id, name: `c-${id}`, image: 'busybox', state: 'running', health: undefined, statusText: '', ports: [], labels: {}, ...over };
  }

  function fakeSource(initial: ContainerRecord[], loaded = true) {
    const events = new Emitter<EngineEvent>();
    const changes = new Emitter<CacheChange>();
    let records = initial;
    const source: AlertContainerSource & { set(r: ContainerRecord[], change: CacheChange): void; event(e: EngineEvent): void; loaded: boolean } = {
      onEngineEvent: events.event,
      onDidChange: changes.event,
      loaded,
      get isLoaded() {
        return this.loaded;
      },
      get: (id) => records.find((r) => r.id === id || r.id.startsWith(id) || r.name === id),
      list: () => records,
      set(r, change) {
        records = r;
        changes.fire(change);
      },
      event: (e) => events.fire(e),
    };
    return source;
  }

  it('raises for containers already unhealthy when the list loads, and takes names and images from the records', () => {
    const source = fakeSource([rec('a', { health: 'unhealthy', name: 'ollama-a', image: 'ollama/ollama' }), rec('b', { health: 'healthy' }), rec('c', { state: 'exited', statusText: 'Exited (1)' })]);
    const m = new AlertMonitor({ source, clock: new FakeClock(), classifier: () => createClassifier() });
    const active = m.active();
    assert.deepEqual(
      active.map((a) => [a.containerName, a.kind, a.severity]),
      [['ollama-a', 'unhealthy', 'error']],
      'an exited container found at load is not an alert: it may have stopped long ago',
    );
    m.dispose();
  });

  it('follows engine events through the source and clears alerts of containers gone from the list', () => {
    const clock = new FakeClock();
    const source = fakeSource([rec('a'), rec('b')], false);
    const m = new AlertMonitor({ source, clock, exitGraceMs: 10 });
    source.event(ev('health_status: unhealthy', 'a'));
    source.event(ev('die', 'b', { exitCode: '2' }));
    clock.advance(10);
    assert.deepEqual(
      m.active().map((a) => a.kind),
      ['unhealthy', 'exited'],
    );
    // Not loaded (disconnected): the list says nothing.
    source.set([], { ids: 'all' });
    assert.equal(m.active().length, 2);
    source.loaded = true;
    source.set([rec('a', { health: 'unhealthy' }), rec('b', { state: 'exited' })], { ids: ['b'] });
    assert.equal(m.active().length, 2, 'an exited record keeps the exit alert');
    // b runs again (its start event missed): the list clears the exit alert.
    source.set([rec('a', { health: 'unhealthy' }), rec('b')], { ids: ['b'] });
    assert.deepEqual(
      m.active().map((a) => a.kind),
      ['unhealthy'],
    );
    // a stops (events missed while disconnected): no longer unhealthy.
    source.set([rec('a', { state: 'exited' }), rec('b')], { ids: 'all' });
    assert.deepEqual(m.active(), []);
    // Removed while disconnected: a reload without it clears its alerts; a probe alert of an endpoint stays.
    source.event(ev('health_status: unhealthy', 'b'));
    m.raise({ containerId: 'llamacpp@http://x', containerName: 'x', kind: 'probe-failed', target: 'endpoint', message: 'x' });
    source.set([], { ids: 'all' });
    assert.deepEqual(
      m.active().map((a) => a.kind),
      ['probe-failed'],
    );
    // Removed, seen through a single-id change.
    source.set([rec('d')], { ids: 'all' });
    source.event(ev('die', 'd', { exitCode: '1' }));
    clock.advance(10);
    assert.equal(m.get('d', 'exited')?.kind, 'exited');
    source.set([], { ids: ['d'] });
    assert.equal(m.get('d', 'exited'), undefined);
    m.dispose();
  });

  it('an exited container loses its probe alert', () => {
    const source = fakeSource([rec('a')]);
    const m = new AlertMonitor({ source, clock: new FakeClock() });
    m.raise({ containerId: 'a', containerName: 'c-a', kind: 'probe-failed', message: 'c-a: probe' });
    source.set([rec('a', { state: 'exited' })], { ids: ['a'] });
    assert.deepEqual(m.active(), []);
    m.dispose();
  });
});

describe('health summary with alerts (unit)', () => {
  const connected: ConnectionState = {
    kind: 'connected',
    endpoint: { url: 'unix:///var/run/docker.sock', source: 'default', origin: 'Docker Engine', tls: false, options: { socketPath: '/var/run/docker.sock' }, socketPath: '/var/run/docker.sock' },
    engine: { name: 'Docker', version: '27.3.1', apiVersion: '1.47', os: 'linux', arch: 'amd64' },
    docker: {} as Docker,
    generation: 1,
  };
  const alert = (over: Partial<Alert>): Alert => ({ id: 'x', containerId: 'x', containerName: 'llmstack-x', kind: 'unhealthy', severity: 'warning', message: 'llmstack-x: unhealthy (healthcheck failing 3 times)', at: NOW, target: 'container', muted: false, ...over });

  it('without alerts nothing changes', () => {
    const s = summarizeHealth(connected, [], createClassifier(), NOW, []);
    assert.equal(s.alerts, undefined);
    assert.deepEqual(s, summarizeHealth(connected, [], createClassifier(), NOW));
  });

  it('a warning alert turns an ok summary to warning, with the reason in the tooltip', () => {
    const s = summarizeHealth(connected, [], createClassifier(), NOW, [alert({})]);
    assert.equal(s.level, 'warning');
    assert.equal(s.text, 'Docker · 0 runtimes up · 1 alert');
    assert.match(s.tooltip, /\*\*Alerts \(1\):\*\*\n- Warning: llmstack-x: unhealthy \(healthcheck failing 3 times\)\n\nClick to see the alerts\.$/);
    assert.equal(s.alerts?.length, 1);
  });

  it('an error alert wins, errors are listed first, muted ones say so, Markdown is escaped', () => {
    const s = summarizeHealth(connected, [], createClassifier(), NOW, [
      alert({ kind: 'probe-failed', message: 'a_b: not answering *now*', muted: true }),
      alert({ kind: 'restart-loop', severity: 'error', message: 'c: restarting in a loop' }),
    ]);
    assert.equal(s.level, 'error');
    assert.equal(s.text, 'Docker · 0 runtimes up · 2 alerts');
    assert.match(s.tooltip, /- Error: c: restarting in a loop\n- Warning: a\\_b: not answering \\\*now\\\* \(muted\)\n/);
    assert.deepEqual(
      s.alerts?.map((a) => a.kind),
      ['restart-loop', 'probe-failed'],
    );
  });

  it('a warning alert does not lower an error level; alerts are left out while disconnected', () => {
    const unhealthy: ContainerRecord = { id: 'u', name: 'u', image: 'busybox', state: 'running', health: 'unhealthy', statusText: '', ports: [], labels: {} };
    assert.equal(summarizeHealth(connected, [unhealthy], createClassifier(), NOW, [alert({})]).level, 'error');
    const off = summarizeHealth({ kind: 'disconnected', failures: [], problems: [], source: 'default', lostAt: NOW, attempt: 1 }, [], createClassifier(), NOW, [alert({ severity: 'error' })]);
    assert.equal(off.alerts, undefined);
    assert.doesNotMatch(off.tooltip, /Alerts/);
  });
});
