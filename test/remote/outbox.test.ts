import t from 'tap';
import { Outbox } from '../../src/remote/outbox.js';

const message = (topic: string, payload: string) => ({ topic, payload, retain: false, qos: 0 as const });

t.test('state-like topics keep only their newest message; events keep the newest N in order', async (t) => {
  const outbox = new Outbox(3);
  outbox.keepLatest(message('r/state', 's1'));
  for (let i = 1; i <= 5; i++) outbox.queueEvent(message('r/emotion', `e${i}`));
  outbox.keepLatest(message('r/state', 's2'));
  outbox.keepLatest(message('r/telemetry', 't1'));
  t.equal(outbox.size, 5);
  t.equal(outbox.dropped, 2);
  t.same(outbox.drain().map((m) => m.payload), ['s2', 't1', 'e3', 'e4', 'e5'], 'state first, then the events in order');
  t.equal(outbox.size, 0);
});
