import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { opencv } from '../../src/runtime/opencv.js';
import { readIdxImages } from '../../src/vision/idx.js';
import { modelCardSchema, type ModelCard } from '../../src/vision/model-card.js';
import { cropWithMargin, facesToTensor, grayMat, idxImageMat } from '../../src/vision/preprocess.js';

const cv = opencv();
const fixtures = path.join(import.meta.dirname, '..', 'fixtures');
const shared = path.join(import.meta.dirname, '..', '..', '..', 'shared', 'data');

function card(input: Partial<ModelCard['input']>): ModelCard {
  return modelCardSchema.parse({
    ...JSON.parse(readFileSync(path.join(fixtures, 'tiny-flatten.json'), 'utf8')),
    input: { ...JSON.parse(readFileSync(path.join(fixtures, 'tiny-flatten.json'), 'utf8')).input, ...input },
  });
}

t.test('normalises (pixel * scale - mean) / std into NCHW, batch after batch', async (t) => {
  const tiny = card({});
  const a = grayMat(new Uint8Array([0, 255, 128, 64]), 2, 2);
  const b = grayMat(new Uint8Array([255, 0, 0, 0]), 2, 2);
  const tensor = facesToTensor([a, b], tiny);
  const expect = (p: number) => (p / 255 - 0.5) / 0.25;
  t.same(Array.from(tensor, (v) => Number(v.toFixed(5))), [0, 255, 128, 64, 255, 0, 0, 0].map((p) => Number(expect(p).toFixed(5))));
});

t.test('colour faces are converted as the card says; per-channel normalisation is planar', async (t) => {
  const bgr = new cv.Mat(1, 1, cv.CV_8UC3, [10, 20, 30]);
  const gray = facesToTensor([bgr], card({ width: 1, height: 1 }));
  const expectedGray = bgr.cvtColor(cv.COLOR_BGR2GRAY).at(0, 0) as number;
  t.equal(Number(gray[0]!.toFixed(5)), Number(((expectedGray / 255 - 0.5) / 0.25).toFixed(5)));
  const rgb = facesToTensor([bgr], card({ width: 1, height: 1, channels: 3, color: 'rgb', normalization: { scale: 1, mean: [0, 0, 0], std: [1, 2, 10] } }));
  t.same(Array.from(rgb), [30, 10, 1], 'R, G / 2, B / 10');
});

t.test('the crop grows the box by the margin and stays inside the frame', async (t) => {
  const frame = new cv.Mat(100, 200, cv.CV_8UC1, 0);
  const inside = cropWithMargin(frame, { x: 50, y: 40, width: 20, height: 20 }, 0.25);
  t.same([inside.cols, inside.rows], [30, 30]);
  const edge = cropWithMargin(frame, { x: 0, y: 90, width: 20, height: 10 }, 0.5);
  t.same([edge.cols, edge.rows], [30, 15], 'clipped at the left and bottom edges');
});

t.test('FER-2013 validation crops become the very tensors training fed the model', { skip: existsSync(shared) ? false : 'shared data not present' }, async (t) => {
  const reference = JSON.parse(readFileSync(path.join(fixtures, 'fer-val-preprocessing.json'), 'utf8')) as {
    size: number;
    mean: number;
    std: number;
    images: { index: number; mean: number; std: number; samples: [number, number, number][] }[];
  };
  const fer = card({ width: reference.size, height: reference.size, normalization: { scale: 1 / 255, mean: reference.mean, std: reference.std } });
  const val = readIdxImages(path.join(shared, 'fer2013', 'val-images-idx3-ubyte.gz'));
  for (const image of reference.images) {
    const face = idxImageMat(val, image.index);
    const tensor = facesToTensor([face], fer);
    const mean = tensor.reduce((a, v) => a + v, 0) / tensor.length;
    t.ok(Math.abs(mean - image.mean) < 0.01, `image ${image.index}: mean ${mean.toFixed(4)} vs training ${image.mean.toFixed(4)}`);
    // OpenCV's bilinear resize rounds to 8 bits; training's interpolation does not: allow one grey level.
    const tolerance = 1 / 255 / reference.std + 1e-4;
    for (const [r, c, value] of image.samples) {
      const got = tensor[r * reference.size + c]!;
      t.ok(Math.abs(got - value) <= tolerance, `image ${image.index} (${r},${c}): ${got.toFixed(4)} vs training ${value.toFixed(4)}`);
    }
  }
});
