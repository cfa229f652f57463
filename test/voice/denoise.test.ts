import t from 'tap';
import { inNoise, speak, VOICES } from '../../src/bench/listening.js';
import { downsample, NoiseSuppressor, upsample } from '../../src/voice/denoise.js';

const RATE = 16_000;
const samples = (pcm: Buffer) => new Int16Array(pcm.buffer, pcm.byteOffset, pcm.length / 2);
const sine = (hz: number, rate: number, n: number, amplitude = 10_000) => Array.from({ length: n }, (_, i) => amplitude * Math.sin((2 * Math.PI * hz * i) / rate));
const powerDb = (x: ArrayLike<number>, from = 0, to = x.length) => {
  let sum = 0;
  for (let i = from; i < to; i++) sum += x[i]! ** 2;
  return 10 * Math.log10(sum / (to - from) + 1e-9);
};
/** The power of one frequency in x (a single DFT bin, Hann-windowed), in dB. */
const toneDb = (x: Float32Array, hz: number, rate: number) => {
  let re = 0;
  let im = 0;
  for (let i = 0; i < x.length; i++) {
    const w = 0.5 - 0.5 * Math.cos((2 * Math.PI * i) / (x.length - 1));
    re += w * x[i]! * Math.cos((2 * Math.PI * hz * i) / rate);
    im += w * x[i]! * Math.sin((2 * Math.PI * hz * i) / rate);
  }
  return 10 * Math.log10((re * re + im * im) / x.length ** 2 + 1e-12);
};

t.test('16 kHz goes up to RNNoise\'s 48 kHz and back unchanged, without images or aliases', async (t) => {
  const tone = Int16Array.from(sine(1000, RATE, RATE));
  const up = upsample(tone);
  t.equal(up.length, 3 * tone.length);
  const middle = (x: ArrayLike<number>, rate: number) => Float32Array.from(x).subarray(rate / 10, rate - rate / 10);
  t.ok(Math.abs(powerDb(middle(up, 48_000)) - powerDb(middle(tone, RATE))) < 0.1, 'a tone keeps its level at 48 kHz');
  const fiveK = upsample(Int16Array.from(sine(5000, RATE, RATE)));
  t.ok(toneDb(fiveK, 5000, 48_000) - toneDb(fiveK, 11_000, 48_000) > 60, 'the image of 5 kHz at 11 kHz is 60 dB down');
  const back = downsample(up);
  t.equal(back.length, tone.length);
  let error = 0;
  for (let i = 160; i < tone.length - 160; i++) error = Math.max(error, Math.abs(back[i]! - tone[i]!));
  t.ok(error < 0.005 * 10_000, `back at 16 kHz within 0.5% of the tone (worst ${error})`);
  const high = downsample(Float32Array.from(sine(12_000, 48_000, 48_000)));
  t.ok(powerDb(high.subarray(160, -160)) < powerDb(middle(tone, RATE)) - 60, '12 kHz, above 16 kHz\'s Nyquist, does not fold back into it');
});

t.test('a hiss around and under a command is taken out; the words keep their level, in step with the original', async (t) => {
  const suppressor = await NoiseSuppressor.load();
  const speech = await speak('Robot, go to sleep.', VOICES[0]!);
  const clean = samples(await inNoise(speech, undefined, 0.5));
  const heard = samples(await inNoise(speech, { kind: 'pink', snrDb: 10 }, 0.5));
  const denoised = suppressor.denoise(heard);
  t.equal(denoised.length, heard.length, 'as long as it came');
  // What music does to the decoder is measured where it matters, in the recogniser's tests: RNNoise
  // lets a chord through until it has heard speech, then takes the notes out around the words.
  const room = [0.1 * RATE, 0.4 * RATE] as const;
  const reduction = powerDb(heard, ...room) - powerDb(denoised, ...room);
  t.ok(reduction > 25, `the room before the words is at least 25 dB down (${reduction.toFixed(1)} dB)`);
  const words = [0.5 * RATE, heard.length - 0.5 * RATE] as const;
  t.ok(Math.abs(powerDb(clean, ...words) - powerDb(denoised, ...words)) < 2, 'the words keep their level within 2 dB');
  // Lined up with the clean speech: the correlation peaks at no delay.
  const correlation = (lag: number) => {
    let sum = 0;
    for (let i = words[0]; i < words[1]; i++) sum += clean[i]! * denoised[i + lag]!;
    return sum;
  };
  const lags = [-480, -160, -16, -1, 0, 1, 16, 160, 480];
  t.equal(lags.reduce((best, lag) => (correlation(lag) > correlation(best) ? lag : best), lags[0]!), 0, 'no delay added');
  t.same(suppressor.denoise(heard), denoised, 'each utterance starts afresh: the same audio comes out the same');
  t.same(suppressor.denoise(new Int16Array(0)), new Int16Array(0), 'nothing in, nothing out');
  // Cut inside the words, a third of a frame past a whole one: the words up to the cut come out.
  const cut = words[0] + 160 * 25 + 53;
  const shorter = suppressor.denoise(heard.subarray(0, cut));
  t.equal(shorter.length, cut);
  const end = [cut - 120, cut - 20] as const;
  let [both, own, theirs] = [0, 0, 0];
  for (let i = end[0]; i < end[1]; i++) [both, own, theirs] = [both + shorter[i]! * clean[i]!, own + shorter[i]! ** 2, theirs + clean[i]! ** 2];
  t.ok(both / Math.sqrt(own * theirs) > 0.8, `the words in the last frame, before the cut, come through (correlation ${(both / Math.sqrt(own * theirs)).toFixed(2)})`);
});
