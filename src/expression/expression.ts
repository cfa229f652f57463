import type { Config } from '../config/schema.js';
import type { FileProblem } from '../config/files.js';
import { asError, excerpt } from '../runtime/errors.js';
import { resolveAsset } from '../runtime/paths.js';
import type { Subsystem, SubsystemContext, SubsystemDefinition } from '../runtime/subsystem.js';
import type { ActuatorBoard, Rgb } from './board.js';
import { ExpressionBehaviour, type EmotionLabel, type ExpressionOutput } from './behaviour.js';
import { loadCalibration, type Calibration } from './calibration.js';
import { JohnnyFiveBoard } from './johnny-five-board.js';
import { loadHardwareProfile, type HardwareProfile } from './profile.js';
import { SafeServos } from './safe-servos.js';
import { SimulatedBoard } from './simulated-board.js';

const OFF: Rgb = { red: 0, green: 0, blue: 0 };
/** The rest pose on stop gets this share of the shutdown budget; the rest is for the other subsystems. */
const REST_SHARE_OF_SHUTDOWN = 0.5;
/** Servo positions are reported at most this often, and only when one moved by a visible amount. */
const SERVO_REPORT_INTERVAL_MS = 200;
const SERVO_REPORT_MIN_CHANGE_DEG = 0.5;

export type BoardFactory = (profile: HardwareProfile, calibration: Calibration, config: Config, print: (line: string) => void) => ActuatorBoard;

export const defaultBoardFactory: BoardFactory = (profile, calibration, config, print) =>
  config.expression.board === 'simulated'
    ? new SimulatedBoard(profile, { intervalMs: config.runtime.status_interval_ms, print })
    : new JohnnyFiveBoard(profile, calibration, { port: config.expression.port });

/** Every servo name the config mentions must exist on the robot: a typo is reported, not silently ignored. */
export function profileProblems(config: Config['expression'], profile: HardwareProfile): FileProblem[] {
  const servos = Object.keys(profile.servos);
  const problems: FileProblem[] = [];
  const check = (key: string[], name: string) => {
    if (!servos.includes(name)) problems.push({ key: ['expression', ...key], message: `no servo "${excerpt(name, 40)}" in the hardware profile "${profile.name}" (it has ${servos.join(', ')})` });
  };
  for (const [poseName, pose] of Object.entries(config.poses)) for (const servo of Object.keys(pose)) check(['poses', poseName, servo], servo);
  for (const [label, reaction] of Object.entries(config.reactions)) for (const servo of Object.keys(reaction.pose)) check(['reactions', label, 'pose', servo], servo);
  if (config.speaking.servo) check(['speaking', 'servo'], config.speaking.servo);
  return problems;
}

export function checkConfigAgainstProfile(config: Config['expression'], profile: HardwareProfile): void {
  const [problem] = profileProblems(config, profile);
  if (problem) throw new Error(`${problem.key.join('.')}: ${problem.message}`);
}

/**
 * A remote change that would stop the expression subsystem from starting (a pose for a servo the
 * robot does not have) is refused rather than kept, since the overlay outlives restarts.
 */
export function remoteChangeProblems(config: Config): FileProblem[] {
  let profile: HardwareProfile;
  try {
    profile = loadHardwareProfile(config.expression.hardware);
  } catch {
    return []; // the owner's file names a profile that does not load: the subsystem reports that itself
  }
  return profileProblems(config.expression, profile);
}

/**
 * Servos and LEDs: turns what vision and voice report into motion and light through the behaviour
 * layer and the safety layer. Board loss is a failure like any other: the supervisor restarts the
 * subsystem with backoff, and the fresh instance reconnects and starts again from the rest pose.
 */
export class Expression implements Subsystem {
  private board?: ActuatorBoard;
  private servos?: SafeServos;
  private behaviour?: ExpressionBehaviour;
  private timer?: NodeJS.Timeout;
  private lastLed?: string;
  private activity?: ExpressionOutput['activity'];
  private ctx?: SubsystemContext;
  private ledNames: string[] = [];
  private boardDescription = '';
  private stopped = false;
  private reportedServos: Record<string, number> = {};
  private lastServoReport = -Infinity;

  constructor(private readonly boardFactory: BoardFactory = defaultBoardFactory) {}

