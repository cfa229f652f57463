import path from 'node:path';
import t from 'tap';
import { configSchema } from '../../src/config/schema.js';
import { opencv } from '../../src/runtime/opencv.js';
import { createDetector } from '../../src/vision/detector.js';
import { alignTrainingImages, measureFraming, padByEdge, placeInFrame } from '../../src/vision/framing.js';
import type { IdxImages } from '../../src/vision/idx.js';
import { grayMat } from '../../src/vision/preprocess.js';

const cv = opencv();
const faces = path.join(import.meta.dirname, '..', 'fixtures', 'faces');

t.test('padByEdge repeats the edge pixels around the image', async (t) => {
  const image = grayMat(new Uint8Array([1, 2, 3, 4]), 2, 2);
  const padded = padByEdge(image, 0.5);
  t.same([padded.cols, padded.rows], [4, 4]);
  t.same(Array.from(padded.getData()), [1, 1, 2, 2, 1, 1, 2, 2, 3, 3, 4, 4, 3, 3, 4, 4]);
});

t.test('placeInFrame scales the image into the middle of a grey frame, cut to it where larger', async (t) => {
  const white = grayMat(new Uint8Array(10 * 20).fill(255), 10, 20);
  const small = placeInFrame(white, 0.5, 10, 8);
  t.same([small.cols, small.rows, small.channels], [10, 8, 1]);
  // 20 x 10 (cols x rows) scaled by 0.5 is 10 x 5: rows 2-6 of 8 are the image (its middle, row
  // 2.5 of 5, on the frame's, row 4), the rest grey.
  const rows = Array.from({ length: 8 }, (_, y) => Array.from(small.getData().subarray(y * 10, y * 10 + 10)));
  t.same(rows.map((row) => row[0]), [128, 128, 255, 255, 255, 255, 255, 128]);
  t.ok(rows.every((row) => row.every((v) => v === row[0])), 'whole rows');
  // A ramp: each pixel's value is its column.
  const ramp = grayMat(Uint8Array.from({ length: 64 * 48 }, (_, i) => i % 64), 48, 64);
  const middle = placeInFrame(ramp, 2, 32, 32);
  t.same([middle.cols, middle.rows], [32, 32], 'larger than the frame: cut to it');
  t.equal(middle.at(16, 16), 32, 'its middle at the frame\'s middle');
  const aside = placeInFrame(ramp, 2, 32, 32, { x: 4, y: 24 });
  t.equal(aside.at(16, 16), 4, 'the point asked for at the middle');
  t.same([aside.at(16, 7), aside.at(16, 8), aside.at(16, 31)], [128, 0, 11], 'grey left of where the image begins, 4 columns (8 px) before it');
  const bgr = placeInFrame(new cv.Mat(48, 64, cv.CV_8UC3, [10, 20, 30]), 0.25, 32, 32);
  t.same([bgr.channels, ...(bgr.atRaw(16, 16) as unknown as number[]), ...(bgr.atRaw(0, 0) as unknown as number[])], [3, 10, 20, 30, 128, 128, 128], 'colour, grey around');
});

/** 48x48 gray "training images": the astronaut's face cut out at two framings, and a blank one. */
function trainingImages(): { images: IdxImages; boxes: { x: number; y: number; side: number }[] } {
  const photo = cv.imread(path.join(faces, 'astronaut.png')).cvtColor(cv.COLOR_BGR2GRAY);
  const boxes = [
    { x: 166, y: 60, side: 116 },
    { x: 150, y: 44, side: 148 },
  ];
  const pixels = new Uint8Array(3 * 48 * 48);
  boxes.forEach(({ x, y, side }, i) => {
    const crop = photo.getRegion(new cv.Rect(x, y, side, side)).resize(48, 48, 0, 0, cv.INTER_AREA);
    pixels.set(crop.getData(), i * 48 * 48);
  });
  pixels.fill(128, 2 * 48 * 48);
  return { images: { count: 3, rows: 48, cols: 48, pixels }, boxes };
}

t.test('measureFraming: the median eye midpoint and distance, as fractions of the side, through the live detector', async (t) => {
  const detector = await createDetector(configSchema.parse({}).vision.detection);
  t.teardown(() => detector.release());
  const { images } = trainingImages();
  const tight = await measureFraming(images, detector, { indices: [0], pad: 0.25 });
  const loose = await measureFraming(images, detector, { indices: [1], pad: 0.25 });
  t.equal(tight.found, 1);
  t.equal(tight.side, 48);
  // The same face in a wider crop: the eyes are closer together relative to the side.
  t.ok(loose.eye_distance < tight.eye_distance, `eye distance ${loose.eye_distance} (wide crop) < ${tight.eye_distance} (tight)`);
  t.ok(Math.abs(loose.eye_distance / tight.eye_distance - 116 / 148) < 0.08, 'in proportion to the crop sizes');
  t.ok(tight.eye_centre[0] > 0.35 && tight.eye_centre[0] < 0.65 && tight.eye_centre[1] > 0.2 && tight.eye_centre[1] < 0.55, `eye midpoint ${tight.eye_centre}`);
  t.match(tight.measured_on, /^blazeface \d+\.\d+\.\d+ on 1 of 1 training images, padded 25% by edge replication$/);
  const both = await measureFraming(images, detector, { indices: [0, 1, 2], pad: 0.25 });
  t.equal(both.found, 2, 'the blank image has no face and is left out');
  await t.rejects(measureFraming(images, detector, { indices: [2], pad: 0.25 }), /found no face with landmarks in 1 training images/);
});

t.test('alignTrainingImages crops every image as the live pipeline aligns a face, and resizes those without one', async (t) => {
  const detector = await createDetector(configSchema.parse({}).vision.detection);
  t.teardown(() => detector.release());
  const { images } = trainingImages();
  const align = { side: 64, eye_centre: [0.5, 0.4] as [number, number], eye_distance: 0.37 };
  const out = await alignTrainingImages(images, detector, { align, pad: 0.25 });
  t.same([out.count, out.rows, out.cols, out.pixels.length, out.aligned], [3, 64, 64, 3 * 64 * 64, 2]);
  const record = (pixels: Uint8Array, i: number, side: number) => pixels.subarray(i * side * side, (i + 1) * side * side);
  t.ok(record(out.pixels, 2, 64).every((v) => v === 128), 'the blank image, without a face, only resized');
  // The same face cut at two framings: aligned to one framing, the two crops nearly agree; merely
  // resized, they differ as much as their framings.
  const meanDifference = (a: Uint8Array, b: Uint8Array) => a.reduce((sum, v, i) => sum + Math.abs(v - b[i]!), 0) / a.length;
  const resized = [0, 1].map((i) => grayMat(record(images.pixels, i, 48), 48, 48).resize(64, 64).getData());
  const alignedApart = meanDifference(record(out.pixels, 0, 64), record(out.pixels, 1, 64));
  const resizedApart = meanDifference(resized[0]!, resized[1]!);
  t.ok(alignedApart < resizedApart / 2, `aligned crops differ by ${alignedApart.toFixed(1)} grey levels, resized ones by ${resizedApart.toFixed(1)}`);
});
