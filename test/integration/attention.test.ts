/**
 * Attention-gated listening through the real pipeline: the daemon's camera, vision and voice
 * subsystems (OpenCV, BlazeFace and the emotion model in ONNX Runtime, Silero VAD), a person talking
 * through the real-time fake microphone, and the cloud voice on the fake services. With the demo
 * video's face in view the question goes to speech-to-text and is answered; with the same question
 * and nobody in view, it is dropped on the robot and no audio leaves it.
 */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import t from 'tap';
import { camera } from '../../src/camera/camera.js';
import { BUILT_IN } from '../../src/config/load.js';
import { configSchema } from '../../src/config/schema.js';
import { startFakeCloud } from '../../src/dev/fake-cloud.js';
import { realtimeMicrophone, spokenRecording } from '../../src/dev/fake-microphone.js';
import { Daemon } from '../../src/runtime/daemon.js';
import { opencv } from '../../src/runtime/opencv.js';
import { vision } from '../../src/vision/vision.js';
import { voice } from '../../src/voice/voice.js';
import { alsaFileDevices } from '../helpers/alsa.js';
import { capturingLogger } from '../helpers/log.js';
import { waitFor } from '../helpers/wait.js';

t.setTimeout(120_000);

const dir = mkdtempSync(path.join(tmpdir(), 'emobot-attention-'));
Object.assign(process.env, alsaFileDevices(dir).env);

/** An empty room: black frames. */
function emptyRoom(): string {
  const cv = opencv();
  const folder = path.join(dir, 'empty-room');
  mkdirSync(folder, { recursive: true });
  const black = new cv.Mat(480, 640, cv.CV_8UC3, [0, 0, 0]);
  for (let i = 0; i < 10; i++) cv.imwrite(path.join(folder, `frame-${i}.jpg`), black);
  return folder;
}

async function run(t: { teardown(fn: () => unknown): void }, source: string) {
  const cloud = await startFakeCloud({ transcript: 'What time is it?', reply: 'Time for tea.' });
  t.teardown(cloud.close);
  const mic = path.join(dir, 'question.raw');
  writeFileSync(mic, await spokenRecording('What time is it?', 4000, 3000));
  const restore = realtimeMicrophone(mic);
  Object.assign(process.env, restore);
  t.teardown(() => Object.keys(restore).forEach((key) => delete process.env[key]));
  const config = configSchema.parse({
    camera: { source, loop_video: true, fps: 15 },
    voice: { mode: 'cloud', openai_base_url: cloud.openaiBaseUrl, elevenlabs_base_url: cloud.elevenlabsBaseUrl, proactive: { enabled: false } },
  });
  const { log, messages } = capturingLogger('info');
  // Voice last: the microphone (and the recorded question) starts once vision and the camera are up.
  const daemon = new Daemon({ loaded: { config, file: BUILT_IN }, definitions: [vision, camera, voice], log, env: { OPENAI_API_KEY: 'sk-test', ELEVENLABS_API_KEY: 'xi-test' } });
  const heard: string[] = [];
  let faces = 0;
  let frames = 0;
  daemon.bus.on('voice.heard', (e) => void heard.push(e.text));
  daemon.bus.on('vision.frame', (f) => {
    frames++;
    faces += f.faces.length;
  });
  await daemon.start();
  t.teardown(() => daemon.stop('test done'));
  const transcriptions = () => cloud.requests.filter((q) => q.path === 'POST /v1/audio/transcriptions').length;
  return { heard, messages, transcriptions, faces: () => faces, frames: () => frames };
}

t.test('a face in view (the demo video): the question is understood and answered', async (t) => {
  const r = await run(t, 'demo');
  await waitFor(() => r.heard.length === 1, 'the question to be understood', 30_000);
  t.same(r.heard, ['What time is it?']);
  t.equal(r.transcriptions(), 1);
  t.ok(r.faces() > 0, 'vision saw the face');
});

t.test('nobody in view: the same question is dropped on the robot, and no audio leaves it', async (t) => {
  const r = await run(t, emptyRoom());
  await waitFor(() => r.messages().some((m) => /dropped on the robot: the attended person did not face the robot/.test(m)), 'the drop', 30_000);
  await new Promise((resolve) => setTimeout(resolve, 500));
  t.equal(r.transcriptions(), 0);
  t.same(r.heard, []);
  t.ok(r.frames() > 0, `vision ran (${r.frames()} frames)`);
  t.equal(r.faces(), 0, 'and found no face');
});
