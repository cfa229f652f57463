import type { Mat } from '@u4/opencv4nodejs';
import type { FaceDetector } from '../../src/vision/detector.js';
import type { DetectedFace, Point } from '../../src/vision/face.js';

/** One run of BlazeFace's full-range model: the whole frame, or a tile at `offset`. */
export type FullRangeRun = (image: Mat, minScore: number, offset?: Point) => Promise<DetectedFace[]>;

/** Puts `wrap` around every run of a BlazeFace detector's full-range model; it is handed the real run. */
export function aroundFullRange(detector: FaceDetector, wrap: (run: FullRangeRun, ...args: Parameters<FullRangeRun>) => Promise<DetectedFace[]>): void {
  const far = (detector as unknown as { far: { run: FullRangeRun } }).far;
  const run = far.run.bind(far);
  far.run = (...args) => wrap(run, ...args);
}
