import { createRequire } from 'node:module';
import type { EventEmitter } from 'node:events';
import type * as five from 'johnny-five';
import { rgbToHex, type ActuatorBoard, type Rgb } from './board.js';
import type { Calibration } from './calibration.js';
import { LinuxI2cIO, type I2cBus } from './linux-i2c-io.js';
import { boardDevice, type HardwareProfile } from './profile.js';

const require = createRequire(import.meta.url);

/** johnny-five's PCA9685 servo code divides microseconds by 4 to get PWM steps. */
const PCA9685_US_PER_STEP = 4;

/** An IO plugin instance as johnny-five's Board takes it; created per connect, so a reconnect starts clean. */
export type IoFactory = (profile: HardwareProfile, port: string) => Promise<EventEmitter & { close?(): Promise<void> | void }>;

/**
 * The real board: johnny-five with the IO plugin the hardware profile names (Firmata over a serial
 * port, or the host's I2C bus to a PCA9685). Only this file imports johnny-five.
 */
export class JohnnyFiveBoard implements ActuatorBoard {
  readonly description: string;
  private readonly servos = new Map<string, five.Servo>();
  private readonly leds = new Map<string, five.Led.RGB>();
  private io?: Awaited<ReturnType<IoFactory>>;
  private disconnectListeners: ((error: Error) => void)[] = [];
  private gone = false;

  constructor(
    private readonly profile: HardwareProfile,
    private readonly calibration: Calibration,
    private readonly options: { port?: string; connectTimeoutMs?: number; io?: IoFactory } = {},
  ) {
    this.description = `${profile.name} on ${this.port}`;
    if (profile.pwm_driver) checkPca9685(profile);
  }

  private get port(): string {
    return boardDevice(this.profile, this.options.port);
  }

  async connect(): Promise<void> {
    const five = require('johnny-five') as typeof import('johnny-five');
    const { Board, Servo, Led } = five;
    const io = await (this.options.io ?? defaultIo)(this.profile, this.port);
    this.io = io;
    // johnny-five's own connect timer is left far out: ours (below) names the port and cleans up.
    const board = new Board({ io, repl: false, debug: false, sigint: false, timeout: 3_600_000 } as five.BoardOption & { sigint: boolean; timeout: number });
    // johnny-five re-emits IO errors (and its own connect timeout) on the Board, where an unheard
    // "error" would throw and end the daemon: they are handled here, through the IO listeners.
    (board as unknown as EventEmitter).on('error', () => {});
    const timeoutMs = this.options.connectTimeoutMs ?? 10_000;
    try {
      await this.ready(board, io, timeoutMs);
    } catch (err) {
      clearTimeout((board as unknown as { timer?: NodeJS.Timeout }).timer);
      await this.close();
      throw err;
    }
    const driver = this.profile.pwm_driver;
    const expander = driver ? { controller: 'PCA9685', address: driver.address, frequency: driver.frequency_hz } : {};
    if (driver) reusePca9685(five, driver.address, io, board);
    // Servos first: johnny-five's PCA9685 code keeps the first user's pulse range for the whole chip,
    // and servo angles depend on it (LED brightness only loses some linearity).
    for (const [name, servo] of Object.entries(this.profile.servos)) {
      const { min, max } = this.calibration.servos[name]!;
      // johnny-five's own range is a second fence behind SafeServos.
      this.servos.set(name, new Servo({ board, pin: servo.pin, pwmRange: servo.pulse_us, range: [Math.floor(min), Math.ceil(max)], ...expander } as unknown as five.ServoGeneralOption));
    }
    for (const [name, led] of Object.entries(this.profile.leds)) {
      this.leds.set(name, new Led.RGB({ board, pins: led.pins, isAnode: led.common === 'anode', ...expander } as five.Led.RGBOption));
    }
    const lost = (reason: string) => (detail?: unknown) => {
      if (this.gone) return;
      this.gone = true;
      const error = new Error(`${this.port}: board ${reason}${detail instanceof Error ? `: ${detail.message}` : ''}`);
      for (const listener of this.disconnectListeners) listener(error);
    };
    io.on('close', lost('closed'));
    io.on('disconnect', lost('disconnected'));
    io.on('error', lost('error'));
  }

