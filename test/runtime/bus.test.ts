import t from 'tap';
import { EventBus } from '../../src/runtime/bus.js';

t.test('delivers typed events to every subscriber in order', async (t) => {
  const bus = new EventBus(() => t.fail('no error expected'));
  const seen: string[] = [];
  bus.on('config.reload-requested', (e) => seen.push(`a:${e.reason}`));
  bus.on('config.reload-requested', (e) => seen.push(`b:${e.reason.length}`));
  bus.emit('config.reload-requested', { reason: 'SIGHUP' });
  t.same(seen, ['a:SIGHUP', 'b:6']);
});

t.test('a throwing or rejecting handler is reported to its own scope and others still run', async (t) => {
  const defaults: string[] = [];
  const bus = new EventBus((err) => defaults.push(err.message));
  const scoped: string[] = [];
  const scope = bus.scope((err, event) => scoped.push(`${event}: ${err.message}`));
  let delivered = 0;
  scope.on('config.reload-requested', () => {
    throw new Error('sync boom');
  });
  scope.on('config.reload-requested', async () => {
    throw new Error('async boom');
  });
  bus.on('config.reload-requested', () => delivered++);
  bus.emit('config.reload-requested', { reason: 'x' });
  await new Promise((r) => setImmediate(r));
  t.equal(delivered, 1);
  t.same(scoped.sort(), ['config.reload-requested: async boom', 'config.reload-requested: sync boom']);
  t.same(defaults, []);
});

t.test('closing a scope drops exactly its subscriptions', async (t) => {
  const bus = new EventBus(() => undefined);
  const scope = bus.scope(() => undefined);
  scope.on('runtime.status', () => undefined);
  const off = scope.on('config.rejected', () => undefined);
  bus.on('runtime.status', () => undefined);
  off();
  t.equal(bus.listenerCount('config.rejected'), 0);
  t.equal(bus.listenerCount('runtime.status'), 2);
  scope.close();
  t.equal(bus.listenerCount('runtime.status'), 1);
});

t.test('a handler may unsubscribe while the event is being delivered', async (t) => {
  const bus = new EventBus(() => undefined);
  let calls = 0;
  const off = bus.on('config.reload-requested', () => {
    calls++;
    off();
  });
  bus.on('config.reload-requested', () => calls++);
  bus.emit('config.reload-requested', { reason: 'x' });
  bus.emit('config.reload-requested', { reason: 'x' });
  t.equal(calls, 3);
});
