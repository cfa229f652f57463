import t from 'tap';
import { benchFrames, FACE_COUNTS } from '../../src/bench/frames.js';
import { demoConfig } from '../../src/config/demo.js';
import { createDetector } from '../../src/vision/detector.js';

t.test('frame sets from the demo video hold exactly 0, 1 and 3 detected faces at 640x480', async (t) => {
  const config = demoConfig();
  const frames = await benchFrames(config);
  t.teardown(frames.release);
  const detector = await createDetector(config.vision.detection);
  t.teardown(() => detector.release());
  for (const n of FACE_COUNTS) {
    const set = frames.sets[n];
    t.equal(set.length, 30, `30 frames with ${n} faces`);
    for (const frame of [set[0]!, set.at(-1)!]) {
      t.same([frame.cols, frame.rows], [640, 480]);
      t.equal((await detector.detect(frame)).length, n, `the detector finds ${n} in it`);
    }
  }
  t.equal(frames.faceCrops.length, 30, 'a face crop per one-face frame');
  t.ok(frames.captureMs.p50 > 0 && frames.captureMs.p95 >= frames.captureMs.p50, 'decode time measured');
});
