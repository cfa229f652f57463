import t from 'tap';
import { EventBus } from '../../src/runtime/bus.js';

t.test('delivers typed events to every subscriber in order', async (t) => {
  const bus = new EventBus(() => t.fail('no error expected'));
  const seen: string[] = [];
  bus.on('config.reloaded', (e) => seen.push(`a:${e.changed.join(',')}`));
  bus.on('config.reloaded', (e) => seen.push(`b:${e.file}`));
  bus.emit('config.reloaded', { file: 'x.yaml', changed: ['camera'] });
  t.same(seen, ['a:camera', 'b:x.yaml']);
});

t.test('a throwing or rejecting handler is reported to its own scope and others still run', async (t) => {
  const defaults: string[] = [];
  const bus = new EventBus((err) => defaults.push(err.message));
  const scoped: string[] = [];
  const scope = bus.scope((err, event) => scoped.push(`${event}: ${err.message}`));
  let delivered = 0;
  scope.on('config.reloaded', () => {
    throw new Error('sync boom');
  });
  scope.on('config.reloaded', async () => {
    throw new Error('async boom');
  });
  bus.on('config.reloaded', () => delivered++);
  bus.emit('config.reloaded', { file: 'x', changed: [] });
  await new Promise((r) => setImmediate(r));
  t.equal(delivered, 1);
  t.same(scoped.sort(), ['config.reloaded: async boom', 'config.reloaded: sync boom']);
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
  const off = bus.on('config.reloaded', () => {
    calls++;
    off();
  });
  bus.on('config.reloaded', () => calls++);
  bus.emit('config.reloaded', { file: 'x', changed: [] });
  bus.emit('config.reloaded', { file: 'x', changed: [] });
  t.equal(calls, 3);
});
