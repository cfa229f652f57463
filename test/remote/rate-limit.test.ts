import t from 'tap';
import { RateLimit } from '../../src/remote/rate-limit.js';

t.test('a burst, then the steady rate; tokens come back with time, never beyond the burst', async (t) => {
  let now = 0;
  const limit = new RateLimit(3, 2, () => now);
  t.same([limit.take(), limit.take(), limit.take(), limit.take()], [true, true, true, false]);
  now = 499;
  t.equal(limit.take(), false, 'just under one token');
  now = 500;
  t.equal(limit.take(), true, 'half a second at 2 a second refills one');
  now = 100_000;
  t.same([limit.take(), limit.take(), limit.take(), limit.take()], [true, true, true, false], 'a long pause refills the burst only');
});
