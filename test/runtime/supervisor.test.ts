import t from 'tap';
import { BUILT_IN } from '../../src/config/load.js';
import { configSchema, type Config } from '../../src/config/schema.js';
import { EventBus } from '../../src/runtime/bus.js';
import type { BusEvents } from '../../src/runtime/events.js';
import { Liveness } from '../../src/runtime/liveness.js';
import type { Subsystem, SubsystemContext, SubsystemDefinition } from '../../src/runtime/subsystem.js';
import { Supervisor } from '../../src/runtime/supervisor.js';
import { capturingLogger } from '../helpers/log.js';
import { waitFor } from '../helpers/wait.js';

function config(restart: Partial<Config['runtime']['restart']> = {}, extra: object = {}): Config {
  return configSchema.parse({ runtime: { restart: { initial_delay_ms: 20, max_delay_ms: 80, stable_after_ms: 60_000, ...restart }, shutdown_timeout_ms: 200 }, ...extra });
}

/** A subsystem whose behaviour each test scripts, recording every lifecycle call. */
function scripted(name: string, sections: SubsystemDefinition['sections'], behaviour: Partial<Subsystem> & { onStart?: (ctx: SubsystemContext) => void } = {}) {
  const calls: string[] = [];
  const contexts: SubsystemContext[] = [];
  let instances = 0;
  const definition: SubsystemDefinition = {
    name,
    sections,
    create: () => {
      const id = ++instances;
      return {
        async start(ctx) {
          calls.push(`start#${id}`);
          contexts.push(ctx);
          behaviour.onStart?.(ctx);
          await behaviour.start?.(ctx);
        },
        async stop() {
          calls.push(`stop#${id}`);
          await behaviour.stop?.();
        },
      };
    },
  };
  return { definition, calls, contexts, instances: () => instances };
}

function harness(definitions: SubsystemDefinition[], cfg = config()) {
  const { log, messages } = capturingLogger();
  const bus = new EventBus((err) => {
    throw err;
  });
  const states: BusEvents['subsystem.state'][] = [];
  bus.on('subsystem.state', (s) => states.push(s));
  const supervisor = new Supervisor(definitions, { config: cfg, configFile: BUILT_IN, secrets: {}, bus, log, liveness: new Liveness(), robotState: () => ({ mode: 'active', muted: false }), changeConfig: () => ({ file: BUILT_IN, changed: [] }) });
  return { supervisor, bus, states, messages };
}

t.test('starts in order, stops in reverse order', async (t) => {
  const order: string[] = [];
  const a = scripted('a', [], { onStart: () => order.push('start a'), stop: async () => void order.push('stop a') });
  const b = scripted('b', [], { onStart: () => order.push('start b'), stop: async () => void order.push('stop b') });
  const { supervisor } = harness([a.definition, b.definition]);
  await supervisor.start();
  t.same(supervisor.states(), { a: 'running', b: 'running' });
  await supervisor.stop(1000);
  t.same(order, ['start a', 'start b', 'stop b', 'stop a']);
  t.same(supervisor.states(), { a: 'stopped', b: 'stopped' });
});

t.test('a subsystem that fails to start is restarted with exponential backoff; others keep running', async (t) => {
  const started: number[] = [];
  const flaky = scripted('flaky', [], {
    start: async () => {
      started.push(performance.now());
      if (started.length <= 3) throw new Error(`attempt ${started.length} failed`);
    },
  });
  const steady = scripted('steady', []);
  const { supervisor, states, messages } = harness([flaky.definition, steady.definition]);
  await supervisor.start();
  await waitFor(() => supervisor.states().flaky === 'running', 'flaky to recover');
  t.equal(supervisor.states().steady, 'running');
  t.same(steady.calls, ['start#1'], 'the healthy subsystem was never touched');
  t.same(
    states.filter((s) => s.name === 'flaky' && s.state === 'crashed').map((s) => s.restartInMs),
    [20, 40, 80],
  );
  const gaps = started.slice(1).map((at, i) => at - started[i]!);
  t.ok(gaps[0]! >= 19 && gaps[1]! >= 39 && gaps[2]! >= 79, `gaps grow: ${gaps.map(Math.round).join(', ')}`);
  t.match(messages().join('\n'), /flaky crashed: attempt 1 failed; restarting in 20 ms/);
  t.same(flaky.calls.filter((c) => c.startsWith('stop')).length, 3, 'each crashed instance was stopped');
  await supervisor.stop(1000);
});

