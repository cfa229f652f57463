import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { opencv } from '../../src/runtime/opencv.js';
import { readIdxImages } from '../../src/vision/idx.js';
import { modelCardSchema, type ModelCard } from '../../src/vision/model-card.js';
import { alignFace, cropFace, cropWithMargin, facesToTensor, grayMat, idxImageMat, pixelLevels, resizeTo, toLevels } from '../../src/vision/preprocess.js';

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

/** A black frame with two bright 5x5 "eyes" (discs of radius 2) at the given points. */
function eyesFrame(cols: number, rows: number, right: { x: number; y: number }, left: { x: number; y: number }) {
  const frame = new cv.Mat(rows, cols, cv.CV_8UC1, 0);
  for (const p of [right, left]) frame.drawCircle(new cv.Point2(Math.round(p.x), Math.round(p.y)), 2, new cv.Vec3(255, 255, 255), -1);
  return frame;
}

/** The two brightest blobs' centres in a gray crop, left to right. */
function blobCentres(crop: ReturnType<typeof eyesFrame>) {
  const data = crop.getData();
  const half = crop.cols / 2;
  const centre = (leftHalf: boolean) => {
    let sx = 0, sy = 0, sw = 0;
    for (let y = 0; y < crop.rows; y++) {
      for (let x = 0; x < crop.cols; x++) {
        if (x < half !== leftHalf) continue;
        const w = data[y * crop.cols + x]!;
        if (w < 60) continue;
        sx += x * w;
        sy += y * w;
        sw += w;
      }
    }
    return { x: sx / sw, y: sy / sw };
  };
  return [centre(true), centre(false)];
}

const framing = { side: 48, eye_centre: [0.5, 0.4] as [number, number], eye_distance: 0.4 };
const landmarksAt = (right: { x: number; y: number }, left: { x: number; y: number }) => ({
  rightEye: right,
  leftEye: left,
  nose: { x: 0, y: 0 },
  mouth: { x: 0, y: 0 },
  rightEar: { x: 0, y: 0 },
  leftEar: { x: 0, y: 0 },
});

t.test('alignFace turns the eyes level and puts them where the training images have them', async (t) => {
  // Eyes 60 px apart, the head rolled by 25 degrees, in a 640x480 frame.
  const angle = (25 * Math.PI) / 180;
  const mid = { x: 300, y: 200 };
  const right = { x: mid.x - 30 * Math.cos(angle), y: mid.y - 30 * Math.sin(angle) };
  const left = { x: mid.x + 30 * Math.cos(angle), y: mid.y + 30 * Math.sin(angle) };
  const crop = alignFace(eyesFrame(640, 480, right, left), landmarksAt(right, left), framing);
  t.same([crop.cols, crop.rows], [48, 48], 'the crop has the training images\' side');
  const [r, l] = blobCentres(crop);
  // In the crop the eyes are 0.4 x 48 = 19.2 px apart around (24, 19.2).
  t.ok(Math.abs(r!.x - 14.4) < 1 && Math.abs(l!.x - 33.6) < 1, `eyes at x ${r!.x.toFixed(2)} and ${l!.x.toFixed(2)}`);
  t.ok(Math.abs(r!.y - 19.2) < 1 && Math.abs(l!.y - 19.2) < 1, `both at y 19.2: ${r!.y.toFixed(2)}, ${l!.y.toFixed(2)}`);
});

t.test('alignFace shrinks a large face first and still frames it the same', async (t) => {
  // Eyes 400 px apart: scale 19.2 / 400 < 0.5, so the face region is shrunk first.
  const right = { x: 800, y: 900 };
  const left = { x: 1200, y: 900 };
  const frame = eyesFrame(2000, 1600, right, left);
  frame.drawCircle(new cv.Point2(800, 900), 30, new cv.Vec3(255, 255, 255), -1);
  frame.drawCircle(new cv.Point2(1200, 900), 30, new cv.Vec3(255, 255, 255), -1);
  const crop = alignFace(frame, landmarksAt(right, left), framing);
  const [r, l] = blobCentres(crop);
  t.ok(Math.abs(r!.x - 14.4) < 1 && Math.abs(l!.x - 33.6) < 1 && Math.abs(r!.y - 19.2) < 1 && Math.abs(l!.y - 19.2) < 1, `eyes at ${JSON.stringify([r, l])}`);
});

