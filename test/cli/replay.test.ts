import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import t from 'tap';
import { runCli } from '../helpers/cli.js';

const faces = path.join(import.meta.dirname, '..', 'fixtures', 'faces');
const dir = mkdtempSync(path.join(tmpdir(), 'emobot-replay-'));

interface FrameLine {
  frame: number;
  timeMs: number;
  faces: { trackId: number; attended: boolean; box: object; raw: { label: string }; smoothed: { label: string } }[];
  found: { trackId: number }[];
  lost: { trackId: number }[];
  timings: Record<string, number>;
}

function parse(stdout: string) {
  const lines = stdout.trim().split('\n').map((l) => JSON.parse(l) as FrameLine & { summary?: Record<string, unknown> });
  const summary = lines.pop()!.summary!;
  return { frames: lines as FrameLine[], summary };
}

t.test('--json over an image folder: one line per frame, then a summary', async (t) => {
  const folder = path.join(dir, 'frames');
  mkdirSync(folder);
  const sequence = ['astronaut.png', 'astronaut.png', 'astronaut.png', 'astronaut.png', 'chelsea.png', 'chelsea.png', 'grace_hopper.jpg', 'grace_hopper.jpg', 'grace_hopper.jpg'];
  sequence.forEach((file, i) => copyFileSync(path.join(faces, file), path.join(folder, `${String(i).padStart(3, '0')}${path.extname(file)}`)));
  const result = await runCli(['replay', folder, '--json']);
  t.equal(result.code, 0, result.stderr);
  const { frames, summary } = parse(result.stdout);
  t.same(frames.map((f) => f.frame), [0, 1, 2, 3, 4, 5, 6, 7, 8]);
  t.same(frames.map((f) => f.faces.length), [0, 0, 1, 1, 0, 0, 0, 0, 1], 'faces once confirmed (3 frames), none on the cat');
  t.equal(frames[3]!.faces[0]!.smoothed.label, 'happy');
  t.same(frames[8]!.found.map((f) => f.trackId), [2], 'Grace Hopper is a new person');
  t.equal(frames[1]!.timeMs, 33, 'video time at the configured 30 fps');
  t.ok(['detect', 'preprocess', 'infer', 'smooth'].every((k) => typeof frames[0]!.timings[k] === 'number'));
  t.match(summary, { source: `image folder ${folder}`, frames: 9, framesWithFaces: 3, tracks: 2, executionProvider: 'cpu' });
});

t.test('a video built from the photos, as a person reads it', async (t) => {
  const video = path.join(dir, 'faces.mp4');
  execFileSync('ffmpeg', ['-loglevel', 'error', '-y', '-loop', '1', '-t', '1', '-i', path.join(faces, 'grace_hopper.jpg'), '-vf', 'scale=640:480:force_original_aspect_ratio=decrease,pad=640:480:(ow-iw)/2:(oh-ih)/2,fps=10', '-c:v', 'libx264', '-pix_fmt', 'yuv420p', video]);
  const result = await runCli(['replay', video]);
  t.equal(result.code, 0, result.stderr);
  t.match(result.stdout, /^frame +0 +0\.00s  no face$/m);
  t.match(result.stdout, /^frame +9 +0\.90s  #1\* \w+ 0\.\d\d \(raw \w+ 0\.\d\d\) at \d+,\d+ \d+x\d+$/m);
  t.match(result.stdout, /^summary: \{/m);
});

t.test('a missing recording is named; no argument is a usage error', async (t) => {
  const missing = await runCli(['replay', path.join(dir, 'nope.mp4')]);
  t.equal(missing.code, 1);
  t.match(missing.stderr, /cannot open camera video file .*nope\.mp4: no such file/);
  t.equal((await runCli(['replay'])).code, 2);
});
