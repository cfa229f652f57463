import type { Mat } from '@u4/opencv4nodejs';
import { opencv } from '../runtime/opencv.js';
import type { FaceDetector } from './detector.js';
import type { DetectedFace, Point } from './face.js';
import type { IdxImages } from './idx.js';
import type { FaceFraming } from './model-card.js';
import { alignFace, idxImageMat } from './preprocess.js';

/**
 * A border of `fraction` of each side, filled by repeating the edge pixels: detectors miss faces
 * that fill the whole picture or touch its edge (FER-2013's 48 px images, tight photo crops).
 */
export function padByEdge(image: Mat, fraction: number): Mat {
  const cv = opencv();
  const dy = Math.round(image.rows * fraction);
  const dx = Math.round(image.cols * fraction);
  return image.copyMakeBorder(dy, dy, dx, dx, cv.BORDER_REPLICATE);
}

/**
 * `image` scaled by `scale` into a mid-grey cols x rows frame, its point `centre` (by default its
 * middle) at the frame's middle: the person in a photo seen further from the camera. Only the part
 * that lands in the frame is scaled, so a large scale costs no more than the frame.
 */
export function placeInFrame(image: Mat, scale: number, cols: number, rows: number, centre: Point = { x: image.cols / 2, y: image.rows / 2 }): Mat {
  const cv = opencv();
  const frame = new cv.Mat(rows, cols, image.type, image.channels === 1 ? 128 : [128, 128, 128]);
  const left = Math.max(0, Math.floor(centre.x - cols / 2 / scale));
  const top = Math.max(0, Math.floor(centre.y - rows / 2 / scale));
  const right = Math.min(image.cols, Math.ceil(centre.x + cols / 2 / scale));
  const bottom = Math.min(image.rows, Math.ceil(centre.y + rows / 2 / scale));
  if (right <= left || bottom <= top) return frame;
  const part = image.getRegion(new cv.Rect(left, top, right - left, bottom - top));
  const scaled = part.resize(Math.max(1, Math.round(part.rows * scale)), Math.max(1, Math.round(part.cols * scale)), 0, 0, cv.INTER_AREA);
  part.release();
  // Where the scaled part's corner falls in the frame, then both cut to their overlap.
  const x = Math.round(cols / 2 + (left - centre.x) * scale);
  const y = Math.round(rows / 2 + (top - centre.y) * scale);
  const fromX = Math.max(0, x);
  const fromY = Math.max(0, y);
  const width = Math.min(cols, x + scaled.cols) - fromX;
  const height = Math.min(rows, y + scaled.rows) - fromY;
  if (width > 0 && height > 0) {
    const from = scaled.getRegion(new cv.Rect(fromX - x, fromY - y, width, height));
    const to = frame.getRegion(new cv.Rect(fromX, fromY, width, height));
    from.copyTo(to);
    from.release();
    to.release();
  }
  scaled.release();
  return frame;
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};

/**
 * One training image, padded by edge as the detector needs it for a face that fills the frame, and
 * the detector's most confident face in the padded image (framing and alignment both take that one).
 */
async function detectTrainingFace(images: IdxImages, index: number, detector: FaceDetector, pad: number): Promise<{ image: Mat; padded: Mat; face: DetectedFace | undefined }> {
  const image = idxImageMat(images, index);
  const padded = padByEdge(image, pad);
  const face = (await detector.detect(padded)).sort((a, b) => b.score - a.score)[0];
  return { image, padded, face };
}

/**
 * How a set of training images frames a face, seen through the live detector: the median eye
 * midpoint and eye distance as fractions of the image side. Aligning live faces to these figures
 * gives the model crops framed like the images it learnt from, whatever the detector's own biases.
 */
export async function measureFraming(images: IdxImages, detector: FaceDetector, options: { indices: number[]; pad: number }): Promise<Omit<FaceFraming, 'zooms'> & { found: number }> {
  if (images.rows !== images.cols) throw new Error(`training images are ${images.cols}x${images.rows}; aligned crops are square`);
  const side = images.cols;
  const centreX: number[] = [];
  const centreY: number[] = [];
  const distance: number[] = [];
  const offset = Math.round(side * options.pad);
  for (const index of options.indices) {
    const { image, padded, face } = await detectTrainingFace(images, index, detector, options.pad);
    image.release();
    padded.release();
    if (!face?.landmarks) continue;
    const { rightEye, leftEye } = face.landmarks;
    centreX.push(((rightEye.x + leftEye.x) / 2 - offset) / side);
    centreY.push(((rightEye.y + leftEye.y) / 2 - offset) / side);
    distance.push(Math.hypot(leftEye.x - rightEye.x, leftEye.y - rightEye.y) / side);
  }
  if (distance.length === 0) throw new Error(`${detector.name} found no face with landmarks in ${options.indices.length} training images`);
  const round = (x: number) => Math.round(x * 10000) / 10000;
  return {
    side,
    eye_centre: [round(median(centreX)), round(median(centreY))],
    eye_distance: round(median(distance)),
    detector: detector.name,
    measured_on: `${detector.name} ${detector.source.version} on ${distance.length} of ${options.indices.length} training images, padded ${Math.round(options.pad * 100)}% by edge replication`,
    found: distance.length,
  };
}

/**
 * Every image aligned as the live pipeline aligns a face (alignFace, at the card's framing), so
 * that a model can learn from the crops the robot will give it: upright, eyes where the card puts
 * them. An image in which the live detector finds no face with landmarks (blank placeholders,
 * faces it misses) is only resized, being already framed about like the median.
 */
export async function alignTrainingImages(images: IdxImages, detector: FaceDetector, options: { align: Pick<FaceFraming, 'side' | 'eye_centre' | 'eye_distance'>; pad: number }): Promise<IdxImages & { aligned: number }> {
  const cv = opencv();
  const { side } = options.align;
  const pixels = new Uint8Array(images.count * side * side);
  let aligned = 0;
  for (let index = 0; index < images.count; index++) {
    const { image, padded, face } = await detectTrainingFace(images, index, detector, options.pad);
    const crop = face?.landmarks ? alignFace(padded, face.landmarks, options.align) : image.resize(side, side, 0, 0, cv.INTER_LINEAR);
    if (face?.landmarks) aligned++;
    pixels.set(crop.getData(), index * side * side);
    crop.release();
    padded.release();
    image.release();
  }
  return { count: images.count, rows: side, cols: side, pixels, aligned };
}