t.test('alignFace reaches every pixel a rolled crop of a large face samples', async (t) => {
  // A smooth texture that differs everywhere, so that any resampling gives nearly the same values,
  // and a crop cut from too small a region shows instead the region's replicated edge in its corners.
  const pixels = new Uint8Array(2000 * 2000);
  for (let i = 0; i < pixels.length; i++) {
    const [x, y] = [i % 2000, Math.floor(i / 2000)];
    pixels[i] = 127 + 60 * Math.sin(x / 37) + 60 * Math.cos(y / 53 + x / 91);
  }
  const frame = grayMat(pixels, 2000, 2000);
  const angle = (45 * Math.PI) / 180;
  const mid = { x: 1000, y: 1000 };
  const right = { x: mid.x - 200 * Math.cos(angle), y: mid.y - 200 * Math.sin(angle) };
  const left = { x: mid.x + 200 * Math.cos(angle), y: mid.y + 200 * Math.sin(angle) };
  const crop = alignFace(frame, landmarksAt(right, left), framing);
  // The same similarity transform straight from the whole frame (scale 19.2 / 400).
  const scale = (framing.eye_distance * framing.side) / 400;
  const cos = Math.cos(angle) * scale;
  const sin = Math.sin(angle) * scale;
  const matrix = new cv.Mat([[cos, sin, framing.eye_centre[0] * framing.side - (cos * mid.x + sin * mid.y)], [-sin, cos, framing.eye_centre[1] * framing.side - (-sin * mid.x + cos * mid.y)]], cv.CV_64F);
  const reference = frame.warpAffine(matrix, new cv.Size(framing.side, framing.side), cv.INTER_LINEAR, cv.BORDER_REPLICATE);
  const [ours, theirs] = [crop.getData(), reference.getData()];
  let worst = 0;
  for (let i = 0; i < ours.length; i++) worst = Math.max(worst, Math.abs(ours[i]! - theirs[i]!));
  t.ok(worst <= 6, `largest difference from the whole-frame warp: ${worst} grey levels`);
});

t.test('resizeTo averages a large reduction and keeps the requested size', async (t) => {
  // One-pixel stripes, the finest detail there is: bilinear sampling alone at 5x lands on whole
  // pixels and returns them black and white; averaging gives mid-grey.
  const stripes = new cv.Mat(480, 640, cv.CV_8UC1, 0);
  for (let x = 0; x < 640; x += 2) stripes.drawLine(new cv.Point2(x, 0), new cv.Point2(x, 479), new cv.Vec3(255, 255, 255), 1);
  const small = resizeTo(stripes, 128, 96);
  t.same([small.cols, small.rows], [128, 96]);
  const values = [...small.getData()];
  t.ok(values.every((v) => Math.abs(v - 127.5) <= 1), `every pixel mid-grey: ${Math.min(...values)}..${Math.max(...values)}`);
  const odd = resizeTo(stripes.getRegion(new cv.Rect(0, 0, 639, 479)), 128, 96);
  const oddValues = [...odd.getData()];
  t.ok(oddValues.every((v) => Math.abs(v - 127.5) <= 30), `an odd size averaged too: ${Math.min(...oddValues)}..${Math.max(...oddValues)}`);
  const enlarged = resizeTo(grayMat(new Uint8Array([0, 255, 0, 255]), 2, 2), 5, 3);
  t.same([enlarged.cols, enlarged.rows], [5, 3], 'an enlargement too');
});

