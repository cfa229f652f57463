import type { Mat } from '@u4/opencv4nodejs';
import { detectorNames, type Config } from '../config/schema.js';
import { createDetector } from '../vision/detector.js';
import { percentiles, round, type Percentiles } from './stats.js';

export interface DetectorCost {
  detector: string;
  file: string;
  /** Detection alone on one 640x480 frame. */
  ms: Percentiles;
  /** Of the frames that hold one face, the fraction in which this detector found exactly one. */
  oneFaceFound: number;
}

/** Each face detector on the same one-face frames, `frames` detections each, on the vision threads. */
export async function detectorCosts(config: Config, images: Mat[], frames: number): Promise<DetectorCost[]> {
  if (images.length === 0) throw new Error('no frames to measure');
  const costs: DetectorCost[] = [];
  for (const name of detectorNames) {
    const detector = await createDetector({ ...config.vision.detection, detector: name }, config.vision.threads);
    try {
      await detector.detect(images[0]!); // untimed: the first run allocates
      const ms: number[] = [];
      let exactlyOne = 0;
      for (let i = 0; i < frames; i++) {
        const began = performance.now();
        const found = await detector.detect(images[i % images.length]!);
        ms.push(performance.now() - began);
        if (found.length === 1) exactlyOne++;
      }
      costs.push({ detector: name, file: detector.source.file.split('/').pop()!, ms: percentiles(ms), oneFaceFound: round(exactlyOne / frames, 3) });
    } finally {
      await detector.release();
    }
  }
  return costs;
}
