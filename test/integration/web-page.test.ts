/**
 * The robot's web page in a real browser: Debian's Chromium, headless, driven by playwright-core
 * (which downloads no browser of its own), against the real daemon (`emobot run`) on the demo video
 * with a real mosquitto. The page must load, show the live image and the person's emotion as it
 * changes, change the robot's mode with a click (seen on MQTT too), and refuse what comes from
 * elsewhere: a page of another origin, and a request from the network without the token.
 * Screenshots go to $EMOBOT_SCREENSHOT_DIR, or to a temporary folder the test names.
 */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { networkInterfaces, tmpdir } from 'node:os';
import path from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import t from 'tap';
import { stringify } from 'yaml';
import { startCli } from '../helpers/cli.js';
import { freePort, MQTT_PASSWORD, MQTT_USER, startMosquitto } from '../helpers/mosquitto.js';
import { watch } from '../helpers/mqtt-watch.js';
import { waitFor } from '../helpers/wait.js';

t.setTimeout(180_000);

const ID = 'page-bot';
const TOKEN = 'web-token-for-the-browser-test';
const CHROMIUM = '/usr/bin/chromium';

/** A plain request from this process, with any Host header, from the given local address. */
function get(port: number, host: string, options: { connectTo?: string; path?: string } = {}) {
  return new Promise<{ status: number; body: string }>((resolve, reject) => {
    const req = http.request({ host: options.connectTo ?? '127.0.0.1', port, path: options.path ?? '/', headers: { host } }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode!, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** This machine's own address on a network, if it has one: a peer that is not loopback. */
function networkAddress(): string | undefined {
  return Object.values(networkInterfaces())
    .flat()
    .find((a) => a && a.family === 'IPv4' && !a.internal)?.address;
}

t.test('the page in a real browser against the real daemon', async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'emobot-web-page-'));
  const shots = process.env.EMOBOT_SCREENSHOT_DIR ? path.resolve(process.env.EMOBOT_SCREENSHOT_DIR) : path.join(dir, 'screenshots');
  mkdirSync(shots, { recursive: true });
  t.comment(`screenshots in ${shots}`);
  const broker = await startMosquitto();
  t.teardown(() => broker.stop());
  const port = await freePort();
  const configFile = path.join(dir, 'config.yaml');
  writeFileSync(
    configFile,
    stringify({
      robot: { id: ID, name: 'Page Bot' },
      runtime: { status_interval_ms: 1000 },
      camera: { source: 'demo', loop_video: true },
      expression: { board: 'simulated' },
      voice: { mode: 'offline', listen: { enabled: false }, proactive: { enabled: false } },
      remote: { mqtt: { enabled: true, url: broker.url, username: MQTT_USER } },
      // Open to the network, so that the token is needed from there; the browser below is on the robot itself.
      // robot.test: the name the browser below signs in under, as from the network (it resolves to 127.0.0.1).
      web: { host: '0.0.0.0', port, camera_fps: 5, host_names: ['robot.test'] },
    }),
  );
  const dashboard = await watch(broker.url, `emobot/${ID}/#`);
  t.teardown(dashboard.close);
  const daemon = startCli(['run', '--config', configFile], { EMOBOT_MQTT_PASSWORD: MQTT_PASSWORD, EMOBOT_WEB_TOKEN: TOKEN });
  t.teardown(() => daemon.child.kill('SIGKILL'));
  await waitFor(() => daemon.output().stdout.includes(`web page at http://this-robot:${port}/`), 'the web page to be served', 60_000);

  let browser: Browser;
  try {
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--disable-background-networking', '--host-resolver-rules=MAP robot.test 127.0.0.1, MAP evil.test 127.0.0.1'] });
  } catch (err) {
    throw new Error(`Chromium did not start from ${CHROMIUM} (scripts/setup.sh installs Debian's chromium): ${(err as Error).message}`);
  }
  t.teardown(() => browser.close());
  const page = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
  const pageErrors: string[] = [];
  page.on('pageerror', (err) => pageErrors.push(err.message));
  page.on('console', (m) => {
    if (m.type() === 'error') pageErrors.push(m.text());
  });
  const url = `http://127.0.0.1:${port}/`;
  await page.goto(url);
  await page.waitForSelector('#link.ok', { timeout: 20_000 });
  t.equal(await page.textContent('#robot-name'), 'Page Bot');

  // The live image: a new picture several times a second.
  const sources = new Set<string>();
  const start = Date.now();
  while (Date.now() - start < 3000) {
    const src = await page.getAttribute('#camera', 'src');
    if (src) sources.add(src);
    await page.waitForTimeout(100);
  }
  t.ok(sources.size >= 4, `${sources.size} different pictures in 3 s`);
  t.ok([...sources].every((s) => s.startsWith(`blob:http://127.0.0.1:${port}/`)), 'each one from the robot itself');

  // The emotion bars follow the demo's faces: their labels and the bars' widths change.
  const seen = new Map<string, string>();
  const bars = () => page.$$eval('#bars .bar', (rows) => rows.map((r) => `${(r as HTMLElement).dataset.label}:${(r.querySelector('.fill') as HTMLElement).style.width}`).join(' '));
  const emotionDeadline = Date.now() + 45_000;
  while (Date.now() < emotionDeadline && seen.size < 2) {
    const label = (await page.textContent('#emotion-now'))!.trim();
    if (label !== '—' && !seen.has(label)) seen.set(label, await bars());
    await page.waitForTimeout(200);
  }
  t.ok(seen.size >= 2, `the page showed ${[...seen.keys()].join(', ')}`);
  const [first, second] = [...seen.values()];
  t.not(first, second, 'with different bars');
  // Boxes and labels are drawn in the browser, over the picture (between two faces there may be none: wait for one).
  const overlay = () =>
    page.$eval('#overlay', (c) => {
      const canvas = c as HTMLCanvasElement;
      const pixels = canvas.getContext('2d')!.getImageData(0, 0, canvas.width, canvas.height).data;
      let drawn = 0;
      for (let i = 3; i < pixels.length; i += 4) if (pixels[i]! > 0) drawn++;
      return { width: canvas.width, drawn };
    });
  let drawn = await overlay();
  for (const end = Date.now() + 15_000; drawn.drawn <= 500 && Date.now() < end; drawn = await overlay()) await page.waitForTimeout(100);
  t.equal(drawn.width, 640, 'the overlay is the camera frame\'s size');
  t.ok(drawn.drawn > 500, `face boxes and labels drawn in the browser (${drawn.drawn} pixels)`);
  await page.waitForFunction(() => document.querySelectorAll('#subsystems li.running').length >= 5, undefined, { timeout: 15_000 });
  await page.waitForTimeout(1500); // a few telemetry samples for the charts
  await page.screenshot({ path: path.join(shots, 'web-page.jpg'), type: 'jpeg', quality: 85, fullPage: true });

  // A click on Sleep: the robot sleeps, as the page and MQTT both say.
  await page.click('#mode-sleep');
  await dashboard.until('mode sleep on MQTT', () => dashboard.on(`emobot/${ID}/state`).some((m) => (JSON.parse(m.payload) as { mode: string }).mode === 'sleep'), 15_000);
  await page.waitForSelector('#state[data-mode="sleep"]', { timeout: 10_000 });
  t.match(await page.textContent('#command-result'), /mode: done/);
  t.pass('Sleep clicked: the robot sleeps (page and MQTT)');

  // A page from another origin, in the same browser, tries to wake it with a form: refused.
  const evilPort = await freePort();
  const evil = http.createServer((_req, res) => {
    res.writeHead(200, { 'Content-Type': 'text/html' });
    res.end(
      `<form id="f" method="post" action="http://127.0.0.1:${port}/api/commands/mode" enctype="text/plain">` +
        `<input name='{"mode":"active","x":"' value='"}'></form>` +
        `<script>fetch('http://127.0.0.1:${port}/api/commands/unmute', { method: 'POST', mode: 'no-cors', body: '{}' }).finally(() => document.getElementById('f').submit());</script>`,
    );
  });
  await new Promise<void>((resolve) => evil.listen(evilPort, '127.0.0.1', resolve));
  t.teardown(() => evil.close());
  const attacker = await browser.newPage();
  const refusals: number[] = [];
  attacker.on('response', (r) => {
    if (r.url().includes(`:${port}/api/`)) refusals.push(r.status());
  });
  await attacker.goto(`http://127.0.0.1:${evilPort}/`);
  await attacker.waitForTimeout(1500);
  t.ok(refusals.length >= 1 && refusals.every((s) => s === 403), `the other origin's requests were refused (${refusals.join(', ')})`);
  await page.waitForTimeout(500);
  t.equal(await page.getAttribute('#state', 'data-mode'), 'sleep', 'and the robot still sleeps');
  t.equal((JSON.parse(dashboard.on(`emobot/${ID}/state`).at(-1)!.payload) as { mode: string }).mode, 'sleep');

  // From the network, without the token: the sign-in page and nothing else.
  const lan = await get(port, `192.168.1.20:${port}`);
  t.equal(lan.status, 401);
  t.match(lan.body, /action="\/login"/);
  t.equal((await get(port, `192.168.1.20:${port}`, { path: '/app.js' })).status, 401);
  const address = networkAddress();
  if (address) {
    const real = await get(port, `${address}:${port}`, { connectTo: address });
    t.equal(real.status, 401, `a real request over ${address} without the token is refused`);
  }

  // Signing in as from the network, in the browser: the form, then the page with its live link.
  const remote = await browser.newPage();
  await remote.goto(`http://robot.test:${port}/`);
  t.equal(await remote.title(), 'EmoBot: sign in');
  await remote.fill('input[name=token]', 'not-the-token-at-all');
  await Promise.all([remote.waitForLoadState('load'), remote.click('button[type=submit]')]);
  t.equal(await remote.title(), 'EmoBot: sign in', 'a wrong token: the form again');
  await remote.fill('input[name=token]', TOKEN);
  await remote.click('button[type=submit]');
  await remote.waitForSelector('#link.ok', { timeout: 20_000 });
  t.equal(await remote.textContent('#robot-name'), 'Page Bot', 'signed in: the page and its live socket');
  // A name the robot is not given (a DNS-rebound one) gets no sign-in form to guess at.
  const rebound = await browser.newPage();
  const answer = await rebound.goto(`http://evil.test:${port}/`);
  t.equal(answer?.status(), 403, 'a name that is not the robot\'s is refused');
  await Promise.all([remote.close(), rebound.close()]);

  // Awake again from the page, then on a phone-sized screen: the page still works (one column).
  await page.click('#mode-active');
  await page.waitForSelector('#state[data-mode="active"]', { timeout: 10_000 });
  const phone = await browser.newPage({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true });
  await phone.goto(url);
  await phone.waitForSelector('#link.ok', { timeout: 20_000 });
  const overflow = await phone.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  t.ok(overflow <= 0, `no sideways scrolling on a phone (${overflow} px too wide)`);
  // The demo video has dark frames between its photos: the picture is taken with a face in view.
  await phone.waitForFunction(() => document.querySelector('#emotion-now')!.textContent !== '—', undefined, { timeout: 30_000 });
  await phone.waitForTimeout(500);
  await phone.screenshot({ path: path.join(shots, 'web-page-phone.jpg'), type: 'jpeg', quality: 85 });
  t.same(pageErrors, [], 'no script errors in the page');
});
