import path from 'node:path';
import t from 'tap';
import type { CameraFrame } from '../../src/camera/types.js';
import { configSchema } from '../../src/config/schema.js';
import type { BusEvents, RobotState } from '../../src/runtime/events.js';
import { opencv } from '../../src/runtime/opencv.js';
import { vision } from '../../src/vision/vision.js';
import { subsystemContext } from '../helpers/context.js';
import { waitFor } from '../helpers/wait.js';

const cv = opencv();
const faces = path.join(import.meta.dirname, '..', 'fixtures', 'faces');
const astronaut = cv.imread(path.join(faces, 'astronaut.png'));
const cat = cv.imread(path.join(faces, 'chelsea.png'));

async function startVision(robot: RobotState = { mode: 'active', muted: false }) {
  const config = configSchema.parse({});
  const { ctx, bus, failures, logs: messages } = subsystemContext(config, { robot });
  const events: { [K in keyof BusEvents]?: BusEvents[K][] } = {};
  for (const name of ['vision.frame', 'face.found', 'face.lost', 'emotion'] as const) {
    events[name] = [];
    bus.on(name, (e) => void (events[name] as unknown[]).push(e));
  }
  const instance = vision.create(config)!;
  await instance.start(ctx);
  let index = 0;
  const frame = (image: typeof astronaut, monotonicMs: number): CameraFrame => ({
    index: index++,
    capturedAt: 1_700_000_000_000 + monotonicMs,
    monotonicMs,
    width: image.cols,
    height: image.rows,
    image,
    retain: () => () => undefined,
  });
  return { instance, bus, events, failures, frame, messages };
}

t.test('latest-frame semantics: frames arriving while one is processed are dropped and counted', async (t) => {
  const v = await startVision();
  t.teardown(() => v.instance.stop());
  for (let i = 0; i < 20; i++) v.bus.emit('camera.frame', v.frame(astronaut, i * 33));
  await waitFor(() => v.events['vision.frame']!.length === 2, 'the first and the newest frame');
  await new Promise((r) => setTimeout(r, 100));
  t.same(v.events['vision.frame']!.map((f) => f.frameIndex), [0, 19]);
  t.equal(v.events['vision.frame']![1]!.droppedFrames, 18);
  t.same(v.failures, []);
  t.match(v.messages().join('\n'), /emotion model on cpu, detector blazeface \(face_detection_front_128x128_barracuda\.onnx, then face_detection_back_256x256_barracuda\.onnx, jp\.keijiro\.mediapipe\.blazeface 1\.2\.0\)/);
});

t.test('face.found, emotion and face.lost events, with epoch timestamps', async (t) => {
  const v = await startVision();
  t.teardown(() => v.instance.stop());
  const feed = async (image: typeof astronaut, ms: number) => {
    const before = v.events['vision.frame']!.length;
    v.bus.emit('camera.frame', v.frame(image, ms));
    await waitFor(() => v.events['vision.frame']!.length > before, `frame at ${ms} ms`);
  };
  for (let ms = 0; ms <= 200; ms += 33) await feed(astronaut, ms);
  t.match(v.events['face.found'], [{ trackId: 1, box: { width: /\d/ }, at: 1_700_000_000_066 }]);
  t.equal(v.events.emotion!.length, 1, 'one emotion event: the first smoothed label');
  t.match(v.events.emotion![0], { trackId: 1, attended: true, label: 'happy', since: 1_700_000_000_066, at: 1_700_000_000_066 });
  t.match(v.events['vision.frame']!.at(-1), { attendedTrackId: 1, faces: [{ trackId: 1, smoothed: { label: 'happy', changed: false } }] });
  await feed(cat, 300);
  await feed(cat, 1500);
  t.match(v.events['face.lost'], [{ trackId: 1, at: 1_700_000_001_500, visibleForMs: 198 }]);
  t.same(v.events['vision.frame']!.at(-1)!.faces, []);
});

t.test('asleep, the robot does not look: frames are neither processed nor counted as dropped', async (t) => {
  const robot: RobotState = { mode: 'sleep', muted: false };
  const v = await startVision(robot);
  t.teardown(() => v.instance.stop());
  for (let i = 0; i < 5; i++) v.bus.emit('camera.frame', v.frame(astronaut, i * 33));
  await new Promise((r) => setTimeout(r, 200));
  t.same(v.events['vision.frame'], []);
  robot.mode = 'active';
  v.bus.emit('camera.frame', v.frame(astronaut, 200));
  await waitFor(() => v.events['vision.frame']!.length === 1, 'processing after waking');
  t.equal(v.events['vision.frame']![0]!.droppedFrames, 0);
});
