import type { ActuatorBoard } from './board.js';
import type { Calibration, ServoCalibration } from './calibration.js';
import { SafeServos } from './safe-servos.js';

/** While calibrating, limits are what is being found: servos may go anywhere a servo can, slowly. */
const JOG_SPEED_DEG_S = 60;

export type CalibrationKey = 'left' | 'right' | 'page-left' | 'page-right' | 'up' | 'down' | 'min' | 'center' | 'max' | 'invert' | 'faster' | 'slower';

/** While calibrating, every servo may go anywhere a servo can (0-180°), at the slow jogging speed. */
export function roamingCalibration(start: Calibration): Calibration {
  const servos: Calibration['servos'] = {};
  for (const [name, c] of Object.entries(start.servos)) servos[name] = { min: 0, max: 180, center: c.center, invert: false, trim: 0, max_speed_deg_s: JOG_SPEED_DEG_S };
  return { servos };
}

/**
 * The state behind `emobot calibrate`: which servo is selected, where it is, and the limits set so
 * far. Keys move the selected servo (speed-limited through SafeServos, within the servo's own 0-180°)
 * and record the current angle as min, centre or max, refusing settings that contradict each other.
 */
export class CalibrationSession {
  readonly calibration: Calibration;
  private readonly servos: SafeServos;
  private readonly positions: Record<string, number> = {};
  selected = 0;
  message = '';

  constructor(
    start: Calibration,
    private readonly board: ActuatorBoard,
  ) {
    this.calibration = structuredClone(start);
    for (const [name, c] of Object.entries(start.servos)) this.positions[name] = c.center + c.trim;
    this.servos = new SafeServos(roamingCalibration(start), (name, degrees) => board.writeServo(name, degrees));
    for (const name of this.names) this.servos.setTarget(name, this.positions[name]! - start.servos[name]!.center);
    this.servos.writeAll();
  }

  get names(): string[] {
    return Object.keys(this.calibration.servos);
  }

  get current(): string {
    return this.names[this.selected]!;
  }

  /** Where a servo has been told to go (physical degrees). */
  position(name: string): number {
    return this.positions[name]!;
  }

  press(key: CalibrationKey): void {
    this.message = '';
    const name = this.current;
    const servo = this.calibration.servos[name]!;
    switch (key) {
      case 'up':
      case 'down':
        this.selected = (this.selected + (key === 'down' ? 1 : this.names.length - 1)) % this.names.length;
        return;
      case 'left':
      case 'right':
      case 'page-left':
      case 'page-right': {
        const step = (key.startsWith('page') ? 5 : 1) * (key.endsWith('left') ? -1 : 1);
        this.jog(name, step);
        return;
      }
      case 'min':
      case 'center':
      case 'max':
        this.set(name, servo, key);
        return;
      case 'invert':
        servo.invert = !servo.invert;
        return;
      case 'faster':
      case 'slower':
        servo.max_speed_deg_s = Math.min(1000, Math.max(10, servo.max_speed_deg_s + (key === 'faster' ? 10 : -10)));
        return;
    }
  }

  /** Advances the servos towards where they were told to go; call often (the terminal loop does). */
  step(nowMs: number): void {
    this.servos.step(nowMs);
  }

  private jog(name: string, step: number): void {
    const to = Math.min(180, Math.max(0, this.positions[name]! + step));
    this.positions[name] = to;
    this.servos.setTarget(name, to - this.calibration.servos[name]!.center);
  }

  private set(name: string, servo: ServoCalibration, which: 'min' | 'center' | 'max'): void {
    const here = this.positions[name]!;
    const next = { ...servo, [which]: here };
    // The trim is folded into the centre: the centre is set where the head actually looks ahead.
    if (which === 'center') next.trim = 0;
    if (!(next.min <= next.center && next.center <= next.max)) {
      this.message = `${name}: ${which} ${here}° would break min <= centre <= max (${servo.min} / ${servo.center} / ${servo.max})`;
      return;
    }
    this.calibration.servos[name] = next;
    this.message = `${name}: ${which} = ${here}°`;
  }

  async close(): Promise<void> {
    await this.board.close();
  }
}
