import type { CascadeClassifier, Mat } from '@u4/opencv4nodejs';
import { detectorNames, type Config } from '../config/schema.js';
import { opencv } from '../runtime/opencv.js';
import { BlazeFaceDetector } from './blazeface.js';
import type { Box, DetectedFace } from './face.js';

/** Where a detector's model comes from, for doctor and the MQTT state. */
export interface DetectorSource {
  /** The model files, in the order they search a frame. */
  files: string[];
  package: string;
  version: string;
}

export interface DetectOptions {
  /**
   * BlazeFace with far_faces: whether the full-range search may run when the short-range model
   * finds nobody (default true). The live pipeline skips it on most frames while nobody is in view.
   */
  farSearch?: boolean;
  /**
   * Where the faces followed were last seen. BlazeFace's full-range search looks closely there too,
   * so a face too small for its whole-frame search, found once in its tiles, is kept cheaply.
   */
  lastSeen?: Box[];
  /**
   * BlazeFace's tiles (far_tiles): search them all (default: a photo gets one look), or only the
   * next in turn, so that a live camera spreads their cost over its searches.
   */
  everyTile?: boolean;
}

/** Finds faces in a frame (BGR or gray); boxes and landmarks are in that frame's pixels. */
export interface FaceDetector {
  readonly name: DetectorName;
  readonly source: DetectorSource;
  detect(image: Mat, options?: DetectOptions): Promise<DetectedFace[]>;
  release(): Promise<void>;
}

type DetectionConfig = Config['vision']['detection'];

const CASCADES = {
  haar: 'HAAR_FRONTALFACE_DEFAULT',
  'haar-alt2': 'HAAR_FRONTALFACE_ALT2',
  lbp: 'LBP_FRONTALFACE_IMPROVED',
} as const;

export { detectorNames };
export type DetectorName = (typeof detectorNames)[number];
type CascadeName = keyof typeof CASCADES;

/**
 * OpenCV's cascade detectors on a downscaled copy of the frame: detection cost grows with the
 * pixel count, while a face worth reacting to is large enough to survive the downscale.
 */
class CascadeDetector implements FaceDetector {
  private readonly cascade: CascadeClassifier;
  readonly source: DetectorSource;

  constructor(
    readonly name: CascadeName,
    private readonly config: DetectionConfig,
  ) {
    const cv = opencv();
    this.cascade = new cv.CascadeClassifier(cv[CASCADES[name]]);
    this.source = { files: [cv[CASCADES[name]]], package: 'OpenCV', version: cv.version ? `${cv.version.major}.${cv.version.minor}.${cv.version.revision}` : 'unknown' };
  }

  async detect(image: Mat): Promise<DetectedFace[]> {
    const cv = opencv();
    const gray = image.channels === 1 ? image : image.cvtColor(cv.COLOR_BGR2GRAY);
    const scale = Math.min(1, this.config.width / gray.cols);
    const small = scale < 1 ? gray.resize(Math.round(gray.rows * scale), Math.round(gray.cols * scale), 0, 0, cv.INTER_AREA) : gray;
    const minSide = Math.max(12, Math.round(this.config.min_face * small.rows));
    const { objects } = await this.cascade.detectMultiScaleAsync(small, {
      scaleFactor: this.config.scale_factor,
      minNeighbors: this.config.min_neighbors,
      minSize: new cv.Size(minSide, minSide),
    });
    if (small !== gray) small.release();
    if (gray !== image) gray.release();
    return objects.map((r) => ({
      box: {
        x: Math.round(r.x / scale),
        y: Math.round(r.y / scale),
        width: Math.round(r.width / scale),
        height: Math.round(r.height / scale),
      },
      score: 1,
    }));
  }

  async release(): Promise<void> {}
}

/** `threads`: onnxruntime intra-op threads for the neural detectors. */
export async function createDetector(config: DetectionConfig, threads = 1): Promise<FaceDetector> {
  if (config.detector === 'blazeface' || config.detector === 'blazeface-back') {
    return BlazeFaceDetector.load(config.detector, config, threads);
  }
  return new CascadeDetector(config.detector, config);
}
