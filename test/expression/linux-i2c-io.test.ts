import t from 'tap';
import { defaultCalibration } from '../../src/expression/calibration.js';
import { JohnnyFiveBoard } from '../../src/expression/johnny-five-board.js';
import { LinuxI2cIO, type I2cBus } from '../../src/expression/linux-i2c-io.js';
import { loadHardwareProfile } from '../../src/expression/profile.js';

/** A PCA9685 register model behind an I2C bus: what /dev/i2c-1 would carry, decoded. */
function pca9685Bus() {
  const registers = new Map<number, number>();
  const transfers: number[][] = [];
  let closed = false;
  let broken = false;
  const bus: I2cBus = {
    async i2cWrite(address, length, buffer) {
      if (address !== 0x40) throw new Error(`Remote I/O error (no device at 0x${address.toString(16)})`);
      if (broken) throw new Error('Remote I/O error');
      const bytes = [...buffer.subarray(0, length)];
      transfers.push(bytes);
      const [register, ...data] = bytes;
      // MODE1 bit 5 (auto-increment) lets one transfer fill consecutive registers.
      data.forEach((value, i) => registers.set(register! + i, value));
      return length;
    },
    async readI2cBlock(_address, command, length, buffer) {
      for (let i = 0; i < length; i++) buffer[i] = registers.get(command + i) ?? 0;
      return { bytesRead: length, buffer };
    },
    async close() {
      closed = true;
    },
  };
  /** The pulse a channel puts out, in microseconds, from the prescaler and ON/OFF registers. */
  const pulseUs = (channel: number) => {
    const base = 0x06 + 4 * channel;
    const on = (registers.get(base) ?? 0) | ((registers.get(base + 1) ?? 0) << 8);
    const off = (registers.get(base + 2) ?? 0) | ((registers.get(base + 3) ?? 0) << 8);
    const periodUs = (4096 * ((registers.get(0xfe) ?? 0) + 1)) / 25;
    return ((off - on) * periodUs) / 4096;
  };
  const duty = (channel: number) => {
    const base = 0x06 + 4 * channel;
    const on = (registers.get(base) ?? 0) | ((registers.get(base + 1) ?? 0) << 8);
    const off = (registers.get(base + 2) ?? 0) | ((registers.get(base + 3) ?? 0) << 8);
    if (on & 0x1000) return 1;
    if (off & 0x1000) return 0;
    return (off - on) / 4096;
  };
  return { bus, registers, transfers, pulseUs, duty, closed: () => closed, unplug: () => void (broken = true) };
}

/** The Raspberry Pi profile's board, connected through the plugin to a simulated PCA9685. */
async function connectedPi() {
  const pi = loadHardwareProfile('raspberry-pi-pca9685');
  const chip = pca9685Bus();
  let io: LinuxI2cIO | undefined;
  const board = new JohnnyFiveBoard(pi, defaultCalibration(pi), { io: async (_p, port) => (io = new LinuxI2cIO(chip.bus, port)) });
  await board.connect();
  return { chip, board, flush: () => io!.flush() };
}

t.test('johnny-five drives a PCA9685 through the plugin: servo pulses as the datasheet computes them', async (t) => {
  const { chip, board, flush } = await connectedPi();
  t.equal(board.description, 'Raspberry Pi + PCA9685 over I2C on /dev/i2c-1');
  await flush();
  t.equal(chip.registers.get(0xfe), 99, 'prescaler for 61 Hz: 4 µs per step');
  t.equal(chip.registers.get(0x00), 0xa0, 'awake, auto-increment on');

  board.writeServo('head_pan', 90);
  board.writeServo('head_tilt', 60);
  board.writeServo('ears', 135);
  await flush();
  // pulse_us [500, 2500]: 90° → 1500 µs, 60° → 1166.7 µs, 135° → 2000 µs; the chip resolves 4 µs.
  t.ok(Math.abs(chip.pulseUs(0) - 1500) <= 4, `pan channel 0: ${chip.pulseUs(0)} µs`);
  t.ok(Math.abs(chip.pulseUs(1) - 1166.7) <= 4, `tilt channel 1: ${chip.pulseUs(1)} µs`);
  t.ok(Math.abs(chip.pulseUs(2) - 2000) <= 4, `ears channel 2: ${chip.pulseUs(2)} µs`);

  board.writeLed('mood', { red: 255, green: 128, blue: 0 });
  await flush();
  // Common anode: the channel sinks current, so full red is a channel fully off (and no blue fully on).
  t.same([chip.duty(13), chip.duty(15)], [0, 1], 'anode LED: inverted full-scale channels 13 and 15');
  const greens = [0, 64, 128, 192, 255].map((green) => {
    board.writeLed('mood', { red: 0, green, blue: 0 });
    return flush().then(() => 1 - chip.duty(14));
  });
  const lit = await Promise.all(greens);
  t.ok(lit.every((v, i) => i === 0 || v > lit[i - 1]!), `green brightness rises with the value: ${lit.map((v) => v.toFixed(2)).join(' ')}`);
  await board.close();
  t.ok(chip.closed(), 'the bus is closed');
});

t.test('a reconnect (new bus, same chip address) sets the chip up again and writes through the new bus', async (t) => {
  // johnny-five keeps one object per PCA9685 address for the whole process: the first test created it.
  const { chip, board, flush } = await connectedPi();
  board.writeServo('head_pan', 100);
  await flush();
  t.equal(chip.registers.get(0xfe), 99, 'prescaler written again');
  t.equal(chip.registers.get(0x00), 0xa0, 'woken again');
  t.ok(Math.abs(chip.pulseUs(0) - 1611) <= 4, `pan pulse on the new bus: ${chip.pulseUs(0)} µs`);

  const lost: Error[] = [];
  board.onDisconnect((e) => lost.push(e));
  chip.unplug();
  for (let i = 0; i < 5; i++) board.writeServo('head_pan', 80 + i);
  await flush();
  t.equal(lost.length, 1, 'a failing transfer is reported once, as the board going away');
  t.match(lost[0]!.message, '/dev/i2c-1: board error: /dev/i2c-1: Remote I/O error');
  await board.close();
});

t.test('reads come back through the callback', async (t) => {
  const chip = pca9685Bus();
  const io = new LinuxI2cIO(chip.bus, '/dev/i2c-1');
  io.i2cWriteReg(0x40, 0xfe, 121);
  const bytes = await new Promise<number[]>((resolve) => io.i2cReadOnce(0x40, 0xfe, 1, resolve));
  t.same(bytes, [121]);
  await io.close();
});