t.test('cropFace aligns when the detector gave landmarks and the card a framing, once per zoom, else crops the box', async (t) => {
  const right = { x: 80, y: 100 };
  const left = { x: 120, y: 100 };
  const frame = eyesFrame(200, 200, right, left);
  const box = { x: 60, y: 60, width: 80, height: 80 };
  const withFraming = card({ crop: { margin: 0.1, equalize: false, align: { ...framing, zooms: [1, 0.5] } } });
  const crops = cropFace(frame, { box, landmarks: landmarksAt(right, left) }, withFraming);
  t.same(crops.map((c) => c.cols), [48, 48], 'aligned, one crop per zoom');
  const [near, far] = crops.map(blobCentres);
  t.ok(Math.abs(near![1]!.x - near![0]!.x - 19.2) < 1, 'zoom 1: the framing\'s eye distance');
  t.ok(Math.abs(far![1]!.x - far![0]!.x - 9.6) < 1, 'zoom 0.5: half of it, more of the head around the face');
  const [boxCrop, ...more] = cropFace(frame, { box }, withFraming);
  t.same([boxCrop!.cols, boxCrop!.rows, more.length], [96, 96, 0], 'no landmarks: the box and its 10% margin, once');
  const noFraming = card({ crop: { margin: 0.1, equalize: false } });
  t.same(cropFace(frame, { box, landmarks: landmarksAt(right, left) }, noFraming).map((c) => c.cols), [96], 'no framing in the card: the box');
});

t.test('levels: a crop inside the training images\' range is left alone, one outside is brought to its nearest edge', async (t) => {
  const levels = { mean: [80, 180] as [number, number], std: [30, 75] as [number, number], max_gain: 8 };
  const ramp = (lo: number, hi: number) => Uint8Array.from({ length: 256 }, (_, i) => Math.round(lo + ((hi - lo) * i) / 255));
  const lit = ramp(40, 220);
  t.equal(toLevels(lit, levels), lit, 'in range: the very pixels, no copy');
  const dim = toLevels(ramp(5, 35), levels); // a dim room: mean 20, std 9
  t.ok(Math.abs(pixelLevels(dim).mean - 80) < 0.6 && Math.abs(pixelLevels(dim).std - 30) < 0.6, `dim: mean ${pixelLevels(dim).mean.toFixed(1)}, std ${pixelLevels(dim).std.toFixed(1)}`);
  t.ok(dim.every((v, i) => i === 0 || v >= dim[i - 1]!), 'one gain and offset: the order of the pixels is kept');
  const hazy = toLevels(ramp(180, 250), levels); // bright and flat
  t.ok(Math.abs(pixelLevels(hazy).mean - 180) < 0.6 && Math.abs(pixelLevels(hazy).std - 30) < 0.6, `hazy: mean ${pixelLevels(hazy).mean.toFixed(1)}, std ${pixelLevels(hazy).std.toFixed(1)}`);
  const dark = toLevels(ramp(0, 4), levels); // std 1.2: the stretch stops at max_gain
  t.ok(Math.abs(pixelLevels(dark).std - 8 * pixelLevels(ramp(0, 4)).std) < 0.6, `the stretch is at most 8 times (std ${pixelLevels(dark).std.toFixed(2)})`);
  t.ok(Math.abs(pixelLevels(dark).mean - 80) < 0.6, 'and it is still moved to the range');
  const harsh = Uint8Array.from({ length: 256 }, (_, i) => (i % 2 ? 255 : 0)); // std 127.5: toned down
  t.ok(Math.abs(pixelLevels(toLevels(harsh, levels)).std - 75) < 0.6, 'a crop of more contrast than any training image is toned down');
  const flat = toLevels(new Uint8Array(64).fill(10), levels);
  t.ok(flat.every((v) => v === 80), 'a flat crop is only moved');
  const clipped = toLevels(Uint8Array.from([0, 0, 0, 255]), { ...levels, mean: [200, 250] });
  // Unclipped, the white pixel (255 + offset) would wrap around in the byte array.
  t.equal(clipped[3], 255, 'clipped to 8 bits, not wrapped');
});

t.test('the tensor is made from the levelled pixels when the card has levels', async (t) => {
  const dim = grayMat(Uint8Array.from({ length: 64 * 64 }, (_, i) => 5 + (i % 31)), 64, 64);
  const withLevels = facesToTensor([dim], card({ width: 64, height: 64, crop: { margin: 0, equalize: false, levels: { mean: [100, 150], std: [30, 60], max_gain: 8 } } }));
  const plain = facesToTensor([dim], card({ width: 64, height: 64 }));
  const mean = (x: Float32Array) => x.reduce((a, v) => a + v, 0) / x.length;
  t.ok(Math.abs(mean(withLevels) - (100 / 255 - 0.5) / 0.25) < 0.01, `brought to mean 100 (${mean(withLevels).toFixed(3)})`);
  t.ok(mean(plain) < -1.5, 'as captured without levels');
});
