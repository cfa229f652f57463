import { createSocket } from 'unix-dgram';

/**
 * The sd_notify protocol (READY=1, STATUS=, WATCHDOG=1, STOPPING=1) over $NOTIFY_SOCKET. Outside
 * systemd there is no socket and every call is a no-op, so the daemon runs the same everywhere.
 */
export class SystemdNotifier {
  private readonly socketPath?: string;
  private socket?: ReturnType<typeof createSocket>;
  /** Half the watchdog timeout, per sd_watchdog_enabled(3); undefined when no watchdog is set. */
  readonly watchdogIntervalMs?: number;

  constructor(env: NodeJS.ProcessEnv = process.env, pid: number = process.pid) {
    const raw = env.NOTIFY_SOCKET;
    if (raw) this.socketPath = raw.startsWith('@') ? `\0${raw.slice(1)}` : raw;
    const usec = Number(env.WATCHDOG_USEC);
    const forUs = !env.WATCHDOG_PID || Number(env.WATCHDOG_PID) === pid;
    if (this.socketPath && forUs && Number.isFinite(usec) && usec > 0) this.watchdogIntervalMs = usec / 2000;
  }

  get enabled(): boolean {
    return this.socketPath !== undefined;
  }

  notify(fields: Record<string, string | number>): void {
    if (!this.socketPath) return;
    const message = Object.entries(fields)
      .map(([key, value]) => `${key}=${String(value).replace(/\n/g, ' ')}`)
      .join('\n');
    if (!this.socket) {
      this.socket = createSocket('unix_dgram');
      // A vanished notify socket must not take the robot down; systemd will notice on its own.
      this.socket.on('error', () => undefined);
    }
    const buf = Buffer.from(message);
    this.socket.send(buf, 0, buf.length, this.socketPath);
  }

  close(): void {
    this.socket?.close();
    this.socket = undefined;
  }
}
