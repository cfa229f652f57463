import http from 'node:http';
import net from 'node:net';
import { once } from 'node:events';
import t from 'tap';
import WebSocket from 'ws';
import { configSchema } from '../../src/config/schema.js';
import type { BusEvents } from '../../src/runtime/events.js';
import { MAX_CONNECTIONS_PER_PEER, web, WEB_COMMANDS } from '../../src/web/web.js';
import { SESSION_COOKIE } from '../../src/web/access.js';
import { subsystemContext } from '../helpers/context.js';

const TOKEN = 'web-token-for-the-tests';
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Sends raw bytes and returns what came back once the server ended its side. The client keeps its
 * own side open (allowHalfOpen), as a lingering or hostile one would; `socket` is left to the caller.
 */
function raw(port: number, text: string): Promise<{ answer: string; socket: net.Socket }> {
  return new Promise((resolve) => {
    const socket = net.connect({ port, host: '127.0.0.1', allowHalfOpen: true }, () => socket.write(text));
    let answer = '';
    socket.on('data', (d) => (answer += d.toString()));
    socket.on('error', () => undefined);
    socket.on('end', () => resolve({ answer, socket }));
  });
}

const connections = (server: http.Server) => new Promise<number>((resolve, reject) => server.getConnections((err, n) => (err ? reject(err) : resolve(n))));

async function startPage(t: { teardown(fn: () => unknown): void }, settings: object = {}, secrets = {}) {
  const config = configSchema.parse({ robot: { id: 'page-bot', name: 'Page Bot' }, web: { port: 0, ...settings } });
  const { ctx, bus, logs, failures } = subsystemContext(config, { secrets });
  const ready: BusEvents['web.ready'][] = [];
  bus.on('web.ready', (r) => void ready.push(r));
  const controls: BusEvents['robot.control'][] = [];
  bus.on('robot.control', (c) => void controls.push(c));
  const said: BusEvents['voice.say'][] = [];
  bus.on('voice.say', (s) => void said.push(s));
  const instance = web.create(config)!;
  await instance.start(ctx);
  t.teardown(() => instance.stop());
  const port = ready[0]!.port;
  const base = `http://127.0.0.1:${port}`;
  return { bus, logs, failures, port, base, controls, said, instance };
}

/** A raw request, so that Host and Origin can be anything a browser or an attacker would send. */
function request(port: number, options: { method?: string; path?: string; headers?: Record<string, string>; body?: string; localAddress?: string }) {
  return new Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }>((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, localAddress: options.localAddress, method: options.method ?? 'GET', path: options.path ?? '/', headers: { host: `127.0.0.1:${port}`, ...options.headers } }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end(options.body);
  });
}

const post = (port: number, name: string, body: unknown, headers: Record<string, string> = {}, localAddress?: string) =>
  request(port, { method: 'POST', path: `/api/commands/${name}`, localAddress, body: JSON.stringify(body), headers: { origin: `http://127.0.0.1:${port}`, 'content-type': 'application/json', ...headers } });

t.test('disabled in config means no subsystem', async (t) => {
  t.equal(web.create(configSchema.parse({ web: { enabled: false } })), undefined);
});

t.test('serves the page from the robot itself, with a policy that lets nothing else in', async (t) => {
  const { port, logs } = await startPage(t);
  const page = await request(port, {});
  t.equal(page.status, 200);
  t.match(page.body, /<script src="\/app.js" defer><\/script>/);
  t.notMatch(page.body, /https?:\/\/(?!www\.w3\.org)/, 'no asset from anywhere else (no CDN)');
  t.match(page.headers['content-security-policy'], /default-src 'none'; script-src 'self'/);
  t.equal(page.headers['x-frame-options'], 'DENY');
  t.equal(page.headers['access-control-allow-origin'], undefined, 'no CORS header at all');
  const script = await request(port, { path: '/app.js' });
  t.equal(script.status, 200);
  t.match(script.headers['content-type'], /javascript/);
  t.ok(Buffer.byteLength(script.body) < 100 * 1024, `the page's JavaScript is ${Buffer.byteLength(script.body)} bytes`);
  t.ok(logs().includes(`web page at http://127.0.0.1:${port}/`), 'the log says where');
});

