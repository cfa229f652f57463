import type { Config } from '../config/schema.js';
import { argmax } from './metrics.js';

export interface SmoothedEmotion {
  label: number;
  /** The smoothed probability of `label`. */
  confidence: number;
  /** When `label` became the shown emotion (ms, same clock as the updates). */
  sinceMs: number;
  probabilities: Float32Array;
  changed: boolean;
}

/**
 * One person's emotion over time: an exponential moving average of the class probabilities (with a
 * time constant, not a per-frame weight), and a
 * label that changes only when another class leads by a margin after a minimum dwell, so a single
 * odd frame or a tie between two classes does not make the robot twitch.
 */
export class EmotionSmoother {
  private average?: Float32Array;
  private lastMs = 0;
  private label = -1;
  private sinceMs = 0;

  constructor(private readonly config: Config['vision']['smoothing']) {}

  update(probabilities: ArrayLike<number>, nowMs: number): SmoothedEmotion {
    const { time_constant_ms, margin, min_dwell_ms } = this.config;
    if (!this.average) {
      this.average = Float32Array.from(probabilities);
    } else {
      // Weighted by elapsed time, so the smoothing is the same at 30 fps on a laptop and 8 fps on a Pi.
      const alpha = time_constant_ms > 0 ? 1 - Math.exp(-Math.max(0, nowMs - this.lastMs) / time_constant_ms) : 1;
      for (let i = 0; i < this.average.length; i++) this.average[i] = alpha * probabilities[i]! + (1 - alpha) * this.average[i]!;
    }
    this.lastMs = nowMs;
    const avg = this.average;
    const leader = argmax(avg);
    let changed = false;
    if (this.label < 0) {
      changed = true;
    } else if (leader !== this.label && avg[leader]! >= avg[this.label]! + margin && nowMs - this.sinceMs >= min_dwell_ms) {
      changed = true;
    }
    if (changed) {
      this.label = leader;
      this.sinceMs = nowMs;
    }
    return { label: this.label, confidence: avg[this.label]!, sinceMs: this.sinceMs, probabilities: Float32Array.from(avg), changed };
  }
}
