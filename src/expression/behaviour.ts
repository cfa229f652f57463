import type { Config, LedLook, Pose } from '../config/schema.js';
import type { RobotMode } from '../runtime/events.js';
import type { Box } from '../vision/face.js';
import type { Rgb } from './board.js';

type ExpressionConfig = Config['expression'];
export type EmotionLabel = keyof ExpressionConfig['reactions'];

/** What the behaviour needs to know about the servos: their names, limits and where they are now. */
export interface ServoView {
  readonly names: string[];
  offset(name: string): number;
  offsetRange(name: string): [number, number];
}

export interface ExpressionOutput {
  /** Degrees from centre per servo; SafeServos limits and paces them. */
  servos: Record<string, number>;
  /** The colour every status LED shows now. */
  led: Rgb;
  /** What the robot is doing, for logs and remote state. */
  activity: 'following' | 'idle' | 'asleep' | 'posing';
}

const PAN = 'head_pan';
const TILT = 'head_tilt';
const REACTION_RAMP_MS = 300;
const REACTION_EASE_OUT_MS = 600;
const POSITION_HISTORY_MS = 2000;

/**
 * Decides, moment by moment, where each servo should point and what the LED shows: face following,
 * emotion reactions, idle motion, sleep, speaking animation and commanded poses, layered in that
 * order. Pure logic over time: it holds no timers and touches no hardware, so tests can drive it
 * through minutes of behaviour in milliseconds.
 */
export class ExpressionBehaviour {
  private mode: RobotMode = 'active';
  private lastFaceAt?: number;
  private lastUpdateAt?: number;
  private followGoal = { pan: 0, tilt: 0 };
  private smoothed: Record<string, number> = {};
  private emotion?: { label: EmotionLabel; at: number };
  private speakingSince?: number;
  private posing?: { pose: Pose; until: number };
  /** Where the head pointed recently, so a face seen in an older frame is measured from where the camera was then. */
  private readonly headHistory: { at: number; pan: number; tilt: number }[] = [];
  private readonly speakingServo?: string;

  constructor(
    private readonly config: ExpressionConfig,
    private readonly servos: ServoView,
    startedAt: number,
  ) {
    for (const name of servos.names) this.smoothed[name] = servos.offset(name);
    this.speakingServo = config.speaking.servo ?? servos.names.find((n) => n !== PAN && n !== TILT);
    // A robot that starts with nobody in front of it idles after the usual wait, not at once.
    this.lastFaceAt = startedAt;
  }

  setMode(mode: RobotMode): void {
    this.mode = mode;
  }

  /** The attended face in a processed frame; `capturedAt` is when the camera saw it. */
  face(box: Box, frame: { width: number; height: number }, capturedAt: number): void {
    const { follow } = this.config;
    if (![box.x, box.y, box.width, box.height, frame.width, frame.height, capturedAt].every(Number.isFinite) || frame.width <= 0 || frame.height <= 0) return;
    this.lastFaceAt = Math.max(this.lastFaceAt ?? 0, capturedAt);
    if (!follow.enabled) return;
    const errorPan = ((box.x + box.width / 2) / frame.width - 0.5) * follow.horizontal_fov_deg;
    // Image rows grow downwards; a positive tilt looks up.
    const errorTilt = -((box.y + box.height / 2) / frame.height - 0.5) * follow.vertical_fov_deg;
    const head = this.headAt(capturedAt);
    if (Math.abs(errorPan) > follow.deadband_deg) this.followGoal.pan = this.clampTo(PAN, head.pan + errorPan);
    if (Math.abs(errorTilt) > follow.deadband_deg) this.followGoal.tilt = this.clampTo(TILT, head.tilt + errorTilt);
  }

  /** The attended person's smoothed emotion changed. */
  react(label: EmotionLabel, at: number): void {
    this.emotion = { label, at };
  }

  speaking(on: boolean, at: number): void {
    this.speakingSince = on ? (this.speakingSince ?? at) : undefined;
  }

  /** Holds a named pose for pose_hold_ms; throws naming the known poses when there is no such pose. */
  pose(name: string, at: number): void {
    const pose = this.config.poses[name];
    if (!pose) throw new Error(`no pose "${name}" (known: ${Object.keys(this.config.poses).join(', ')})`);
    this.posing = { pose, until: at + this.config.pose_hold_ms };
  }

