import { setTimeout as sleep } from 'node:timers/promises';
import { SerialPortMock } from 'serialport';
import t from 'tap';
import { defaultCalibration } from '../../src/expression/calibration.js';
import { flushAndClose, JohnnyFiveBoard } from '../../src/expression/johnny-five-board.js';
import { loadHardwareProfile } from '../../src/expression/profile.js';
import { recordingFirmata } from '../helpers/mock-firmata.js';

const uno = loadHardwareProfile('arduino-uno');

/** johnny-five turns degrees into microseconds over the profile's pulse range. */
const microseconds = (degrees: number) => Math.round(600 + (1800 * degrees) / 180);

t.test('servos and the RGB LED reach the Firmata pins the profile names', async (t) => {
  const firmata = recordingFirmata();
  const board = new JohnnyFiveBoard(uno, defaultCalibration(uno), { io: firmata.factory });
  await board.connect();
  t.match(board.description, 'Arduino Uno/Nano, Firmata over USB serial on /dev/ttyACM0');
  t.ok(firmata.writes.some((w) => w[0] === 'servoConfig' && w[1] === 9 && w[2] === 600 && w[3] === 2400), 'pan configured with the profile pulse range');
  board.writeServo('head_pan', 120);
  board.writeServo('head_tilt', 75);
  board.writeServo('ears', 100);
  t.same(firmata.servo(9).at(-1), microseconds(120), 'pan on pin 9');
  t.same(firmata.servo(10).at(-1), microseconds(75), 'tilt on pin 10');
  t.same(firmata.servo(11).at(-1), microseconds(100), 'ears on pin 11');
  board.writeLed('mood', { red: 255, green: 176, blue: 0 });
  t.same([firmata.pwm(3).at(-1), firmata.pwm(5).at(-1), firmata.pwm(6).at(-1)], [255, 176, 0], 'red, green, blue on pins 3, 5, 6');
  await board.close();
  t.ok(firmata.closed(), 'the port is closed');
});

t.test('johnny-five keeps a second fence at the calibrated range', async (t) => {
  const firmata = recordingFirmata();
  const calibration = defaultCalibration(uno);
  const board = new JohnnyFiveBoard(uno, calibration, { io: firmata.factory });
  await board.connect();
  board.writeServo('head_pan', 179);
  t.same(firmata.servo(9).at(-1), microseconds(calibration.servos.head_pan!.max));
  await board.close();
});

t.test('a pulled cable is reported once, and later writes are dropped', async (t) => {
  const firmata = recordingFirmata();
  const board = new JohnnyFiveBoard(uno, defaultCalibration(uno), { io: firmata.factory, port: '/dev/ttyUSB3' });
  await board.connect();
  const errors: Error[] = [];
  board.onDisconnect((e) => errors.push(e));
  firmata.unplug();
  firmata.unplug();
  t.equal(errors.length, 1);
  t.match(errors[0]!.message, '/dev/ttyUSB3: board closed');
  const count = firmata.writes.length;
  board.writeServo('head_pan', 100);
  t.equal(firmata.writes.length, count);
  await board.close();
});

t.test('no answer from the board: a timeout naming the port', async (t) => {
  const firmata = recordingFirmata();
  const board = new JohnnyFiveBoard(uno, defaultCalibration(uno), { io: firmata.silentFactory, connectTimeoutMs: 200 });
  await t.rejects(board.connect(), /\/dev\/ttyACM0: no Firmata reply within 200 ms/);
  t.ok(firmata.closed(), 'the port is released, so the next attempt can open it');
  firmata.io.emit('error', new Error('late failure'));
  t.pass('a late error from the silent board is not an uncaught exception');
});

t.test('a serial port that does not exist: the error names it', async (t) => {
  const board = new JohnnyFiveBoard(uno, defaultCalibration(uno), { port: '/dev/ttyNOSUCH9', connectTimeoutMs: 3000 });
  await t.rejects(board.connect(), /\/dev\/ttyNOSUCH9: .*(No such file|cannot open|ENOENT)/i);
  await board.close();
});

