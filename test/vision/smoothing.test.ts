import t from 'tap';
import { configSchema } from '../../src/config/schema.js';
import { EmotionSmoother } from '../../src/vision/smoothing.js';

const smoothing = configSchema.parse({}).vision.smoothing; // time constant 250 ms, margin 0.15, dwell 1000 ms
// Labels: 0 happy, 1 sad, 2 neutral.
const probs = (happy: number, sad: number) => [happy, sad, 1 - happy - sad];

/** Deterministic pseudo-random numbers, so the flicker sequence is the same on every run. */
function rng(seed: number) {
  return () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
}

t.test('a flickering classifier yields a stable emotion', async (t) => {
  const smoother = new EmotionSmoother(smoothing);
  const random = rng(7);
  let changes = 0;
  let rawFlips = 0;
  const notHappy: number[] = [];
  let previousRaw = -1;
  // 10 s at 30 fps of a happy face whose per-frame prediction flips to sad on ~35% of frames.
  for (let frame = 0; frame < 300; frame++) {
    const sadFrame = random() < 0.35;
    const p = sadFrame ? probs(0.3, 0.55) : probs(0.65, 0.2);
    const raw = sadFrame ? 1 : 0;
    if (previousRaw >= 0 && raw !== previousRaw) rawFlips++;
    previousRaw = raw;
    const out = smoother.update(p, frame * 33);
    if (out.changed && frame > 0) changes++;
    if (out.label !== 0) notHappy.push(frame);
  }
  t.same(notHappy, [], 'happy on every frame');
  t.ok(rawFlips > 100, `the raw prediction flipped ${rawFlips} times`);
  t.equal(changes, 0, 'the smoothed emotion never changed');
});

t.test('a real change comes through, after the minimum dwell', async (t) => {
  const smoother = new EmotionSmoother(smoothing);
  t.match(smoother.update(probs(0.8, 0.1), 0), { label: 0, changed: true, sinceMs: 0 });
  for (let now = 33; now < 300; now += 33) smoother.update(probs(0.8, 0.1), now);
  // The user turns sad at 300 ms: the average crosses quickly, but the dwell holds happy until 1000 ms.
  let switchedAt = -1;
  for (let now = 300; now < 2000; now += 33) {
    const out = smoother.update(probs(0.1, 0.8), now);
    if (out.changed) switchedAt = now;
  }
  t.ok(switchedAt >= 1000 && switchedAt < 1050, `switched to sad at ${switchedAt} ms`);
  const out = smoother.update(probs(0.1, 0.8), 2000);
  t.match(out, { label: 1, changed: false, sinceMs: switchedAt });
  t.ok(out.confidence > 0.75);
});

t.test('a near tie does not switch: the challenger must lead by the margin', async (t) => {
  const smoother = new EmotionSmoother(smoothing);
  smoother.update(probs(0.5, 0.3), 0);
  const labels = new Set<number>();
  for (let now = 33; now < 5000; now += 33) labels.add(smoother.update(probs(0.4, 0.45), now).label);
  t.same([...labels], [0]);
});
