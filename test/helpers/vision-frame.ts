import type { BusEvents } from '../../src/runtime/events.js';
import type { FaceResult } from '../../src/vision/pipeline.js';

/** One classified, attended face as the vision pipeline reports it (a neutral one unless overridden). */
export function attendedFace(overrides: Partial<FaceResult> = {}): FaceResult {
  return {
    trackId: 1,
    box: { x: 0, y: 0, width: 1, height: 1 },
    attended: true,
    raw: { label: 'neutral', confidence: 1 },
    smoothed: { label: 'neutral', confidence: 1, sinceMs: 0, changed: false },
    probabilities: {},
    ...overrides,
  };
}

/** A vision.frame event with these faces, the attended one (if any) named as attended. */
export function visionFrame(faces: FaceResult[], overrides: Partial<BusEvents['vision.frame']> = {}): BusEvents['vision.frame'] {
  const attended = faces.find((f) => f.attended);
  return {
    frameIndex: 0,
    capturedAt: Date.now(),
    width: 640,
    height: 480,
    faces,
    ...(attended ? { attendedTrackId: attended.trackId } : {}),
    timings: { detect: 0, preprocess: 0, infer: 0, smooth: 0 },
    droppedFrames: 0,
    ...overrides,
  };
}