t.test('no part of a request names a file', async (t) => {
  const { port } = await startPage(t);
  for (const path of ['/../package.json', '/%2e%2e/package.json', '/app.js/../../package.json', '/index.html', '/page/app.js', '/login.html', '/constructor', '/__proto__']) {
    const res = await request(port, { path });
    t.equal(res.status, 404, path);
    t.notMatch(res.body, /"name": "emobot"/, path);
  }
});

t.test('commands: the everyday ones through the MQTT command layer, nothing more', async (t) => {
  const { port, controls, said, logs } = await startPage(t);
  const sleep = await post(port, 'mode', { id: 'c1', mode: 'sleep' });
  t.equal(sleep.status, 200);
  t.same(JSON.parse(sleep.body), { id: 'c1', ok: true, result: { mode: 'sleep' } });
  t.same(controls, [{ mode: 'sleep', by: 'web page' }]);
  t.equal((await post(port, 'say', { text: 'Hello from the page' })).status, 200);
  t.same(said, [{ text: 'Hello from the page', by: 'web page' }]);
  const bad = await post(port, 'mode', { mode: 'party' });
  t.equal(bad.status, 400);
  t.match(JSON.parse(bad.body), { ok: false, error: { field: 'mode' } });
  for (const name of ['config/get', 'config/set', 'config/reload', 'snapshot']) {
    const res = await post(port, name, { patch: { web: { host: '0.0.0.0' } } });
    t.equal(res.status, 400, name);
    t.match(JSON.parse(res.body), { ok: false, error: { message: new RegExp(`unknown command .*known: ${WEB_COMMANDS.join(', ')}`) } }, name);
  }
  t.equal((await post(port, 'say', { text: 'x'.repeat(70_000) })).status, 413);
  const { answer: chunked } = await raw(port, `POST /api/commands/say HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nOrigin: http://127.0.0.1:${port}\r\nTransfer-Encoding: chunked\r\n\r\n${'8000\r\n' + 'x'.repeat(0x8000) + '\r\n'}${'8000\r\n' + 'x'.repeat(0x8000) + '\r\n'}${'10\r\n' + 'x'.repeat(16) + '\r\n'}0\r\n\r\n`);
  t.match(chunked, /^HTTP\/1\.1 413/, 'a chunked body that grows too long gets its refusal too');
  t.equal(controls.length, 1, 'nothing else reached the robot');
  t.ok(logs().includes('web command mode done'));
});

t.test('request targets that are not paths, on HTTP and on the live socket, are refused and the page keeps serving', async (t) => {
  const { port, failures, logs, instance } = await startPage(t);
  const server = (instance as unknown as { server: http.Server }).server;
  const lingering: net.Socket[] = [];
  t.teardown(() => lingering.forEach((s) => s.destroy()));
  for (const target of ['//x:99999/live', 'http://x:99999/live', '*', '/elsewhere']) {
    const upgrade = await raw(port, `GET ${target} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nOrigin: http://127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n`);
    lingering.push(upgrade.socket);
    t.match(upgrade.answer, /^HTTP\/1\.1 404/, `upgrade ${target}`);
    const plain = await raw(port, `GET ${target} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nConnection: close\r\n\r\n`);
    lingering.push(plain.socket);
    t.match(plain.answer, /^HTTP\/1\.1 400|^HTTP\/1\.1 404/, `GET ${target}`);
  }
  await sleep(100);
  t.equal(await connections(server), 0, 'the robot holds no connection for refused clients that linger');
  // A client that resets right after asking to upgrade.
  for (let i = 0; i < 5; i++) {
    const socket = net.connect(port, '127.0.0.1', () => {
      socket.write(`GET /live HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nOrigin: http://evil.example\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n`);
      socket.resetAndDestroy();
    });
    socket.on('error', () => undefined);
  }
  await sleep(200);
  t.equal((await request(port, {})).status, 200, 'still serving');
  t.same(failures, []);
  t.same(logs().filter((m) => /failed/.test(m)), [], 'nothing for the log (which MQTT and the pages show) to be flooded with');
});

