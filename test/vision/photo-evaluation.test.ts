import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import t from 'tap';
import { facesReport, readManifest } from '../../src/vision/photo-evaluation.js';

const dir = mkdtempSync(path.join(tmpdir(), 'emobot-manifest-'));
const write = (name: string, text: string) => {
  const file = path.join(dir, name);
  writeFileSync(file, text);
  return file;
};

mkdirSync(path.join(dir, 'images'));
for (const name of ['a.jpg', 'b, c.jpg']) writeFileSync(path.join(dir, 'images', name), '');

t.test('readManifest: file and label columns in any position, paths relative to the manifest, quotes, a BOM', async (t) => {
  const file = write('ok.csv', '\uFEFFclass, label ,file,extra\nhappy,3,images/a.jpg,x\n\nsad, 4 ,"images/b, c.jpg",y\r\n');
  t.same(readManifest(file, 7), [
    { file: path.join(dir, 'images/a.jpg'), label: 3 },
    { file: path.join(dir, 'images/b, c.jpg'), label: 4 },
  ]);
});

t.test('readManifest: errors name the file and line', async (t) => {
  t.throws(() => readManifest(write('noheader.csv', 'path,emotion\na.jpg,3\n'), 7), /noheader\.csv:1: the header must name "file" and "label"/);
  t.throws(() => readManifest(write('badlabel.csv', 'file,label\nimages/a.jpg,3\nb.jpg,happy\n'), 7), /badlabel\.csv:3: label must be an integer from 0 to 6, got "happy"/);
  t.throws(() => readManifest(write('range.csv', 'file,label\na.jpg,7\n'), 7), /range\.csv:2: label must be an integer from 0 to 6, got "7"/);
  t.throws(() => readManifest(write('nofile.csv', 'file,label\n,3\n'), 7), /nofile\.csv:2: no file/);
  for (const label of ['', ' ', '3.0', '0x3', '1e0', '-1']) {
    t.throws(() => readManifest(write('odd.csv', `file,label\nimages/a.jpg,${label}\n`), 7), /odd\.csv:2: label must be an integer from 0 to 6/, `label "${label}" is refused`);
  }
  t.throws(() => readManifest(write('gone.csv', 'file,label\nimages/a.jpg,3\nimages/none.jpg,3\n'), 7), /gone\.csv:3: no such photo: .*none\.jpg/);
  t.throws(() => readManifest(path.join(dir, 'absent.csv'), 7), /absent\.csv: ENOENT/);
});

t.test('facesReport: a photo without a face is wrong and lowers its class\'s recall, not another\'s precision', async (t) => {
  const labels = ['a', 'b', 'c'];
  // truth a a a b b c; predictions a, b, none, b, b, none
  const report = facesReport([0, 0, 0, 1, 1, 2], [0, 1, undefined, 1, 1, undefined], labels);
  t.equal(report.images, 6);
  t.equal(report.faceFound, 4 / 6);
  t.equal(report.accuracy, 3 / 6);
  t.same(report.confusion, [
    [1, 1, 0],
    [0, 2, 0],
    [0, 0, 0],
  ]);
  t.match(report.perClass.a, { support: 3, recall: 1 / 3, precision: 1, faceFound: 2 / 3 });
  t.match(report.perClass.b, { support: 2, recall: 1, precision: 2 / 3, faceFound: 1 });
  t.match(report.perClass.c, { support: 1, recall: 0, precision: 0, f1: 0, faceFound: 0 });
  const f1 = (p: number, r: number) => (2 * p * r) / (p + r);
  t.ok(Math.abs(report.macroF1 - (f1(1, 1 / 3) + f1(2 / 3, 1) + 0) / 3) < 1e-12, 'macro-F1 over all classes');
});

t.test('facesReport of nothing is all zeros, not NaN', async (t) => {
  t.match(facesReport([], [], ['a']), { images: 0, faceFound: 0, accuracy: 0, macroF1: 0 });
});
