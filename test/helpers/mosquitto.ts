import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { waitFor } from './wait.js';

export const MQTT_USER = 'robot';
export const MQTT_PASSWORD = 'test-password';

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
    server.on('error', reject);
  });
}

async function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port }, () => {
      socket.destroy();
      resolve(true);
    });
    socket.on('error', () => resolve(false));
  });
}

/** A real Debian mosquitto on 127.0.0.1 with password authentication and no anonymous access. */
export class Mosquitto {
  private process?: ChildProcess;
  readonly dir = mkdtempSync(path.join(tmpdir(), 'emobot-mosquitto-'));

  constructor(readonly port: number) {
    const passwords = path.join(this.dir, 'passwd');
    writeFileSync(passwords, '');
    execFileSync('mosquitto_passwd', ['-b', passwords, MQTT_USER, MQTT_PASSWORD]);
    writeFileSync(
      path.join(this.dir, 'mosquitto.conf'),
      // As root, mosquitto would switch to its own user, who cannot read this private temp folder.
      `listener ${port} 127.0.0.1\nuser root\nallow_anonymous false\npassword_file ${passwords}\npersistence false\nlog_dest none\n`,
    );
  }

  get url(): string {
    return `mqtt://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    this.process = spawn('mosquitto', ['-c', path.join(this.dir, 'mosquitto.conf')], { stdio: ['ignore', 'ignore', 'inherit'] });
    let ok = false;
    await waitFor(() => ok, `mosquitto on port ${this.port}`, 5000, async () => (ok = await listening(this.port)));
  }

  async stop(): Promise<void> {
    const child = this.process;
    if (!child || child.exitCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    await exited;
  }
}

export async function startMosquitto(): Promise<Mosquitto> {
  const broker = new Mosquitto(await freePort());
  await broker.start();
  return broker;
}
