import type { Mat } from '@u4/opencv4nodejs';
import { detectorNames, type Config } from '../config/schema.js';
import { createDetector, type FaceDetector } from '../vision/detector.js';
import { placeInFrame } from '../vision/framing.js';
import { percentiles, round, type Percentiles } from './stats.js';

export interface DetectorCost {
  detector: string;
  files: string[];
  /** Detection alone on one 640x480 frame. */
  ms: Percentiles;
  /** Of the frames that hold one face, the fraction in which this detector found exactly one. */
  oneFaceFound: number;
  /** The same frames shrunk to FAR_SCALE in a grey frame (a person about three times further away). */
  far: { ms: Percentiles; oneFaceFound: number };
}

/** The demo's faces are 100-540 px high (median 165); at 0.35 most are under the ~120 px the short-range model needs. */
const FAR_SCALE = 0.35;

/** p50/p95 of `frames` detections over `images`, and the fraction with exactly one face. */
async function timeDetections(detector: FaceDetector, images: Mat[], frames: number): Promise<{ ms: Percentiles; oneFaceFound: number }> {
  // As the live pipeline asks: one of BlazeFace's tiles per search, not all of a photo's.
  const live = { everyTile: false };
  await detector.detect(images[0]!, live); // untimed: the first run allocates
  const ms: number[] = [];
  let exactlyOne = 0;
  for (let i = 0; i < frames; i++) {
    const began = performance.now();
    const found = await detector.detect(images[i % images.length]!, live);
    ms.push(performance.now() - began);
    if (found.length === 1) exactlyOne++;
  }
  return { ms: percentiles(ms), oneFaceFound: round(exactlyOne / frames, 3) };
}

/** Each face detector on the same one-face frames and on them shrunk, `frames` detections each, on the vision threads. */
export async function detectorCosts(config: Config, images: Mat[], frames: number): Promise<DetectorCost[]> {
  if (images.length === 0) throw new Error('no frames to measure');
  const farImages = images.map((image) => placeInFrame(image, FAR_SCALE, image.cols, image.rows));
  const costs: DetectorCost[] = [];
  try {
    for (const name of detectorNames) {
      const detector = await createDetector({ ...config.vision.detection, detector: name }, config.vision.threads);
      try {
        const near = await timeDetections(detector, images, frames);
        costs.push({ detector: name, files: detector.source.files.map((f) => f.split('/').pop()!), ...near, far: await timeDetections(detector, farImages, frames) });
      } finally {
        await detector.release();
      }
    }
  } finally {
    for (const image of farImages) image.release();
  }
  return costs;
}
