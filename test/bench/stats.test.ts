import t from 'tap';
import { fpsOf, growthAfterWarmUp, megabytes, percentiles } from '../../src/bench/stats.js';

t.test('percentiles', async (t) => {
  const values = Array.from({ length: 100 }, (_, i) => i + 1);
  t.same(percentiles(values), { p50: 51, p95: 96, mean: 50.5 });
  t.same(percentiles([]), { p50: 0, p95: 0, mean: 0 });
});

t.test('frame rate from frame durations, and megabytes', async (t) => {
  t.equal(fpsOf([10, 20, 30]), 50);
  t.equal(fpsOf([]), 0);
  t.equal(megabytes(3 * 1048576 + 104858), 3.1);
});

t.test('memory growth is measured from the first sample after the warm-up to the last', async (t) => {
  const samples = [
    { atS: 10, rssMb: 340 },
    { atS: 60, rssMb: 280 },
    { atS: 120, rssMb: 294 },
  ];
  t.same(growthAfterWarmUp(samples, 60), { afterWarmUp: samples[1], atEnd: samples[2], growthPercent: 5 }, 'the loading peak is left out');
  t.match(growthAfterWarmUp(samples.slice(0, 1), 60), { afterWarmUp: samples[0], atEnd: samples[0], growthPercent: 0 }, 'too short a run: its first sample');
  t.ok(Number.isNaN(growthAfterWarmUp([], 60).growthPercent), 'no samples, no figure');
});
