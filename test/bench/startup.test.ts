import t from 'tap';
import { startup } from '../../src/bench/startup.js';

t.test('a cold start of the real daemon is timed to its first emotion inference, from outside and inside', async (t) => {
  const result = await startup(1);
  t.equal(result.runs, 1);
  const outside = result.toFirstInferenceMs.p50;
  const inside = result.daemonReportedMs.p50;
  t.ok(inside > 100, `the daemon counts ${inside} ms from its own start (loading OpenCV and the model takes time)`);
  t.ok(outside >= inside, `the outside clock (${outside} ms) includes the spawn`);
});
