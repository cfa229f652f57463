import t from 'tap';
import { backoffDelay } from '../../src/runtime/backoff.js';

t.test('doubles from the initial delay and stops at the maximum', async (t) => {
  const delays = { initial_delay_ms: 500, max_delay_ms: 30_000 };
  t.same([1, 2, 3, 4, 7, 8].map((n) => backoffDelay(n, delays)), [500, 1000, 2000, 4000, 30_000, 30_000]);
});

t.test('a very long outage stays a number, also with a zero initial delay', async (t) => {
  t.equal(backoffDelay(5000, { initial_delay_ms: 500, max_delay_ms: 30_000 }), 30_000);
  t.equal(backoffDelay(5000, { initial_delay_ms: 0, max_delay_ms: 30_000 }), 0);
});
