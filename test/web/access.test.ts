import type { IncomingMessage } from 'node:http';
import t from 'tap';
import { checkAccess, hostName, isLoopbackAddress, isLoopbackBind, knownHostName, peerKey, sameSecret, SESSION_COOKIE, sessionCookie, sessionValue } from '../../src/web/access.js';

const TOKEN = 'a-long-web-token-for-tests';

/** Only the parts of a request that access decisions read. */
function request(headers: Record<string, string>, remoteAddress = '127.0.0.1'): IncomingMessage {
  return { headers, socket: { remoteAddress } } as unknown as IncomingMessage;
}

/** checkAccess with no names beyond the robot's own. */
const access = (req: IncomingMessage, token: string | undefined, acts: boolean, names: string[] = []) => checkAccess(req, token, acts, names);

t.test('loopback addresses and hosts, including IPv4-mapped IPv6', async (t) => {
  for (const address of ['127.0.0.1', '127.1.2.3', '::1', '::ffff:127.0.0.1']) t.ok(isLoopbackAddress(address), address);
  for (const address of ['192.168.1.20', '::ffff:10.0.0.1', '0.0.0.0', '::', 'fe80::1', '', undefined]) t.notOk(isLoopbackAddress(address), String(address));
  t.ok(isLoopbackBind('localhost'));
  t.notOk(isLoopbackBind('0.0.0.0'));
});

t.test('sign-in tries are counted per IPv4 address and per IPv6 /64', async (t) => {
  t.equal(peerKey('192.168.1.20'), '192.168.1.20');
  t.equal(peerKey('::ffff:192.168.1.20'), '192.168.1.20', 'an IPv4-mapped address is its IPv4 host');
  t.equal(peerKey('::FFFF:c0a8:114'), '192.168.1.20', 'however it is written');
  t.equal(peerKey('0:0:0:0:0:ffff:192.168.1.20'), '192.168.1.20');
  t.equal(peerKey('2001:db8:1:2:aaaa:bbbb:cccc:dddd'), '2001:db8:1:2::/64');
  t.equal(peerKey('2001:db8:1:2::1'), '2001:db8:1:2::/64', 'the same /64, written short');
  t.equal(peerKey('2001:0db8:0001:0002:1:2:3:4'), '2001:db8:1:2::/64', 'with leading zeros');
  t.equal(peerKey('fe80::1%eth0'), 'fe80:0:0:0::/64', 'link-local: a host picks as many of those too; the zone left out');
  t.not(peerKey('64:ff9b::c0a8:114'), peerKey('64:ff9b::c0a8:115'), 'NAT64: per IPv4 host inside');
  t.equal(peerKey('64:ff9b::192.168.1.20'), peerKey('64:ff9b::c0a8:114'), 'the IPv4 host written dotted is the same peer');
  t.not(peerKey('64:ff9b::192.168.1.20'), peerKey('64:ff9b::192.0.2.1'));
  t.equal(peerKey('64:ff9b:1::1'), '64:ff9b:1:0::/64', 'the local-use NAT64 prefix (64:ff9b:1::/48) counts per /64 like any routed one');
  t.equal(peerKey('::1'), '0:0:0:0::/64');
  t.not(peerKey('2001:db8:1:3::1'), peerKey('2001:db8:1:2::1'));
});

t.test('Host headers are parsed strictly', async (t) => {
  t.equal(hostName('localhost:8080'), 'localhost');
  t.equal(hostName('[::1]:8080'), '::1');
  t.equal(hostName('Robot.Local'), 'robot.local');
  for (const bad of [undefined, '', 'a b', 'host:port', 'x'.repeat(300), 'evil.example/path', 'user@host']) t.equal(hostName(bad), undefined, String(bad));
});

t.test('on the robot itself no token is needed, but a page from another origin cannot act', async (t) => {
  t.same(access(request({ host: '127.0.0.1:8080' }), undefined, false), { ok: true, local: true });
  t.same(access(request({ host: 'localhost:8080', origin: 'http://localhost:8080' }), undefined, true), { ok: true, local: true });
  t.match(access(request({ host: '127.0.0.1:8080' }), undefined, true), { ok: false, status: 403 }, 'acting without an Origin is refused');
  t.match(access(request({ host: '127.0.0.1:8080', origin: 'http://evil.example' }), TOKEN, true), { ok: false, status: 403, reason: /another origin/ });
  t.match(access(request({ host: '127.0.0.1:8080', origin: 'null' }), TOKEN, true), { ok: false, status: 403 }, 'nor from a sandboxed frame or file');
});

t.test('a DNS-rebound name that points at 127.0.0.1 is not the robot itself', async (t) => {
  const rebound = request({ host: 'evil.example:8080', origin: 'http://evil.example:8080' });
  t.match(access(rebound, undefined, false), { ok: false, status: 403 });
  t.match(access(rebound, TOKEN, true), { ok: false, status: 403, reason: /not called evil\.example/ }, 'nor the robot at all: its sign-in is not there to guess at');
  const session = { cookie: `${SESSION_COOKIE}=${sessionValue(TOKEN)}` };
  t.match(access(request({ host: 'evil.example:8080', ...session }, '192.168.1.33'), TOKEN, false), { ok: false, status: 403 }, 'from the network too');
  t.same(access(request({ host: 'robot.example.net:8080', ...session }, '192.168.1.33'), TOKEN, false, ['robot.example.net']), { ok: true, local: false }, 'a name the owner gave it is its own');
});

