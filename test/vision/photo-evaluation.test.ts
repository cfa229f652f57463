import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
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
  t.throws(() => readManifest(write('gone.csv', 'file,label\nimages/a.jpg,3\nimages/none.jpg,3\n'), 7), /gone\.csv:3: no such photo "images\/none\.jpg" in /);
  t.throws(() => readManifest(path.join(dir, 'absent.csv'), 7), /absent\.csv: ENOENT/);
});

t.test('readManifest: a file that is not a manifest is not quoted back, a long label is cut short', async (t) => {
  const passwd = write('passwd', 'root:x:0:0:root:/root:/bin/bash\ndaemon:x:1:1::/usr/sbin:/usr/sbin/nologin\n');
  const notAManifest = t.throws(() => readManifest(passwd, 7)) as Error;
  t.match(notAManifest.message, /passwd:1: the header must name "file" and "label" columns; it has no "file" or "label"$/);
  t.notMatch(notAManifest.message, /root/);
  t.throws(() => readManifest(write('nolabel.csv', 'file,emotion\n'), 7), /nolabel\.csv:1: .*; it has no "label"$/, 'names only the column that is missing');
  const longLabel = t.throws(() => readManifest(write('longlabel.csv', `file,label\nimages/a.jpg,${'sk-secret-'.repeat(30)}\n`), 7)) as Error;
  t.match(longLabel.message, /longlabel\.csv:2: label must be an integer from 0 to 6, got ".*\.\.\. \(300 characters\)"$/);
  t.ok(longLabel.message.length < 200, `the message stays short (${longLabel.message.length} characters)`);
});

t.test('readManifest: photos are regular files inside the manifest\'s folder, links resolved', async (t) => {
  const set = path.join(dir, 'set');
  mkdirSync(path.join(set, 'photos'), { recursive: true });
  writeFileSync(path.join(set, 'photos', 'in.jpg'), '');
  writeFileSync(path.join(dir, 'outside.jpg'), '');
  symlinkSync(path.join(set, 'photos', 'in.jpg'), path.join(set, 'link-in.jpg'));
  symlinkSync(path.join(dir, 'outside.jpg'), path.join(set, 'link-out.jpg'));
  symlinkSync('/dev/zero', path.join(set, 'zero.jpg'));
  execFileSync('mkfifo', [path.join(set, 'fifo.jpg')]);
  const manifest = (name: string, photo: string) => {
    const file = path.join(set, name);
    writeFileSync(file, `file,label\nphotos/in.jpg,3\n${photo},3\n`);
    return file;
  };
  t.same(readManifest(manifest('ok.csv', 'link-in.jpg'), 7), [
    { file: path.join(set, 'photos', 'in.jpg'), label: 3 },
    { file: path.join(set, 'photos', 'in.jpg'), label: 3 },
  ], 'a link that stays inside is followed');
  t.same(readManifest(manifest('absolute.csv', path.join(set, 'photos', 'in.jpg')), 7)[1], { file: path.join(set, 'photos', 'in.jpg'), label: 3 }, 'an absolute path inside is fine');
  for (const [photo, why] of [
    ['../outside.jpg', 'a ../ path'],
    [path.join(dir, 'outside.jpg'), 'an absolute path elsewhere'],
    ['link-out.jpg', 'a link out'],
    ['zero.jpg', 'a link to a device'],
    ['/dev/zero', 'a device'],
  ] as const) {
    t.throws(() => readManifest(manifest('out.csv', photo), 7), new RegExp(`out\\.csv:3: photo ".*" is outside the manifest's folder ${set}$`), why);
  }
  t.throws(() => readManifest(manifest('fifo.csv', 'fifo.jpg'), 7), /fifo\.csv:3: photo "fifo\.jpg" is not a regular file$/, 'a FIFO, which would block the read');
  t.throws(() => readManifest(manifest('folder.csv', 'photos'), 7), /folder\.csv:3: photo "photos" is not a regular file$/);
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
