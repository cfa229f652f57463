import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { freePort, Mosquitto as LocalBroker, type BrokerCertificates } from '../../src/dev/local-broker.js';

export { freePort } from '../../src/dev/local-broker.js';

export const MQTT_USER = 'robot';
export const MQTT_PASSWORD = 'test-password';

export type Certificates = BrokerCertificates;

/** The tests' broker: one robot user, one password, for every test. */
export class Mosquitto extends LocalBroker {
  constructor(port: number, tls?: Certificates, access?: { users: string[]; aclFile: string; settings?: string }) {
    super(port, { user: MQTT_USER, password: MQTT_PASSWORD }, tls, access);
  }
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
