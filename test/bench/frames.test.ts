import t from 'tap';
import { benchFrames, FACE_COUNTS } from '../../src/bench/frames.js';
import { demoConfig } from '../../src/config/demo.js';
import { opencv } from '../../src/runtime/opencv.js';
import { createDetector } from '../../src/vision/detector.js';

t.test('frame sets from the demo video hold 0, 1 and 3 faces at 640x480, as a detector that did not choose them sees too', async (t) => {
  const config = demoConfig();
  t.equal(config.vision.detection.detector, 'blazeface', 'the frames are chosen by BlazeFace');
  const frames = await benchFrames(config);
  t.teardown(frames.release);
  // OpenCV's Haar cascade took no part in choosing the frames: its counts are an independent witness.
  const witness = await createDetector({ ...config.vision.detection, detector: 'haar' });
  t.teardown(() => witness.release());
  for (const n of FACE_COUNTS) {
    const set = frames.sets[n];
    t.equal(set.length, 30, `30 frames with ${n} faces`);
    t.ok(set.every((frame) => frame.cols === 640 && frame.rows === 480), 'all 640x480');
    let agreed = 0;
    for (const frame of set) if ((await witness.detect(frame)).length === n) agreed++;
    t.ok(agreed >= 27, `the Haar cascade also counts ${n} face(s) in ${agreed} of 30`);
    const cv = opencv();
    const difference = set[0]!.absdiff(set.at(-1)!);
    t.ok(difference.cvtColor(cv.COLOR_BGR2GRAY).countNonZero() > 0.05 * 640 * 480, 'the first and last frame of the set are different pictures');
    difference.release();
  }
  t.equal(frames.faceCrops.length, 30, 'a face crop per one-face frame');
  for (const [i, crop] of frames.faceCrops.entries()) {
    // Padded by edge replication: a cascade misses a face that fills the whole picture.
    const padded = crop.copyMakeBorder(crop.rows >> 1, crop.rows >> 1, crop.cols >> 1, crop.cols >> 1, opencv().BORDER_REPLICATE);
    const faces = await witness.detect(padded);
    padded.release();
    if (faces.length !== 1) t.fail(`face crop ${i} holds ${faces.length} faces for the Haar cascade`);
  }
  t.ok(frames.captureMs.p50 > 0 && frames.captureMs.p95 >= frames.captureMs.p50, 'decode time measured');
});
