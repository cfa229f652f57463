import t from 'tap';
import { soakVerdict } from '../../src/bench/soak.js';

t.test('the verdict: growth under 10% after warm-up, alive to the end, a clean exit', async (t) => {
  const rss = (growthPercent: number) => ({ afterWarmUpMb: 300, atEndMb: 300 * (1 + growthPercent / 100), maxMb: 330, growthPercent });
  const clean = { aliveToTheEnd: true, code: 0, signal: null, stopMs: 300 };
  t.equal(soakVerdict(rss(2.5), clean), true);
  t.equal(soakVerdict(rss(-20), clean), true, 'memory given back is no leak');
  t.equal(soakVerdict(rss(10), clean), false, 'a 10% growth is a leak');
  t.equal(soakVerdict(rss(Number.NaN), clean), false, 'no memory figures: no verdict of health');
  t.equal(soakVerdict(rss(1), { ...clean, aliveToTheEnd: false }), false, 'a daemon that died early');
  t.equal(soakVerdict(rss(1), { ...clean, code: 1 }), false, 'an unclean stop');
  t.equal(soakVerdict(rss(1), { ...clean, code: null, signal: 'SIGKILL' }), false);
});
