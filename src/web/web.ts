import { readFileSync } from 'node:fs';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import path from 'node:path';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import { COMMAND_MAX_BYTES, runCommand, type CommandName, type CommandReply } from '../remote/commands.js';
import { RateLimit } from '../remote/rate-limit.js';
import { excerpt } from '../runtime/errors.js';
import { packageRoot } from '../runtime/paths.js';
import type { Subsystem, SubsystemContext, SubsystemDefinition } from '../runtime/subsystem.js';
import { checkAccess, peerKey, sameSecret, servingProblem, sessionCookie } from './access.js';
import { LiveFeed, PAGE_SOURCE, type Delivery } from './live.js';

/** What the page may ask: everyday control only. The config commands and snapshots stay with MQTT. */
export const WEB_COMMANDS: readonly CommandName[] = ['mode', 'mute', 'unmute', 'say', 'pose'];
/** A slow page (a phone on poor Wi-Fi) is skipped rather than queued for: the robot never buffers video for it. */
const MAX_BUFFERED_BYTES = 512 * 1024;
/** A page that stops answering pings (a phone that left the Wi-Fi) is dropped, so it holds no slot and no camera. */
const PING_INTERVAL_MS = 15_000;
/** Connections at once, pages and refused ones together: the robot's file descriptors are for its devices. */
const MAX_CONNECTIONS = 64;
/**
 * Connections at once from one peer (as sign-in tries are counted: an IPv4 address, an IPv6 /64), so
 * that one peer, signed in or not, cannot hold every slot and lock the owner out. A browser opens up
 * to six to a host, and a WebSocket per tab: a laptop with a few of the robot's pages open stays under it.
 */
export const MAX_CONNECTIONS_PER_PEER = 16;
/**
 * How often Node looks for requests past headersTimeout and requestTimeout: its default, 30 s, let a
 * peer sending headers slowly keep a connection up to 40 s instead of 10.
 */
const TIMEOUT_CHECK_MS = 1_000;
/**
 * Sign-in attempts are counted per address (5, then one every 5 s), in a bounded table that forgets
 * the address least recently tried first, and from all addresses together (20, then one every 2 s):
 * tries from many addresses must not add up to many guesses, nor clear one another's count.
 */
const LOGIN_PEERS = 256;
const LOGIN_PER_PEER = { burst: 5, perSecond: 0.2 };
const LOGIN_ALL_PEERS = { burst: 20, perSecond: 0.5 };
const PAGE_FOLDER = path.join(packageRoot, 'src', 'web', 'page');

/** Every file the server sends, by URL path: a fixed list, so no part of a request names a file. */
const ASSETS: Record<string, { file: string; type: string; public?: true }> = {
  '/': { file: 'index.html', type: 'text/html; charset=utf-8' },
  '/app.js': { file: 'app.js', type: 'text/javascript; charset=utf-8' },
  // The sign-in page needs these before a token is given; they say nothing about the robot.
  '/style.css': { file: 'style.css', type: 'text/css; charset=utf-8', public: true },
  '/icon.svg': { file: 'icon.svg', type: 'image/svg+xml', public: true },
};
const LOGIN_PAGE = 'login.html';

/** Everything the page needs comes from the robot itself; nothing else may load or run in it. */
const SECURITY_HEADERS = {
  'Content-Security-Policy': "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' blob:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
  'X-Content-Type-Options': 'nosniff',
  'X-Frame-Options': 'DENY',
  // Not no-referrer: under it a browser sends `Origin: null` with the sign-in form's POST, which is then refused.
  'Referrer-Policy': 'same-origin',
  'Cache-Control': 'no-store',
};

export function pageAssets(): Map<string, Buffer> {
  return new Map([...Object.values(ASSETS).map((a) => a.file), LOGIN_PAGE].map((file) => [file, readFileSync(path.join(PAGE_FOLDER, file))]));
}

/**
 * The robot's own web page: live view, emotions, health and controls, served by the daemon. Loopback
 * only unless web.host opens it, and then only with EMOBOT_WEB_TOKEN. Commands go through the same
 * command layer as MQTT's, limited to WEB_COMMANDS and rate-limited the same way.
 */
