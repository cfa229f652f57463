import type { CascadeClassifier, Mat } from '@u4/opencv4nodejs';
import type { Config } from '../config/schema.js';
import { opencv } from '../runtime/opencv.js';

export interface Box {
  x: number;
  y: number;
  width: number;
  height: number;
}

/** Finds faces in a grayscale frame; boxes are in that frame's pixels. */
export interface FaceDetector {
  readonly name: string;
  detect(gray: Mat): Promise<Box[]>;
}

type VisionConfig = Config['vision'];

const CASCADES = {
  haar: 'HAAR_FRONTALFACE_DEFAULT',
  'haar-alt2': 'HAAR_FRONTALFACE_ALT2',
  lbp: 'LBP_FRONTALFACE_IMPROVED',
} as const;

export type DetectorName = keyof typeof CASCADES;
export const detectorNames = Object.keys(CASCADES) as DetectorName[];

/**
 * OpenCV's cascade detectors on a downscaled copy of the frame: detection cost grows with the
 * pixel count, while a face worth reacting to is large enough to survive the downscale.
 */
class CascadeDetector implements FaceDetector {
  private readonly cascade: CascadeClassifier;

  constructor(
    readonly name: DetectorName,
    private readonly config: VisionConfig['detection'],
  ) {
    const cv = opencv();
    this.cascade = new cv.CascadeClassifier(cv[CASCADES[name]]);
  }

  async detect(gray: Mat): Promise<Box[]> {
    const cv = opencv();
    const scale = Math.min(1, this.config.width / gray.cols);
    const small = scale < 1 ? gray.resize(Math.round(gray.rows * scale), Math.round(gray.cols * scale), 0, 0, cv.INTER_AREA) : gray;
    const minSide = Math.max(12, Math.round(this.config.min_face * small.rows));
    const { objects } = await this.cascade.detectMultiScaleAsync(small, {
      scaleFactor: this.config.scale_factor,
      minNeighbors: this.config.min_neighbors,
      minSize: new cv.Size(minSide, minSide),
    });
    if (small !== gray) small.release();
    return objects.map((r) => ({
      x: Math.round(r.x / scale),
      y: Math.round(r.y / scale),
      width: Math.round(r.width / scale),
      height: Math.round(r.height / scale),
    }));
  }
}

export function createDetector(config: VisionConfig['detection']): FaceDetector {
  return new CascadeDetector(config.detector, config);
}

export function iou(a: Box, b: Box): number {
  const x1 = Math.max(a.x, b.x);
  const y1 = Math.max(a.y, b.y);
  const x2 = Math.min(a.x + a.width, b.x + b.width);
  const y2 = Math.min(a.y + a.height, b.y + b.height);
  const inter = Math.max(0, x2 - x1) * Math.max(0, y2 - y1);
  const union = a.width * a.height + b.width * b.height - inter;
  return union > 0 ? inter / union : 0;
}
