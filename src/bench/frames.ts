import type { Mat } from '@u4/opencv4nodejs';
import type { Config } from '../config/schema.js';
import { openSource } from '../camera/sources.js';
import { opencv } from '../runtime/opencv.js';
import { createDetector, type FaceDetector } from '../vision/detector.js';
import type { Box } from '../vision/face.js';
import { cropWithMargin } from '../vision/preprocess.js';
import { percentiles, type Percentiles } from './stats.js';

export type FaceCount = 0 | 1 | 3;
export const FACE_COUNTS: FaceCount[] = [0, 1, 3];

/** 640x480 frames on which the configured detector finds exactly 0, 1 or 3 faces. */
export interface FrameSets {
  source: string;
  sets: Record<FaceCount, Mat[]>;
  /** The detected face of each one-face frame, cut out (for classifier timings without a data set). */
  faceCrops: Mat[];
  /** Reading and decoding one frame of the video through OpenCV. */
  captureMs: Percentiles;
  release(): void;
}

const PER_SET = 30;

/**
 * Frames for the per-face-count benchmarks, all from the bundled demo video so that a fresh clone (or
 * a robot) can run them: its empty room and face scenes give 0 and 1 face; 3 faces are the faces of
 * three different one-face frames, cut out and placed side by side. Each frame is kept only when the
 * detector really finds that many faces in it, so the figures are for what the label says.
 */
export async function benchFrames(config: Config): Promise<FrameSets> {
  const detector = await createDetector(config.vision.detection, config.vision.threads);
  try {
    return await framesFrom(config, detector);
  } finally {
    await detector.release();
  }
}

async function framesFrom(config: Config, detector: FaceDetector): Promise<FrameSets> {
  const cv = opencv();
  const source = openSource({ ...config.camera, source: 'demo' });
  const sets: Record<FaceCount, Mat[]> = { 0: [], 1: [], 3: [] };
  const detect = async (frame: Mat) => (await detector.detect(frame)).map((face) => face.box);
  const oneFace: { frame: Mat; box: Box }[] = [];
  const captureMs: number[] = [];
  try {
    for (let index = 0; ; index++) {
      const began = performance.now();
      const frame = await source.read();
      if (!frame) break;
      captureMs.push(performance.now() - began);
      // Every 2nd frame: spread over the whole video rather than near-copies of its first second (the
      // video's empty room and close-up cat, which BlazeFace sometimes takes for a face, are short).
      const boxes = index % 2 === 0 ? await detect(frame) : undefined;
      if (boxes?.length === 0 && sets[0].length < PER_SET) sets[0].push(frame);
      else if (boxes?.length === 1) oneFace.push({ frame, box: boxes[0]! });
      else frame.release();
    }
  } finally {
    source.close();
  }
  sets[1] = oneFace.slice(0, PER_SET).map((f) => f.frame);
  const faceCrops = oneFace.slice(0, PER_SET).map(({ frame, box }) => {
    const region = cropWithMargin(frame, box, 0.1);
    const crop = region.copy();
    region.release();
    return crop;
  });
  const { cols, rows } = oneFace[0]?.frame ?? { cols: 640, rows: 480 };
  const slot = Math.floor(cols / 3);
  for (let i = 0; i < oneFace.length && sets[3].length < PER_SET; i++) {
    const canvas = new cv.Mat(rows, cols, cv.CV_8UC3, [32, 32, 32]);
    // Three different moments of the video side by side, so the faces differ in size, pose and zoom.
    for (let k = 0; k < 3; k++) {
      const { frame, box } = oneFace[(i + Math.floor((k * oneFace.length) / 3)) % oneFace.length]!;
      const crop = cropWithMargin(frame, box, 0.4);
      const face = crop.rescale(Math.min((slot - 8) / crop.cols, (rows * 0.6) / crop.rows));
      const target = canvas.getRegion(new cv.Rect(k * slot + Math.floor((slot - face.cols) / 2), Math.floor((rows - face.rows) / 2), face.cols, face.rows));
      face.copyTo(target);
      for (const m of [target, face, crop]) m.release();
    }
    if ((await detect(canvas)).length === 3) sets[3].push(canvas);
    else canvas.release();
  }
  for (const { frame } of oneFace.slice(PER_SET)) frame.release();
  const release = () => [...FACE_COUNTS.flatMap((n) => sets[n]), ...faceCrops].forEach((m) => m.release());
  const short = FACE_COUNTS.filter((n) => sets[n].length === 0);
  if (short.length) {
    release();
    throw new Error(`the demo video gave no frame with ${short.join(' or ')} face(s) for the ${config.vision.detection.detector} detector`);
  }
  return {
    source: source.device,
    sets,
    faceCrops,
    captureMs: percentiles(captureMs),
    release,
  };
}
