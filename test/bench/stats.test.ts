import t from 'tap';
import { fpsOf, megabytes, percentiles } from '../../src/bench/stats.js';

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
