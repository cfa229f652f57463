import { createRequire } from 'node:module';
import type { EventEmitter } from 'node:events';

const require = createRequire(import.meta.url);

export type FirmataWrite = [op: 'pinMode' | 'servoConfig' | 'servoWrite' | 'analogWrite' | 'digitalWrite', pin: number, ...values: number[]];

/**
 * mock-firmata's board, whose writes do nothing, with every write recorded; it becomes ready like a
 * real Firmata board does once johnny-five has subscribed. Also lets a test pull the cable.
 */
export function recordingFirmata() {
  const { Firmata } = require('mock-firmata') as { Firmata: new () => EventEmitter & Record<string, unknown> };
  const io = new Firmata();
  const writes: FirmataWrite[] = [];
  for (const op of ['pinMode', 'servoConfig', 'servoWrite', 'analogWrite', 'digitalWrite'] as const) {
    const original = io[op] as ((...args: unknown[]) => unknown) | undefined;
    io[op] = (...args: number[]) => {
      writes.push([op, ...(args as [number, ...number[]])]);
      return original?.apply(io, args);
    };
  }
  let closed = false;
  const withClose = () => Object.assign(io, { close: async () => void (closed = true) });
  const factory = async () => {
    setImmediate(() => {
      io.emit('connect');
      io.emit('ready');
    });
    return withClose();
  };
  /** A board that opens but never answers (wrong firmware, wrong baud rate). */
  const silentFactory = async () => withClose();
  return {
    io,
    writes,
    factory,
    silentFactory,
    closed: () => closed,
    unplug: () => io.emit('close'),
    servo: (pin: number) => writes.filter((w) => w[0] === 'servoWrite' && w[1] === pin).map((w) => w[2]!),
    pwm: (pin: number) => writes.filter((w) => w[0] === 'analogWrite' && w[1] === pin).map((w) => w[2]!),
  };
}
