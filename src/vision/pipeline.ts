import type { Mat } from '@u4/opencv4nodejs';
import type { Config } from '../config/schema.js';
import { opencv } from '../runtime/opencv.js';
import { resolveAsset } from '../runtime/paths.js';
import { EmotionClassifier } from './classifier.js';
import { createDetector, type FaceDetector } from './detector.js';
import { byAreaDescending, type Box, type DetectedFace, type FaceLandmarks, type Point } from './face.js';
import { padByEdge } from './framing.js';
import { argmax } from './metrics.js';
import { cropFace, facesToTensor } from './preprocess.js';
import { EmotionSmoother } from './smoothing.js';
import { FaceTracker } from './tracker.js';

export interface FaceResult {
  trackId: number;
  box: Box;
  /** Eyes, nose, mouth and ears, when the detector finds them. */
  landmarks?: FaceLandmarks;
  attended: boolean;
  /** This frame's own prediction. */
  raw: { label: string; confidence: number };
  /** The per-person smoothed emotion: what the robot reacts to. */
  smoothed: { label: string; confidence: number; sinceMs: number; changed: boolean };
  probabilities: Record<string, number>;
}

export interface StillFace extends DetectedFace {
  label: string;
  confidence: number;
  probabilities: Record<string, number>;
}

/** Milliseconds spent in each stage for one frame. */
export interface StageTimings {
  detect: number;
  preprocess: number;
  infer: number;
  smooth: number;
}

export interface FrameResult {
  faces: FaceResult[];
  found: { trackId: number; box: Box }[];
  lost: { trackId: number; visibleForMs: number }[];
  attendedTrackId?: number;
  timings: StageTimings;
}

/**
 * One frame in, faces with smoothed emotions out: detection, tracking, crop, classification and
 * smoothing. Shared by the live vision subsystem and `emobot replay`, so both behave identically.
 * Times are milliseconds on any monotonic clock (capture time live, video time in replay).
 */
export class VisionPipeline {
  private readonly tracker: FaceTracker;
  private readonly smoothers = new Map<number, EmotionSmoother>();
  private lastFarSearchMs = -Infinity;

  private constructor(
    private readonly config: Config['vision'],
    readonly classifier: EmotionClassifier,
    readonly detector: FaceDetector,
  ) {
    this.tracker = new FaceTracker(config.tracking);
  }

  static async create(config: Config['vision']): Promise<VisionPipeline> {
    const classifier = await EmotionClassifier.load(resolveAsset(config.model), {
      executionProvider: config.execution_provider,
      threads: config.threads,
    });
    try {
      return new VisionPipeline(config, classifier, await createDetector(config.detection, config.threads));
    } catch (err) {
      await classifier.release();
      throw err;
    }
  }

  async process(image: Mat, timeMs: number): Promise<FrameResult> {
    const labels = this.classifier.labels;
    let mark = performance.now();
    const lap = () => {
      const now = performance.now();
      const elapsed = now - mark;
      mark = now;
      return elapsed;
    };
    const detections = await this.detector.detect(image, { farSearch: this.farSearchDue(timeMs), lastSeen: this.tracker.lastSeen, everyTile: false });
    const update = this.tracker.update(detections, timeMs);
    const detect = lap();

    const classified = update.visible.slice(0, this.config.detection.max_faces);
    const { tensor, cropCounts } = this.faceTensor(image, classified);
    const preprocess = lap();
    const probs = await this.faceProbabilities(tensor, cropCounts);
    const infer = lap();

    for (const track of update.lost) this.smoothers.delete(track.id);
    const k = labels.length;
    const faces = classified.map((track, i): FaceResult => {
      const own = probs.subarray(i * k, (i + 1) * k);
      let smoother = this.smoothers.get(track.id);
      if (!smoother) this.smoothers.set(track.id, (smoother = new EmotionSmoother(this.config.smoothing)));
      const smoothed = smoother.update(own, timeMs);
      const rawLabel = argmax(own);
      return {
        trackId: track.id,
        box: track.box,
        ...(track.landmarks ? { landmarks: track.landmarks } : {}),
        attended: track === update.attended,
        raw: { label: labels[rawLabel]!, confidence: own[rawLabel]! },
        smoothed: { label: labels[smoothed.label]!, confidence: smoothed.confidence, sinceMs: smoothed.sinceMs, changed: smoothed.changed },
        probabilities: Object.fromEntries(labels.map((label, c) => [label, smoothed.probabilities[c]!])),
      };
    });
    const smooth = lap();
    return {
      faces,
      found: update.found.map((t) => ({ trackId: t.id, box: t.box })),
      lost: update.lost.map((t) => ({ trackId: t.id, visibleForMs: t.lastSeenMs - t.firstSeenMs })),
      ...(update.attended ? { attendedTrackId: update.attended.id } : {}),
      timings: { detect, preprocess, infer, smooth },
    };
  }

