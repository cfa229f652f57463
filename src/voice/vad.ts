export interface VadSettings {
  sampleRate: number;
  /** Speech is energy this many times the noise floor. */
  start_ratio: number;
  /** Loud frames in a row before it counts as speech (filters clicks and bumps). */
  min_speech_ms: number;
  /** Quiet this long ends the utterance. */
  end_silence_ms: number;
  /** Audio kept from before the onset, so the first syllable is not cut. */
  preroll_ms: number;
  /** An utterance is cut here even if the room never goes quiet. */
  max_utterance_ms: number;
}

export type VadEvent = { type: 'onset'; atMs: number } | { type: 'utterance'; pcm: Buffer; durationMs: number };

const FRAME_MS = 20;
/** The quietest floor assumed (RMS of 16-bit samples): digital silence must not make every hiss "speech". */
const MIN_FLOOR = 60;
const FLOOR_ADAPT = 0.05;

/**
 * Energy-based voice activity detection with an adaptive noise floor: the floor follows the room
 * while nobody speaks, speech is energy well above it, and an utterance ends after a stretch of quiet.
 * `boost` raises the bar while the robot itself talks, so its own voice from the speaker is not taken
 * for the person's, while someone talking over it still is (barge-in).
 */
export class VoiceActivityDetector {
  private floor = MIN_FLOOR * 4;
  private readonly frameBytes: number;
  private pending: Buffer = Buffer.alloc(0);
  private preroll: Buffer[] = [];
  private speech: Buffer[] | undefined;
  private loudRun = 0;
  private quietRun = 0;
  private speechFrames = 0;
  private elapsedMs = 0;
  boost = 1;

  constructor(private readonly settings: VadSettings) {
    this.frameBytes = Math.round((settings.sampleRate * FRAME_MS) / 1000) * 2;
  }

  get speaking(): boolean {
    return this.speech !== undefined;
  }

  /** Feeds captured 16-bit mono PCM; returns what it detected, in order. */
  push(pcm: Buffer): VadEvent[] {
    const events: VadEvent[] = [];
    this.pending = this.pending.length ? Buffer.concat([this.pending, pcm]) : pcm;
    while (this.pending.length >= this.frameBytes) {
      const frame = this.pending.subarray(0, this.frameBytes);
      this.pending = this.pending.subarray(this.frameBytes);
      this.elapsedMs += FRAME_MS;
      const event = this.frame(Buffer.from(frame));
      if (event) events.push(event);
    }
    return events;
  }

  private frame(frame: Buffer): VadEvent | undefined {
    const { start_ratio, min_speech_ms, end_silence_ms, preroll_ms, max_utterance_ms } = this.settings;
    const energy = rms(frame);
    const threshold = this.floor * start_ratio * this.boost;
    if (!this.speech) {
      this.preroll.push(frame);
      if (this.preroll.length * FRAME_MS > preroll_ms + min_speech_ms) this.preroll.shift();
      if (energy > threshold) {
        this.loudRun++;
        if (this.loudRun * FRAME_MS >= min_speech_ms) {
          this.speech = [...this.preroll];
          this.preroll = [];
          this.speechFrames = this.loudRun;
          this.quietRun = 0;
          return { type: 'onset', atMs: this.elapsedMs - this.loudRun * FRAME_MS };
        }
      } else {
        this.loudRun = 0;
        // The floor only learns from the quiet room: speech, or the robot's own voice while it talks
        // (boost), would otherwise raise it and hide the person.
        if (this.boost === 1) this.floor = Math.max(MIN_FLOOR, this.floor + (energy - this.floor) * FLOOR_ADAPT);
      }
      return undefined;
    }
    this.speech.push(frame);
    this.speechFrames++;
    // Hysteresis: once speaking, softer syllables (70% of the onset bar) still count as speech.
    this.quietRun = energy > threshold * 0.7 ? 0 : this.quietRun + 1;
    if (this.quietRun * FRAME_MS >= end_silence_ms || this.speechFrames * FRAME_MS >= max_utterance_ms) {
      const pcm = Buffer.concat(this.speech);
      this.speech = undefined;
      this.loudRun = 0;
      return { type: 'utterance', pcm, durationMs: (pcm.length / 2 / this.settings.sampleRate) * 1000 };
    }
    return undefined;
  }
}

function rms(frame: Buffer): number {
  let sum = 0;
  for (let i = 0; i + 1 < frame.length; i += 2) {
    const v = frame.readInt16LE(i);
    sum += v * v;
  }
  return Math.sqrt(sum / (frame.length / 2));
}
