import { mkdtempSync, renameSync, symlinkSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import type { EventEmitter } from 'node:events';
import { SerialPort } from 'serialport';
import t from 'tap';
import { configSchema } from '../../src/config/schema.js';
import { Expression } from '../../src/expression/expression.js';
import { startCli } from '../helpers/cli.js';
import { subsystemContext } from '../helpers/context.js';
import { simulatedArduino } from '../helpers/simavr.js';

// Hardware in the loop: the real firmware (firmware/emobot-firmata) runs in the simavr ATmega328P
// simulator; johnny-five drives it over a pseudo-terminal exactly as over USB serial, and the test
// reads what the simulated chip's pins put out.

const require = createRequire(import.meta.url);
/** Arduino Uno profile: pulse_us [600, 2400]. */
const us = (degrees: number) => 600 + degrees * 10;
const near = (value: number | undefined, expected: number, tolerance = 12) => value !== undefined && Math.abs(value - expected) <= tolerance;
/**
 * The first tilt pulse a board put out is the rest pose (80°), or one speed-limited step past it when
 * the next command arrived within the same 20 ms servo frame.
 */
const startedAtRest = (arduino: { pulses(pin: number): number[] }) => {
  const first = arduino.pulses(10)[0];
  return first !== undefined && first >= us(80) - 5 && first <= us(85);
};

t.test('the daemon drives the simulated board: rest pose, light, poses within limits, rest on stop', async (t) => {
  const arduino = await simulatedArduino();
  t.teardown(arduino.stop);
  const config = configSchema.parse({
    // Nobody in view for the whole test: idle motion is put off so the pins hold still between poses.
    expression: { board: 'hardware', hardware: 'arduino-uno', port: arduino.port, idle: { after_ms: 600_000 }, poses: { rest: { head_tilt: -10 }, sleep: {}, wild: { ears: 180, head_pan: -180 } } },
  });
  const { ctx, bus, failures } = subsystemContext(config);
  const expression = new Expression();
  await expression.start(ctx);
  t.teardown(() => expression.stop());

  // The robot wakes in the rest pose (head down 10°), then looks straight ahead for someone.
  await arduino.until('first pulses on all three servos', () => [9, 10, 11].every((pin) => arduino.pulses(pin).length > 0));
  const [firstPan, firstTilt, firstEars] = [9, 10, 11].map((pin) => arduino.pulses(pin)[0]!);
  t.ok(near(firstPan, us(90)) && near(firstEars, us(90)), `pan and ears start centred: ${firstPan} µs, ${firstEars} µs`);
  t.ok(startedAtRest(arduino), `tilt starts in the rest pose, 80°: ${firstTilt} µs`);
  // The neutral mood light, #30ffd0: red PWM 48 on pin 3, green fully on (pin 5), blue PWM 208 on pin 6.
  await arduino.until('the neutral light', () => near(arduino.pins.get(3)?.pwm, 0x30, 3) && arduino.pins.get(5)?.level === 1 && near(arduino.pins.get(6)?.pwm, 0xd0, 3));
  t.pass(`LED pins: ${JSON.stringify([3, 5, 6].map((p) => arduino.pins.get(p)))}`);

  bus.emit('expression.pose', { name: 'wild', by: 'test' });
  // Ears limit 140° (profile default), pan limit 45°: the pose asks for more than the mechanism allows.
  await arduino.until('the pose, as far as the limits allow', () => near(arduino.pins.get(11)?.pulseUs, us(140)) && near(arduino.pins.get(9)?.pulseUs, us(45)));
  const ears = arduino.pulses(11);
  t.ok(Math.max(...ears) <= us(140) + 12, `no ears pulse past 140° (${Math.max(...ears)} µs)`);
  t.ok(Math.min(...arduino.pulses(9)) >= us(45) - 12, `no pan pulse past 45° (${Math.min(...arduino.pulses(9))} µs)`);
  t.ok(arduino.pulses(9).length > 5, `pan moved there in ${arduino.pulses(9).length} steps, not one jump`);

  await expression.stop();
  await arduino.until('rest pose and lights off after stop', () => near(arduino.pins.get(9)?.pulseUs, us(90)) && [3, 5, 6].every((p) => arduino.pins.get(p)?.level === 0));
  t.same(failures, []);
});

t.test('Firmata protocol: identity, capabilities, pin state read-back, reset stops the servos', async (t) => {
  const arduino = await simulatedArduino();
  t.teardown(arduino.stop);
  const { Firmata } = require('firmata-io') as { Firmata: new (transport: unknown, options: object) => EventEmitter & Record<string, any> };
  const serial = new SerialPort({ path: arduino.port, baudRate: 57600 });
  t.teardown(() => new Promise<void>((resolve) => (serial.isOpen ? serial.close(() => resolve()) : resolve())));
  const io = new Firmata(serial, { reportVersionTimeout: 200 });
  await new Promise((resolve) => io.once('ready', resolve));
  t.match(io.firmware, { name: /^emobot-firmata/, version: { major: 1, minor: 0 } });
  t.same(io.version, { major: 2, minor: 5 });
  t.equal(io.pins.length, 20);
  const pwmPins = io.pins.map((p: { supportedModes: number[] }, i: number) => (p.supportedModes.includes(io.MODES.PWM) ? i : -1)).filter((i: number) => i >= 0);
  t.same(pwmPins, [3, 5, 6, 11], 'PWM on the pins Timer0/Timer2 drive');
  t.ok(io.pins[9].supportedModes.includes(io.MODES.SERVO));

  io.servoConfig(9, 1000, 2000);
  io.servoWrite(9, 90);
  await arduino.until('a 1500 µs pulse (90° over 1000-2000 µs)', () => near(arduino.pins.get(9)?.pulseUs, 1500));
  io.servoWrite(9, 2600);
  await arduino.until('clamped to the configured 2000 µs', () => near(arduino.pins.get(9)?.pulseUs, 2000));
  const state = await new Promise<{ mode: number; state: number }>((resolve) => io.queryPinState(9, () => resolve(io.pins[9])));
  t.match(state, { mode: io.MODES.SERVO, state: 2600 }, 'pin state read back');

  io.pinMode(13, io.MODES.OUTPUT);
  io.digitalWrite(13, 1);
  await arduino.until('pin 13 high', () => arduino.pins.get(13)?.level === 1);

  // A sysex whose END byte was lost must not swallow the commands after it.
  serial.write(Buffer.from([0xf0, 0x6d, 0x09, 0xf5, 12, 1]));
  io.pinMode(12, io.MODES.OUTPUT);
  serial.write(Buffer.from([0xf0, 0x6d, 0x09, 0xf5, 12, 1]));
  await arduino.until('pin 12 high after a broken sysex', () => arduino.pins.get(12)?.level === 1);

  io.reset();
  await arduino.until('no more servo pulses after a reset', () => arduino.pins.get(9)?.level === 0);
  t.pass('reset: servo pin low and steady');
});

t.test('the real daemon on the simulated board: follows the faces of the demo video, rests on SIGTERM', async (t) => {
  const arduino = await simulatedArduino();
  t.teardown(arduino.stop);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'emobot-hil-'));
  const config = path.join(dir, 'config.yaml');
  writeFileSync(config, `camera:\n  source: demo\nweb:\n  port: 0\nexpression:\n  board: hardware\n  hardware: arduino-uno\n  port: ${arduino.port}\n`);
  const daemon = startCli(['run', '--config', config]);
  t.teardown(() => daemon.child.kill('SIGKILL'));
  await arduino.until('the rest pose', () => startedAtRest(arduino), 20_000);
  // The first demo face sits above the image centre: the head tilts up towards it.
  await arduino.until('the head tilting up to the face', () => (arduino.pins.get(10)?.pulseUs ?? 0) > us(95), 20_000);
  t.pass(`tilt ${arduino.pins.get(10)!.pulseUs} µs while following`);
  daemon.child.kill('SIGTERM');
  const result = await daemon.done;
  t.equal(result.code, 0, result.stderr);
  await arduino.until('back in the rest pose, light off', () => near(arduino.pins.get(10)?.pulseUs, us(80)) && [3, 5, 6].every((p) => arduino.pins.get(p)?.level === 0)).catch((err: Error) => {
    throw new Error(`${err.message}\ndaemon log:\n${result.stdout.slice(-3000)}${result.stderr.slice(-3000)}`);
  });
});