t.test('the backoff is capped at max_delay_ms', async (t) => {
  let attempts = 0;
  const broken = scripted('broken', [], {
    start: async () => {
      attempts++;
      throw new Error('always');
    },
  });
  const { supervisor, states } = harness([broken.definition], config({ initial_delay_ms: 5, max_delay_ms: 20 }));
  await supervisor.start();
  await waitFor(() => attempts >= 6, 'six attempts');
  await supervisor.stop(1000);
  const delays = states.filter((s) => s.state === 'crashed').map((s) => s.restartInMs);
  t.same(delays.slice(0, 5), [5, 10, 20, 20, 20]);
});

t.test('a failure reported after start (ctx.fail) and a throwing bus handler both restart it', async (t) => {
  const sub = scripted('worker', [], {
    onStart: (ctx) => {
      ctx.bus.on('config.rejected', () => {
        throw new Error('handler bug');
      });
    },
  });
  const { supervisor, bus, states } = harness([sub.definition]);
  await supervisor.start();
  sub.contexts[0]!.fail(new Error('stream broke'));
  await waitFor(() => sub.instances() === 2 && supervisor.states().worker === 'running', 'restart after fail()');
  bus.emit('config.rejected', { file: 'x', issues: [] });
  await waitFor(() => sub.instances() === 3 && supervisor.states().worker === 'running', 'restart after handler error');
  t.match(states.filter((s) => s.state === 'crashed'), [{ error: 'stream broke' }, { error: /handler for config.rejected failed: handler bug/ }]);
  t.equal(bus.listenerCount('config.rejected'), 1, 'the crashed instances\' subscriptions were dropped');
  sub.contexts[0]!.fail(new Error('late failure of a dead instance'));
  // Well past the longest restart delay (max_delay_ms 80): a restart, had it been scheduled, would have happened.
  await new Promise((r) => setTimeout(r, 400));
  t.equal(sub.instances(), 3, 'failures of replaced instances are ignored');
  await supervisor.stop(1000);
});

t.test('reconfigure restarts only the subsystems whose sections changed, with the new config', async (t) => {
  const cam = scripted('camera', ['camera']);
  const other = scripted('voice', ['voice']);
  const { supervisor } = harness([cam.definition, other.definition]);
  await supervisor.start();
  const next = config({}, { camera: { fps: 12 } });
  t.same(await supervisor.reconfigure(next, ['camera']), ['camera']);
  t.same(cam.calls, ['start#1', 'stop#1', 'start#2']);
  t.same(other.calls, ['start#1']);
  t.equal(cam.contexts[1]!.config.camera.fps, 12);
  await supervisor.stop(1000);
});

t.test('a subsystem the config disables is reported as disabled, and enabled by a later reconfigure', async (t) => {
  let enabled = false;
  const definition: SubsystemDefinition = {
    name: 'mqtt',
    sections: ['remote'],
    create: () => (enabled ? { start: async () => undefined, stop: async () => undefined } : undefined),
  };
  const { supervisor } = harness([definition]);
  await supervisor.start();
  t.equal(supervisor.states().mqtt, 'disabled');
  enabled = true;
  await supervisor.reconfigure(config(), ['remote']);
  t.equal(supervisor.states().mqtt, 'running');
  await supervisor.stop(1000);
});

t.test('stop is bounded even when a subsystem never finishes stopping', async (t) => {
  const stuck = scripted('stuck', [], { stop: () => new Promise(() => undefined) });
  const fine = scripted('fine', []);
  const { supervisor, messages } = harness([fine.definition, stuck.definition]);
  await supervisor.start();
  const began = performance.now();
  await supervisor.stop(100);
  const took = performance.now() - began;
  t.ok(took < 1000, `stopped in ${Math.round(took)} ms`);
  t.same(fine.calls, ['start#1', 'stop#1'], 'the next subsystem was still stopped');
  t.match(messages().join('\n'), /stuck stop failed: did not stop within 100 ms/);
});

t.test('a pending restart is cancelled by stop', async (t) => {
  const sub = scripted('crashy', [], {
    start: async () => {
      throw new Error('no');
    },
  });
  const { supervisor } = harness([sub.definition], config({ initial_delay_ms: 50 }));
  await supervisor.start();
  await supervisor.stop(1000);
  await new Promise((r) => setTimeout(r, 120));
  t.equal(sub.instances(), 1);
});
