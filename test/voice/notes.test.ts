import t from 'tap';
import { inNoise, speak, VOICES } from '../../src/bench/listening.js';
import { removeHeldNotes } from '../../src/voice/notes.js';

const RATE = 16_000;
const samples = (pcm: Buffer) => new Int16Array(pcm.buffer, pcm.byteOffset, pcm.length / 2);
/** The power of a - b (of a alone without b) over [from, to), in dB. */
const powerDb = (a: ArrayLike<number>, b: ArrayLike<number> | undefined, [from, to]: readonly [number, number]) => {
  let sum = 0;
  for (let i = from; i < to; i++) sum += (a[i]! - (b ? b[i]! : 0)) ** 2;
  return 10 * Math.log10(sum / (to - from) + 1e-9);
};

t.test('music\'s held notes are taken out around and under a command; the words stay as they were', async (t) => {
  const speech = await speak('Robot, what time is it?', VOICES[0]!);
  const clean = samples(await inNoise(speech, undefined, 0.5));
  const words = [0.5 * RATE, clean.length - 0.5 * RATE] as const;
  const before = [0, 0.5 * RATE] as const;
  const music = samples(await inNoise(speech, { kind: 'chords', snrDb: 10 }, 0.5));
  const out = removeHeldNotes(music);
  t.equal(out.length, music.length, 'as long as it came, and in step with it');
  const underWords = powerDb(music, clean, words) - powerDb(out, clean, words);
  t.ok(underWords > 3, `the music under the words is at least 3 dB down (${underWords.toFixed(1)} dB)`);
  const room = powerDb(music, undefined, before) - powerDb(out, undefined, before);
  t.ok(room > 6, `the music before them at least 6 dB (${room.toFixed(1)} dB)`);
  const changed = powerDb(clean, undefined, words) - powerDb(removeHeldNotes(clean), clean, words);
  t.ok(changed > 25, `speech alone comes out as it went in: what changed is at least 25 dB under it (${changed.toFixed(1)} dB)`);
  // Pink noise has no notes: nothing of it stands out of its neighbours for a second.
  const pink = samples(await inNoise(speech, { kind: 'pink', snrDb: 10 }, 0.5));
  t.ok(powerDb(removeHeldNotes(pink), clean, words) <= powerDb(pink, clean, words) + 0.5, 'noise without notes is not made worse');
});

t.test('a held tone is taken down by as much as a bin may be (20 dB), a tone that changes every 200 ms is not', async (t) => {
  let seed = 5;
  const hiss = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32 - 0.5) * 60;
  const middle = [0.5 * RATE, 1.5 * RATE] as const;
  const held = Int16Array.from({ length: 2 * RATE }, (_, i) => 5000 * Math.sin((2 * Math.PI * 1000 * i) / RATE) + hiss());
  const down = powerDb(held, undefined, middle) - powerDb(removeHeldNotes(held), undefined, middle);
  t.ok(down > 18 && down < 21, `held: ${down.toFixed(1)} dB down`);
  // A voice's pitch moves: a tone that jumps to a new pitch five times a second is not held anywhere long.
  let phase = 0;
  const moving = Int16Array.from({ length: 2 * RATE }, (_, i) => {
    phase += (2 * Math.PI * (300 + 150 * (Math.floor(i / (0.2 * RATE)) % 7))) / RATE;
    return 5000 * Math.sin(phase) + hiss();
  });
  const movingDown = powerDb(moving, undefined, middle) - powerDb(removeHeldNotes(moving), undefined, middle);
  t.ok(movingDown < 3, `moving: ${movingDown.toFixed(1)} dB down`);
});

t.test('noise without notes comes out as it went in, to its first and last samples', async (t) => {
  let seed = 9;
  const noise = (n: number) => Int16Array.from({ length: n }, () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32 - 0.5) * 6000);
  // From a second up (the median's window; a piece the decoder hears has 0.7 s of the room on either side).
  for (const n of [16_000, 24_000 + 77]) {
    const hiss = noise(n);
    const out = removeHeldNotes(hiss);
    t.equal(out.length, n);
    const edge = 1024;
    for (const [name, stretch] of [['first', [0, edge]], ['last', [n - edge, n]], ['whole', [0, n]]] as const) {
      const under = powerDb(hiss, undefined, stretch) - powerDb(out, hiss, stretch);
      t.ok(under > 20, `${n} samples, ${name} ${stretch[1] - stretch[0]}: what changed is ${under.toFixed(1)} dB under it`);
    }
  }
});

t.test('empty and shorter than a frame come back as long as they came', async (t) => {
  t.same(removeHeldNotes(new Int16Array(0)), new Int16Array(0));
  const short = Int16Array.from({ length: 100 }, (_, i) => 1000 * Math.sin(i / 3));
  t.equal(removeHeldNotes(short).length, 100);
  t.ok(Array.from(removeHeldNotes(new Int16Array(3000))).every((v) => v === 0), 'silence stays silent');
});
