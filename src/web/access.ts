import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { isIP } from 'node:net';
import { hostname } from 'node:os';
import { excerpt } from '../runtime/errors.js';

/** The session cookie: set after the token was given once, sent by the browser only to this origin. */
export const SESSION_COOKIE = 'emobot_session';
/** A shorter web token is refused: it would be guessable, and the logger does not blank very short secrets. */
export const MIN_TOKEN_LENGTH = 16;
const SESSION_MAX_AGE_S = 30 * 24 * 3600;

export type Access = { ok: true; local: boolean } | { ok: false; status: 401 | 403; reason: string };

/** 127.0.0.0/8 and ::1, also as IPv4-mapped IPv6 (how a dual-stack socket reports 127.0.0.1). */
export function isLoopbackAddress(address: string | undefined): boolean {
  if (!address) return false;
  const v4 = address.startsWith('::ffff:') ? address.slice(7) : address;
  if (isIP(v4) === 4) return v4.startsWith('127.');
  return address === '::1';
}

/**
 * Whom sign-in tries and open connections are counted against: an IPv4 address, or an IPv6 host's
 * /64 (a host on the LAN picks as many addresses in its /64 as it likes, SLAAC's privacy addresses
 * and link-local ones among them). NAT64 addresses (64:ff9b::/96) are an IPv4 host each, and IPv4-mapped ones
 * (::ffff:a.b.c.d, however written) that IPv4 address.
 */
export function peerKey(address: string): string {
  const bare = address.split('%')[0]!; // a link-local address's zone
  if (isIP(bare) !== 6) return bare;
  const [head = '', tail = ''] = bare.split('::');
  // An IPv4 address written at the end (64:ff9b::192.0.2.1) is the last two groups.
  const groupsOf = (part: string) => (part ? part.split(':').flatMap((g) => (g.includes('.') ? dottedGroups(g) : [g])) : []);
  const front = groupsOf(head);
  const back = groupsOf(tail);
  const groups = bare.includes('::') ? [...front, ...Array<string>(8 - front.length - back.length).fill('0'), ...back] : front;
  const numbers = groups.map((g) => parseInt(g, 16));
  const hex = (n: number) => n.toString(16);
  const zeros = (from: number, to: number) => numbers.slice(from, to).every((n) => n === 0);
  if (zeros(0, 5) && numbers[5] === 0xffff) return [numbers[6]! >> 8, numbers[6]! & 0xff, numbers[7]! >> 8, numbers[7]! & 0xff].join('.');
  if (numbers[0] === 0x64 && numbers[1] === 0xff9b && zeros(2, 6)) return numbers.map(hex).join(':');
  return `${numbers.slice(0, 4).map(hex).join(':')}::/64`;
}

/** `192.0.2.1` as the two IPv6 groups it stands for (c000, 201). */
function dottedGroups(ipv4: string): string[] {
  const [a = 0, b = 0, c = 0, d = 0] = ipv4.split('.').map(Number);
  return [((a << 8) | b).toString(16), ((c << 8) | d).toString(16)];
}

/** Whether listening on `host` (web.host) keeps the page on the robot itself. */
export function isLoopbackBind(host: string): boolean {
  return host === 'localhost' || isLoopbackAddress(host);
}

/** The host name of a Host header (`localhost:8080`, `[::1]:8080`, `192.168.1.20`), or undefined when it is not one. */
export function hostName(header: string | undefined): string | undefined {
  if (!header || header.length > 255) return undefined;
  const match = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+)(:\d{1,5})?$/.exec(header);
  if (!match) return undefined;
  return match[1]!.replace(/^\[|\]$/g, '').toLowerCase();
}

/**
 * The cookie's value: derived from the token, so the cookie is not the token itself, and a new
 * token ends every old session.
 */
export function sessionValue(token: string): string {
  return createHmac('sha256', token).update('emobot web session').digest('hex');
}

export function sessionCookie(token: string): string {
  return `${SESSION_COOKIE}=${sessionValue(token)}; HttpOnly; SameSite=Strict; Path=/; Max-Age=${SESSION_MAX_AGE_S}`;
}

/** Compared by digest in constant time, so neither the length nor a prefix of the token leaks. */
export function sameSecret(given: string, expected: string): boolean {
  const digest = (s: string) => createHash('sha256').update(s).digest();
  return timingSafeEqual(digest(given), digest(expected));
}