  update(now: number): ExpressionOutput {
    const dt = this.lastUpdateAt === undefined ? 0 : Math.max(0, now - this.lastUpdateAt);
    // The servos moved at the end of the previous update's tick: that is when this position was reached.
    this.rememberHead(this.lastUpdateAt ?? now);
    this.lastUpdateAt = now;
    const { desired, look, activity } = this.desired(now);

    const alpha = 1 - Math.exp(-dt / this.config.follow.time_constant_ms);
    const servos: Record<string, number> = {};
    for (const name of this.servos.names) {
      const target = desired[name] ?? 0;
      const current = this.smoothed[name] ?? target;
      this.smoothed[name] = current + (target - current) * alpha;
      servos[name] = this.smoothed[name];
    }
    let brightness = 1;
    if (this.speakingSince !== undefined && activity !== 'asleep') {
      // Fast motion must not be smoothed away, so it is added after the filter.
      const phase = Math.sin((2 * Math.PI * (now - this.speakingSince)) / this.config.speaking.period_ms);
      if (this.speakingServo) servos[this.speakingServo] = (servos[this.speakingServo] ?? 0) + this.config.speaking.amplitude_deg * phase;
      brightness = 0.8 + 0.2 * phase;
    }
    return { servos, led: render(look, now, brightness), activity };
  }

  private desired(now: number): { desired: Record<string, number>; look: LedLook; activity: ExpressionOutput['activity'] } {
    const { config } = this;
    const sinceFace = now - (this.lastFaceAt ?? now);
    const asleep = this.mode === 'sleep' || (config.sleep.after_ms > 0 && sinceFace >= config.sleep.after_ms);
    if (asleep) {
      this.emotion = undefined;
      return { desired: { ...config.poses.sleep }, look: config.sleep.led, activity: 'asleep' };
    }
    const idle = sinceFace >= config.idle.after_ms;
    let desired: Record<string, number>;
    let look: LedLook;
    if (idle) {
      this.emotion = undefined;
      const t = (2 * Math.PI * now) / config.idle.period_ms;
      const a = config.idle.amplitude_deg;
      // Two incommensurate slow waves: looking around that does not repeat visibly.
      desired = { [PAN]: a * Math.sin(t), [TILT]: 0.25 * a * Math.sin(1.37 * t) };
      if (this.speakingServo) desired[this.speakingServo] = 0.3 * a * Math.sin(0.5 * t);
      this.followGoal = { pan: desired[PAN]!, tilt: desired[TILT]! };
      look = config.idle.led;
    } else {
      desired = { [PAN]: this.followGoal.pan, [TILT]: this.followGoal.tilt };
      const reaction = config.reactions[this.emotion?.label ?? 'neutral'];
      look = reaction.led;
      // The idle robot mode keeps its composure: it shows the colour but makes no gestures.
      if (this.emotion && this.mode === 'active') {
        const envelope = reactionEnvelope(now - this.emotion.at, reaction.duration_ms);
        for (const [servo, offset] of Object.entries(reaction.pose)) desired[servo] = (desired[servo] ?? 0) + offset * envelope;
      }
    }
    if (this.posing && now < this.posing.until) {
      return { desired: { ...desired, ...this.posing.pose }, look, activity: 'posing' };
    }
    this.posing = undefined;
    return { desired, look, activity: idle ? 'idle' : 'following' };
  }

  private clampTo(servo: string, offset: number): number {
    const [low, high] = this.servos.offsetRange(servo);
    return Math.min(high, Math.max(low, offset));
  }

  private rememberHead(now: number): void {
    this.headHistory.push({ at: now, pan: this.servos.offset(PAN), tilt: this.servos.offset(TILT) });
    while (this.headHistory.length > 1 && this.headHistory[0]!.at < now - POSITION_HISTORY_MS) this.headHistory.shift();
  }

  private headAt(at: number): { pan: number; tilt: number } {
    // A frame older than the whole history is measured from the oldest position known.
    let best = this.headHistory[0];
    for (const entry of this.headHistory) {
      if (entry.at > at) break;
      best = entry;
    }
    return best ?? { pan: this.servos.offset(PAN), tilt: this.servos.offset(TILT) };
  }
}

/** 0 → 1 over the ramp, held, then back to 0 over the last part of the reaction. */
function reactionEnvelope(elapsed: number, duration: number): number {
  if (elapsed < 0 || elapsed >= duration) return 0;
  const rampIn = Math.min(1, elapsed / REACTION_RAMP_MS);
  const rampOut = Math.min(1, (duration - elapsed) / REACTION_EASE_OUT_MS);
  return Math.min(rampIn, rampOut);
}

export function parseColor(hex: string): Rgb {
  const value = Number.parseInt(hex.slice(1), 16);
  return { red: (value >> 16) & 0xff, green: (value >> 8) & 0xff, blue: value & 0xff };
}

function render(look: LedLook, now: number, brightness: number): Rgb {
  const phase = (now % look.period_ms) / look.period_ms;
  const level =
    look.animation === 'solid' ? 1 : look.animation === 'pulse' ? 0.25 + 0.75 * (0.5 - 0.5 * Math.cos(2 * Math.PI * phase)) : phase < 0.5 ? 1 : 0;
  const base = parseColor(look.color);
  const scale = (v: number) => Math.round(v * level * brightness);
  return { red: scale(base.red), green: scale(base.green), blue: scale(base.blue) };
}