class WebPage implements Subsystem {
  private server?: http.Server;
  private sockets?: WebSocketServer;
  private readonly clients = new Set<WebSocket>();
  private feed?: LiveFeed;
  private assets = new Map<string, Buffer>();
  /** The daemon's current config: poses and other sections change without restarting the page. */
  private current?: SubsystemContext['config'];
  private readonly commandRate = new RateLimit(20, 10);
  /** Guessing the token costs time: five tries at once, then one every five seconds, per address. */
  private readonly loginRates = new Map<string, RateLimit>();
  private readonly loginRateAll = new RateLimit(LOGIN_ALL_PEERS.burst, LOGIN_ALL_PEERS.perSecond);
  /** Open connections by peer key; a peer is in it only while it holds one. */
  private readonly connectionsByPeer = new Map<string, number>();
  private pinger?: NodeJS.Timeout;
  /** Pages that answered the last ping. */
  private readonly alive = new WeakSet<WebSocket>();

  async start(ctx: SubsystemContext): Promise<void> {
    const { web } = ctx.config;
    const token = ctx.secrets.webToken;
    const problem = servingProblem(web.host, token);
    if (problem) throw new Error(problem);
    this.assets = pageAssets();
    this.current = ctx.config;
    ctx.bus.on('config.reloaded', ({ config }) => {
      this.current = config;
      // Poses and switches the page shows may have changed: every page redraws from a fresh hello.
      this.broadcast(JSON.stringify(this.feed!.hello(WEB_COMMANDS)), 'update');
    });
    const audience = { count: () => this.clients.size, broadcast: (message: string | Buffer, delivery: Delivery) => this.broadcast(message, delivery) };
    const feed = new LiveFeed(ctx.bus, () => this.current!, () => ctx.robotState(), audience);
    this.feed = feed;
    const sockets = new WebSocketServer({ noServer: true, maxPayload: 1024 });
    this.sockets = sockets;
    const server = http.createServer({ connectionsCheckingInterval: TIMEOUT_CHECK_MS }, (req, res) => {
      this.handle(ctx, token, req, res).catch((err: unknown) => {
        ctx.log.warn(`web request ${excerpt(req.url ?? '', 80)} failed: ${(err as Error).message}`);
        if (!res.headersSent) replyText(res, 500, 'internal error');
        else res.destroy();
      });
    });
    server.headersTimeout = 10_000;
    server.requestTimeout = 15_000;
    server.maxConnections = MAX_CONNECTIONS;
    server.on('connection', (socket) => this.admit(socket));
    server.on('upgrade', (req, socket, head) => {
      // Node drops its own error handler from an upgraded socket: without one, a reset would end the daemon.
      socket.on('error', () => socket.destroy());
      try {
        this.upgrade(ctx, token, req, socket, head);
      } catch (err) {
        ctx.log.warn(`web socket request failed: ${(err as Error).message}`);
        socket.destroy();
      }
    });
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(web.port, web.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    server.on('error', (err) => ctx.fail(err));
    const { port } = server.address() as AddressInfo;
    const shown = web.host === '0.0.0.0' || web.host === '::' ? 'this-robot' : web.host.includes(':') ? `[${web.host}]` : web.host;
    const url = `http://${shown}:${port}/`;
    ctx.log.info({ url, host: web.host, port }, `web page at ${url}`);
    ctx.bus.emit('web.ready', { url, host: web.host, port });
    this.pinger = setInterval(() => this.ping(), PING_INTERVAL_MS);
  }

  async stop(): Promise<void> {
    clearInterval(this.pinger);
    this.feed?.stop();
    for (const client of this.clients) client.terminate();
    this.clients.clear();
    this.sockets?.close();
    const server = this.server;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** Counts a new connection against its peer, or closes it when that peer already holds its share. */
  private admit(socket: Socket): void {
    const peer = peerKey(socket.remoteAddress ?? '');
    const held = this.connectionsByPeer.get(peer) ?? 0;
    if (held >= MAX_CONNECTIONS_PER_PEER) {
      socket.destroy();
      return;
    }
    this.connectionsByPeer.set(peer, held + 1);
    socket.once('close', () => {
      const left = this.connectionsByPeer.get(peer)! - 1;
      if (left > 0) this.connectionsByPeer.set(peer, left);
      else this.connectionsByPeer.delete(peer);
    });
  }

  private async handle(ctx: SubsystemContext, token: string | undefined, req: IncomingMessage, res: ServerResponse): Promise<void> {
    const pathname = requestPath(req.url);
    if (pathname === undefined) return replyText(res, 400, 'not a path');
    if (pathname === '/login' && req.method === 'POST') return this.login(ctx, token, req, res);
    const asset = Object.hasOwn(ASSETS, pathname) ? ASSETS[pathname] : undefined;
    const reading = req.method === 'GET' || req.method === 'HEAD';
    const access = checkAccess(req, token, !reading, ctx.config.web.host_names);
    if (!access.ok && !(asset?.public && reading && access.status === 401)) {
      if (access.status === 401 && req.method === 'GET' && pathname === '/') return this.signIn(res);
      return replyText(res, access.status, access.reason);
    }
    const command = /^\/api\/commands\/([a-z/]{1,40})$/.exec(pathname)?.[1];
    if (command !== undefined && req.method === 'POST') return this.command(ctx, command, req, res);
    if (asset && reading) return reply(res, 200, asset.type, this.assets.get(asset.file)!);
    replyText(res, 404, 'not found');
  }

  private async command(ctx: SubsystemContext, name: string, req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (!this.commandRate.take()) return replyJson(res, 429, { id: null, ok: false, error: { field: '', message: `too many commands: at most ${this.commandRate.perSecond} a second` } });
    const body = await readBody(req, COMMAND_MAX_BYTES);
    if (body === undefined) return replyJson(res, 413, { id: null, ok: false, error: { field: '', message: `payload over ${COMMAND_MAX_BYTES} bytes, not read` } });
    const result = runCommand(name, body, { by: PAGE_SOURCE, config: this.current!, configFile: ctx.configFile, bus: ctx.bus, changeConfig: ctx.changeConfig }, WEB_COMMANDS);
    if (result.ok) ctx.log.info({ command: name, id: result.id }, `web command ${name} done`);
    else ctx.log.warn({ command: excerpt(name, 40), id: result.id, error: result.error }, `web command ${excerpt(name, 40)} rejected: ${result.error.field ? `${result.error.field}: ` : ''}${result.error.message}`);
    replyJson(res, result.ok ? 200 : 400, result);
  }

  private async login(ctx: SubsystemContext, token: string | undefined, req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (!token) return replyText(res, 403, 'no web token is set on this robot (EMOBOT_WEB_TOKEN)');
    // Signing in needs no session, but the page's own origin and a name of the robot's.
    const access = checkAccess(req, token, true, ctx.config.web.host_names);
    if (!access.ok && access.status === 403) return replyText(res, 403, access.reason);
    if (!this.loginAllowed(req.socket.remoteAddress ?? '')) return replyText(res, 429, 'too many tries; wait a few seconds');
    const body = await readBody(req, 4096);
    const given = new URLSearchParams(body ?? '').get('token') ?? '';
    if (!sameSecret(given, token)) {
      ctx.log.warn({ from: req.socket.remoteAddress }, `web login with a wrong token from ${req.socket.remoteAddress}`);
      return this.signIn(res);
    }
    res.writeHead(303, { ...SECURITY_HEADERS, 'Set-Cookie': sessionCookie(token), Location: '/' });
    res.end();
  }

  private loginAllowed(address: string): boolean {
    const peer = peerKey(address);
    let rate = this.loginRates.get(peer);
    // Taken out and put back last: the Map's order is then the least recently tried first.
    if (rate) this.loginRates.delete(peer);
    else if (this.loginRates.size >= LOGIN_PEERS) this.loginRates.delete(this.loginRates.keys().next().value!);
    rate ??= new RateLimit(LOGIN_PER_PEER.burst, LOGIN_PER_PEER.perSecond);
    this.loginRates.set(peer, rate);
    return rate.take() && this.loginRateAll.take();
  }

  /** The sign-in form, in place of the page, to a request from the network without a session. */
  private signIn(res: ServerResponse): void {
    reply(res, 401, ASSETS['/']!.type, this.assets.get(LOGIN_PAGE)!);
  }

  private upgrade(ctx: SubsystemContext, token: string | undefined, req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const refuse = (status: number, reason: string) => {
      // Closed for good once written: a refused client must not keep the connection (or stop()) waiting.
      socket.once('finish', () => socket.destroy());
      socket.end(`HTTP/1.1 ${status} ${http.STATUS_CODES[status]}\r\nContent-Type: text/plain\r\nConnection: close\r\n\r\n${reason}`);
    };
    if (requestPath(req.url) !== '/live') return refuse(404, 'not found');
    const access = checkAccess(req, token, true, ctx.config.web.host_names);
    if (!access.ok) return refuse(access.status, access.reason);
    if (this.clients.size >= ctx.config.web.max_clients) return refuse(503, `already ${this.clients.size} pages open (web.max_clients)`);
    this.sockets!.handleUpgrade(req, socket, head, (client) => {
      this.clients.add(client);
      this.alive.add(client);
      client.on('pong', () => this.alive.add(client));
      // The page only listens; whatever it sends is not read.
      client.on('message', () => undefined);
      client.on('error', () => client.terminate());
      client.on('close', () => {
        this.clients.delete(client);
        this.feed?.audienceChanged();
      });
      client.send(JSON.stringify(this.feed!.hello(WEB_COMMANDS)));
      this.feed!.audienceChanged();
    });
  }

  /**
   * Frames (pictures, faces) are skipped for a page that is behind; an update (state, a warning) is
   * never skipped: a page that cannot take one is closed, and reconnects to a fresh hello.
   */
  private broadcast(message: string | Buffer, delivery: Delivery): void {
    for (const client of this.clients) {
      if (client.readyState !== client.OPEN) continue;
      if (client.bufferedAmount < MAX_BUFFERED_BYTES) client.send(message);
      else if (delivery === 'update') client.terminate();
    }
  }

  private ping(): void {
    for (const client of this.clients) {
      if (!this.alive.has(client)) {
        client.terminate();
        continue;
      }
      this.alive.delete(client);
      client.ping();
    }
  }
}

/** The path of a request target, or undefined when it is not one that starts with a single "/". */
export function requestPath(target: string | undefined): string | undefined {
  if (!target || !target.startsWith('/') || target.startsWith('//')) return undefined;
  const end = target.search(/[?#]/);
  return end < 0 ? target : target.slice(0, end);
}

function reply(res: ServerResponse, status: number, type: string, body: string | Buffer): void {
  res.writeHead(status, { ...SECURITY_HEADERS, 'Content-Type': type, 'Content-Length': Buffer.byteLength(body), ...(status === 413 ? { Connection: 'close' } : {}) });
  res.end(res.req.method === 'HEAD' ? undefined : body);
}

function replyText(res: ServerResponse, status: number, text: string): void {
  reply(res, status, 'text/plain; charset=utf-8', text);
}

function replyJson(res: ServerResponse, status: number, body: CommandReply): void {
  reply(res, status, 'application/json', JSON.stringify(body));
}

/**
 * The body as text, or undefined when it is longer than `limit`. A longer body is read to its end
 * and dropped (the request timeout bounds how long that takes), so that the refusal still arrives.
 */
async function readBody(req: IncomingMessage, limit: number): Promise<string | undefined> {
  if (Number(req.headers['content-length'] ?? 0) > limit) {
    req.resume();
    return undefined;
  }
  const chunks: Buffer[] = [];
  let length = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    length += chunk.length;
    if (length <= limit) chunks.push(chunk);
  }
  return length > limit ? undefined : Buffer.concat(chunks).toString('utf8');
}

export const web: SubsystemDefinition = {
  name: 'web',
  sections: ['web', 'robot'],
  create: (config) => (config.web.enabled ? new WebPage() : undefined),
};
