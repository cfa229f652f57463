import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import t from 'tap';
import { camera } from '../../src/camera/camera.js';
import type { CameraState } from '../../src/camera/types.js';
import { configSchema } from '../../src/config/schema.js';
import { opencv } from '../../src/runtime/opencv.js';
import { subsystemContext } from '../helpers/context.js';
import { waitFor } from '../helpers/wait.js';

function run(cameraConfig: object) {
  const config = configSchema.parse({ camera: cameraConfig });
  const { ctx, bus, failures, liveness } = subsystemContext(config);
  const states: CameraState[] = [];
  const frames: { index: number; width: number; height: number; monotonicMs: number }[] = [];
  bus.on('camera.state', (s) => states.push(s));
  bus.on('camera.frame', (f) => frames.push({ index: f.index, width: f.width, height: f.height, monotonicMs: f.monotonicMs }));
  const instance = camera.create(config)!;
  return { instance, ctx, bus, states, frames, failures, liveness };
}

t.test('the demo video plays at its own frame rate through OpenCV', async (t) => {
  const cam = run({ source: 'demo' });
  await cam.instance.start(cam.ctx);
  await waitFor(() => cam.frames.length >= 31, '31 frames');
  await cam.instance.stop();
  t.match(cam.states[0], { state: 'open', device: /demo video .*demo-faces\.mp4/, width: 640, height: 480, fps: 30 });
  t.same(cam.frames.slice(0, 3).map((f) => f.index), [0, 1, 2]);
  t.same(cam.frames[0], { ...cam.frames[0], width: 640, height: 480 });
  const seconds = (cam.frames[30]!.monotonicMs - cam.frames[0]!.monotonicMs) / 1000;
  t.ok(seconds > 0.85 && seconds < 1.5, `30 frame intervals took ${seconds.toFixed(2)} s (30 fps pacing)`);
  t.equal(cam.states.at(-1)?.state, 'closed');
  t.same(cam.failures, []);
  t.same(cam.liveness.stale(), [], 'the loop unregistered its heartbeat');
});

t.test('a file that does not exist is retried with backoff, naming the device, without crashing', async (t) => {
  const missing = path.join(mkdtempSync(path.join(tmpdir(), 'emobot-cam-')), 'nope.mp4');
  const cam = run({ source: missing, reconnect: { initial_delay_ms: 20, max_delay_ms: 40 } });
  await cam.instance.start(cam.ctx);
  await waitFor(() => cam.states.length >= 3, 'three attempts');
  await cam.instance.stop();
  t.match(cam.states.slice(0, 3), [
    { state: 'reconnecting', device: `video file ${missing}`, error: `cannot open camera video file ${missing}: no such file`, retryInMs: 20 },
    { state: 'reconnecting', retryInMs: 40 },
    { state: 'reconnecting', retryInMs: 40 },
  ]);
  t.same(cam.failures, []);
});

t.test('a file that is not a video is reported with its name', async (t) => {
  const garbage = path.join(mkdtempSync(path.join(tmpdir(), 'emobot-cam-')), 'garbage.mp4');
  writeFileSync(garbage, 'this is not a video');
  const cam = run({ source: garbage, reconnect: { initial_delay_ms: 20, max_delay_ms: 20 } });
  await cam.instance.start(cam.ctx);
  await waitFor(() => cam.states.length >= 1, 'an attempt');
  await cam.instance.stop();
  t.match(cam.states[0], { state: 'reconnecting', error: new RegExp(`${garbage}`) });
});

