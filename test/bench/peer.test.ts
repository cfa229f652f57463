import t from 'tap';
import { benchFrames } from '../../src/bench/frames.js';
import { ferValidation } from '../../src/bench/models.js';
import { benchPeer, loadFaceApi } from '../../src/bench/peer.js';
import { DEFAULT_FER_DIR } from '../../src/cli/bench.js';
import { demoConfig } from '../../src/config/demo.js';
import { loadModelCard } from '../../src/vision/model-card.js';
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
