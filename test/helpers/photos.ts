import path from 'node:path';
import type { Mat } from '@u4/opencv4nodejs';
import { opencv } from '../../src/runtime/opencv.js';
import type { Box } from '../../src/vision/face.js';

const faces = path.join(import.meta.dirname, '..', 'fixtures', 'faces');

/** Reference boxes from test/fixtures/faces/README.md (OpenCV 4.6, haarcascade_frontalface_default). */
export const referenceBoxes = {
  'astronaut.png': { x: 176, y: 66, width: 95, height: 95 },
  'grace_hopper.jpg': { x: 155, y: 104, width: 224, height: 224 },
} as const;

/** A photo of test/fixtures/faces/. */
export const photo = (file: string): Mat => opencv().imread(path.join(faces, file));

/** A photo shrunk by `scale` in the middle of a grey 640x480 frame (a person further from the camera), and where its face now is. */
export function faraway(file: keyof typeof referenceBoxes, scale: number): { frame: Mat; box: Box } {
  const cv = opencv();
  const image = photo(file);
  const small = image.resize(Math.round(image.rows * scale), Math.round(image.cols * scale));
  const left = Math.round((640 - small.cols) / 2);
  const top = Math.round((480 - small.rows) / 2);
  const frame = new cv.Mat(480, 640, image.type, [128, 128, 128]);
  small.copyTo(frame.getRegion(new cv.Rect(left, top, small.cols, small.rows)));
  const box = referenceBoxes[file];
  return { frame, box: { x: left + box.x * scale, y: top + box.y * scale, width: box.width * scale, height: box.height * scale } };
}