t.test('a page from another origin cannot act, and the robot does not change', async (t) => {
  const { port, controls } = await startPage(t);
  for (const origin of ['http://evil.example', 'null', `http://localhost:${port + 1}`]) {
    const res = await post(port, 'mode', { mode: 'sleep' }, { origin });
    t.equal(res.status, 403, origin);
  }
  const noOrigin = await request(port, { method: 'POST', path: '/api/commands/mode', body: '{"mode":"sleep"}' });
  t.equal(noOrigin.status, 403, 'without an Origin header');
  const rebound = await request(port, { headers: { host: `evil.example:${port}` } });
  t.equal(rebound.status, 403, 'a DNS-rebound name is not the robot itself');
  t.same(controls, []);
});

t.test('commands are rate-limited like MQTT\'s', async (t) => {
  const { port } = await startPage(t);
  // Each from an address of its own (one peer gets MAX_CONNECTIONS_PER_PEER connections): the limit is for all peers together.
  const statuses = await Promise.all(Array.from({ length: 30 }, (_, i) => post(port, 'unmute', {}, {}, `127.0.2.${i + 2}`).then((r) => r.status)));
  t.ok(statuses.filter((s) => s === 429).length >= 5, `${statuses.filter((s) => s === 429).length} of 30 at once refused`);
});

t.test('open to the network only with a token', async (t) => {
  const config = configSchema.parse({ web: { host: '0.0.0.0', port: 0 } });
  const { ctx } = subsystemContext(config);
  const instance = web.create(config)!;
  await t.rejects(instance.start(ctx), /web.host is 0.0.0.0: a page open to the network needs EMOBOT_WEB_TOKEN/);
  await instance.stop();
  const short = web.create(config)!;
  await t.rejects(short.start(subsystemContext(config, { secrets: { webToken: 'hunter2' } }).ctx), /EMOBOT_WEB_TOKEN is shorter than 16 characters/);
  await short.stop();

  const { port, controls, logs } = await startPage(t, { host: '0.0.0.0' }, { webToken: TOKEN });
  // A peer on the network: a Host header that is not loopback makes the request one, whichever interface carried it.
  const lan = `192.168.1.20:${port}`;
  const unsigned = await request(port, { headers: { host: lan } });
  t.equal(unsigned.status, 401);
  t.match(unsigned.body, /<form method="post" action="\/login">/, 'the sign-in page, not the robot\'s');
  t.notMatch(unsigned.body, /app\.js/);
  t.equal((await request(port, { path: '/app.js', headers: { host: lan } })).status, 401);
  t.equal((await request(port, { path: '/style.css', headers: { host: lan } })).status, 200, 'the sign-in page\'s style is public');
  const refused = await post(port, 'mode', { mode: 'sleep' }, { host: lan, origin: `http://${lan}` });
  t.equal(refused.status, 401, 'a command without the token from the network is refused');

  const login = (token: string, origin = `http://${lan}`, localAddress?: string) =>
    request(port, { method: 'POST', path: '/login', localAddress, body: new URLSearchParams({ token }).toString(), headers: { host: lan, origin, 'content-type': 'application/x-www-form-urlencoded' } });
  t.equal((await login('guess')).status, 401);
  t.ok(logs().some((m) => /web login with a wrong token/.test(m) && !m.includes('guess')), 'a wrong try is logged, without what was tried');
  t.equal((await login(TOKEN, 'http://evil.example')).status, 403, 'not from another origin');
  const signedIn = await login(TOKEN);
  t.equal(signedIn.status, 303);
  const cookie = (signedIn.headers['set-cookie'] ?? [])[0]!.split(';')[0]!;
  t.match(cookie, new RegExp(`^${SESSION_COOKIE}=`));
  t.notMatch(cookie, TOKEN);
  t.equal((await request(port, { headers: { host: lan, cookie } })).status, 200);
  const accepted = await post(port, 'mode', { mode: 'idle' }, { host: lan, origin: `http://${lan}`, cookie });
  t.equal(accepted.status, 200);
  t.same(controls, [{ mode: 'idle', by: 'web page' }]);
  const statuses: number[] = [];
  for (let i = 0; i < 6; i++) statuses.push((await login(`guess-${i}`)).status);
  t.equal(statuses.at(-1), 429, `guessing is slowed down (${statuses.join(', ')})`);
  // Each from an address of its own (all of 127/8 is this machine's): the tries still add up.
  const spread: number[] = [];
  for (let i = 0; i < 30; i++) spread.push((await login(`guess-${i}`, `http://${lan}`, `127.0.1.${i + 2}`)).status);
  t.ok(spread.filter((s) => s === 429).length >= 10, `tries from 30 addresses, one each, are slowed down too (${spread.join(', ')})`);
});

