/**
 * Music's held notes taken out of an utterance before RNNoise and the command recogniser hear it.
 * RNNoise judges each 10 ms by what speech sounds like, and a note's harmonics look like a voice's,
 * so it leaves music in (15 of 32 commands recognised over plucked chords at 10 dB SNR, against 32
 * in a quiet room). A note stays at its pitch for longer than a syllable; a voice's harmonics glide
 * with its intonation and its formants move with each sound. So in a short-time spectrum, a
 * frequency whose median over the second around it still stands out of its neighbours is a note,
 * and what stands out is taken away (spectral subtraction). A median over time alone, without the
 * test against neighbours, took out speech as well: 3 of 32 over music, and quiet speech broke.
 */
import { Fft } from './fft.js';

/** 64 ms at 16 kHz: 15.6 Hz a bin, fine enough to part a note's harmonics from a voice's. */
const SIZE = 1024;
/** 8 ms between frames: the median has enough of them, and the overlap-add is smooth. */
const HOP = 128;
/** The median looks this far either side of a frame: longer than a syllable, shorter than a held chord. */
const HALF_WINDOW_MS = 500;
/** A note stands out of the median spectrum's floor by this factor (of magnitude) over the bins ... */
const NOTE_OVER_FLOOR = 1.5;
/** ... from GAP + 1 to REACH away (3..6 bins, 47..94 Hz): a harmonic's own width left out. */
const GAP = 2;
const REACH = 6;
const SIDE = REACH - GAP;
/** The most taken out of a bin (-20 dB): more leaves "musical noise", tones where a note was. */
const MIN_GAIN = 0.1;

const SAMPLE_RATE = 16_000;
const BINS = SIZE / 2 + 1;
const HALF_WINDOW_FRAMES = Math.round(HALF_WINDOW_MS / ((HOP / SAMPLE_RATE) * 1000));
/** sqrt-Hann on the way in and out: together a Hann, whose overlaps at HOP sum to SIZE / (2 HOP). */
const WINDOW = Float64Array.from({ length: SIZE }, (_, i) => Math.sqrt(0.5 - 0.5 * Math.cos((2 * Math.PI * (i + 0.5)) / SIZE)));
const OVERLAP_SCALE = (2 * HOP) / SIZE;
const fft = new Fft(SIZE);

/**
 * `pcm` (16-bit mono at 16 kHz) with its held notes taken out, as long as it came and in step with
 * it. Speech alone comes out nearly as it went in: nothing of it stands still for a second. In audio
 * shorter than that second, the median sees all of it around every frame, so what sounds through
 * most of it counts as held; the pieces the decoder hears are longer, with the room either side.
 */
