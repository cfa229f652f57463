import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

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

/**
 * A private Debian mosquitto on 127.0.0.1 with password authentication: what the tests, the soak run
 * and a robot tried out on a desk talk to. Never a listener beyond loopback.
 */
export class Mosquitto {
  private process?: ChildProcess;
  readonly dir = mkdtempSync(path.join(tmpdir(), 'emobot-mosquitto-'));

  constructor(
    readonly port: number,
    readonly credentials: { user: string; password: string },
    private readonly tls?: BrokerCertificates,
    /** Extra users (all with the same password), an ACL file and broker settings, to test access control. */
    access?: { users: string[]; aclFile: string; settings?: string },
  ) {
    const passwords = path.join(this.dir, 'passwd');
    writeFileSync(passwords, '');
    for (const user of [credentials.user, ...(access?.users ?? [])]) execFileSync('mosquitto_passwd', ['-b', passwords, user, credentials.password]);
    writeFileSync(
      path.join(this.dir, 'mosquitto.conf'),
      // As root, mosquitto would switch to its own user, who cannot read this private temp folder.
      `listener ${port} 127.0.0.1\nuser root\nallow_anonymous false\npassword_file ${passwords}\npersistence false\nlog_dest none\n` +
        (tls ? `cafile ${tls.ca}\ncertfile ${tls.serverCert}\nkeyfile ${tls.serverKey}\n` : '') +
        (access ? `acl_file ${access.aclFile}\n${access.settings ?? ''}\n` : ''),
    );
  }

  get url(): string {
    return `${this.tls ? 'mqtts' : 'mqtt'}://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    const child = spawn('mosquitto', ['-c', path.join(this.dir, 'mosquitto.conf')], { stdio: ['ignore', 'ignore', 'inherit'] });
    this.process = child;
    let spawnError: Error | undefined;
    child.once('error', (err) => (spawnError = err));
    const deadline = Date.now() + 5000;
    while (!(await listening(this.port))) {
      if (spawnError || child.exitCode !== null || Date.now() > deadline) {
        child.kill('SIGKILL');
        throw new Error(`mosquitto did not start on port ${this.port}${spawnError ? `: ${spawnError.message}` : ''} (scripts/setup.sh installs it)`);
      }
      await sleep(20);
    }
  }

  /** Sets a user's password and has the running broker read its password file again (SIGHUP), as an owner fixing a login would. */
  setPassword(user: string, password: string): void {
    execFileSync('mosquitto_passwd', ['-b', path.join(this.dir, 'passwd'), user, password]);
    this.process?.kill('SIGHUP');
  }

  /** Stops the broker; `remove` also deletes its folder (a restarted broker needs it). */
  async stop(options: { remove?: boolean } = {}): Promise<void> {
    const child = this.process;
    if (child && child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    }
    if (options.remove) rmSync(this.dir, { recursive: true, force: true });
  }
}

export interface BrokerCertificates {
  ca: string;
  serverCert: string;
  serverKey: string;
}
