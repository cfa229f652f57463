import { EventEmitter } from 'node:events';

/** The part of the `i2c-bus` package's promisified bus that the plugin uses (also what tests provide). */
export interface I2cBus {
  i2cWrite(address: number, length: number, buffer: Buffer): Promise<unknown>;
  readI2cBlock(address: number, command: number, length: number, buffer: Buffer): Promise<{ bytesRead: number; buffer: Buffer }>;
  close(): Promise<void>;
}

/**
 * A johnny-five IO plugin for a Linux host's own I2C bus (/dev/i2c-N on a Raspberry Pi or Jetson), with
 * just what johnny-five's I2C controllers such as the PCA9685 need. The host has no pins of its own to
 * offer: every actuator sits behind an I2C chip. Writes are queued in order, because the PCA9685 set-up
 * (sleep, prescale, wake) only works when its register writes arrive in sequence.
 */
export class LinuxI2cIO extends EventEmitter {
  readonly name = 'Linux I2C';
  readonly MODES = { INPUT: 0, OUTPUT: 1, ANALOG: 2, PWM: 3, SERVO: 4, I2C: 6 };
  readonly HIGH = 1;
  readonly LOW = 0;
  readonly pins: unknown[] = [];
  readonly analogPins: number[] = [];
  readonly RESOLUTION = { ADC: 1023, DAC: null, PWM: 255 };
  isReady = false;
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly bus: I2cBus,
    readonly port: string,
  ) {
    super();
    queueMicrotask(() => {
      this.isReady = true;
      this.emit('connect');
      this.emit('ready');
    });
  }

  i2cConfig(): this {
    return this;
  }

  /** i2cWrite(address, bytes) or i2cWrite(address, register, bytes), as johnny-five calls it. */
  i2cWrite(address: number, registerOrBytes: number | number[], bytes?: number[]): this {
    const data = Array.isArray(registerOrBytes) ? registerOrBytes : [registerOrBytes, ...(bytes ?? [])];
    return this.enqueue(() => this.bus.i2cWrite(address, data.length, Buffer.from(data.map((b) => b & 0xff))));
  }

  i2cWriteReg(address: number, register: number, value: number): this {
    return this.i2cWrite(address, [register, value]);
  }

  i2cReadOnce(address: number, register: number, length: number, callback: (bytes: number[]) => void): this {
    return this.enqueue(async () => {
      const { buffer, bytesRead } = await this.bus.readI2cBlock(address, register, length, Buffer.alloc(length));
      callback([...buffer.subarray(0, bytesRead)]);
    });
  }

  /** Resolves when every queued transfer has been made. */
  async flush(): Promise<void> {
    await this.queue;
  }

  async close(): Promise<void> {
    await this.flush();
    await this.bus.close();
  }

  private enqueue(transfer: () => Promise<unknown>): this {
    this.queue = this.queue.then(transfer).catch((err: Error) => {
      // A failed transfer means a loose wire or a dead chip: the board is gone as far as the robot knows.
      this.emit('error', new Error(`${this.port}: ${err.message}`));
    });
    return this;
  }
}
