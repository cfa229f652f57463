import t from 'tap';
import { Liveness } from '../../src/runtime/liveness.js';

t.test('a loop is stale once it misses its allowed age, fresh again after a beat', async (t) => {
  let now = 0;
  const liveness = new Liveness(() => now);
  const unregister = liveness.register('camera.loop', 1000);
  liveness.register('other', 5000);
  now = 900;
  t.same(liveness.stale(), []);
  now = 1001;
  t.same(liveness.stale(), ['camera.loop']);
  liveness.beat('camera.loop');
  t.same(liveness.stale(), []);
  now = 6000;
  t.same(liveness.stale(), ['camera.loop', 'other']);
  unregister();
  t.same(liveness.stale(), ['other']);
});

t.test('beating an unregistered loop does nothing', async (t) => {
  const liveness = new Liveness(() => 0);
  liveness.beat('ghost');
  t.same(liveness.stale(), []);
});
