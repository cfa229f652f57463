import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import t from 'tap';
import { runCli } from '../helpers/cli.js';
import { writeIdx } from '../helpers/idx.js';
import { tinyModel } from '../helpers/models.js';

const dir = mkdtempSync(path.join(tmpdir(), 'emobot-eval-'));
// The tiny model predicts the position of the brightest pixel; 2x2 images keep its arithmetic obvious.
const bright = (k: number) => [0, 0, 0, 0].map((_, i) => (i === k ? 250 : 10));
const images = [bright(0), bright(0), bright(1), bright(2), bright(3), bright(3), bright(3), bright(1)];
const labels = [0, 0, 1, 2, 3, 3, 2, 0];
const files = writeIdx(path.join(dir, 'fixture'), images, 2, 2, labels);

t.test('--json reports accuracy, macro-F1, per-class metrics, the confusion matrix and speed', async (t) => {
  const model = tinyModel();
  const result = await runCli(['eval-model', '--model', model, '--images', files.images, '--labels', files.labels, '--json', '--batch', '3']);
  t.equal(result.code, 0, result.stderr);
  const report = JSON.parse(result.stdout);
  t.equal(report.count, 8);
  t.equal(report.accuracy, 6 / 8);
  t.same(report.confusion, [
    [2, 1, 0, 0],
    [0, 1, 0, 0],
    [0, 0, 1, 1],
    [0, 0, 0, 2],
  ]);
  t.same(report.perClass['top-left'], { count: 3, recall: 2 / 3, precision: 1, f1: 0.8 });
  t.ok(report.macroF1 > 0 && report.macroF1 < 1);
  t.ok(report.msPerImage > 0);
  t.match(report, { executionProvider: 'cpu', batch: 3, testTimeFlip: false, model });
});

t.test('the table for people', async (t) => {
  const result = await runCli(['eval-model', '--model', tinyModel(), '--images', files.images, '--labels', files.labels]);
  t.equal(result.code, 0);
  t.match(result.stdout, /^accuracy +75\.00%$/m);
  t.match(result.stdout, /^top-left +3 +66\.67% +100\.00% +80\.00%$/m);
  t.match(result.stdout, /^confusion \(rows: true class, columns: predicted\)$/m);
});

t.test('missing arguments are a usage error; mismatched files are named', async (t) => {
  const usage = await runCli(['eval-model', '--model', 'x.onnx']);
  t.equal(usage.code, 2);
  t.match(usage.stderr, /usage: emobot eval-model --model <onnx> --images/);
  const other = writeIdx(path.join(dir, 'other'), [bright(0)], 2, 2, [0]);
  const mismatch = await runCli(['eval-model', '--model', tinyModel(), '--images', files.images, '--labels', other.labels]);
  t.equal(mismatch.code, 1);
  t.match(mismatch.stderr, /has 8 images but .*other-labels-idx1-ubyte\.gz has 1 labels/);
});
