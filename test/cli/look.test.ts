import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import t from 'tap';
import { opencv } from '../../src/runtime/opencv.js';
import { runCli } from '../helpers/cli.js';

const cv = opencv();
const faces = path.join(import.meta.dirname, '..', 'fixtures', 'faces');
const dir = mkdtempSync(path.join(tmpdir(), 'emobot-look-'));

t.test('--json: one line per photo, every face with box, landmarks, label and probabilities', async (t) => {
  const result = await runCli(['look', path.join(faces, 'astronaut.png'), path.join(faces, 'chelsea.png'), '--json']);
  t.equal(result.code, 0, result.stderr);
  const lines = result.stdout.trim().split('\n').map((l) => JSON.parse(l));
  t.equal(lines.length, 2);
  t.equal(lines[0].file, path.join(faces, 'astronaut.png'));
  t.equal(lines[0].faces.length, 1, 'one photo is enough: no confirmation over frames');
  const [face] = lines[0].faces;
  t.equal(face.label, 'happy');
  t.same(Object.keys(face.probabilities), ['angry', 'disgust', 'fear', 'happy', 'sad', 'surprise', 'neutral']);
  t.equal(face.confidence, face.probabilities.happy);
  const total = Object.values(face.probabilities as Record<string, number>).reduce((a, b) => a + b, 0);
  t.ok(Math.abs(total - 1) < 0.001, `probabilities sum to 1 (${total})`);
  t.same(Object.keys(face.landmarks), ['rightEye', 'leftEye', 'nose', 'mouth', 'rightEar', 'leftEar']);
  t.match(face.box, { x: Number, y: Number, width: Number, height: Number });
  t.same(lines[1], { file: path.join(faces, 'chelsea.png'), faces: [] }, 'the cat: no face');
});

t.test('a folder is read in name order; --annotate writes copies with the faces drawn on', async (t) => {
  const folder = path.join(dir, 'photos');
  mkdirSync(folder);
  copyFileSync(path.join(faces, 'grace_hopper.jpg'), path.join(folder, 'b.jpg'));
  copyFileSync(path.join(faces, 'astronaut.png'), path.join(folder, 'a.png'));
  copyFileSync(path.join(faces, 'README.md'), path.join(folder, 'notes.md'));
  const out = path.join(dir, 'annotated');
  const result = await runCli(['look', folder, '--annotate', out]);
  t.equal(result.code, 0, result.stderr);
  t.match(result.stdout, /a\.png: 1 face\(s\)\n {2}face 1 at \d+,\d+ \d+x\d+: happy \(happy \d+%/);
  t.ok(result.stdout.indexOf('a.png') < result.stdout.indexOf('b.jpg'), 'name order');
  t.notMatch(result.stdout, /notes\.md/, 'only image files');
  t.same(readdirSync(out).sort(), ['a.png.annotated.jpg', 'b.jpg.annotated.jpg']);
  // Against the same photo through the same JPEG encoder: what differs beyond its noise was drawn.
  const plain = path.join(dir, 'plain.jpg');
  cv.imwrite(plain, cv.imread(path.join(folder, 'a.png')));
  const original = cv.imread(plain);
  const drawn = cv.imread(path.join(out, 'a.png.annotated.jpg'));
  t.same([drawn.cols, drawn.rows], [original.cols, original.rows]);
  const changed = drawn.absdiff(original).cvtColor(cv.COLOR_BGR2GRAY).threshold(64, 255, cv.THRESH_BINARY).countNonZero();
  t.ok(changed > 2000, `boxes, labels and bars were drawn (${changed} pixels changed by more than 64 levels)`);
});

t.test('a photo that cannot be read is named, the others still looked at, exit 1', async (t) => {
  const broken = path.join(dir, 'broken.jpg');
  copyFileSync(path.join(faces, 'README.md'), broken);
  const result = await runCli(['look', broken, path.join(faces, 'astronaut.png'), '--json']);
  t.equal(result.code, 1);
  t.match(result.stderr, /cannot read image .*broken\.jpg/);
  t.equal(result.stdout.trim().split('\n').length, 1, 'the readable photo was still looked at');
});

t.test('--annotate never overwrites a photo, nor one annotation with another', async (t) => {
  const a = path.join(dir, 'one');
  const b = path.join(dir, 'two');
  mkdirSync(a);
  mkdirSync(b);
  copyFileSync(path.join(faces, 'astronaut.png'), path.join(a, 'x.png'));
  copyFileSync(path.join(faces, 'grace_hopper.jpg'), path.join(b, 'x.png'));
  const clash = await runCli(['look', a, b, '--annotate', path.join(dir, 'out')]);
  t.equal(clash.code, 2);
  t.match(clash.stderr, /one\/x\.png and .*two\/x\.png would both be annotated as/);
  t.notOk(existsSync(path.join(dir, 'out')), 'nothing written');
  copyFileSync(path.join(faces, 'astronaut.png'), path.join(a, 'y.png'));
  copyFileSync(path.join(faces, 'astronaut.png'), path.join(a, 'y.png.annotated.jpg'));
  const self = await runCli(['look', path.join(a, 'y.png.annotated.jpg'), path.join(a, 'y.png'), '--annotate', a]);
  t.equal(self.code, 2);
  t.match(self.stderr, /would overwrite the photo/);
});

t.test('a folder without photos is an error that names it', async (t) => {
  const empty = path.join(dir, 'empty');
  mkdirSync(empty);
  const result = await runCli(['look', empty]);
  t.equal(result.code, 2);
  t.match(result.stderr, /no photos .* in .*empty/);
});

t.test('no photo named: usage', async (t) => {
  const result = await runCli(['look']);
  t.equal(result.code, 2);
  t.match(result.stderr, /usage: emobot look <image\|folder>/);
});
