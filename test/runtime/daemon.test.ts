import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import t from 'tap';
import { camera } from '../../src/camera/camera.js';
import { BUILT_IN, loadConfigFile } from '../../src/config/load.js';
import { configSchema } from '../../src/config/schema.js';
import { Daemon } from '../../src/runtime/daemon.js';
import type { SubsystemContext, SubsystemDefinition } from '../../src/runtime/subsystem.js';
import { capturingLogger } from '../helpers/log.js';
import { fakeNotifySocket } from '../helpers/notify-socket.js';
import { waitFor } from '../helpers/wait.js';

/** A main loop that beats every 10 ms until the test makes it hang. */
function beatingLoop() {
  const state = { hung: false, starts: 0, configs: [] as SubsystemContext['config'][] };
  const definition: SubsystemDefinition = {
    name: 'loop',
    sections: ['camera'],
    create: () => {
      let timer: NodeJS.Timeout | undefined;
      let unregister: (() => void) | undefined;
      return {
        async start(ctx) {
          state.starts++;
          state.configs.push(ctx.config);
          unregister = ctx.liveness.register('test.loop', ctx.config.runtime.loop_stale_after_ms);
          timer = setInterval(() => state.hung || ctx.liveness.beat('test.loop'), 10);
        },
        async stop() {
          clearInterval(timer);
          unregister?.();
        },
      };
    },
  };
  return { definition, state };
}

t.test('systemd: READY after start, WATCHDOG only while the loop beats, STOPPING on stop', async (t) => {
  const socket = fakeNotifySocket();
  t.teardown(socket.close);
  const loop = beatingLoop();
  const config = configSchema.parse({ runtime: { loop_stale_after_ms: 150, status_interval_ms: 100 } });
  const { log, messages } = capturingLogger();
  const daemon = new Daemon({
    loaded: { config, file: BUILT_IN },
    definitions: [loop.definition],
    log,
    env: { NOTIFY_SOCKET: socket.path, WATCHDOG_USEC: '100000' },
  });
  await daemon.start();
  await waitFor(() => socket.values('READY').length === 1, 'READY=1');
  await waitFor(() => socket.values('WATCHDOG').length >= 3, 'watchdog pings');
  t.ok(socket.values('STATUS').some((s) => /all subsystems ok/.test(s)), 'STATUS= carries the summary');

  loop.state.hung = true;
  await waitFor(() => socket.values('STATUS').some((s) => s === 'stalled: test.loop'), 'stall reported');
  const pingsAtStall = socket.values('WATCHDOG').length;
  await new Promise((r) => setTimeout(r, 400));
  t.equal(socket.values('WATCHDOG').length, pingsAtStall, 'no WATCHDOG=1 while the loop is hung');
  t.match(messages().join('\n'), /loop stalled \(test\.loop\): no longer feeding the systemd watchdog/);

  loop.state.hung = false;
  await waitFor(() => socket.values('WATCHDOG').length > pingsAtStall, 'pings resume');
  await daemon.stop('test');
  await waitFor(() => socket.values('STOPPING').length === 1, 'STOPPING=1');
});

t.test('a crashing subsystem does not take the daemon or the camera down', async (t) => {
  const config = configSchema.parse({
    camera: { source: 'demo' },
    runtime: { restart: { initial_delay_ms: 20, max_delay_ms: 40 } },
  });
  let crashes = 0;
  const crashy: SubsystemDefinition = {
    name: 'crashy',
    sections: [],
    create: () => ({
      async start(ctx) {
        setTimeout(() => ctx.fail(new Error(`crash ${++crashes}`)), 10);
      },
      async stop() {},
    }),
  };
  const { log } = capturingLogger();
  const daemon = new Daemon({ loaded: { config, file: BUILT_IN }, definitions: [crashy, camera], log, env: {} });
  let frames = 0;
  daemon.bus.on('camera.frame', () => frames++);
  await daemon.start();
  await waitFor(() => crashes >= 4, 'several crashes');
  const framesBefore = frames;
  await waitFor(() => frames > framesBefore + 5, 'frames keep flowing');
  t.equal(daemon.supervisor.states().camera, 'running');
  await daemon.stop('test');
  t.equal(daemon.supervisor.states().camera, 'stopped');
  t.match(daemon.supervisor.states().crashy, /^(stopped|crashed)$/, 'stopped, or left crashed with its restart cancelled');
});