  async start(ctx: SubsystemContext): Promise<void> {
    this.ctx = ctx;
    const { expression } = ctx.config;
    const profile = loadHardwareProfile(expression.hardware);
    this.ledNames = Object.keys(profile.leds);
    checkConfigAgainstProfile(expression, profile);
    const calibration = loadCalibration(expression.calibration && resolveAsset(expression.calibration), profile);
    const board = this.boardFactory(profile, calibration, ctx.config, (summary) => {
      ctx.log.debug(`simulated board: ${summary}`);
      ctx.bus.emit('expression.simulated', { summary });
    });
    const servos = new SafeServos(calibration, (name, degrees) => board.writeServo(name, degrees));
    // The robot wakes in its rest pose: the first command a servo gets decides where it jumps to.
    this.takeRestPose(servos, expression);
    // Kept before connecting, so that stop() after a failed or interrupted start still closes the port.
    this.board = board;
    this.boardDescription = board.description;
    await board.connect();
    if (this.stopped) return;
    this.servos = servos;
    servos.writeAll();
    board.onDisconnect((err) => ctx.fail(err));
    ctx.log.info({ board: board.description, calibration: expression.calibration ?? 'profile defaults' }, `expression on ${board.description}`);

    const behaviour = new ExpressionBehaviour(expression, servos, Date.now());
    this.behaviour = behaviour;
    behaviour.setMode(ctx.robotState().mode);
    ctx.bus.on('robot.state', (state) => behaviour.setMode(state.mode));
    ctx.bus.on('vision.frame', (frame) => {
      const attended = frame.faces.find((f) => f.trackId === frame.attendedTrackId);
      if (attended) behaviour.face(attended.box, frame, frame.capturedAt);
    });
    ctx.bus.on('emotion', (e) => {
      if (e.attended && e.label in expression.reactions) behaviour.react(e.label as EmotionLabel, e.at);
    });
    ctx.bus.on('voice.speaking', (e) => behaviour.speaking(e.speaking, e.at));
    ctx.bus.on('expression.pose', (request) => {
      try {
        behaviour.pose(request.name, Date.now());
      } catch (err) {
        ctx.log.warn(`pose from ${request.by}: ${asError(err).message}`);
      }
    });
    this.timer = setInterval(() => this.tick(), 1000 / expression.update_hz);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    const { board, servos, ctx } = this;
    this.board = undefined;
    if (!board) return;
    if (!servos || !ctx) return board.close();
    try {
      this.takeRestPose(servos, ctx.config.expression);
      this.publish('resting');
      const deadline = performance.now() + ctx.config.runtime.shutdown_timeout_ms * REST_SHARE_OF_SHUTDOWN;
      const interval = 1000 / ctx.config.expression.update_hz;
      while (!servos.settled() && performance.now() < deadline) {
        servos.step(performance.now());
        await new Promise((resolve) => setTimeout(resolve, interval));
      }
      for (const name of this.ledNames) board.writeLed(name, OFF);
    } finally {
      await board.close();
    }
  }

  private tick(): void {
    const { behaviour, servos, board, ctx } = this;
    if (!behaviour || !servos || !board || !ctx) return;
    try {
      const output = behaviour.update(Date.now());
      for (const [name, offset] of Object.entries(output.servos)) servos.setTarget(name, offset);
      servos.step(performance.now());
      const led = `${output.led.red},${output.led.green},${output.led.blue}`;
      if (led !== this.lastLed) {
        this.lastLed = led;
        for (const name of this.ledNames) board.writeLed(name, output.led);
      }
      if (output.activity !== this.activity) this.publish(output.activity);
      this.reportServos(servos, ctx);
    } catch (err) {
      ctx.fail(asError(err));
    }
  }

  private reportServos(servos: SafeServos, ctx: SubsystemContext): void {
    const now = performance.now();
    if (now - this.lastServoReport < SERVO_REPORT_INTERVAL_MS) return;
    const offsets = Object.fromEntries(servos.names.map((name) => [name, Math.round(servos.offset(name) * 10) / 10]));
    const moved = servos.names.some((name) => !(Math.abs(offsets[name]! - (this.reportedServos[name] ?? NaN)) < SERVO_REPORT_MIN_CHANGE_DEG));
    if (!moved) return;
    this.reportedServos = offsets;
    this.lastServoReport = now;
    const report = servos.names.map((name) => {
      const [minDeg, maxDeg] = servos.offsetRange(name);
      return [name, { offsetDeg: offsets[name]!, minDeg, maxDeg }];
    });
    ctx.bus.emit('expression.servos', { servos: Object.fromEntries(report), at: Date.now() });
  }

  /** Servos the rest pose does not mention rest at their centre. */
  private takeRestPose(servos: SafeServos, expression: Config['expression']): void {
    for (const name of servos.names) servos.setTarget(name, expression.poses.rest?.[name] ?? 0);
  }

  private publish(activity: ExpressionOutput['activity'] | 'resting'): void {
    if (activity !== 'resting') this.activity = activity;
    this.ctx?.bus.emit('expression.state', { activity, board: this.boardDescription });
  }
}

export const expression: SubsystemDefinition = {
  name: 'expression',
  sections: ['expression'],
  create: () => new Expression(),
};
