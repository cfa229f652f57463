/**
 * A radix-2 complex FFT, in place, whose twiddle and bit-reversal tables are made once for its size:
 * the voice detector's tone test runs it on every 32 ms frame, the note remover on every 8 ms.
 */
export class Fft {
  private readonly cos: Float64Array;
  private readonly sin: Float64Array;
  private readonly reversed: Uint32Array;

  constructor(readonly size: number) {
    if (!Number.isInteger(size) || size < 2 || size > 2 ** 30 || (size & (size - 1)) !== 0) throw new Error(`the FFT needs a power-of-two size, got ${size}`);
    this.cos = Float64Array.from({ length: size / 2 }, (_, i) => Math.cos((2 * Math.PI * i) / size));
    this.sin = Float64Array.from({ length: size / 2 }, (_, i) => -Math.sin((2 * Math.PI * i) / size));
    const bits = Math.log2(size);
    this.reversed = Uint32Array.from({ length: size }, (_, i) => {
      let r = 0;
      for (let b = 0; b < bits; b++) r |= ((i >> b) & 1) << (bits - 1 - b);
      return r;
    });
  }

  /** The spectrum of (re, im), in their place. */
  forward(re: Float64Array, im: Float64Array): void {
    this.transform(re, im, 1);
  }

  /** The signal of the spectrum (re, im), in their place: `forward` undone, 1/size included. */
  inverse(re: Float64Array, im: Float64Array): void {
    this.transform(re, im, -1);
    const { size } = this;
    for (let i = 0; i < size; i++) {
      re[i]! /= size;
      im[i]! /= size;
    }
  }

  private transform(re: Float64Array, im: Float64Array, direction: 1 | -1): void {
    const { size, reversed } = this;
    if (re.length !== size || im.length !== size) throw new Error(`the FFT of size ${size} was given ${re.length} and ${im.length} values`);
    for (let i = 0; i < size; i++) {
      const j = reversed[i]!;
      if (i < j) {
        const r = re[i]!;
        re[i] = re[j]!;
        re[j] = r;
        const m = im[i]!;
        im[i] = im[j]!;
        im[j] = m;
      }
    }
    for (let half = 1; half < size; half *= 2) {
      const step = size / (2 * half);
      for (let start = 0; start < size; start += 2 * half) {
        for (let k = 0; k < half; k++) {
          const c = this.cos[k * step]!;
          const s = direction * this.sin[k * step]!;
          const a = start + k;
          const b = a + half;
          const tr = re[b]! * c - im[b]! * s;
          const ti = re[b]! * s + im[b]! * c;
          re[b] = re[a]! - tr;
          im[b] = im[a]! - ti;
          re[a] = re[a]! + tr;
          im[a] = im[a]! + ti;
        }
      }
    }
  }
}
