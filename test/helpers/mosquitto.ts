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

  constructor(
    readonly port: number,
    private readonly tls?: Certificates,
    /** Extra users (all with MQTT_PASSWORD) and an ACL file, to test access control. */
    access?: { users: string[]; aclFile: string },
  ) {
    const passwords = path.join(this.dir, 'passwd');
    writeFileSync(passwords, '');
    for (const user of [MQTT_USER, ...(access?.users ?? [])]) execFileSync('mosquitto_passwd', ['-b', passwords, user, MQTT_PASSWORD]);
    writeFileSync(
      path.join(this.dir, 'mosquitto.conf'),
      // As root, mosquitto would switch to its own user, who cannot read this private temp folder.
      `listener ${port} 127.0.0.1\nuser root\nallow_anonymous false\npassword_file ${passwords}\npersistence false\nlog_dest none\n` +
        (tls ? `cafile ${tls.ca}\ncertfile ${tls.serverCert}\nkeyfile ${tls.serverKey}\n` : '') +
        (access ? `acl_file ${access.aclFile}\n` : ''),
    );
  }

  get url(): string {
    return `${this.tls ? 'mqtts' : 'mqtt'}://127.0.0.1:${this.port}`;
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

export interface Certificates {
  ca: string;
  serverCert: string;
  serverKey: string;
}

/** A throw-away CA and a server certificate for 127.0.0.1, made with openssl. */
export function makeCertificates(): Certificates {
  const dir = mkdtempSync(path.join(tmpdir(), 'emobot-tls-'));
  const f = (name: string) => path.join(dir, name);
  const openssl = (...args: string[]) => execFileSync('openssl', args, { stdio: 'ignore' });
  openssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', '/CN=emobot test CA', '-keyout', f('ca.key'), '-out', f('ca.pem'));
  openssl('req', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=127.0.0.1', '-keyout', f('server.key'), '-out', f('server.csr'));
  writeFileSync(f('san.ext'), 'subjectAltName=IP:127.0.0.1\n');
  openssl('x509', '-req', '-in', f('server.csr'), '-CA', f('ca.pem'), '-CAkey', f('ca.key'), '-CAcreateserial', '-days', '2', '-extfile', f('san.ext'), '-out', f('server.pem'));
  return { ca: f('ca.pem'), serverCert: f('server.pem'), serverKey: f('server.key') };
}

export async function startMosquitto(tls?: Certificates): Promise<Mosquitto> {
  const broker = new Mosquitto(await freePort(), tls);
  await broker.start();
  return broker;
}
