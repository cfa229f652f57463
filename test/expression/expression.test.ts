import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import { configSchema } from '../../src/config/schema.js';
import { JohnnyFiveBoard } from '../../src/expression/johnny-five-board.js';
import { parseColor } from '../../src/expression/behaviour.js';
import { Expression } from '../../src/expression/expression.js';
import { SimulatedBoard } from '../../src/expression/simulated-board.js';
import { subsystemContext } from '../helpers/context.js';
import { recordingFirmata } from '../helpers/mock-firmata.js';
import { waitFor } from '../helpers/wait.js';

function config(expression: Record<string, unknown> = {}) {
  return configSchema.parse({ runtime: { shutdown_timeout_ms: 4000 }, expression: { update_hz: 100, ...expression } });
}

function withSimulatedBoard() {
  let board: SimulatedBoard | undefined;
  const subsystem = new Expression((profile) => (board = new SimulatedBoard(profile)));
  return { subsystem, board: () => board! };
}

const face = (x: number) => ({
  trackId: 1,
  box: { x, y: 180, width: 120, height: 120 },
  attended: true,
  raw: { label: 'happy', confidence: 0.9 },
  smoothed: { label: 'happy', confidence: 0.9, sinceMs: 0, changed: false },
  probabilities: {},
});

t.test('wakes in the rest pose, follows the face, shows the emotion, rests on stop', async (t) => {
  const { subsystem, board } = withSimulatedBoard();
  const { ctx, bus, failures } = subsystemContext(config());
  const activities: string[] = [];
  bus.on('expression.state', (s) => activities.push(s.activity));
  await subsystem.start(ctx);
  t.teardown(() => subsystem.stop());
  t.same(Object.fromEntries(board().servos), { head_pan: 90, head_tilt: 80, ears: 90 }, 'rest pose (tilt -10°) written first');
  await waitFor(() => activities.length > 0, 'the first activity');
  t.same(activities, ['following']);

  // A face well right of centre: the head turns right (pan grows).
  for (let i = 0; i < 40; i++) {
    bus.emit('vision.frame', { frameIndex: i, capturedAt: Date.now(), width: 640, height: 480, faces: [face(480)], attendedTrackId: 1, timings: {} as never, droppedFrames: 0 });
    await new Promise((r) => setTimeout(r, 20));
  }
  t.ok(board().servos.get('head_pan')! > 100, `head turned right: pan ${board().servos.get('head_pan')}°`);

  bus.emit('emotion', { trackId: 1, attended: true, label: 'sad', confidence: 0.8, probabilities: {}, box: face(320).box, since: Date.now(), at: Date.now() });
  await waitFor(() => {
    const led = board().leds.get('mood');
    return !!led && led.blue > 2 * (led.red + led.green);
  }, 'the sad blue light');
  await waitFor(() => board().servos.get('head_tilt')! < 80, 'the sad head-down gesture');

  await subsystem.stop();
  t.same(Object.fromEntries(board().servos), { head_pan: 90, head_tilt: 80, ears: 90 }, 'back in the rest pose');
  t.same(board().leds.get('mood'), { red: 0, green: 0, blue: 0 }, 'lights off');
  t.equal(activities.at(-1), 'resting');
  t.same(failures, []);
  await subsystem.stop();
});

t.test('servo positions are reported while the head moves, within their limits, and not while it stands still', async (t) => {
  const { subsystem } = withSimulatedBoard();
  // Idle soon and without motion, so that without a face the head comes to stand still.
  const { ctx, bus } = subsystemContext(config({ idle: { after_ms: 1500, amplitude_deg: 0 } }));
  const activities: string[] = [];
  bus.on('expression.state', (s) => void activities.push(s.activity));
  const reports: { servos: Record<string, { offsetDeg: number; minDeg: number; maxDeg: number }>; at: number }[] = [];
  bus.on('expression.servos', (r) => void reports.push(r));
  await subsystem.start(ctx);
  t.teardown(() => subsystem.stop());
  await waitFor(() => reports.length > 0, 'the first report');
  t.match(reports[0]!.servos, { head_pan: { offsetDeg: 0, minDeg: -45, maxDeg: 45 }, head_tilt: { offsetDeg: -10 }, ears: { offsetDeg: 0 } }, 'the rest pose');
  // From the rest pose the head eases to where following puts it, then idles without motion.
  await waitFor(() => activities.includes('idle'), 'idle', 5000);
  await new Promise((r) => setTimeout(r, 1500));
  const settled = reports.length;
  await new Promise((r) => setTimeout(r, 600));
  t.equal(reports.length, settled, 'standing still: nothing more');
  bus.emit('expression.pose', { name: 'look_left', by: 'test' });
  await waitFor(() => reports.at(-1)!.servos.head_pan!.offsetDeg <= -39, 'the head turned left', 5000);
  const times = reports.map((r) => r.at);
  t.ok(times.slice(1).every((at, i) => at - times[i]! >= 150), 'at most five reports a second');
  t.ok(reports.every((r) => Object.values(r.servos).every((s) => s.offsetDeg >= s.minDeg && s.offsetDeg <= s.maxDeg)), 'every position within its limits');
});

