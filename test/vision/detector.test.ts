import path from 'node:path';
import t from 'tap';
import { configSchema } from '../../src/config/schema.js';
import { opencv } from '../../src/runtime/opencv.js';
import { createDetector, detectorNames, iou } from '../../src/vision/detector.js';

const cv = opencv();
const faces = path.join(import.meta.dirname, '..', '..', '..', 'shared', 'data', 'faces');
// Reference boxes from shared/data/faces/README.md (OpenCV 4.6, haarcascade_frontalface_default).
const reference = { 'astronaut.png': { x: 176, y: 66, width: 95, height: 95 }, 'grace_hopper.jpg': { x: 155, y: 104, width: 224, height: 224 } };

const gray = (file: string) => cv.imread(path.join(faces, file)).cvtColor(cv.COLOR_BGR2GRAY);
const detection = (detector: string, width: number) =>
  configSchema.parse({ vision: { detection: { detector, width } } }).vision.detection;

t.test('iou', async (t) => {
  const a = { x: 0, y: 0, width: 10, height: 10 };
  t.equal(iou(a, a), 1);
  t.equal(iou(a, { x: 5, y: 0, width: 10, height: 10 }), 50 / 150);
  t.equal(iou(a, { x: 20, y: 20, width: 5, height: 5 }), 0);
});

for (const name of detectorNames) {
  t.test(`${name}: one face in astronaut.png and grace_hopper.jpg, none in chelsea.png (the cat)`, async (t) => {
    for (const width of [320, 640]) {
      const detector = createDetector(detection(name, width));
      for (const [file, box] of Object.entries(reference)) {
        const found = await detector.detect(gray(file));
        t.equal(found.length, 1, `${file} at ${width} px: ${JSON.stringify(found)}`);
        // Detectors draw boxes differently (LBP's are tighter); the face itself must be covered.
        t.ok(iou(found[0]!, box) >= (name === 'lbp' ? 0.35 : 0.5), `${file} at ${width} px overlaps the reference box: ${JSON.stringify(found[0])}`);
      }
      t.same(await detector.detect(gray('chelsea.png')), [], `no face on the cat at ${width} px`);
    }
  });
}
