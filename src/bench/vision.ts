import type { Mat } from '@u4/opencv4nodejs';
import pino from 'pino';
import { camera } from '../camera/camera.js';
import { BUILT_IN } from '../config/load.js';
import type { Config } from '../config/schema.js';
import { Daemon } from '../runtime/daemon.js';
import { VisionPipeline, type StageTimings } from '../vision/pipeline.js';
import { vision } from '../vision/vision.js';
import { fpsOf, growthAfterWarmUp, megabytes, percentiles, round, type Percentiles } from './stats.js';

const PIPELINE_STAGES = ['detect', 'preprocess', 'infer', 'smooth'] as const satisfies (keyof StageTimings)[];
/** `total` is a frame's wall time through the pipeline (the stages plus the bookkeeping between them). */
export type Stage = keyof StageTimings | 'total';
export const STAGES: Stage[] = [...PIPELINE_STAGES, 'total'];
type ReplayStage = keyof StageTimings | 'sum';
const REPLAY_STAGES: ReplayStage[] = [...PIPELINE_STAGES, 'sum'];

export interface Throughput {
  frames: number;
  /** The onnxruntime execution provider that ran the model. */
  executionProvider: string;
  /** Frames per second when every frame is processed back to back: what the pipeline can sustain. */
  fps: number;
  /** Faces the pipeline reported per frame, on average: the set's face count once the tracker has confirmed them. */
  facesPerFrame: number;
  stagesMs: Record<Stage, Percentiles>;
}

/** The vision pipeline on the given frames, cycled until `frames` have been processed. */
export async function throughput(config: Config, images: Mat[], frames: number): Promise<Throughput> {
  if (images.length === 0) throw new Error('no frames to measure');
  const pipeline = await VisionPipeline.create(config.vision);
  const samples: Record<Stage, number[]> = { detect: [], preprocess: [], infer: [], smooth: [], total: [] };
  let faces = 0;
  try {
    for (let i = 0; i < frames; i++) {
      const began = performance.now();
      const result = await pipeline.process(images[i % images.length]!, (i * 1000) / config.camera.fps);
      samples.total.push(performance.now() - began);
      for (const stage of PIPELINE_STAGES) samples[stage].push(result.timings[stage]);
      faces += result.faces.length;
    }
  } finally {
    await pipeline.release();
  }
  return {
    frames,
    executionProvider: pipeline.classifier.executionProvider,
    fps: fpsOf(samples.total),
    facesPerFrame: round(faces / frames, 2),
    stagesMs: Object.fromEntries(STAGES.map((stage) => [stage, percentiles(samples[stage])])) as Record<Stage, Percentiles>,
  };
}

export interface MemorySample {
  atS: number;
  rssMb: number;
  heapMb: number;
}

export interface Replay {
  seconds: number;
  cameraFps: number;
  visionFps: number;
  droppedFrames: number;
  droppedPercent: number;
  /** Per-stage latency of the frames the daemon processed while replaying; `sum` adds the stages up. */
  stagesMs: Record<ReplayStage, Percentiles>;
  /** After the warm-up minute (or a tenth of the run, when shorter) and at the end. */
  memory: { afterWarmUp: MemorySample; atEnd: MemorySample; rssGrowthPercent: number; samples: MemorySample[] };
}

const memoryNow = (startedAt: number): MemorySample => {
  const { rss, heapUsed } = process.memoryUsage();
  return { atS: round((performance.now() - startedAt) / 1000, 1), rssMb: megabytes(rss), heapMb: megabytes(heapUsed) };
};

/**
 * The daemon's own camera and vision subsystems replaying the demo video at its 30 fps, as on the
 * robot: frame rate, drops, stage latency, and memory over the whole run.
 */
export async function replay(config: Config, seconds: number): Promise<Replay> {
  const daemon = new Daemon({ loaded: { config, file: BUILT_IN }, definitions: [vision, camera], log: pino({ level: 'silent' }), env: {} });
  const counted = { camera: 0, vision: 0, dropped: 0, warm: false };
  const samples: Record<ReplayStage, number[]> = { detect: [], preprocess: [], infer: [], smooth: [], sum: [] };
  daemon.bus.on('camera.frame', () => counted.warm && counted.camera++);
  daemon.bus.on('vision.frame', (f) => {
    counted.dropped = f.droppedFrames;
    if (!counted.warm) return;
    counted.vision++;
    let sum = 0;
    for (const stage of PIPELINE_STAGES) {
      samples[stage].push(f.timings[stage]);
      sum += f.timings[stage];
    }
    samples.sum.push(sum);
  });
  await daemon.start();
  // Model loading and the first allocations are not in the figures.
  await new Promise((r) => setTimeout(r, 1000));
  const droppedBefore = counted.dropped;
  counted.warm = true;
  const startedAt = performance.now();
  const warmUpS = Math.min(60, seconds / 10);
  const memory: MemorySample[] = [];
  const sampleEveryMs = Math.max(1000, (seconds * 1000) / 60);
  const sampler = setInterval(() => memory.push(memoryNow(startedAt)), sampleEveryMs);
  await new Promise((r) => setTimeout(r, seconds * 1000));
  clearInterval(sampler);
  const atEnd = memoryNow(startedAt);
  memory.push(atEnd);
  await daemon.stop('benchmark done');
  const growth = growthAfterWarmUp(memory, warmUpS);
  const dropped = counted.dropped - droppedBefore;
  return {
    seconds,
    cameraFps: round(counted.camera / seconds, 1),
    visionFps: round(counted.vision / seconds, 1),
    droppedFrames: dropped,
    droppedPercent: counted.camera ? round((dropped / counted.camera) * 100, 1) : 0,
    stagesMs: Object.fromEntries(REPLAY_STAGES.map((stage) => [stage, percentiles(samples[stage])])) as Record<ReplayStage, Percentiles>,
    memory: { afterWarmUp: growth.afterWarmUp!, atEnd, rssGrowthPercent: growth.growthPercent, samples: memory },
  };
}
