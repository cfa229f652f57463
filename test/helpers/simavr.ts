import { execFileSync, spawn } from 'node:child_process';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { packageRoot } from '../../src/runtime/paths.js';
import { waitFor } from './wait.js';

const firmwareDir = path.join(packageRoot, 'firmware');

/** Builds the firmware and the simulator bridge (make skips what is up to date). */
export function buildFirmware(): { elf: string; bridge: string } {
  execFileSync('make', ['-s', '-C', firmwareDir, 'all', 'simavr-bridge'], { stdio: ['ignore', 'ignore', 'inherit'] });
  return { elf: path.join(firmwareDir, 'build', 'emobot-firmata.elf'), bridge: path.join(firmwareDir, 'build', 'simavr-bridge') };
}

export interface PinOutput {
  pulseUs?: number;
  pwm?: number;
  level?: number;
}

/**
 * The firmware running in simavr behind a pseudo-terminal: a serial port for johnny-five, and the
 * pin outputs the simulated chip really produces (servo pulse widths, PWM duty, steady levels).
 */
export async function simulatedArduino() {
  const { elf, bridge } = buildFirmware();
  const child = spawn(bridge, [elf], { stdio: ['ignore', 'pipe', 'inherit'] });
  const pins = new Map<number, PinOutput>();
  const pulses = new Map<number, number[]>();
  let port = '';
  createInterface({ input: child.stdout! }).on('line', (line) => {
    const [kind, a, b] = line.split(' ');
    if (kind === 'ready') port = a!;
    const pin = Number(a);
    const value = Number(b);
    if (kind === 'pulse') {
      pins.set(pin, { pulseUs: value });
      pulses.set(pin, [...(pulses.get(pin) ?? []), value]);
    } else if (kind === 'pwm') pins.set(pin, { pwm: value });
    else if (kind === 'level') pins.set(pin, { level: value });
  });
  await waitFor(() => port !== '', 'the simulator to open its pseudo-terminal', 10_000);
  return {
    port,
    pins,
    /** Every servo pulse width seen on a pin (each change once). */
    pulses: (pin: number) => pulses.get(pin) ?? [],
    /** Waits for the pins to show something; on timeout the error lists what they showed. */
    until: (what: string, predicate: () => boolean, timeoutMs = 10_000) =>
      waitFor(predicate, what, timeoutMs).catch((err: Error) => {
        throw new Error(`${err.message}; pins: ${JSON.stringify(Object.fromEntries(pins))}`);
      }),
    stop: () => {
      child.kill('SIGKILL');
    },
  };
}