t.test('config reload: a bad edit is rejected and the last good config keeps running', async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'emobot-daemon-'));
  const file = path.join(dir, 'config.yaml');
  writeFileSync(file, 'camera:\n  fps: 20\n');
  const loop = beatingLoop();
  const { log, messages } = capturingLogger();
  const daemon = new Daemon({ loaded: loadConfigFile(file), definitions: [loop.definition], log, env: {}, watchConfig: true });
  const rejected: unknown[] = [];
  const reloaded: unknown[] = [];
  daemon.bus.on('config.rejected', (e) => rejected.push(e));
  daemon.bus.on('config.reloaded', (e) => reloaded.push(e));
  await daemon.start();

  writeFileSync(file, 'camera:\n  fps: twenty\n');
  await waitFor(() => rejected.length === 1, 'the bad edit to be rejected');
  t.match(rejected[0], { file, issues: [{ key: 'camera.fps', value: 'twenty', line: 2 }] });
  t.equal(daemon.config.camera.fps, 20, 'last good config kept');
  t.equal(loop.state.starts, 1, 'nothing restarted');
  t.match(messages().join('\n'), /config rejected, keeping the last good one: .*config\.yaml:2:8 camera\.fps/);

  writeFileSync(file, 'camera:\n  fps: 12\nlog:\n  level: warn\n');
  await waitFor(() => reloaded.length === 1, 'the good edit to be applied');
  t.match(reloaded[0], { file, changed: ['log', 'camera'], config: { camera: { fps: 12 } } });
  t.equal(loop.state.starts, 2, 'the camera-section subsystem restarted once');
  t.equal(loop.state.configs[1]!.camera.fps, 12);
  t.equal(log.level, 'warn', 'log level follows the config');

  await daemon.reload('SIGHUP');
  t.equal(loop.state.starts, 2, 'an unchanged file restarts nothing');
  await daemon.stop('test');
});

t.test('a reloaded runtime.status_interval_ms takes effect without a restart', async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'emobot-daemon-'));
  const file = path.join(dir, 'config.yaml');
  writeFileSync(file, 'runtime:\n  status_interval_ms: 60000\n');
  const { log } = capturingLogger();
  const daemon = new Daemon({ loaded: loadConfigFile(file), definitions: [], log, env: {} });
  let statuses = 0;
  daemon.bus.on('runtime.status', () => statuses++);
  await daemon.start();
  writeFileSync(file, 'runtime:\n  status_interval_ms: 100\n');
  await daemon.reload('SIGHUP');
  await waitFor(() => statuses >= 3, 'status lines at the new period', 2000);
  await daemon.stop('test');
  t.pass();
});

t.test('robot.control requests become robot.state changes; a repeat changes nothing', async (t) => {
  const { log } = capturingLogger();
  const daemon = new Daemon({ loaded: { config: configSchema.parse({}), file: BUILT_IN }, definitions: [], log, env: {} });
  const states: unknown[] = [];
  daemon.bus.on('robot.state', (s) => void states.push(s));
  await daemon.start();
  daemon.bus.emit('robot.control', { mode: 'sleep', by: 'test' });
  daemon.bus.emit('robot.control', { mode: 'sleep', by: 'test' });
  daemon.bus.emit('robot.control', { muted: true, by: 'test' });
  t.same(states, [{ mode: 'sleep', muted: false }, { mode: 'sleep', muted: true }]);
  t.same(daemon.robotState, { mode: 'sleep', muted: true });
  await daemon.stop('test');
});