/**
 * Browsers send Origin with every POST and WebSocket; it must be the page's own: this Host over
 * HTTP, or over HTTPS where a TLS reverse proxy in front of the robot passes the browser's Host on.
 */
export function sameOrigin(req: IncomingMessage): boolean {
  const { host, origin } = req.headers;
  return host !== undefined && (origin === `http://${host}` || origin === `https://${host}`);
}

/** Headers a reverse proxy adds: a request carrying one came from whoever reached the proxy. */
const PROXY_HEADERS = ['forwarded', 'x-forwarded-for', 'x-forwarded-host', 'x-forwarded-proto', 'x-real-ip'];

/**
 * The names this robot answers to from the network: its host name (and `.local`, as mDNS gives it),
 * localhost, any IP address (a browser that loads a page from an address connects to that address:
 * no one else's page has the robot's), and the owner's `web.host_names`. Any other name is a DNS-rebound one: a web page elsewhere that
 * made its own name point at the robot, to send same-origin requests from the owner's browser.
 */
export function knownHostName(host: string, ownerNames: readonly string[], machine = hostname()): boolean {
  // `robot.local.` is `robot.local`, written fully qualified.
  const name = host.replace(/\.$/, '');
  const own = machine.toLowerCase();
  // mDNS publishes a host name's first label, whatever domain the machine's name carries.
  const ownNames = [own, `${own}.local`, `${own.split('.')[0]}.local`];
  return isIP(name) !== 0 || name === 'localhost' || ownNames.includes(name) || ownerNames.includes(name);
}

function cookie(req: IncomingMessage, name: string): string | undefined {
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const [key, ...value] = part.trim().split('=');
    if (key === name) return value.join('=');
  }
  return undefined;
}

function carriesToken(req: IncomingMessage, token: string): boolean {
  const session = cookie(req, SESSION_COOKIE);
  return session !== undefined && sameSecret(session, sessionValue(token));
}

/**
 * Who may do what. A request is local when it comes from the robot itself (a loopback peer), names
 * a loopback host (a DNS-rebound name pointing at 127.0.0.1 is not local) and was not forwarded by a
 * proxy. Local requests need no token; every other one must name the robot (`knownHostName`) and
 * needs the session cookie that signing in with EMOBOT_WEB_TOKEN sets.
 * Requests that act (commands, the live socket, logging in) must also come from a page of this very
 * origin: a page loaded from elsewhere, even in the owner's own browser, cannot send them.
 */
export function checkAccess(req: IncomingMessage, token: string | undefined, acts: boolean, ownerNames: readonly string[]): Access {
  const name = hostName(req.headers.host);
  if (!name) return { ok: false, status: 403, reason: 'no valid Host header' };
  if (acts && !sameOrigin(req)) return { ok: false, status: 403, reason: 'a request from another origin is refused' };
  // A proxy on the robot is a loopback peer and may pass a loopback Host (nginx's default): who reached it is not known.
  const proxied = PROXY_HEADERS.some((header) => req.headers[header] !== undefined);
  const local = isLoopbackAddress(req.socket.remoteAddress) && isLoopbackBind(name) && !proxied;
  if (local) return { ok: true, local };
  if (!knownHostName(name, ownerNames)) return { ok: false, status: 403, reason: `the robot is not called ${excerpt(name, 60)} (web.host_names lists the names it answers to besides its own)` };
  if (!token) return { ok: false, status: 403, reason: 'this page is served to the robot itself only (web.host and EMOBOT_WEB_TOKEN open it to the network)' };
  if (!carriesToken(req, token)) return { ok: false, status: 401, reason: 'the web token is missing or wrong' };
  return { ok: true, local };
}

/** Why the page may not be served with these settings and this token, or undefined when it may. */
export function servingProblem(host: string, token: string | undefined): string | undefined {
  if (!isLoopbackBind(host) && !token) return `web.host is ${host}: a page open to the network needs EMOBOT_WEB_TOKEN in the secrets file (or web.host: 127.0.0.1)`;
  if (token !== undefined && token.length < MIN_TOKEN_LENGTH) return `EMOBOT_WEB_TOKEN is shorter than ${MIN_TOKEN_LENGTH} characters: too easy to guess (openssl rand -hex 16 makes one)`;
  return undefined;
}
