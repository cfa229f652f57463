import type { Mat, Rect } from '@u4/opencv4nodejs';
import { opencv } from '../runtime/opencv.js';
import type { IdxImages } from './idx.js';
import type { ModelCard } from './model-card.js';

/**
 * The one preprocessing path from face pixels to the model's input tensor, shared by the live
 * pipeline, `emobot eval-model` and the INT8 calibration, so that all three feed the model alike.
 */

/** The detector box grown by the card's margin on every side, clipped to the frame. */
export function cropWithMargin(frame: Mat, box: { x: number; y: number; width: number; height: number }, margin: number): Mat {
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
  const cv = opencv();
  const { width, height, channels, color, normalization, resize, crop } = card.input;
  const plane = width * height;
  const out = new Float32Array(faces.length * channels * plane);
  const means = perChannel(normalization.mean, channels);
  const stds = perChannel(normalization.std, channels);
  const interpolation = resize === 'area' ? cv.INTER_AREA : cv.INTER_LINEAR;
  faces.forEach((face, n) => {
    let img = convertColor(face, channels, color);
    if (crop.equalize && channels === 1) img = img.equalizeHist();
    // resize() returns a fresh continuous Mat; a right-sized crop may be a view into the frame.
    img = img.cols !== width || img.rows !== height ? img.resize(height, width, 0, 0, interpolation) : img.copy();
    const pixels = img.getData();
    img.release(); // always our own copy (resize/copy above); its pixels now live in `pixels`
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
