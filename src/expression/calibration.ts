import { writeFileSync, renameSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { stringify } from 'yaml';
import { z } from 'zod';
import { parseYamlWithSchema, readConfigText } from '../config/load.js';
import { actuatorName } from '../config/schema.js';
import type { HardwareProfile } from './profile.js';

const degrees = z.number().min(0).max(180);

export const servoCalibrationSchema = z
  .strictObject({
    /** Physical servo angles (what the servo is sent) the mechanism can reach without binding. */
    min: degrees,
    max: degrees,
    /** The angle at which the head looks straight ahead (pan) or level (tilt). */
    center: degrees,
    /** A servo mounted mirror-wise: positive offsets turn the other way. */
    invert: z.boolean().default(false),
    /** Fine correction added to every angle, for a horn that sits one spline tooth off. */
    trim: z.number().min(-20).max(20).default(0),
    max_speed_deg_s: z.number().positive().max(1000),
  })
  .refine((c) => c.min <= c.center && c.center <= c.max, 'min <= center <= max');

export const calibrationSchema = z.strictObject({
  servos: z.record(actuatorName, servoCalibrationSchema),
});

export type ServoCalibration = z.output<typeof servoCalibrationSchema>;
export type Calibration = z.output<typeof calibrationSchema>;

/** The profile's conservative limits, for a robot that has not been calibrated yet. */
export function defaultCalibration(profile: HardwareProfile): Calibration {
  const servos: Record<string, ServoCalibration> = {};
  for (const [name, servo] of Object.entries(profile.servos)) {
    servos[name] = { ...servo.default_limits, invert: false, trim: 0 };
  }
  return { servos };
}

/**
 * The calibration for this robot: the file's servos, checked against the profile so that a servo the
 * file forgets does not run without limits and a name the profile lacks is reported.
 */
export function loadCalibration(file: string | undefined, profile: HardwareProfile): Calibration {
  const defaults = defaultCalibration(profile);
  if (!file) return defaults;
  const calibration = parseYamlWithSchema(readConfigText(file), file, calibrationSchema);
  const unknown = Object.keys(calibration.servos).filter((name) => !(name in profile.servos));
  if (unknown.length) throw new Error(`${file}: servos.${unknown[0]}: no such servo in the hardware profile "${profile.name}" (it has ${Object.keys(profile.servos).join(', ')})`);
  return { servos: { ...defaults.servos, ...calibration.servos } };
}

/** Written atomically: a calibration half-written by a crash would let servos run past their stops. */
export function saveCalibration(file: string, calibration: Calibration, comment: string): void {
  const checked = calibrationSchema.parse(calibration);
  mkdirSync(path.dirname(file), { recursive: true });
  const text = `# ${comment}\n${stringify(checked)}`;
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, text);
  renameSync(tmp, file);
}