t.test('the robot answers to its host name, that name on mDNS, its addresses and the owner\'s names', async (t) => {
  for (const name of ['kitchen-bot', 'kitchen-bot.local', '192.168.1.20', 'fe80::1', '::1', 'localhost']) t.ok(knownHostName(name, [], 'Kitchen-Bot'), name);
  t.ok(knownHostName('robot.example.net', ['robot.example.net'], 'kitchen-bot'));
  t.ok(knownHostName('kitchen-bot.local.', [], 'kitchen-bot'), 'fully qualified, with its trailing dot');
  t.ok(knownHostName('kitchen-bot.local', [], 'kitchen-bot.example.net'), 'mDNS gives the first label of a name with a domain');
  t.ok(knownHostName('kitchen-bot.example.net', [], 'kitchen-bot.example.net'));
  for (const name of ['evil.example', 'kitchen-bot.evil.example', 'kitchen-bot.localhost']) t.notOk(knownHostName(name, [], 'kitchen-bot'), name);
});

t.test('a request forwarded by a proxy on the robot is not the robot itself, whatever Host it passes', async (t) => {
  for (const header of ['x-forwarded-for', 'forwarded', 'x-real-ip', 'x-forwarded-host', 'x-forwarded-proto']) {
    const proxied = request({ host: '127.0.0.1:8080', origin: 'http://127.0.0.1:8080', [header]: '192.168.1.33' });
    t.match(access(proxied, undefined, true), { ok: false, status: 403, reason: /robot itself only/ }, `${header}: not served without a token`);
    t.match(access(proxied, TOKEN, true), { ok: false, status: 401 }, `${header}: the token is needed`);
  }
  // A TLS proxy that passes the browser's Host on: the page's origin is https.
  const tls = request({ host: 'robot.example.net', origin: 'https://robot.example.net', 'x-forwarded-for': '192.168.1.33', cookie: `${SESSION_COOKIE}=${sessionValue(TOKEN)}` });
  t.same(access(tls, TOKEN, true, ['robot.example.net']), { ok: true, local: false }, 'acts with its session');
  t.match(access({ ...tls, headers: { ...tls.headers, origin: 'https://evil.example' } } as IncomingMessage, TOKEN, true, ['robot.example.net']), { ok: false, status: 403, reason: /another origin/ });
});

t.test('from the network: only with the session cookie that signing in with the token sets', async (t) => {
  const lan = (headers: Record<string, string>) => request({ host: '192.168.1.20:8080', ...headers }, '192.168.1.33');
  t.match(access(lan({}), undefined, false), { ok: false, status: 403, reason: /robot itself only/ }, 'no token set: the page is not served to the network at all');
  t.match(access(lan({}), TOKEN, false), { ok: false, status: 401 });
  t.match(access(lan({ cookie: `${SESSION_COOKIE}=${sessionValue('other-token')}` }), TOKEN, false), { ok: false, status: 401 }, 'a cookie from another token');
  t.match(access(lan({ authorization: `Bearer ${TOKEN}` }), TOKEN, false), { ok: false, status: 401 }, 'only the session cookie counts (sign-in is rate-limited, a header would not be)');
  t.match(access(lan({ cookie: `${SESSION_COOKIE}=${TOKEN}` }), TOKEN, false), { ok: false, status: 401 }, 'nor the token itself as the cookie');
  t.same(access(lan({ cookie: `theme=dark; ${SESSION_COOKIE}=${sessionValue(TOKEN)}` }), TOKEN, false), { ok: true, local: false });
  t.match(access(lan({ cookie: `${SESSION_COOKIE}=${sessionValue(TOKEN)}`, origin: 'http://evil.example' }), TOKEN, true), { ok: false, status: 403 }, 'the session does not let another origin act');
  t.same(access(lan({ cookie: `${SESSION_COOKIE}=${sessionValue(TOKEN)}`, origin: 'http://192.168.1.20:8080' }), TOKEN, true), { ok: true, local: false });
  t.match(access(request({ host: '127.0.0.1:8080' }, '192.168.1.33'), TOKEN, false), { ok: false, status: 401 }, 'a loopback Host from a network peer is not local');
});

t.test('the session cookie is not the token, and is kept from scripts and other sites', async (t) => {
  t.not(sessionValue(TOKEN), TOKEN);
  t.notMatch(sessionCookie(TOKEN), TOKEN);
  t.match(sessionCookie(TOKEN), /HttpOnly/);
  t.match(sessionCookie(TOKEN), /SameSite=Strict/);
  t.ok(sameSecret(TOKEN, TOKEN));
  t.notOk(sameSecret(`${TOKEN}x`, TOKEN));
  t.notOk(sameSecret('', TOKEN));
});