t.test('the board is unplugged mid-run: the daemon carries on, reconnects, and starts again from the rest pose', async (t) => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'emobot-unplug-'));
  // The config names a stable path, as /dev/serial/by-id/... would be on a robot; it points at the simulator's pty.
  const port = path.join(dir, 'ttyBOARD');
  const plugIn = (pty: string) => {
    symlinkSync(pty, `${port}.new`);
    renameSync(`${port}.new`, port);
  };
  const first = await simulatedArduino();
  t.teardown(first.stop);
  plugIn(first.port);
  const config = path.join(dir, 'config.yaml');
  writeFileSync(config, `camera:\n  source: demo\nweb:\n  port: 0\nruntime:\n  restart:\n    initial_delay_ms: 200\n    max_delay_ms: 1000\nexpression:\n  board: hardware\n  port: ${port}\n`);
  const daemon = startCli(['run', '--config', config]);
  t.teardown(() => daemon.child.kill('SIGKILL'));
  await first.until('the rest pose on the first board', () => startedAtRest(first), 20_000);

  first.stop();
  await new Promise((resolve) => setTimeout(resolve, 1500));
  t.equal(daemon.output().code, null, 'the daemon is still running without its board');
  const second = await simulatedArduino();
  t.teardown(second.stop);
  plugIn(second.port);
  await second.until('the rest pose again on the new board', () => startedAtRest(second) && near(second.pulses(9)[0], us(90)), 20_000);
  t.match(daemon.output().stdout, /board (closed|disconnected|error)/, 'the loss was logged');
  daemon.child.kill('SIGTERM');
  t.equal((await daemon.done).code, 0);
});