  private ready(board: five.Board, io: EventEmitter, timeoutMs: number): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${this.port}: no Firmata reply within ${timeoutMs} ms (is the board flashed with firmware/emobot-firmata?)`)), timeoutMs);
      // Serial ports can report one failure several times (open, then close): the first one decides.
      const fail = (err: Error) => {
        clearTimeout(timer);
        reject(new Error(`${this.port}: ${err.message}`));
      };
      io.on('error', fail);
      (board as unknown as EventEmitter).once('ready', () => {
        clearTimeout(timer);
        io.off('error', fail);
        resolve();
      });
    });
  }

  writeServo(name: string, degrees: number): void {
    if (this.gone) return;
    this.servos.get(name)?.to(degrees);
  }

  writeLed(name: string, color: Rgb): void {
    if (this.gone) return;
    this.leds.get(name)?.color(rgbToHex(color));
  }

  onDisconnect(listener: (error: Error) => void): void {
    this.disconnectListeners.push(listener);
  }

  async close(): Promise<void> {
    this.gone = true;
    const io = this.io;
    this.io = undefined;
    await io?.close?.();
  }
}

async function defaultIo(profile: HardwareProfile, port: string) {
  if (profile.io.type === 'firmata') {
    const { Firmata } = require('firmata-io') as { Firmata: new (transport: unknown, options: object) => EventEmitter };
    const { SerialPort } = await import('serialport');
    // Opened by the constructor: Firmata and johnny-five must be listening before the port's "open".
    const serial = new SerialPort({ path: port, baudRate: profile.io.baud });
    const io = new Firmata(serial, { reportVersionTimeout: 1000 });
    return Object.assign(io, { close: () => flushAndClose(serial) });
  }
  let i2c: { openPromisified(bus: number): Promise<I2cBus> };
  try {
    i2c = require('i2c-bus') as typeof i2c;
  } catch (err) {
    throw new Error(`${port}: the i2c-bus package is not installed or not built for this machine (${(err as Error).message.split('\n')[0]})`);
  }
  const bus = await i2c.openPromisified(profile.io.bus).catch((err: Error) => {
    throw new Error(`${port}: ${err.message} (enable I2C and add the emobot user to group i2c)`);
  });
  return new LinuxI2cIO(bus, port);
}

/** The last writes take milliseconds at 57600 baud: a second means the board no longer reads. */
const FLUSH_DEADLINE_MS = 1000;

/** What flushAndClose uses of serialport's stream. */
interface SerialLink {
  readonly isOpen: boolean;
  write(data: Buffer, callback: (err: Error | null | undefined) => void): unknown;
  drain(callback: () => void): void;
  close(callback: () => void): void;
  once(event: 'close', listener: () => void): unknown;
}

/**
 * Closes a serial port once every byte handed to it has gone out, so the rest pose and the light off
 * reach the board. serialport's drain() waits only for the write in progress, not for the writes queued
 * behind it (one per servo and LED channel), and close() drops those: an empty write's callback comes
 * after all of them.
 */
export function flushAndClose(serial: SerialLink): Promise<void> {
  if (!serial.isOpen) return Promise.resolve();
  return new Promise<void>((resolve) => {
    const finish = () => {
      clearTimeout(deadline);
      resolve();
    };
    // A board that stops reading (its firmware hung) never takes the last bytes: the port is closed
    // anyway, or its lock would keep the next connect out.
    const deadline = setTimeout(() => (serial.isOpen ? serial.close(finish) : finish()), FLUSH_DEADLINE_MS);
    // A port that fails or goes away meanwhile closes by itself; its queued writes then wait for an
    // "open" that never comes, and drain() on it would too.
    serial.once('close', finish);
    serial.write(Buffer.alloc(0), (err) => {
      if (err || !serial.isOpen) return finish();
      serial.drain(() => (serial.isOpen ? serial.close(finish) : finish()));
    });
  });
}

/**
 * johnny-five turns a servo angle into PCA9685 steps as if each step were 4 µs, so the chip must run at
 * 61 Hz (prescaler 99) for the angles to come out right; and it uses one pulse range for the whole
 * chip. Checked at start rather than discovered as a head that turns too far.
 */
function checkPca9685(profile: HardwareProfile): void {
  const frequency = profile.pwm_driver!.frequency_hz;
  const usPerStep = 1e6 / (4096 * frequency);
  if (Math.abs(usPerStep - PCA9685_US_PER_STEP) > 0.05) {
    throw new Error(`${profile.name}: pwm_driver.frequency_hz must be 61 (johnny-five's PCA9685 servo writes assume 4 µs steps; ${frequency} Hz gives ${usPerStep.toFixed(2)} µs)`);
  }
  const ranges = new Set(Object.values(profile.servos).map((servo) => servo.pulse_us.join('-')));
  if (ranges.size > 1) throw new Error(`${profile.name}: servos on one PCA9685 must share pulse_us (johnny-five uses one range per chip; found ${[...ranges].join(', ')})`);
}

interface J5Expander {
  io: unknown;
  board: unknown;
  readonly prescale: number;
}

const PCA9685_MODE1 = 0x00;
const PCA9685_PRESCALE = 0xfe;

/**
 * johnny-five keeps one PCA9685 object per I2C address for the life of the process, bound to the IO it
 * was first created with (and it cannot be set up twice). After a reconnect it must talk through the
 * new IO, and the chip, which may have lost power, needs the datasheet's start sequence again: sleep,
 * prescaler, wake, auto-increment. Otherwise servo writes would go to the closed bus.
 */
function reusePca9685(j5: typeof import('johnny-five'), address: number, io: LinuxI2cIO | EventEmitter, board: unknown): void {
  const existing = (j5.Expander as unknown as { byAddress(address: number): J5Expander | undefined }).byAddress(address);
  if (!existing) return;
  existing.io = io;
  existing.board = board;
  const i2c = io as unknown as Pick<LinuxI2cIO, 'i2cConfig' | 'i2cWriteReg'>;
  i2c.i2cConfig();
  i2c.i2cWriteReg(address, PCA9685_MODE1, 0x10);
  i2c.i2cWriteReg(address, PCA9685_PRESCALE, existing.prescale);
  i2c.i2cWriteReg(address, PCA9685_MODE1, 0x00);
  i2c.i2cWriteReg(address, PCA9685_MODE1, 0xa0);
}
