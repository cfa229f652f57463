import type { Calibration, ServoCalibration } from './calibration.js';

/** The longest time one step may account for (a 20 Hz minimum update rate). */
const MAX_STEP_S = 0.05;

/** Where a servo command goes: physical degrees, already limited. */
export type ServoWriter = (servo: string, degrees: number) => void;

interface ServoState {
  calibration: ServoCalibration;
  /** Physical degrees. */
  target: number;
  position: number;
  written?: number;
}

/**
 * The only path from behaviour to a servo. Whatever a caller asks, a servo is sent angles inside its
 * calibrated [min, max], and moves no faster than its max speed: a bug in a behaviour, a bad pose in
 * the config or a remote command cannot drive the mechanism into its stops or whip it around.
 */
export class SafeServos {
  private readonly servos = new Map<string, ServoState>();
  private lastStepMs?: number;

  constructor(
    calibration: Calibration,
    private readonly write: ServoWriter,
  ) {
    for (const [name, c] of Object.entries(calibration.servos)) {
      const start = clamp(c.center + c.trim, c.min, c.max);
      this.servos.set(name, { calibration: c, target: start, position: start });
    }
  }

  get names(): string[] {
    return [...this.servos.keys()];
  }

  /** Degrees from the calibrated centre, positive as poses define it; out-of-range requests are clamped. */
  setTarget(name: string, offsetDeg: number): void {
    const servo = this.servo(name);
    if (!Number.isFinite(offsetDeg)) return;
    servo.target = this.toPhysical(servo.calibration, offsetDeg);
  }

  /** The current position as an offset from the centre (what the head actually points at now). */
  offset(name: string): number {
    const { calibration, position } = this.servo(name);
    return toOffset(calibration, position);
  }

  /** The limits of a servo as offsets, for behaviours that want to stay inside them. */
  offsetRange(name: string): [number, number] {
    const c = this.servo(name).calibration;
    const ends = [c.min, c.max].map((p) => toOffset(c, p));
    return [Math.min(...ends), Math.max(...ends)];
  }

  /**
   * Sends the first command to every servo at once (there is no way to know where a hobby servo is
   * until it is told): called once after the board connects, with the servos at their start targets.
   */
  writeAll(): void {
    for (const [name, servo] of this.servos) {
      servo.position = servo.target;
      this.send(name, servo);
    }
  }

  /** Advances every servo towards its target by at most max speed x elapsed time. */
  step(nowMs: number): void {
    if (!Number.isFinite(nowMs)) return;
    // After a stall (a blocked event loop, a slow machine) motion resumes at the speed limit rather
    // than catching up in one jump: at most MAX_STEP_S worth of motion per step.
    const dtS = this.lastStepMs === undefined ? 0 : Math.min(MAX_STEP_S, Math.max(0, nowMs - this.lastStepMs) / 1000);
    this.lastStepMs = nowMs;
    for (const [name, servo] of this.servos) {
      const maxMove = servo.calibration.max_speed_deg_s * dtS;
      const gap = servo.target - servo.position;
      servo.position += Math.abs(gap) <= maxMove ? gap : Math.sign(gap) * maxMove;
      this.send(name, servo);
    }
  }

  /** True when every servo has reached its target. */
  settled(): boolean {
    for (const servo of this.servos.values()) if (servo.position !== servo.target) return false;
    return true;
  }

  private send(name: string, servo: ServoState): void {
    // Tenths of a degree: finer than any hobby servo resolves, coarse enough not to flood the serial line.
    const { min, max } = servo.calibration;
    // Rounded first, clamped last: rounding must not step over a limit (min 30.04 is sent as 30.04).
    const degrees = clamp(Math.round(servo.position * 10) / 10, min, max);
    if (!Number.isFinite(degrees)) return;
    if (degrees === servo.written) return;
    servo.written = degrees;
    this.write(name, degrees);
  }

  private toPhysical(c: ServoCalibration, offsetDeg: number): number {
    return clamp(c.center + c.trim + (c.invert ? -offsetDeg : offsetDeg), c.min, c.max);
  }

  private servo(name: string): ServoState {
    const servo = this.servos.get(name);
    if (!servo) throw new Error(`no servo named "${name}" (this robot has ${this.names.join(', ')})`);
    return servo;
  }
}

/** Physical degrees as an offset from the calibrated centre (the inverse of toPhysical, before clamping). */
function toOffset(c: ServoCalibration, physical: number): number {
  return (physical - c.center - c.trim) * (c.invert ? -1 : 1);
}

function clamp(value: number, min: number, max: number): number {
  return Math.min(max, Math.max(min, value));
}
