import { z } from 'zod';
import { serialPortProblem } from '../config/files.js';
import { parseYamlWithSchema, readConfigText } from '../config/load.js';
import { actuatorName } from '../config/schema.js';
import { resolveAsset } from '../runtime/paths.js';

const pin = z.number().int().min(0).max(127);
const degrees = z.number().min(0).max(180);

const servoSchema = z.strictObject({
  /** A board pin (Firmata), or a PCA9685 channel 0-15 when the profile has a servo driver. */
  pin,
  /** Pulse widths of the servo's 0° and 180° (the datasheet's, often 500-2500 µs). */
  pulse_us: z.tuple([z.number().int().min(300).max(3000), z.number().int().min(300).max(3000)]).default([600, 2400]),
  /**
   * Limits used until the robot is calibrated: narrow enough that an uncalibrated head cannot hit
   * its own frame. `emobot calibrate` writes the real ones.
   */
  default_limits: z
    .strictObject({ min: degrees, max: degrees, center: degrees, max_speed_deg_s: z.number().positive().max(1000) })
    .refine((l) => l.min <= l.center && l.center <= l.max, 'min <= center <= max'),
});

const ledSchema = z.strictObject({
  type: z.literal('rgb'),
  pins: z.strictObject({ red: pin, green: pin, blue: pin }),
  /** Common-anode LEDs light with a low output. */
  common: z.enum(['cathode', 'anode']).default('cathode'),
});

export const hardwareProfileSchema = z
  .strictObject({
    name: z.string().min(1),
    /** How johnny-five reaches the board: Firmata over a serial port, or the host's own I2C bus. */
    io: z.discriminatedUnion('type', [
      // The port is checked as a serial port once the file is parsed (loadHardwareProfile), as expression.port is.
      z.strictObject({ type: z.literal('firmata'), port: z.string(), baud: z.number().int().positive().default(57600) }),
      z.strictObject({ type: z.literal('linux-i2c'), bus: z.number().int().min(0).max(31) }),
    ]),
    /** Servos and LEDs on a PCA9685 16-channel PWM driver instead of board pins. */
    pwm_driver: z
      .strictObject({ type: z.literal('pca9685'), address: z.number().int().min(0x40).max(0x7f).default(0x40), frequency_hz: z.number().int().min(40).max(400).default(61) })
      .optional(),
    servos: z.record(actuatorName, servoSchema),
    leds: z.record(actuatorName, ledSchema),
  })
  .superRefine((profile, ctx) => {
    for (const required of ['head_pan', 'head_tilt']) {
      if (!(required in profile.servos)) ctx.addIssue({ code: 'custom', path: ['servos'], message: `servo "${required}" is required` });
    }
    if (Object.keys(profile.servos).length < 3) ctx.addIssue({ code: 'custom', path: ['servos'], message: 'at least one expressive servo besides head_pan and head_tilt' });
    if (Object.keys(profile.leds).length < 1) ctx.addIssue({ code: 'custom', path: ['leds'], message: 'at least one LED' });
    if (profile.io.type === 'linux-i2c' && !profile.pwm_driver) ctx.addIssue({ code: 'custom', path: ['pwm_driver'], message: 'an I2C profile drives its servos through a pwm_driver' });
    if (profile.pwm_driver) {
      // johnny-five writes PCA9685 channel registers without a range check: channel 61 is ALL_LED.
      for (const [name, servo] of Object.entries(profile.servos)) if (servo.pin > 15) ctx.addIssue({ code: 'custom', path: ['servos', name, 'pin'], message: 'a PCA9685 channel is 0-15' });
      for (const [name, led] of Object.entries(profile.leds)) {
        for (const [colour, p] of Object.entries(led.pins)) if (p > 15) ctx.addIssue({ code: 'custom', path: ['leds', name, 'pins', colour], message: 'a PCA9685 channel is 0-15' });
      }
    }
    const used = new Map<number, string>();
    const claim = (p: number, what: string, path: (string | number)[]) => {
      const other = used.get(p);
      if (other) ctx.addIssue({ code: 'custom', path, message: `pin ${p} is already used by ${other}` });
      used.set(p, what);
    };
    for (const [name, servo] of Object.entries(profile.servos)) claim(servo.pin, `servo ${name}`, ['servos', name, 'pin']);
    for (const [name, led] of Object.entries(profile.leds)) {
      for (const [colour, p] of Object.entries(led.pins)) claim(p, `led ${name}.${colour}`, ['leds', name, 'pins', colour]);
    }
  });

export type HardwareProfile = z.output<typeof hardwareProfileSchema>;
export type ServoProfile = HardwareProfile['servos'][string];

/** A profile name (hardware/<name>.yaml in the package) or a path to a profile file. */
export function profilePath(nameOrPath: string): string {
  if (/^[a-z0-9-]+$/.test(nameOrPath)) return resolveAsset(`hardware/${nameOrPath}.yaml`);
  return resolveAsset(nameOrPath);
}

/** The serial port (Firmata, with the config's override) or I2C bus device through which the board is reached. */
export function boardDevice(profile: HardwareProfile, portOverride?: string): string {
  return profile.io.type === 'firmata' ? (portOverride ?? profile.io.port) : `/dev/i2c-${profile.io.bus}`;
}

/** The board is opened on the profile's port unless the config names another: it is held to the same rule. */
export function loadHardwareProfile(nameOrPath: string): HardwareProfile {
  const file = profilePath(nameOrPath);
  return parseYamlWithSchema(readConfigText(file), file, hardwareProfileSchema, ({ io }) => {
    const problem = io.type === 'firmata' ? serialPortProblem(io.port) : undefined;
    return problem ? [{ key: ['io', 'port'], message: problem }] : [];
  });
}
