import t from 'tap';
import { SystemdNotifier } from '../../src/runtime/systemd.js';
import { fakeNotifySocket } from '../helpers/notify-socket.js';
import { waitFor } from '../helpers/wait.js';

t.test('sends newline-separated KEY=value datagrams to $NOTIFY_SOCKET', async (t) => {
  const socket = fakeNotifySocket();
  t.teardown(socket.close);
  const notifier = new SystemdNotifier({ NOTIFY_SOCKET: socket.path });
  t.ok(notifier.enabled);
  notifier.notify({ READY: 1, STATUS: 'camera 30 fps\nsecond line' });
  notifier.notify({ WATCHDOG: 1 });
  await waitFor(() => socket.messages.length === 2, 'two datagrams');
  t.same(socket.messages, ['READY=1\nSTATUS=camera 30 fps second line', 'WATCHDOG=1']);
  notifier.close();
});

t.test('outside systemd every call is a no-op', async (t) => {
  const notifier = new SystemdNotifier({});
  t.notOk(notifier.enabled);
  t.equal(notifier.watchdogIntervalMs, undefined);
  notifier.notify({ READY: 1 });
});

t.test('the watchdog interval is half of WATCHDOG_USEC, and only for the PID it names', async (t) => {
  t.equal(new SystemdNotifier({ NOTIFY_SOCKET: '/x', WATCHDOG_USEC: '10000000' }).watchdogIntervalMs, 5000);
  t.equal(new SystemdNotifier({ NOTIFY_SOCKET: '/x', WATCHDOG_USEC: '10000000', WATCHDOG_PID: '42' }, 42).watchdogIntervalMs, 5000);
  t.equal(new SystemdNotifier({ NOTIFY_SOCKET: '/x', WATCHDOG_USEC: '10000000', WATCHDOG_PID: '41' }, 42).watchdogIntervalMs, undefined);
  t.equal(new SystemdNotifier({ WATCHDOG_USEC: '10000000' }).watchdogIntervalMs, undefined);
});

t.test('a notify socket that went away does not throw', async (t) => {
  const notifier = new SystemdNotifier({ NOTIFY_SOCKET: '/nonexistent/notify.sock' });
  notifier.notify({ STATUS: 'x' });
  await new Promise((r) => setTimeout(r, 50));
  notifier.close();
  t.pass();
});
