import path from 'node:path';
import t from 'tap';
import { benchFrames } from '../../src/bench/frames.js';
import { ferValidation } from '../../src/bench/models.js';
import { benchPeer, FaceApiPeer, loadFaceApi } from '../../src/bench/peer.js';
import { DEFAULT_FER_DIR } from '../../src/cli/bench.js';
import { demoConfig } from '../../src/config/demo.js';
import { loadModelCard } from '../../src/vision/model-card.js';
import { opencv } from '../../src/runtime/opencv.js';
import { resolveAsset } from '../../src/runtime/paths.js';

t.test('face-api on the same frames: its detector finds the faces, its labels map onto ours', async (t) => {
  t.notOk('error' in loadFaceApi(), 'face-api loads from the dev dependencies');
  const config = demoConfig();
  const frames = await benchFrames(config);
  t.teardown(frames.release);
  const fer = ferValidation(DEFAULT_FER_DIR, 300);
  const result = await benchPeer({
    sets: frames.sets,
    runs: [{ backend: 'wasm', detector: 'tiny_face_detector', frames: 3, faceCounts: [0, 3] }],
    ...(fer ? { fer } : {}),
    labels: loadModelCard(resolveAsset(config.vision.model)).card.labels,
  });
  if ('skipped' in result) return t.fail(result.skipped);
  t.match(result.runs, [{ backend: 'wasm', detector: 'tiny_face_detector', byFaces: { 0: { frames: 3, facesPerFrame: 0 }, 3: { frames: 3, facesPerFrame: 3 } } }]);
  t.notOk(1 in result.runs[0]!.byFaces, 'only the face counts asked for');
  if (!fer) return;
  // Seven classes, the largest a quarter of the images: a wrong label mapping would land near or below chance.
  t.ok(result.accuracy!.accuracy > 0.45, `face-api ${result.accuracy!.accuracy} on 300 FER-2013 validation images`);
});

t.test("face-api's expression probabilities on a face crop: one per label of ours, a distribution, its top class the label", async (t) => {
  const labels = ['angry', 'disgust', 'fear', 'happy', 'sad', 'surprise', 'neutral'];
  const peer = await FaceApiPeer.load(labels);
  // Grace Hopper's portrait, cropped to her face: a calm face, which face-api reads as neutral.
  const cv = opencv();
  const photo = cv.imread(path.join(import.meta.dirname, '..', 'fixtures', 'faces', 'grace_hopper.jpg'));
  const face = photo.getRegion(new cv.Rect(163, 142, 198, 198)).copy();
  const probabilities = await peer.probabilities(face);
  t.equal(probabilities.length, labels.length);
  t.ok(Math.abs(probabilities.reduce((a, b) => a + b, 0) - 1) < 1e-3, 'they sum to 1');
  t.equal(labels[await peer.expression(face)], 'neutral');
  t.equal(await peer.expression(face), probabilities.indexOf(Math.max(...probabilities)));
});
