import type { Mat, Rect } from '@u4/opencv4nodejs';
import { opencv } from '../runtime/opencv.js';
import type { IdxImages } from './idx.js';
import type { Box, FaceLandmarks } from './face.js';
import type { FaceFraming, FaceLevels, ModelCard } from './model-card.js';

/**
 * The one preprocessing path from face pixels to the model's input tensor, shared by the live
 * pipeline, `emobot eval-model` and the INT8 calibration, so that all three feed the model alike.
 */

/**
 * The face as the model was trained to see it. With eye landmarks and a card that says how its
 * training images frame a face, the face is turned upright and scaled and placed that way, once per
 * zoom the card lists (their predictions are averaged); otherwise (cascade detectors) it is the
 * detector box grown by the card's margin.
 */
export function cropFace(frame: Mat, face: { box: Box; landmarks?: FaceLandmarks }, card: ModelCard): Mat[] {
  const align = card.input.crop.align;
  if (!face.landmarks || !align) return [cropWithMargin(frame, face.box, card.input.crop.margin)];
  return align.zooms.map((zoom) => alignFace(frame, face.landmarks!, { ...align, eye_distance: align.eye_distance * zoom }));
}

/**
 * A similarity transform (rotation, uniform scale, shift) that puts the eye midpoint and the eye
 * distance where the training images have them, in a side x side crop. Large faces are first
 * shrunk by averaging (resizeTo), since warpAffine's bilinear sampling would alias a 5x reduction.
 */
export function alignFace(frame: Mat, landmarks: FaceLandmarks, align: Pick<FaceFraming, 'side' | 'eye_centre' | 'eye_distance'>): Mat {
  const cv = opencv();
  const { rightEye, leftEye } = landmarks;
  const dx = leftEye.x - rightEye.x;
  const dy = leftEye.y - rightEye.y;
  const eyeDistance = Math.max(1, Math.hypot(dx, dy));
  const angle = Math.atan2(dy, dx);
  let scale = (align.eye_distance * align.side) / eyeDistance;
  let centre = { x: (rightEye.x + leftEye.x) / 2, y: (rightEye.y + leftEye.y) / 2 };
  let source = frame;
  if (scale < 0.5) {
    // Only the region the crop can reach, at any roll, is shrunk: a circle around the eye midpoint
    // through the crop's farthest corner, and two shrunk pixels for the bilinear sampling.
    const [ex, ey] = align.eye_centre;
    const corner = Math.hypot(Math.max(ex, 1 - ex), Math.max(ey, 1 - ey)) * align.side;
    const reach = corner / scale + 1 / scale;
    const x = clamp(Math.floor(centre.x - reach), 0, frame.cols - 1);
    const y = clamp(Math.floor(centre.y - reach), 0, frame.rows - 1);
    // Even sides, where the frame allows, so that resizeTo can halve the region exactly.
    const right = evenSide(x, clamp(Math.ceil(centre.x + reach), x + 1, frame.cols), frame.cols);
    const bottom = evenSide(y, clamp(Math.ceil(centre.y + reach), y + 1, frame.rows), frame.rows);
    const shrink = scale * 2;
    const region = frame.getRegion(new cv.Rect(x, y, right - x, bottom - y));
    source = resizeTo(region, Math.max(1, Math.round((right - x) * shrink)), Math.max(1, Math.round((bottom - y) * shrink)));
    region.release();
    // The exact per-axis ratios of the rounded size, and OpenCV's pixel-centre convention.
    const sx = source.cols / (right - x);
    const sy = source.rows / (bottom - y);
    centre = { x: (centre.x - x + 0.5) * sx - 0.5, y: (centre.y - y + 0.5) * sy - 0.5 };
    scale /= (sx + sy) / 2;
  }
  const cos = Math.cos(angle) * scale;
  const sin = Math.sin(angle) * scale;
  const tx = align.eye_centre[0] * align.side - (cos * centre.x + sin * centre.y);
  const ty = align.eye_centre[1] * align.side - (-sin * centre.x + cos * centre.y);
  const matrix = new cv.Mat([[cos, sin, tx], [-sin, cos, ty]], cv.CV_64F);
  const aligned = source.warpAffine(matrix, new cv.Size(align.side, align.side), cv.INTER_LINEAR, cv.BORDER_REPLICATE);
  if (source !== frame) source.release();
  matrix.release();
  return aligned;
}

const clamp = (v: number, lo: number, hi: number) => Math.min(hi, Math.max(lo, v));

/** `end`, or one further (or nearer, at the frame's edge), so that end - start is even. */
function evenSide(start: number, end: number, limit: number): number {
  if ((end - start) % 2 === 0) return end;
  return end < limit ? end + 1 : end - 1 > start ? end - 1 : end;
}

/**
 * The image at cols x rows, for the detector's letterbox and the alignment's shrink. A reduction
 * wants area averaging (bilinear sampling skips pixels and aliases), but OpenCV's INTER_AREA is slow
 * except at exactly 2x: 0.26 ms for 640x480 -> 128x96 (5x) and 0.35 ms for a 330 px square -> 128
 * on one Xeon core, against 0.12 ms and 0.06 ms halving by area while the image is over twice the
 * target, then resizing bilinearly by the rest (under 2x, where bilinear still reads every pixel).
 * An odd size cannot be halved exactly; from there one INTER_AREA step does the rest.
 */
