import { copyFileSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import t from 'tap';
import { runCli } from '../helpers/cli.js';

const faces = path.join(import.meta.dirname, '..', 'fixtures', 'faces');
const dir = mkdtempSync(path.join(tmpdir(), 'emobot-eval-faces-'));
// Eileen Collins smiles, Grace Hopper is neutral, and the cat has no human face: it counts as wrong.
// The photos lie beside the manifest, since a manifest names only photos inside its folder.
for (const photo of ['astronaut.png', 'grace_hopper.jpg', 'chelsea.png']) copyFileSync(path.join(faces, photo), path.join(dir, photo));
const manifest = path.join(dir, 'manifest.csv');
writeFileSync(manifest, 'file,label,note\nastronaut.png,3,smiling\ngrace_hopper.jpg,6,portrait\nchelsea.png,6,cat\n');

t.test('--json: faces found, accuracy, macro-F1, per-class support and recall, confusion', async (t) => {
  const result = await runCli(['eval-faces', '--manifest', manifest, '--json']);
  t.equal(result.code, 0, result.stderr);
  const report = JSON.parse(result.stdout);
  t.equal(report.images, 3);
  t.equal(report.faceFound, 2 / 3, 'no face on the cat');
  t.match(report.perClass.happy, { support: 1, recall: 1 });
  t.match(report.perClass.neutral, { support: 2 });
  t.ok(report.perClass.neutral.recall <= 0.5, 'the cat is a neutral photo counted wrong');
  t.equal(report.confusion.length, 7);
  t.equal(report.confusion.flat().reduce((a: number, b: number) => a + b, 0), 2, 'the confusion matrix holds the photos with a face');
  t.equal(report.confusion[3][3], 1, 'the smile is read as happy');
  t.match(report.detector, /^blazeface \(jp\.keijiro\.mediapipe\.blazeface \d/);
  t.ok(report.accuracy >= 1 / 3 && report.accuracy <= 2 / 3);
});

t.test('--pad adds a border first; the table for people', async (t) => {
  const result = await runCli(['eval-faces', '--manifest', manifest, '--pad', '0.25']);
  t.equal(result.code, 0, result.stderr);
  t.match(result.stdout, /^photos +3 from .*manifest\.csv, padded 25\.0% by edge replication$/m);
  t.match(result.stdout, /^faces found +66\.7%$/m);
  t.match(result.stdout, /^happy \(1\) +100\.0%$/m);
});

t.test('--peer runs face-api on the same photos, its own detector and on EmoBot\'s boxes', async (t) => {
  const result = await runCli(['eval-faces', '--manifest', manifest, '--json', '--peer']);
  t.equal(result.code, 0, result.stderr);
  const { peer } = JSON.parse(result.stdout);
  t.match(peer.name, /^@vladmandic\/face-api \d/);
  t.equal(peer.ownDetector.images, 3);
  t.equal(peer.onEmoBotBoxes.images, 3);
  t.equal(peer.onEmoBotBoxes.faceFound, 2 / 3, 'face-api classifies the faces EmoBot found');
  t.equal(peer.ownDetector.perClass.happy.recall, 1, 'face-api also sees the smile');
});

t.test('a bad manifest or --pad is an error that names it', async (t) => {
  const bad = path.join(dir, 'bad.csv');
  writeFileSync(bad, 'file,label\nx.jpg,9\n');
  const result = await runCli(['eval-faces', '--manifest', bad]);
  t.equal(result.code, 1);
  t.match(result.stderr, /bad\.csv:2: label must be an integer from 0 to 6, got "9"/);
  t.notMatch(result.stderr, /\n +at /, 'one line, no stack trace');
  const missing = path.join(dir, 'missing.csv');
  writeFileSync(missing, 'file,label\nnot-there.jpg,3\n');
  const gone = await runCli(['eval-faces', '--manifest', missing]);
  t.equal(gone.code, 1);
  t.match(gone.stderr, /missing\.csv:2: no such photo.*not-there\.jpg/);
  t.notMatch(gone.stderr, /\n +at /, 'one line, no stack trace');
  const usage = await runCli(['eval-faces', '--manifest', manifest, '--pad', 'lots']);
  t.equal(usage.code, 2);
  t.match(usage.stderr, /usage: emobot eval-faces --manifest <csv>/);
});

t.test('--face-width: each face that wide in a 640x480 frame first, and a photo without a face at full size stays without one', async (t) => {
  const near = JSON.parse((await runCli(['eval-faces', '--manifest', manifest, '--json'])).stdout);
  const result = await runCli(['eval-faces', '--manifest', manifest, '--face-width', '64', '--json']);
  t.equal(result.code, 0, result.stderr);
  const far = JSON.parse(result.stdout);
  t.equal(far.faceWidth, 64);
  t.equal(far.faceFound, 2 / 3, 'both faces found at 64 px');
  t.same(far.confusion[3], near.confusion[3], 'the smile read as at full size');
  const tiny = JSON.parse((await runCli(['eval-faces', '--manifest', manifest, '--face-width', '16', '--json'])).stdout);
  t.equal(tiny.faceFound, 0, 'at 16 px, nobody');
  const table = await runCli(['eval-faces', '--manifest', manifest, '--face-width', '64']);
  t.match(table.stdout, /^faces +scaled to 64 px wide in a 640x480 frame$/m);
  for (const bad of [['--face-width', '8'], ['--face-width', '40.5'], ['--face-width', 'x'], ['--face-width', '1e2'], ['--face-width', '0x40'], ['--face-width', ' 40'], ['--face-width', '40', '--peer']]) {
    const refused = await runCli(['eval-faces', '--manifest', manifest, ...bad]);
    t.equal(refused.code, 2, bad.join(' '));
    t.match(refused.stderr, /--face-width <px 16\.\.320> \| --peer/);
  }
});