t.test('a playlist named like a video is refused before a demuxer sees it: no URL is fetched, nothing of it is told', async (t) => {
  const requests: string[] = [];
  const server = createServer((req, res) => {
    requests.push(req.url ?? '');
    res.end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => server.close());
  const { port } = server.address() as AddressInfo;
  const playlist = path.join(mkdtempSync(path.join(tmpdir(), 'emobot-cam-')), 'holiday.mp4');
  writeFileSync(playlist, `#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXTINF:2,\nhttp://127.0.0.1:${port}/secret.ts\n#EXT-X-ENDLIST\n`);
  for (const source of [playlist, `filesrc location=${playlist} ! decodebin ! videoconvert ! appsink`]) {
    const cam = run({ source, reconnect: { initial_delay_ms: 20, max_delay_ms: 20 } });
    await cam.instance.start(cam.ctx);
    await waitFor(() => cam.states.length >= 1, 'an attempt');
    await cam.instance.stop();
    const error = (cam.states[0] as { error?: string }).error ?? '';
    t.match(cam.states[0], { state: 'reconnecting' });
    t.match(error, new RegExp(`${playlist}.* not a video file the robot plays \\(MP4/MOV, `), source);
    t.notMatch(error, /EXTM3U|127\.0\.0\.1/, 'the error carries none of the file');
    t.same(cam.frames, []);
  }
  t.same(requests, [], 'nothing was fetched');
});

t.test('a video OpenCV wrote (Motion JPEG in AVI) plays as a file source', async (t) => {
  const cv = opencv();
  const file = path.join(mkdtempSync(path.join(tmpdir(), 'emobot-cam-')), 'clip.avi');
  const writer = new cv.VideoWriter(file, cv.VideoWriter.fourcc('MJPG'), 30, new cv.Size(160, 120));
  for (let i = 0; i < 10; i++) writer.write(new cv.Mat(120, 160, cv.CV_8UC3, [i * 20, 80, 160]));
  writer.release();
  const cam = run({ source: file, loop_video: false });
  await cam.instance.start(cam.ctx);
  await waitFor(() => cam.states.some((s) => s.state === 'ended'), 'the end of the clip');
  await cam.instance.stop();
  t.match(cam.states[0], { state: 'open', device: `video file ${file}`, width: 160, height: 120 });
  t.equal(cam.frames.length, 10);
});

t.test('a file is read by its own container\'s demuxer, named: FFmpeg for a plain file, the one after filesrc in a pipeline', async (t) => {
  const cv = opencv();
  const dir = mkdtempSync(path.join(tmpdir(), 'emobot-cam-'));
  const ogv = path.join(dir, 'clip.ogv');
  const writer = new cv.VideoWriter(ogv, cv.VideoWriter.fourcc('THEO'), 30, new cv.Size(160, 120));
  for (let i = 0; i < 10; i++) writer.write(new cv.Mat(120, 160, cv.CV_8UC3, [i * 20, 80, 160]));
  writer.release();
  const played = async (source: string) => {
    const cam = run({ source, loop_video: false, reconnect: { initial_delay_ms: 20, max_delay_ms: 20 } });
    await cam.instance.start(cam.ctx);
    await waitFor(() => cam.states.some((s) => s.state === 'ended' || s.state === 'reconnecting'), 'the end of the clip or a refusal');
    await cam.instance.stop();
    return { frames: cam.frames.length, states: cam.states as { state: string; error?: string }[] };
  };
  t.match(await played(ogv), { frames: 10, states: [{ state: 'open' }] }, 'the file, through FFmpeg');
  t.match(await played(`filesrc location=${ogv} ! oggdemux ! theoradec ! videoconvert ! appsink`), { frames: 10, states: [{ state: 'open' }] }, 'the pipeline, with its demuxer');
  const guessed = await played(`filesrc location=${ogv} ! decodebin ! videoconvert ! appsink`);
  t.match(guessed.states[0], { state: 'reconnecting', error: new RegExp(`${ogv} is Ogg: after filesrc comes its demuxer \\(oggdemux\\), not decodebin`) }, 'decodebin would pick a demuxer from the content');
  t.match((await played(`filesrc location=${ogv} ! matroskademux ! theoradec ! videoconvert ! appsink`)).states[0], { state: 'reconnecting', error: /is Ogg: after filesrc comes its demuxer \(oggdemux\), not matroskademux/ });
  // Matroska's first bytes, then an MPEG-TS stream: FFmpeg left to guess would play it as MPEG-TS.
  const ts = path.join(dir, 'clip.ts');
  execFileSync('ffmpeg', ['-v', 'error', '-f', 'lavfi', '-i', 'testsrc=size=160x120:rate=30', '-frames:v', '10', '-c:v', 'mpeg2video', '-f', 'mpegts', ts]);
  const disguised = path.join(dir, 'disguised.mkv');
  writeFileSync(disguised, Buffer.concat([Buffer.from([0x1a, 0x45, 0xdf, 0xa3]), readFileSync(ts)]));
  t.match(await played(disguised), { frames: 0, states: [{ state: 'reconnecting' }] }, 'read as the Matroska its first bytes say, it is none');
  // Matroska's first bytes, then an SDP session (which FFmpeg's probe would take it for): read as Matroska, it is no video.
  const session = path.join(dir, 'session.mkv');
  writeFileSync(session, Buffer.from('\x1a\x45\xdf\xa3\nv=0\nc=IN IP4 127.0.0.1\nm=video 5004 RTP/AVP 96\na=rtpmap:96 H264/90000\n', 'latin1'));
  const refused = await played(session);
  t.match(refused, { frames: 0, states: [{ state: 'reconnecting' }] });
  t.notMatch(refused.states[0]!.error, /IN IP4|5004/, 'the error carries none of the file');
});

t.test('with loop_video off the file plays once, then the camera reports it ended', async (t) => {
  const cam = run({ source: 'demo', loop_video: false, fps: 240 });
  await cam.instance.start(cam.ctx);
  await waitFor(() => cam.states.some((s) => s.state === 'ended'), 'the end of the video', 30_000);
  await cam.instance.stop();
  t.equal(cam.frames.length, 420, 'every frame of the 14 s demo was delivered once');
});

t.test('a live stream that stops mid-way is reopened with backoff, frames resume, nothing crashes', async (t) => {
  // A GStreamer source that delivers 10 frames and then ends, as an unplugged USB camera does.
  const pipeline = 'videotestsrc num-buffers=10 ! video/x-raw,width=160,height=120,framerate=30/1 ! videoconvert ! video/x-raw,format=BGR ! appsink';
  const cam = run({ source: pipeline, reconnect: { initial_delay_ms: 50, max_delay_ms: 100 } });
  await cam.instance.start(cam.ctx);
  await waitFor(() => cam.states.filter((s) => s.state === 'open').length >= 3, 'three openings');
  await cam.instance.stop();
  const opens = cam.states.filter((s) => s.state === 'open');
  const drops = cam.states.filter((s) => s.state === 'reconnecting');
  t.match(opens[0], { device: /^GStreamer pipeline "videotestsrc/, width: 160, height: 120 });
  t.ok(drops.length >= 2);
  t.match(drops[0], { error: /delivered no frame \(unplugged\?\)/, retryInMs: 50 });
  t.ok(cam.frames.length >= 20, `${cam.frames.length} frames across reconnects`);
  t.same(cam.frames.map((f) => f.index), cam.frames.map((_, i) => i), 'frame indices keep counting across reconnects');
  t.same(cam.failures, []);
});

t.test('a snapshot request gets the next frame as a JPEG, once', async (t) => {
  const cam = run({ source: 'demo' });
  const snapshots: { jpeg: Buffer; width: number; height: number }[] = [];
  cam.bus.on('camera.snapshot', (s) => void snapshots.push(s));
  await cam.instance.start(cam.ctx);
  await waitFor(() => cam.frames.length >= 3, 'frames');
  cam.bus.emit('camera.snapshot-requested', { quality: 70, by: 'test' });
  await waitFor(() => snapshots.length === 1, 'the snapshot');
  await waitFor(() => cam.frames.length >= 10, 'more frames');
  await cam.instance.stop();
  t.equal(snapshots.length, 1, 'one request, one picture');
  t.match(snapshots[0], { width: 640, height: 480 });
  t.same([...snapshots[0]!.jpeg.subarray(0, 3)], [0xff, 0xd8, 0xff], 'a JPEG');
  t.ok(snapshots[0]!.jpeg.length > 5000 && snapshots[0]!.jpeg.length < 200_000, `${snapshots[0]!.jpeg.length} bytes`);
});

t.test('requests from two requesters on the same frame: each gets its own, named, and one quality is encoded once', async (t) => {
  const cam = run({ source: 'demo' });
  const snapshots: { jpeg: Buffer; by: string; at: number }[] = [];
  cam.bus.on('camera.snapshot', (s) => void snapshots.push(s));
  await cam.instance.start(cam.ctx);
  await waitFor(() => cam.frames.length >= 3, 'frames');
  cam.bus.emit('camera.snapshot-requested', { quality: 70, by: 'MQTT' });
  cam.bus.emit('camera.snapshot-requested', { quality: 70, by: 'web page' });
  cam.bus.emit('camera.snapshot-requested', { quality: 30, by: 'bench' });
  await waitFor(() => snapshots.length === 3, 'three snapshots');
  await cam.instance.stop();
  t.same(snapshots.map((s) => s.by).sort(), ['MQTT', 'bench', 'web page']);
  const [mqtt, page, bench] = ['MQTT', 'web page', 'bench'].map((by) => snapshots.find((s) => s.by === by)!);
  t.equal(mqtt!.jpeg, page!.jpeg, 'the same quality: one encoding, shared');
  t.ok(bench!.jpeg.length < mqtt!.jpeg.length, 'a lower quality: its own, smaller encoding');
});
