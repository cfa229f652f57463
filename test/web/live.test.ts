import t from 'tap';
import { configSchema } from '../../src/config/schema.js';
import { EventBus } from '../../src/runtime/bus.js';
import type { BusEvents } from '../../src/runtime/events.js';
import { PAGE_SOURCE, LiveFeed, type LiveMessage } from '../../src/web/live.js';
import { attendedFace, visionFrame } from '../helpers/vision-frame.js';

function setup(web: object = {}) {
  const bus = new EventBus((err) => {
    throw err;
  });
  const config = configSchema.parse({ robot: { id: 'desk-bot', name: 'Desk Bot' }, web: { camera_fps: 10, ...web } });
  let pages = 0;
  const sent: (LiveMessage | Buffer)[] = [];
  const requests: BusEvents['camera.snapshot-requested'][] = [];
  bus.on('camera.snapshot-requested', (r) => void requests.push(r));
  const audience = { count: () => pages, broadcast: (m: string | Buffer) => void sent.push(typeof m === 'string' ? (JSON.parse(m) as LiveMessage) : m) };
  const feed = new LiveFeed(bus.scope(() => undefined), () => config, () => ({ mode: 'active', muted: false }), audience);
  t.teardown(() => feed.stop());
  const open = (n: number) => {
    pages = n;
    feed.audienceChanged();
  };
  const frame = (probabilities: Record<string, number>, capturedAt = Date.now()) =>
    visionFrame(
      [
        attendedFace({
          trackId: 3,
          box: { x: 10, y: 20, width: 100, height: 100 },
          landmarks: { rightEye: { x: 40, y: 50 }, leftEye: { x: 80, y: 50 }, nose: { x: 60, y: 70 }, mouth: { x: 60, y: 90 }, rightEar: { x: 15, y: 60 }, leftEar: { x: 105, y: 60 } },
          raw: { label: 'happy', confidence: 0.9 },
          smoothed: { label: 'happy', confidence: 0.87654, sinceMs: 0, changed: false },
          probabilities,
        }),
      ],
      { capturedAt },
    );
  const messages = (type: string) => sent.filter((m): m is LiveMessage => !Buffer.isBuffer(m) && m.type === type);
  return { bus, feed, sent, requests, open, frame, messages };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

t.test('with no page open nothing is sent and the camera is never asked for a picture', async (t) => {
  const s = setup();
  s.open(0);
  s.bus.emit('vision.frame', s.frame({ happy: 0.9, sad: 0.1 }));
  s.bus.emit('camera.snapshot', { jpeg: Buffer.from([0xff, 0xd8]), width: 1, height: 1, at: 1, by: PAGE_SOURCE });
  await sleep(250);
  t.same(s.requests, []);
  t.same(s.sent, []);
});

t.test('while a page is open the camera is asked at web.camera_fps, and stops when the last page closes', async (t) => {
  const s = setup({ camera_quality: 55 });
  s.open(1);
  await sleep(450);
  s.open(2);
  await sleep(100);
  const whileOpen = s.requests.length;
  t.ok(whileOpen >= 4 && whileOpen <= 7, `${whileOpen} requests in 0.55 s at 10 fps`);
  t.same(s.requests[0], { quality: 55, by: PAGE_SOURCE });
  s.open(0);
  await sleep(300);
  t.equal(s.requests.length, whileOpen, 'none after the last page closed');
});

t.test('the page gets only its own pictures, and none with web.camera off', async (t) => {
  const s = setup();
  s.open(1);
  s.bus.emit('camera.snapshot', { jpeg: Buffer.from([0xff, 0xd8, 1]), width: 1, height: 1, at: 1, by: 'MQTT' });
  s.bus.emit('camera.snapshot', { jpeg: Buffer.from([0xff, 0xd8, 2]), width: 1, height: 1, at: 2, by: PAGE_SOURCE });
  t.same(s.sent.filter(Buffer.isBuffer).map((b) => [...b]), [[0xff, 0xd8, 2]]);

  const off = setup({ camera: false });
  off.open(1);
  off.bus.emit('camera.snapshot', { jpeg: Buffer.from([0xff, 0xd8, 3]), width: 1, height: 1, at: 3, by: PAGE_SOURCE });
  await sleep(150);
  t.same(off.requests, [], 'never asked');
  t.same(off.sent.filter(Buffer.isBuffer), [], 'never sent');
});

t.test('faces go out with boxes, landmarks and rounded probabilities, at most ten times a second', async (t) => {
  const s = setup();
  s.open(1);
  for (let i = 0; i < 5; i++) s.bus.emit('vision.frame', s.frame({ happy: 0.87654321, sad: 0.12345678 }));
  const faces = s.messages('faces');
  t.equal(faces.length, 1, 'five frames at once: one message');
  t.match(faces[0], { type: 'faces', width: 640, height: 480, faces: [{ trackId: 3, attended: true, label: 'happy', confidence: 0.877, probabilities: { happy: 0.877, sad: 0.123 }, box: { x: 10 }, landmarks: { leftEye: { x: 80 } } }] });
  await sleep(120);
  s.bus.emit('vision.frame', s.frame({ happy: 0.5 }));
  t.equal(s.messages('faces').length, 2);
});

t.test('a page opens with the state, the last minute of emotions, telemetry, servos and warnings', async (t) => {
  const s = setup();
  const now = Date.now();
  s.bus.emit('vision.frame', s.frame({ happy: 0.9 }, now - 1000));
  await sleep(520);
  s.bus.emit('vision.frame', s.frame({ sad: 0.8 }, now));
  s.bus.emit('runtime.status', { summary: 'x', snapshot: { uptimeS: 3, fps: 30, visionFps: 29, frames: 90, droppedFrames: 0, faces: 1, subsystems: { vision: 'running' } } });
  s.bus.emit('expression.servos', { servos: { head_pan: { offsetDeg: 12, minDeg: -60, maxDeg: 60 } }, at: now });
  s.bus.emit('log', { level: 'warn', time: new Date(now).toISOString(), msg: 'camera lost', subsystem: 'camera' });
  t.same(s.sent, [], 'nothing broadcast with no page open');
  const hello = s.feed.hello(['mode', 'say']);
  t.ok((hello as { poses: string[] }).poses.includes('rest'), 'the configured poses, for the pose control');
  t.match(hello, {
    type: 'hello',
    robot: { id: 'desk-bot', name: 'Desk Bot' },
    commands: ['mode', 'say'],
    camera: true,
    conversation: false,
    state: { mode: 'active', faces: 1, subsystems: { vision: 'running' } },
    telemetry: [{ cameraFps: 30, visionFps: 29 }],
    timeline: [{ probabilities: { happy: 0.9 } }, { probabilities: { sad: 0.8 } }],
    servos: { servos: { head_pan: { offsetDeg: 12 } } },
    warnings: [{ msg: 'camera lost' }],
    said: [],
  });
});

t.test('the conversation reaches pages only with web.conversation', async (t) => {
  const quiet = setup();
  quiet.open(1);
  quiet.bus.emit('voice.heard', { text: 'my PIN is 1234', at: 1 });
  quiet.bus.emit('voice.said', { text: 'hello', source: 'offline', trigger: 'say', at: 2 });
  t.same(quiet.messages('conversation'), []);
  t.same((quiet.feed.hello([]) as { said: unknown[] }).said, [], 'nor kept for a page that opens later');

  const open = setup({ conversation: true });
  open.open(1);
  open.bus.emit('voice.heard', { text: 'hi robot', at: 1 });
  open.bus.emit('voice.said', { text: 'hello', source: 'offline', trigger: 'reply', at: 2 });
  t.match(open.messages('conversation'), [{ entry: { role: 'person', text: 'hi robot' } }, { entry: { role: 'robot', text: 'hello', trigger: 'reply' } }]);
});
