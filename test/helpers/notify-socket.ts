import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createSocket } from 'unix-dgram';

/** A stand-in for systemd's notify socket: a unix datagram socket collecting sd_notify messages. */
export function fakeNotifySocket() {
  const socketPath = path.join(mkdtempSync(path.join(tmpdir(), 'emobot-notify-')), 'notify.sock');
  const messages: string[] = [];
  const socket = createSocket('unix_dgram', (msg) => messages.push(msg.toString()));
  socket.bind(socketPath);
  return {
    path: socketPath,
    messages,
    /** Every value sent for one field, in order (e.g. all STATUS= lines). */
    values: (field: string) =>
      messages.flatMap((m) => m.split('\n')).filter((l) => l.startsWith(`${field}=`)).map((l) => l.slice(field.length + 1)),
    close: () => socket.close(),
  };
}