t.test('pose requests: a known pose is taken, an unknown one is refused by name', async (t) => {
  const { subsystem, board } = withSimulatedBoard();
  const { ctx, bus, logs } = subsystemContext(config());
  await subsystem.start(ctx);
  t.teardown(() => subsystem.stop());
  bus.emit('expression.pose', { name: 'curious', by: 'mqtt' });
  await waitFor(() => board().servos.get('ears')! > 120, 'ears up (curious)');
  bus.emit('expression.pose', { name: 'backflip', by: 'mqtt' });
  await waitFor(() => logs().some((m) => m.includes('pose from mqtt: no pose "backflip"')), 'the refusal in the log');
});

t.test('a config naming a servo the robot lacks does not start, and says which key', async (t) => {
  const { subsystem } = withSimulatedBoard();
  const { ctx } = subsystemContext(config({ reactions: { happy: { pose: { tail: 20 } } } }));
  await t.rejects(subsystem.start(ctx), /expression\.reactions\.happy\.pose\.tail: no servo "tail" in the hardware profile "Arduino Uno\/Nano, Firmata over USB serial" \(it has head_pan, head_tilt, ears\)/);
});

t.test('on a real johnny-five board, commands outside the calibration never reach a pin', async (t) => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'emobot-expression-'));
  const calibration = path.join(dir, 'calibration.yaml');
  writeFileSync(calibration, 'servos:\n  ears: { min: 80, max: 100, center: 90, max_speed_deg_s: 30 }\n');
  const firmata = recordingFirmata();
  const subsystem = new Expression((profile, cal) => new JohnnyFiveBoard(profile, cal, { io: firmata.factory }));
  const { ctx, bus, failures } = subsystemContext(config({ board: 'hardware', calibration, poses: { rest: {}, sleep: {}, wild: { ears: 180 } } }));
  await subsystem.start(ctx);
  t.teardown(() => subsystem.stop());
  bus.emit('expression.pose', { name: 'wild', by: 'test' });
  await new Promise((r) => setTimeout(r, 1200));
  const ears = firmata.servo(11);
  const us = (deg: number) => Math.round(600 + deg * 10);
  t.ok(ears.length > 5, `${ears.length} writes to the ears pin`);
  t.ok(ears.every((v) => v >= us(80) && v <= us(100)), `every ears pulse within 80-100° (${Math.min(...ears)}-${Math.max(...ears)} µs)`);
  t.equal(Math.max(...ears), us(100), 'it went as far as allowed');
  const steps = ears.slice(1).map((v, i) => Math.abs(v - ears[i]!) / 10);
  t.ok(Math.max(...steps) <= 30 * 0.05 + 0.2, `never faster than 30°/s: largest step ${Math.max(...steps)}°`);

  firmata.unplug();
  t.equal(failures.length, 1, 'an unplugged board is a failure for the supervisor to restart');
  t.match(failures[0]!.message, '/dev/ttyACM0: board closed');
});

t.test('each emotion of the attended person reaches the Firmata pins as its gesture and colour', async (t) => {
  const firmata = recordingFirmata();
  const subsystem = new Expression((profile, cal) => new JohnnyFiveBoard(profile, cal, { io: firmata.factory }));
  const { ctx, bus } = subsystemContext(config({ board: 'hardware', follow: { enabled: false }, speaking: { servo: 'ears' } }));
  await subsystem.start(ctx);
  t.teardown(() => subsystem.stop());
  const reactions = ctx.config.expression.reactions;
  const degrees = (pin: number) => (firmata.servo(pin).at(-1)! - 600) / 10;
  for (const [label, reaction] of Object.entries(reactions)) {
    const now = Date.now();
    bus.emit('vision.frame', { frameIndex: 0, capturedAt: now, width: 640, height: 480, faces: [face(260)], attendedTrackId: 1, timings: {} as never, droppedFrames: 0 });
    bus.emit('emotion', { trackId: 1, attended: true, label, confidence: 0.9, probabilities: {}, box: face(260).box, since: now, at: now });
    const tilt = 90 + (reaction.pose.head_tilt ?? 0);
    const ears = 90 + (reaction.pose.ears ?? 0);
    await waitFor(() => Math.abs(degrees(10) - tilt) < 2 && Math.abs(degrees(11) - ears) < 2, `${label}: tilt ${tilt}°, ears ${ears}° on pins 10 and 11`);
    const { red, green, blue } = parseColor(reaction.led.color);
    const expected = [red, green, blue];
    // Animated colours are scaled by their brightness (and blink goes dark): the lit hue identifies them.
    const ratio = (c: number[]) => c.map((v) => v / Math.max(...c));
    const lit = () => [3, 5, 6].map((pin) => firmata.pwm(pin).at(-1) ?? 0);
    await waitFor(() => Math.max(...lit()) > 0 && ratio(lit()).every((v, i) => Math.abs(v - ratio(expected)[i]!) < 0.1), `${label}: the LED in ${reaction.led.color}`);
    t.pass(`${label}: LED pins 3/5/6 at (${lit().join(', ')}) for ${reaction.led.color}`);
  }
});
