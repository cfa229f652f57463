import { rgbToHex, type ActuatorBoard, type Rgb } from './board.js';
import type { HardwareProfile } from './profile.js';

export type SimulatedWrite = { kind: 'servo'; name: string; degrees: number; at: number } | { kind: 'led'; name: string; color: Rgb; at: number };

/**
 * A board with the profile's actuators that only records: `npm start` and `emobot calibrate` without
 * hardware use it, and it reports what the robot is doing as one line per report interval (not one
 * per servo step, which would be 150 lines a second).
 */
export class SimulatedBoard implements ActuatorBoard {
  readonly description: string;
  readonly servos = new Map<string, number>();
  readonly leds = new Map<string, Rgb>();
  /** The most recent writes, newest last, bounded so a long demo does not grow without limit. */
  readonly writes: SimulatedWrite[] = [];
  private changed = false;
  private timer?: NodeJS.Timeout;

  constructor(
    private readonly profile: HardwareProfile,
    private readonly report?: { intervalMs: number; print: (line: string) => void },
    private readonly historyLimit = 10_000,
  ) {
    this.description = `simulated ${profile.name}`;
  }

  async connect(): Promise<void> {
    if (this.report) this.timer = setInterval(() => this.printIfChanged(), this.report.intervalMs).unref();
  }

  writeServo(name: string, degrees: number): void {
    if (!(name in this.profile.servos)) throw new Error(`simulated board: no servo "${name}"`);
    this.servos.set(name, degrees);
    this.record({ kind: 'servo', name, degrees, at: Date.now() });
  }

  writeLed(name: string, color: Rgb): void {
    if (!(name in this.profile.leds)) throw new Error(`simulated board: no LED "${name}"`);
    this.leds.set(name, color);
    this.record({ kind: 'led', name, color, at: Date.now() });
  }

  onDisconnect(): void {
    // A simulated board is never unplugged.
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    this.printIfChanged();
  }

  /** e.g. `head_pan 92.0° head_tilt 80.0° ears 120.0° mood #ffb000` */
  describe(): string {
    const servos = [...this.servos].map(([name, deg]) => `${name} ${deg.toFixed(1)}°`);
    const leds = [...this.leds].map(([name, color]) => `${name} ${rgbToHex(color)}`);
    return [...servos, ...leds].join(' ');
  }

  private record(write: SimulatedWrite): void {
    this.changed = true;
    this.writes.push(write);
    if (this.writes.length > this.historyLimit) this.writes.splice(0, this.writes.length - this.historyLimit);
  }

  private printIfChanged(): void {
    if (!this.changed || !this.report) return;
    this.changed = false;
    this.report.print(this.describe());
  }
}
