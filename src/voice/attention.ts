import type { BusEvents } from '../runtime/events.js';
import type { FaceLandmarks } from '../vision/face.js';

/**
 * How far the nose tip stands in front of the eyes, over the distance between the eyes (about 0.45
 * for adult faces): turned by yaw θ, the nose shifts from the eyes' midpoint by that ratio times
 * tan θ of the projected eye distance.
 */
const NOSE_DEPTH_OVER_EYE_DISTANCE = 0.45;
/** However long an utterance ran (babble merges them), attention is looked for this far back at most. */
const MAX_UTTERANCE_LOOKBACK_MS = 15_000;

/**
 * The face's yaw in degrees (0: facing the camera), from where the nose sits between the eyes. The
 * offset is measured along the line through the eyes, so a tilted head (roll) is not taken for a
 * turned one.
 */
export function yawDeg(landmarks: FaceLandmarks): number {
  const { leftEye, rightEye, nose } = landmarks;
  const eye = { x: leftEye.x - rightEye.x, y: leftEye.y - rightEye.y };
  const eyeDistanceSquared = eye.x * eye.x + eye.y * eye.y;
  if (eyeDistanceSquared === 0) return 90;
  const fromMid = { x: nose.x - (leftEye.x + rightEye.x) / 2, y: nose.y - (leftEye.y + rightEye.y) / 2 };
  const offset = Math.abs(fromMid.x * eye.x + fromMid.y * eye.y) / eyeDistanceSquared;
  return (Math.atan(offset / NOSE_DEPTH_OVER_EYE_DISTANCE) * 180) / Math.PI;
}

export interface AttentionSettings {
  attention_max_yaw_deg: number;
  attention_window_ms: number;
}

export type AttentionVerdict = { admitted: true; because: 'looked at' | 'the robot spoke' } | { admitted: false; because: string };

/**
 * Whether an utterance was meant for the robot: the attended person faced it during the utterance or
 * within the window before; or the robot was talking, or had just talked, with that person in view
 * (facing or not: people look away while they answer). The robot talking to an empty room (a `say`
 * command, a TV it answered) opens nothing. A face without landmarks (the Haar and LBP detectors
 * find none) counts as facing: in view is the best those detectors can tell.
 */
export class AttentionGate {
  private lookedAt = -Infinity;
  private inViewAt = -Infinity;
  private spokeAt = -Infinity;
  private speaking = false;
  /** Whether vision has reported any frame at all: without it, attention can never be seen. */
  private seesAnything = false;

  constructor(
    private readonly settings: AttentionSettings,
    private readonly now: () => number = () => performance.now(),
  ) {}

  get blind(): boolean {
    return !this.seesAnything;
  }

  frame(frame: Pick<BusEvents['vision.frame'], 'faces' | 'attendedTrackId'>): void {
    this.seesAnything = true;
    const attended = frame.faces.find((f) => f.trackId === frame.attendedTrackId);
    if (!attended) return;
    const now = this.now();
    this.inViewAt = now;
    if (!attended.landmarks || yawDeg(attended.landmarks) <= this.settings.attention_max_yaw_deg) this.lookedAt = now;
  }

  /** The robot started or stopped talking: what the person says meanwhile and next is likely for it. */
  speakingChanged(speaking: boolean): void {
    this.speaking = speaking;
    this.spokeAt = this.now();
  }

  /** For an utterance of `durationMs` that has just ended. */
  admits(durationMs: number): AttentionVerdict {
    const now = this.now();
    const since = now - Math.min(durationMs, MAX_UTTERANCE_LOOKBACK_MS) - this.settings.attention_window_ms;
    if (this.lookedAt >= since) return { admitted: true, because: 'looked at' };
    if ((this.speaking || this.spokeAt >= since) && this.inViewAt >= since) return { admitted: true, because: 'the robot spoke' };
    return {
      admitted: false,
      because: `the attended person did not face the robot (within ${this.settings.attention_max_yaw_deg}°), nor was the robot talking to someone in view, in the ${this.settings.attention_window_ms} ms before or during the utterance`,
    };
  }
}
