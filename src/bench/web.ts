import { statSync } from 'node:fs';
import path from 'node:path';
import pino from 'pino';
import WebSocket from 'ws';
import { camera } from '../camera/camera.js';
import { BUILT_IN } from '../config/load.js';
import type { Config } from '../config/schema.js';
import { Daemon } from '../runtime/daemon.js';
import { packageRoot } from '../runtime/paths.js';
import { vision } from '../vision/vision.js';
import { PAGE_SOURCE } from '../web/live.js';
import { web } from '../web/web.js';
import { round } from './stats.js';

export interface WebPhase {
  pages: number;
  cameraFps: number;
  visionFps: number;
  /** Camera frames encoded as JPEG for the pages (none while no page is open). */
  encodedFrames: number;
  /** The daemon process's CPU time over the phase, as a share of one core. */
  cpuPercentOfOneCore: number;
  /** What each open page received, on average. */
  perPage?: { images: number; faceMessages: number; kBytesPerSecond: number };
}

export interface WebBench {
  seconds: number;
  cameraFps: number;
  none: WebPhase;
  three: WebPhase;
  /** Vision fps with three pages over vision fps with none (target: at least 0.95). */
  visionFpsRatio: number;
  /** The page's own JavaScript, as sent (target: under 100 kB). */
  pageScriptBytes: number;
}

const PAGE_SCRIPT = path.join(packageRoot, 'src', 'web', 'page', 'app.js');

/**
 * The daemon's camera, vision and web subsystems on the demo video: a phase with no page open, then
 * one with three (WebSocket clients that read everything a browser would). Vision fps in both, how
 * many frames were encoded for pages, and what the pages cost the process.
 */
export async function benchWeb(config: Config, seconds: number): Promise<WebBench> {
  const benchConfig: Config = { ...config, web: { ...config.web, enabled: true, host: '127.0.0.1', port: 0, camera: true } };
  const daemon = new Daemon({ loaded: { config: benchConfig, file: BUILT_IN }, definitions: [web, vision, camera], log: pino({ level: 'silent' }), env: {} });
  let port = 0;
  const counted = { camera: 0, vision: 0, encoded: 0 };
  daemon.bus.on('web.ready', (ready) => (port = ready.port));
  daemon.bus.on('camera.frame', () => counted.camera++);
  daemon.bus.on('vision.frame', () => counted.vision++);
  daemon.bus.on('camera.snapshot', ({ by }) => by === PAGE_SOURCE && counted.encoded++);
  await daemon.start();
  const pages: WebSocket[] = [];
  try {
    // Model loading and the first allocations are not in the figures.
    await new Promise((r) => setTimeout(r, 1000));
    const none = await phase(counted, seconds, 0, []);
    const received = Array.from({ length: 3 }, () => ({ images: 0, faceMessages: 0, bytes: 0 }));
    for (const stats of received) {
      const page = new WebSocket(`ws://127.0.0.1:${port}/live`, { origin: `http://127.0.0.1:${port}` });
      page.on('message', (data: Buffer, binary) => {
        stats.bytes += data.length;
        if (binary) stats.images++;
        else if (data.toString('utf8', 0, 20).includes('"faces"')) stats.faceMessages++;
      });
      await new Promise((resolve, reject) => page.once('open', resolve).once('error', reject));
      pages.push(page);
    }
    await new Promise((r) => setTimeout(r, 500));
    for (const stats of received) Object.assign(stats, { images: 0, faceMessages: 0, bytes: 0 });
    const three = await phase(counted, seconds, 3, received);
    return {
      seconds,
      cameraFps: none.cameraFps,
      none,
      three,
      visionFpsRatio: none.visionFps ? round(three.visionFps / none.visionFps, 3) : 0,
      pageScriptBytes: statSync(PAGE_SCRIPT).size,
    };
  } finally {
    for (const page of pages) page.terminate();
    await daemon.stop('benchmark done');
  }
}

async function phase(counted: { camera: number; vision: number; encoded: number }, seconds: number, pages: number, received: { images: number; faceMessages: number; bytes: number }[]): Promise<WebPhase> {
  const before = { ...counted };
  const cpuBefore = process.cpuUsage();
  const startedAt = performance.now();
  await new Promise((r) => setTimeout(r, seconds * 1000));
  const elapsedS = (performance.now() - startedAt) / 1000;
  const cpu = process.cpuUsage(cpuBefore);
  const mean = (pick: (r: { images: number; faceMessages: number; bytes: number }) => number) => received.reduce((sum, r) => sum + pick(r), 0) / received.length;
  return {
    pages,
    cameraFps: round((counted.camera - before.camera) / elapsedS, 1),
    visionFps: round((counted.vision - before.vision) / elapsedS, 1),
    encodedFrames: counted.encoded - before.encoded,
    cpuPercentOfOneCore: round(((cpu.user + cpu.system) / 1000 / (elapsedS * 1000)) * 100, 1),
    ...(received.length ? { perPage: { images: round(mean((r) => r.images), 1), faceMessages: round(mean((r) => r.faceMessages), 1), kBytesPerSecond: round(mean((r) => r.bytes) / 1024 / elapsedS, 1) } } : {}),
  };
}