  /**
   * An empty room would pay for the full-range search on every frame (several times the short-range
   * one's cost); while nobody is followed it runs every far_idle_interval_ms, and on every frame
   * once it or the short-range model has found someone, so a far face is confirmed as quickly as a
   * near one from then on.
   */
  private farSearchDue(timeMs: number): boolean {
    const due = this.tracker.following || timeMs - this.lastFarSearchMs >= this.config.detection.far_idle_interval_ms;
    if (due) this.lastFarSearchMs = timeMs;
    return due;
  }

  /**
   * Every face in one photo with its own prediction: no tracking, confirmation or smoothing, since a
   * still has no frames before or after it. Largest face first.
   */
  async still(image: Mat): Promise<StillFace[]> {
    const faces = await this.stillFaces(image);
    const { tensor, cropCounts } = this.faceTensor(image, faces);
    const probs = await this.faceProbabilities(tensor, cropCounts);
    const labels = this.classifier.labels;
    return faces.map((face, i) => {
      const own = probs.subarray(i * labels.length, (i + 1) * labels.length);
      const best = argmax(own);
      return {
        ...face,
        label: labels[best]!,
        confidence: own[best]!,
        probabilities: Object.fromEntries(labels.map((label, c) => [label, own[c]!])),
      };
    });
  }

  /**
   * The detector's faces in a photo; when it finds none, again in the photo padded by edge
   * replication. A portrait cropped tight to the face (a passport photo, a dataset's crop) is missed
   * by a detector that needs some head and background around a face; a camera frame never is one.
   * Faces found in the padded copy come back in the photo's own pixels (a box may reach past its
   * edges, as the detector's boxes may on any photo). Largest face first.
   */
  async stillFaces(image: Mat): Promise<DetectedFace[]> {
    const faces = (await this.detector.detect(image)).sort(byAreaDescending);
    if (faces.length > 0) return faces;
    const padded = padByEdge(image, TIGHT_CROP_PAD);
    try {
      const dx = (padded.cols - image.cols) / 2;
      const dy = (padded.rows - image.rows) / 2;
      const found = (await this.detector.detect(padded)).map((face) => shiftFace(face, dx, dy));
      // A "face" centred in the replicated border is not in the photo.
      const inside = ({ box }: DetectedFace) => {
        const centre = { x: box.x + box.width / 2, y: box.y + box.height / 2 };
        return centre.x >= 0 && centre.x < image.cols && centre.y >= 0 && centre.y < image.rows;
      };
      return found.filter(inside).sort(byAreaDescending);
    } finally {
      padded.release();
    }
  }

  /** The model's input batch for these faces of one frame: each face's crops one after another. */
  private faceTensor(image: Mat, faces: { box: Box; landmarks?: FaceLandmarks }[]): { tensor: Float32Array; cropCounts: number[] } {
    const cv = opencv();
    const gray = image.channels === 1 ? image : image.cvtColor(cv.COLOR_BGR2GRAY);
    const perFace = faces.map((face) => cropFace(gray, face, this.classifier.card));
    const crops = perFace.flat();
    const tensor = facesToTensor(crops, this.classifier.card);
    for (const crop of crops) crop.release();
    if (gray !== image) gray.release();
    return { tensor, cropCounts: perFace.map((crops) => crops.length) };
  }

  /** faces x labels probabilities, each face's the mean over its crops (a face without keypoints has one). */
  private async faceProbabilities(tensor: Float32Array, cropCounts: number[]): Promise<Float32Array> {
    const total = cropCounts.reduce((a, b) => a + b, 0);
    if (total === 0) return new Float32Array();
    const k = this.classifier.labels.length;
    const perCrop = await this.classifier.probabilities(tensor, total);
    const probs = new Float32Array(cropCounts.length * k);
    let crop = 0;
    cropCounts.forEach((count, face) => {
      for (let end = crop + count; crop < end; crop++) {
        for (let c = 0; c < k; c++) probs[face * k + c]! += perCrop[crop * k + c]! / count;
      }
    });
    return probs;
  }

  async release(): Promise<void> {
    await Promise.all([this.classifier.release(), this.detector.release()]);
  }
}

/** How much border a tight photo gets for its second look, per side (a fraction of its size). */
const TIGHT_CROP_PAD = 0.25;

/** A face found in a copy padded by (dx, dy) on each side, in the original image's pixels. */
function shiftFace(face: DetectedFace, dx: number, dy: number): DetectedFace {
  const at = (p: Point): Point => ({ x: p.x - dx, y: p.y - dy });
  const box = { ...face.box, x: face.box.x - dx, y: face.box.y - dy };
  return {
    ...face,
    box,
    ...(face.landmarks ? { landmarks: Object.fromEntries(Object.entries(face.landmarks).map(([name, p]) => [name, at(p)])) as unknown as FaceLandmarks } : {}),
  };
}