t.test('the live socket: same-origin only, a hello first, at most web.max_clients pages', async (t) => {
  const { port, bus } = await startPage(t, { max_clients: 2 });
  const connect = (origin: string) => {
    const socket = new WebSocket(`ws://127.0.0.1:${port}/live`, { origin });
    const messages: unknown[] = [];
    socket.on('message', (data, binary) => messages.push(binary ? data : JSON.parse(data.toString())));
    return { socket, messages };
  };
  const foreign = connect('http://evil.example');
  const [error] = (await once(foreign.socket, 'error')) as [Error];
  t.match(error.message, /403/);

  const first = connect(`http://127.0.0.1:${port}`);
  await once(first.socket, 'open');
  await new Promise((resolve) => setTimeout(resolve, 100));
  t.match(first.messages[0], { type: 'hello', robot: { name: 'Page Bot' }, commands: WEB_COMMANDS });
  const second = connect(`http://127.0.0.1:${port}`);
  await once(second.socket, 'open');
  const third = connect(`http://127.0.0.1:${port}`);
  const [full] = (await once(third.socket, 'error')) as [Error];
  t.match(full.message, /503/);

  const requests: unknown[] = [];
  bus.on('camera.snapshot-requested', (r) => void requests.push(r));
  await new Promise((resolve) => setTimeout(resolve, 450));
  t.ok(requests.length >= 1, 'the camera is asked for pictures while pages are open');
  bus.emit('camera.snapshot', { jpeg: Buffer.from([0xff, 0xd8, 9]), width: 1, height: 1, at: 1, by: 'web page' });
  await new Promise((resolve) => setTimeout(resolve, 100));
  t.ok(first.messages.some((m) => Buffer.isBuffer(m) && m[2] === 9), 'and each gets the picture');
  first.socket.close();
  second.socket.close();
  await Promise.all([once(first.socket, 'close'), once(second.socket, 'close')]);
  await sleep(300);
  const afterClose = requests.length;
  await sleep(600);
  t.equal(requests.length, afterClose, 'no pictures asked for once the pages closed');
});

t.test('one peer holds at most MAX_CONNECTIONS_PER_PEER connections, so the owner from another address still gets in', async (t) => {
  const { port, instance } = await startPage(t, { host: '0.0.0.0' }, { webToken: TOKEN });
  const server = (instance as unknown as { server: http.Server }).server;
  const lan = `192.168.1.20:${port}`;
  // A peer without a token that sends its headers too slowly ever to finish them.
  const slowPeer = async (count: number) => {
    const sockets = Array.from({ length: count }, () => {
      const socket = net.connect({ port, host: '127.0.0.1', localAddress: '127.0.0.66' }, () => socket.write(`GET / HTTP/1.1\r\nHost: ${lan}\r\n`));
      socket.on('error', () => undefined);
      return socket;
    });
    t.teardown(() => sockets.forEach((s) => s.destroy()));
    await sleep(300);
    return sockets;
  };
  const held = await slowPeer(MAX_CONNECTIONS_PER_PEER + 4);
  t.equal(held.filter((s) => !s.destroyed).length, MAX_CONNECTIONS_PER_PEER, 'the peer\'s connections past its share are closed');
  t.equal(await connections(server), MAX_CONNECTIONS_PER_PEER);
  t.equal((await request(port, { headers: { host: lan } })).status, 401, 'the owner gets the sign-in page');
  t.equal((await request(port, { headers: { host: lan }, localAddress: '127.0.0.67' })).status, 401, 'and so does another peer');
  held.forEach((s) => s.destroy());
  await sleep(200);
  const again = await slowPeer(MAX_CONNECTIONS_PER_PEER);
  t.equal(again.filter((s) => !s.destroyed).length, MAX_CONNECTIONS_PER_PEER, 'closed connections give the peer its slots back');
});
