import type { BusEvents } from '../runtime/events.js';
import type { FaceLandmarks } from '../vision/face.js';

/**
 * How far the nose tip stands in front of the eyes, over the distance between the eyes (about 0.45
 * for adult faces): turned by yaw θ, the nose shifts from the eyes' midpoint by that ratio times
 * tan θ of the projected eye distance.
 */
const NOSE_DEPTH_OVER_EYE_DISTANCE = 0.45;

/** The face's yaw in degrees (0: facing the camera), from where the nose sits between the eyes. */
export function yawDeg(landmarks: FaceLandmarks): number {
  const eyeDistance = Math.hypot(landmarks.leftEye.x - landmarks.rightEye.x, landmarks.leftEye.y - landmarks.rightEye.y);
  if (eyeDistance === 0) return 90;
  const midX = (landmarks.leftEye.x + landmarks.rightEye.x) / 2;
  const offset = Math.abs(landmarks.nose.x - midX) / eyeDistance;
  return (Math.atan(offset / NOSE_DEPTH_OVER_EYE_DISTANCE) * 180) / Math.PI;
}

export interface AttentionSettings {
  attention_max_yaw_deg: number;
  attention_window_ms: number;
}

export type AttentionVerdict = { admitted: true; because: 'looked at' | 'the robot spoke' } | { admitted: false; because: string };

/**
 * Whether an utterance was meant for the robot: someone faced it, or it spoke, during the utterance
 * or within the window before it. A face without landmarks (the Haar and LBP detectors find none)
 * counts as facing: in view is the best those detectors can tell.
 */
export class AttentionGate {
  private lookedAt = -Infinity;
  private spokeAt = -Infinity;

  constructor(
    private readonly settings: AttentionSettings,
    private readonly now: () => number = () => performance.now(),
  ) {}

  frame(frame: Pick<BusEvents['vision.frame'], 'faces' | 'attendedTrackId'>): void {
    const attended = frame.faces.find((f) => f.trackId === frame.attendedTrackId);
    if (!attended) return;
    if (!attended.landmarks || yawDeg(attended.landmarks) <= this.settings.attention_max_yaw_deg) this.lookedAt = this.now();
  }

  /** The robot is talking, or just stopped: what the person says next is likely an answer. */
  spoke(): void {
    this.spokeAt = this.now();
  }

  /** For an utterance of `durationMs` that has just ended. */
  admits(durationMs: number): AttentionVerdict {
    const since = this.now() - durationMs - this.settings.attention_window_ms;
    if (this.lookedAt >= since) return { admitted: true, because: 'looked at' };
    if (this.spokeAt >= since) return { admitted: true, because: 'the robot spoke' };
    return { admitted: false, because: `nobody faced the robot (within ${this.settings.attention_max_yaw_deg}°) and it did not speak in the ${this.settings.attention_window_ms} ms before or during the utterance` };
  }
}