export function resizeTo(image: Mat, cols: number, rows: number): Mat {
  const cv = opencv();
  let source = image;
  while (source.cols > 2 * cols && source.rows > 2 * rows && source.cols % 2 === 0 && source.rows % 2 === 0) {
    const half = source.resize(source.rows / 2, source.cols / 2, 0, 0, cv.INTER_AREA);
    if (source !== image) source.release();
    source = half;
  }
  const stillLarge = source.cols > 2 * cols || source.rows > 2 * rows;
  const resized = source.resize(rows, cols, 0, 0, stillLarge ? cv.INTER_AREA : cv.INTER_LINEAR);
  if (source !== image) source.release();
  return resized;
}

/** The detector box grown by the card's margin on every side, clipped to the frame. */
export function cropWithMargin(frame: Mat, box: Box, margin: number): Mat {
  const cv = opencv();
  const dx = Math.round(box.width * margin);
  const dy = Math.round(box.height * margin);
  const x = Math.max(0, box.x - dx);
  const y = Math.max(0, box.y - dy);
  const right = Math.min(frame.cols, box.x + box.width + dx);
  const bottom = Math.min(frame.rows, box.y + box.height + dy);
  return frame.getRegion(new cv.Rect(x, y, right - x, bottom - y) as Rect);
}

/** Writes each face (gray or BGR Mat of any size) into one NCHW float batch. */
export function facesToTensor(faces: Mat[], card: ModelCard): Float32Array {
  const { width, height, channels, normalization, crop } = card.input;
  const plane = width * height;
  const out = new Float32Array(faces.length * channels * plane);
  const means = perChannel(normalization.mean, channels);
  const stds = perChannel(normalization.std, channels);
  faces.forEach((face, n) => {
    const raw = modelPixels(face, card);
    const pixels = crop.levels ? toLevels(raw, crop.levels) : raw;
    const base = n * channels * plane;
    // OpenCV rows are interleaved HWC; the model wants planar CHW.
    for (let c = 0; c < channels; c++) {
      const scale = normalization.scale / stds[c]!;
      const offset = means[c]! / stds[c]!;
      const dst = base + c * plane;
      for (let i = 0; i < plane; i++) out[dst + i] = pixels[i * channels + c]! * scale - offset;
    }
  });
  return out;
}

/** The face's 8-bit pixels (HWC) at the model's size and in its colour, before levels and normalisation. */
export function modelPixels(face: Mat, card: ModelCard): Buffer {
  const cv = opencv();
  const { width, height, channels, color, resize, crop } = card.input;
  let img = convertColor(face, channels, color);
  if (crop.equalize && channels === 1) img = img.equalizeHist();
  // resize() returns a fresh continuous Mat; a right-sized crop may be a view into the frame.
  const interpolation = resize === 'area' ? cv.INTER_AREA : cv.INTER_LINEAR;
  img = img.cols !== width || img.rows !== height ? img.resize(height, width, 0, 0, interpolation) : img.copy();
  const pixels = img.getData();
  img.release(); // always our own copy (resize/copy above); its pixels now live in `pixels`
  return pixels;
}

/** Brightness and contrast of 8-bit pixels: their mean and (population) standard deviation. */
export function pixelLevels(pixels: Uint8Array): { mean: number; std: number } {
  let sum = 0;
  let squares = 0;
  for (let i = 0; i < pixels.length; i++) {
    sum += pixels[i]!;
    squares += pixels[i]! * pixels[i]!;
  }
  const mean = sum / pixels.length;
  return { mean, std: Math.sqrt(Math.max(0, squares / pixels.length - mean * mean)) };
}

/**
 * The crop's pixels with their mean and standard deviation moved to the nearest point of the
 * training images' range, by one gain and offset for the whole crop (clipped to 0..255, as a camera
 * clips); the pixels themselves when both already lie in it. A camera in a dim room or against a
 * window gives faces far darker or flatter than any the model learnt from, and it reads them all
 * as neutral.
 */
export function toLevels(pixels: Uint8Array, levels: FaceLevels): Uint8Array {
  const { mean, std } = pixelLevels(pixels);
  const targetMean = clamp(mean, levels.mean[0], levels.mean[1]);
  const targetStd = clamp(std, levels.std[0], levels.std[1]);
  if (targetMean === mean && targetStd === std) return pixels;
  // A flat crop has no contrast to stretch; it is only moved.
  const gain = std > 0 ? clamp(targetStd / std, 1 / levels.max_gain, levels.max_gain) : 1;
  const shift = targetMean - mean * gain;
  const out = new Uint8Array(pixels.length);
  for (let i = 0; i < pixels.length; i++) out[i] = clamp(Math.round(pixels[i]! * gain + shift), 0, 255);
  return out;
}

/** A 8-bit single-channel Mat over raw pixels (IDX records, test fixtures). */
export function grayMat(pixels: Uint8Array, rows: number, cols: number): Mat {
  const cv = opencv();
  return new cv.Mat(Buffer.from(pixels.buffer, pixels.byteOffset, rows * cols), rows, cols, cv.CV_8UC1);
}

/** Record `index` of an IDX image file as a gray Mat (no copy of the pixels). */
export function idxImageMat(images: IdxImages, index: number): Mat {
  const size = images.rows * images.cols;
  return grayMat(images.pixels.subarray(index * size, (index + 1) * size), images.rows, images.cols);
}

function convertColor(face: Mat, channels: 1 | 3, color: ModelCard['input']['color']): Mat {
  const cv = opencv();
  if (channels === 1) return face.channels === 1 ? face : face.cvtColor(cv.COLOR_BGR2GRAY);
  const bgr = face.channels === 1 ? face.cvtColor(cv.COLOR_GRAY2BGR) : face;
  return color === 'rgb' ? bgr.cvtColor(cv.COLOR_BGR2RGB) : bgr;
}

function perChannel(value: number | number[], channels: number): number[] {
  return Array.isArray(value) ? value : Array.from({ length: channels }, () => value);
}
