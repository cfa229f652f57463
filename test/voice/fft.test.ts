import t from 'tap';
import { Fft } from '../../src/voice/fft.js';

/** The DFT by its definition, to hold the FFT to. */
function dft(re: Float64Array, im: Float64Array): [Float64Array, Float64Array] {
  const n = re.length;
  const outRe = new Float64Array(n);
  const outIm = new Float64Array(n);
  for (let k = 0; k < n; k++) {
    for (let i = 0; i < n; i++) {
      const angle = (-2 * Math.PI * k * i) / n;
      outRe[k]! += re[i]! * Math.cos(angle) - im[i]! * Math.sin(angle);
      outIm[k]! += re[i]! * Math.sin(angle) + im[i]! * Math.cos(angle);
    }
  }
  return [outRe, outIm];
}

const worst = (a: Float64Array, b: Float64Array) => a.reduce((most, v, i) => Math.max(most, Math.abs(v - b[i]!)), 0);

t.test('the FFT is the DFT, for every size a frame here has and a complex input', async (t) => {
  let seed = 3;
  const random = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32) * 2 - 1;
  for (const size of [2, 8, 64, 512, 1024]) {
    const re = Float64Array.from({ length: size }, random);
    const im = Float64Array.from({ length: size }, random);
    const [wantRe, wantIm] = dft(re, im);
    new Fft(size).forward(re, im);
    t.ok(worst(re, wantRe) < 1e-9 && worst(im, wantIm) < 1e-9, `size ${size}`);
  }
});

t.test('a cosine at bin 3 is half its amplitude times the size at bins 3 and size - 3', async (t) => {
  const size = 32;
  const re = Float64Array.from({ length: size }, (_, i) => 2 * Math.cos((2 * Math.PI * 3 * i) / size));
  const im = new Float64Array(size);
  new Fft(size).forward(re, im);
  const magnitudes = Array.from(re, (r, k) => Math.hypot(r, im[k]!));
  t.ok(Math.abs(magnitudes[3]! - size) < 1e-9 && Math.abs(magnitudes[size - 3]! - size) < 1e-9);
  t.ok(magnitudes.every((m, k) => k === 3 || k === size - 3 || m < 1e-9), 'nothing elsewhere');
});

t.test('inverse undoes forward', async (t) => {
  const fft = new Fft(1024);
  const signal = Float64Array.from({ length: 1024 }, (_, i) => Math.sin(i / 7) + 0.3 * Math.cos(i / 2));
  const re = signal.slice();
  const im = new Float64Array(1024);
  fft.forward(re, im);
  fft.inverse(re, im);
  t.ok(worst(re, signal) < 1e-9 && im.every((v) => Math.abs(v) < 1e-9));
});

t.test('a size that is not a power of two, or arrays of another length, are refused', async (t) => {
  t.throws(() => new Fft(500), /power-of-two size, got 500/);
  t.throws(() => new Fft(2.5), /power-of-two size, got 2.5/);
  t.throws(() => new Fft(8).forward(new Float64Array(4), new Float64Array(8)), /size 8 was given 4 and 8 values/);
  t.throws(() => new Fft(8).inverse(new Float64Array(8), new Float64Array(16)), /size 8 was given 8 and 16 values/);
});
