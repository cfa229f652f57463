import { cpus } from 'node:os';
import pino from 'pino';
import { openSource } from '../camera/sources.js';
import { camera } from '../camera/camera.js';
import { demoConfig } from '../config/demo.js';
import { BUILT_IN } from '../config/load.js';
import { Daemon } from '../runtime/daemon.js';
import { VisionPipeline, type StageTimings } from '../vision/pipeline.js';
import { vision } from '../vision/vision.js';
import { benchVoice } from '../voice/bench.js';

type Stage = keyof StageTimings | 'capture' | 'total';

export interface Percentiles {
  p50: number;
  p95: number;
  mean: number;
}

export interface VisionBench {
  machine: { cpus: number; arch: string; node: string };
  source: string;
  /** Every frame processed back to back: what the pipeline could sustain. */
  throughput: { frames: number; fps: number; fpsWithOneFace: number; framesWithOneFace: number; stagesMs: Record<Stage, Percentiles> };
  /** The daemon's camera and vision subsystems on the demo video paced at 30 fps. */
  live: { seconds: number; cameraFps: number; visionFps: number; droppedFrames: number; droppedPercent: number; rssMb: number; heapMb: number };
  executionProvider: string;
}

export function percentiles(values: number[]): Percentiles {
  if (values.length === 0) return { p50: 0, p95: 0, mean: 0 };
  const sorted = [...values].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
  const round = (x: number) => Math.round(x * 1000) / 1000;
  return { p50: round(at(0.5)), p95: round(at(0.95)), mean: round(values.reduce((a, b) => a + b, 0) / values.length) };
}

async function throughput(frames: number) {
  const config = demoConfig();
  const source = openSource(config.camera);
  const pipeline = await VisionPipeline.create(config.vision);
  const samples: Record<Stage, number[]> = { capture: [], detect: [], preprocess: [], infer: [], smooth: [], total: [] };
  const oneFaceTotals: number[] = [];
  try {
    for (let i = 0; i < frames; i++) {
      const began = performance.now();
      let image = await source.read();
      if (!image) {
        source.rewind();
        image = await source.read();
      }
      const captured = performance.now();
      const result = await pipeline.process(image!, (i * 1000) / source.fps);
      image!.release();
      const total = performance.now() - began;
      samples.capture.push(captured - began);
      for (const stage of ['detect', 'preprocess', 'infer', 'smooth'] as const) samples[stage].push(result.timings[stage]);
      samples.total.push(total);
      if (result.faces.length === 1) oneFaceTotals.push(total);
    }
  } finally {
    source.close();
    await pipeline.release();
  }
  const fps = (totals: number[]) => (totals.length ? Math.round((1000 / percentiles(totals).mean) * 10) / 10 : 0);
  return {
    source: source.device,
    executionProvider: pipeline.classifier.executionProvider,
    result: {
      frames,
      fps: fps(samples.total),
      fpsWithOneFace: fps(oneFaceTotals),
      framesWithOneFace: oneFaceTotals.length,
      stagesMs: Object.fromEntries(Object.entries(samples).map(([stage, v]) => [stage, percentiles(v)])) as Record<Stage, Percentiles>,
    },
  };
}

async function live(seconds: number) {
  const daemon = new Daemon({ loaded: { config: demoConfig(), file: BUILT_IN }, definitions: [vision, camera], log: pino({ level: 'silent' }), env: {} });
  let cameraFrames = 0;
  let visionFrames = 0;
  let droppedFrames = 0;
  daemon.bus.on('camera.frame', () => cameraFrames++);
  daemon.bus.on('vision.frame', (f) => {
    visionFrames++;
    droppedFrames = f.droppedFrames;
  });
  await daemon.start();
  // Counted after a warm-up second, so model loading and the first allocations are not in the figures.
  await new Promise((r) => setTimeout(r, 1000));
  const start = { cameraFrames, visionFrames, droppedFrames };
  await new Promise((r) => setTimeout(r, seconds * 1000));
  const memory = process.memoryUsage();
  const counted = { camera: cameraFrames - start.cameraFrames, vision: visionFrames - start.visionFrames, dropped: droppedFrames - start.droppedFrames };
  await daemon.stop('benchmark done');
  const mb = (bytes: number) => Math.round(bytes / 1024 / 102.4) / 10;
  return {
    seconds,
    cameraFps: Math.round((counted.camera / seconds) * 10) / 10,
    visionFps: Math.round((counted.vision / seconds) * 10) / 10,
    droppedFrames: counted.dropped,
    droppedPercent: counted.camera ? Math.round((counted.dropped / counted.camera) * 1000) / 10 : 0,
    rssMb: mb(memory.rss),
    heapMb: mb(memory.heapUsed),
  };
}

export async function benchCommand(options: { json: boolean; frames: number; seconds: number; turns: number }): Promise<number> {
  // Live first: its memory figures should be those of a daemon, not of a process that also ran the throughput loop.
  const liveResult = await live(options.seconds);
  const measured = await throughput(options.frames);
  const report: VisionBench = {
    machine: { cpus: cpus().length, arch: process.arch, node: process.version },
    source: measured.source,
    throughput: measured.result,
    live: liveResult,
    executionProvider: measured.executionProvider,
  };
  const voice = await benchVoice(options.turns, percentiles);
  const result = { vision: report, voice };
  process.stdout.write(options.json ? `${JSON.stringify(result)}\n` : `${JSON.stringify(result, null, 2)}\n`);
  return 0;
}
