/**
 * The room's noise taken out of an utterance before the offline command recogniser hears it:
 * RNNoise (Xiph's recurrent noise suppressor, from the npm package `@echogarden/rnnoise-wasm`,
 * BSD-3-Clause, WebAssembly). pocketsphinx's own noise removal follows a slow average of the
 * spectrum, so it takes out a fan's hiss but not music, whose notes change every beat; RNNoise
 * judges each 10 ms by what speech sounds like. RNNoise works at 48 kHz: the microphone's 16 kHz is
 * resampled up to it and back. RNNoise lets music's held notes through (their harmonics look like a
 * voice's), so those are taken out before it (notes.ts).
 */
import createRNNoise, { type RNNoiseModule } from '@echogarden/rnnoise-wasm';
import { removeHeldNotes } from './notes.js';

/** RNNoise's frame: 10 ms at its 48 kHz. */
const RNNOISE_FRAME = 480;
/** 16 kHz to RNNoise's 48 kHz and back. */
const FACTOR = 3;
/**
 * Taps of the anti-imaging / anti-aliasing low-pass at 48 kHz, per side of its centre: 8 per input
 * sample at 16 kHz (a Blackman-windowed sinc, about 80 dB down past 8 kHz, flat to 7 kHz).
 */
const HALF_TAPS = 8 * FACTOR;

/** The low-pass both ways use: cut-off at the 16 kHz Nyquist (8 kHz), at 48 kHz, unit gain at DC. */
const LOW_PASS: Float64Array = (() => {
  const taps = new Float64Array(2 * HALF_TAPS + 1);
  const cutoff = 0.92 / FACTOR; // of the 48 kHz Nyquist: a little short of 8 kHz, where the window's slope ends
  for (let i = 0; i < taps.length; i++) {
    const n = i - HALF_TAPS;
    const sinc = n === 0 ? cutoff : Math.sin(Math.PI * cutoff * n) / (Math.PI * n);
    const window = 0.42 + 0.5 * Math.cos((Math.PI * n) / (HALF_TAPS + 1)) + 0.08 * Math.cos((2 * Math.PI * n) / (HALF_TAPS + 1));
    taps[i] = sinc * window;
  }
  const sum = taps.reduce((a, b) => a + b, 0);
  return taps.map((tap) => tap / sum);
})();

/** 16 kHz samples to 48 kHz (zeros between them, then the low-pass, times 3 for their energy). */
export function upsample(samples: Int16Array): Float32Array {
  const out = new Float32Array(samples.length * FACTOR);
  for (let o = 0; o < out.length; o++) {
    let acc = 0;
    // Only every third tap meets an input sample: the others meet the zeros in between.
    for (let k = (o + HALF_TAPS) % FACTOR; k < LOW_PASS.length; k += FACTOR) {
      const input = (o + HALF_TAPS - k) / FACTOR;
      if (input >= 0 && input < samples.length) acc += LOW_PASS[k]! * samples[input]!;
    }
    out[o] = acc * FACTOR;
  }
  return out;
}

/** 48 kHz samples back to 16 kHz 16-bit (the low-pass, then every third), clipped to its range. */
export function downsample(samples: Float32Array): Int16Array {
  const out = new Int16Array(Math.floor(samples.length / FACTOR));
  for (let o = 0; o < out.length; o++) {
    const centre = o * FACTOR;
    let acc = 0;
    for (let k = 0; k < LOW_PASS.length; k++) {
      const input = centre + k - HALF_TAPS;
      if (input >= 0 && input < samples.length) acc += LOW_PASS[k]! * samples[input]!;
    }
    out[o] = Math.max(-32768, Math.min(32767, Math.round(acc)));
  }
  return out;
}

export class NoiseSuppressor {
  private constructor(private readonly rnnoise: RNNoiseModule) {}

  /** Compiles RNNoise's WebAssembly (about 10 ms), once per robot. */
  static async load(): Promise<NoiseSuppressor> {
    return new NoiseSuppressor(await createRNNoise());
  }

  /**
   * An utterance (16-bit mono PCM at 16 kHz) with the noise taken out, as long as it came and in
   * step with it: music's held notes first, then RNNoise, whose 10 ms of delay is taken off, and
   * the last part frame padded through. Each call (a piece the decoder hears) starts afresh, so one
   * room's noise does not colour the next.
   */
  denoise(pcm: Int16Array): Int16Array {
    const { rnnoise } = this;
    const input = upsample(removeHeldNotes(pcm));
    // One frame more than the input: RNNoise hands back each frame a frame late.
    const frames = Math.ceil(input.length / RNNOISE_FRAME) + 1;
    const output = new Float32Array(frames * RNNOISE_FRAME);
    const state = rnnoise._rnnoise_create(0);
    const frame = rnnoise._malloc(RNNOISE_FRAME * 4);
    try {
      const view = () => rnnoise.HEAPF32.subarray(frame >>> 2, (frame >>> 2) + RNNOISE_FRAME);
      for (let f = 0; f < frames; f++) {
        // The heap may grow (and HEAPF32 be replaced) inside a call: a view is taken each time.
        const slice = input.subarray(f * RNNOISE_FRAME, (f + 1) * RNNOISE_FRAME);
        const buffer = view();
        buffer.fill(0);
        buffer.set(slice);
        rnnoise._rnnoise_process_frame(state, frame, frame);
        output.set(view(), f * RNNOISE_FRAME);
      }
    } finally {
      rnnoise._free(frame);
      rnnoise._rnnoise_destroy(state);
    }
    return downsample(output.subarray(RNNOISE_FRAME, RNNOISE_FRAME + input.length));
  }
}