export function removeHeldNotes(pcm: Int16Array): Int16Array {
  // The first frame ends HOP into the audio, the last starts within its last HOP: every sample is
  // covered by SIZE / HOP frames, as the overlap-add needs, and no frame is all padding.
  const frames = Math.ceil(pcm.length / HOP) + SIZE / HOP - 1;
  const startOf = (frame: number) => (frame + 1) * HOP - SIZE;
  const spectrumRe = new Float32Array(frames * BINS);
  const spectrumIm = new Float32Array(frames * BINS);
  // Bin-major, so each bin's run over time is contiguous for its median.
  const magnitude = new Float64Array(BINS * frames);
  const re = new Float64Array(SIZE);
  const im = new Float64Array(SIZE);
  for (let f = 0; f < frames; f++) {
    const start = startOf(f);
    for (let i = 0; i < SIZE; i++) {
      const at = start + i;
      re[i] = at >= 0 && at < pcm.length ? pcm[at]! * WINDOW[i]! : 0;
      im[i] = 0;
    }
    fft.forward(re, im);
    for (let k = 0; k < BINS; k++) {
      spectrumRe[f * BINS + k] = re[k]!;
      spectrumIm[f * BINS + k] = im[k]!;
      magnitude[k * frames + f] = Math.sqrt(re[k]! * re[k]! + im[k]! * im[k]!);
    }
  }
  const held = runningMedians(magnitude, frames);
  const out = new Float64Array(pcm.length);
  const notes = new Float64Array(BINS);
  // The floor at each bin, min(notes[k - REACH .. k - GAP - 1], notes[k + GAP + 1 .. k + REACH]), from
  // the minima of each run of SIDE bins.
  const side = new Float64Array(BINS);
  for (let f = 0; f < frames; f++) {
    for (let k = 0; k < BINS; k++) notes[k] = held[k * frames + f]!;
    for (let k = 0; k < BINS; k++) {
      let least = Infinity;
      for (let j = k; j < Math.min(BINS, k + SIDE); j++) least = Math.min(least, notes[j]!);
      side[k] = least;
    }
    for (let k = 0; k < BINS; k++) {
      // At the spectrum's ends the runs are cut short: what is left of them counts.
      let lower = k >= REACH ? side[k - REACH]! : Infinity;
      for (let j = 0; k < REACH && j < k - GAP; j++) lower = Math.min(lower, notes[j]!);
      const floor = Math.min(lower, k + GAP + 1 < BINS ? side[k + GAP + 1]! : Infinity);
      const note = Math.max(0, notes[k]! - NOTE_OVER_FLOOR * floor);
      const m = magnitude[k * frames + f]!;
      const gain = m > 0 ? Math.max(MIN_GAIN, 1 - note / m) : 1;
      re[k] = spectrumRe[f * BINS + k]! * gain;
      im[k] = spectrumIm[f * BINS + k]! * gain;
      // A real signal's spectrum mirrors: the upper half is the lower one's conjugate.
      if (k > 0 && k < SIZE / 2) {
        re[SIZE - k] = re[k]!;
        im[SIZE - k] = -im[k]!;
      }
    }
    fft.inverse(re, im);
    const start = startOf(f);
    for (let i = 0; i < SIZE; i++) {
      const at = start + i;
      if (at >= 0 && at < pcm.length) out[at]! += re[i]! * WINDOW[i]!;
    }
  }
  return Int16Array.from(out, (value) => Math.max(-32768, Math.min(32767, Math.round(value * OVERLAP_SCALE))));
}

/**
 * Magnitudes are put on a scale of LEVELS_PER_DB steps per dB for the medians: a median of such levels is
 * found as the window slides by counting (a histogram), where a sorted window cost 20 ms of one core
 * per second of audio. A quarter of a dB is 3% in magnitude, far finer than a note stands out by.
 */
const LEVELS_PER_DB = 4;
/** A 16-bit signal's loudest bin is full scale times the window's sum (147 dB): the levels run 0..LEVELS - 1. */
const LEVELS = Math.ceil(20 * Math.log10(32768 * WINDOW.reduce((sum, w) => sum + w, 0) + 1) * LEVELS_PER_DB) + 1;
const MAGNITUDE_OF_LEVEL = Float64Array.from({ length: LEVELS }, (_, level) => 10 ** (level / (20 * LEVELS_PER_DB)) - 1);
const levelOf = (magnitude: number) => Math.min(LEVELS - 1, Math.round(20 * Math.log10(magnitude + 1) * LEVELS_PER_DB));

/**
 * Each bin's median over the frames within HALF_WINDOW_FRAMES of each frame (fewer at the ends),
 * bin-major as `magnitude` is, to a quarter of a dB.
 */
function runningMedians(magnitude: Float64Array, frames: number): Float64Array {
  const medians = new Float64Array(magnitude.length);
  const levels = Uint16Array.from(magnitude, levelOf);
  const counts = new Int32Array(LEVELS);
  for (let k = 0; k < BINS; k++) {
    const run = levels.subarray(k * frames, (k + 1) * frames);
    counts.fill(0);
    // The median is the level at which more than half the window's values (count >> 1) have been
    // passed; `below` counts those under it, kept as values come and go.
    let count = 0;
    let median = 0;
    let below = 0;
    const add = (level: number, by: 1 | -1) => {
      counts[level]! += by;
      count += by;
      if (level < median) below += by;
    };
    for (let g = 0; g < Math.min(frames, HALF_WINDOW_FRAMES); g++) add(run[g]!, 1);
    for (let f = 0; f < frames; f++) {
      if (f + HALF_WINDOW_FRAMES < frames) add(run[f + HALF_WINDOW_FRAMES]!, 1);
      if (f - HALF_WINDOW_FRAMES - 1 >= 0) add(run[f - HALF_WINDOW_FRAMES - 1]!, -1);
      const half = count >> 1;
      while (below > half) below -= counts[--median]!;
      while (below + counts[median]! <= half) below += counts[median++]!;
      medians[k * frames + f] = MAGNITUDE_OF_LEVEL[median]!;
    }
  }
  return medians;
}