t.test('PCA9685 profiles refuse settings johnny-five would turn into wrong pulses', async (t) => {
  const pi = loadHardwareProfile('raspberry-pi-pca9685');
  const calibration = defaultCalibration(pi);
  t.doesNotThrow(() => new JohnnyFiveBoard(pi, calibration));
  t.throws(() => new JohnnyFiveBoard({ ...pi, pwm_driver: { ...pi.pwm_driver!, frequency_hz: 50 } }, calibration), /frequency_hz must be 61/);
  const mixed = { ...pi, servos: { ...pi.servos, ears: { ...pi.servos.ears!, pulse_us: [600, 2400] as [number, number] } } };
  t.throws(() => new JohnnyFiveBoard(mixed, calibration), /servos on one PCA9685 must share pulse_us/);
});

/** An open mock serial port, and its binding, whose write() a test replaces with one that behaves as a real port's. */
async function openMockPort(name: string) {
  SerialPortMock.binding.createPort(name);
  const serial = new SerialPortMock({ path: name, baudRate: 57600 });
  await new Promise((resolve) => serial.once('open', resolve));
  const binding = serial.port as unknown as { isOpen: boolean; writeOperation: Promise<void> | null; write(buffer: Buffer): Promise<void> };
  return { serial, binding };
}

/** Light off: one Firmata analog message per colour channel, as johnny-five writes them. */
const writeLightOff = (serial: SerialPortMock) => {
  for (const channel of [3, 5, 6]) serial.write(Buffer.from([0xe0 | channel, 0, 0]));
};

t.test('closing the serial port first sends every queued write: the last LED channels are not cut off', async (t) => {
  const { serial, binding } = await openMockPort('/dev/ttyFLUSH0');
  // As in the Linux binding, bytes leave in a worker thread a little after write() and drain() awaits
  // only that one write: the stream holds the chunks behind it.
  const sent: number[] = [];
  binding.write = (buffer) =>
    (binding.writeOperation = sleep(5).then(() => {
      if (!binding.isOpen) throw new Error('the port closed before these bytes went out');
      sent.push(...buffer);
      binding.writeOperation = null;
    }));
  const errors: Error[] = [];
  serial.on('error', (err) => errors.push(err));
  writeLightOff(serial);
  await flushAndClose(serial);
  t.same(sent, [0xe3, 0, 0, 0xe5, 0, 0, 0xe6, 0, 0], 'all three channels went out before the port closed');
  t.notOk(serial.isOpen, 'the port is closed');
  t.same(errors, []);
  await t.resolves(flushAndClose(serial), 'closing a closed port is a no-op');
});

t.test('a port that fails or goes away while the last writes go out is closed all the same, without waiting for it', async (t) => {
  const flushed = async (name: string, write: (buffer: Buffer) => Promise<void>, { during, withinMs = 2000 }: { during?: (serial: SerialPortMock) => void; withinMs?: number } = {}) => {
    const { serial, binding } = await openMockPort(name);
    binding.write = write;
    serial.on('error', () => {});
    writeLightOff(serial);
    const closing = flushAndClose(serial);
    during?.(serial);
    const outcome = await Promise.race([closing.then(() => 'closed'), sleep(withinMs).then(() => `still waiting after ${withinMs} ms`)]);
    t.equal(outcome, 'closed', name);
    t.notOk(serial.isOpen, `${name} is closed`);
  };
  // Unplugged mid-write: the binding fails with EIO, and serialport closes the port itself.
  await flushed('/dev/ttyFLUSH1', () => sleep(5).then(() => Promise.reject(Object.assign(new Error('EIO: i/o error, write'), { code: 'EIO' }))));
  // Unplugged while reading: serialport's own disconnect handling (a read error) closes the port under the queued writes.
  // It ends with the port's own close, not at the second a board that stopped reading is given.
  await flushed('/dev/ttyFLUSH2', () => sleep(5), { during: (serial) => (serial as unknown as { _disconnected(err: Error): void })._disconnected(new Error('read EIO')), withinMs: 500 });
  // Plugged in but no longer reading (hung firmware): the writes never finish, and the port is closed anyway.
  await flushed('/dev/ttyFLUSH3', () => new Promise(() => {}));
});
