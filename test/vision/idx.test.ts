import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import t from 'tap';
import { readIdxImages, readIdxLabels } from '../../src/vision/idx.js';
import { writeIdx } from '../helpers/idx.js';

const dir = mkdtempSync(path.join(tmpdir(), 'emobot-idx-'));

t.test('reads gzipped and plain IDX images and labels', async (t) => {
  for (const gzip of [true, false]) {
    const files = writeIdx(path.join(dir, `set-${gzip}`), [[1, 2, 3, 4, 5, 6], [7, 8, 9, 10, 11, 12]], 2, 3, [5, 0], gzip);
    const images = readIdxImages(files.images);
    t.same({ count: images.count, rows: images.rows, cols: images.cols }, { count: 2, rows: 2, cols: 3 });
    t.same(Array.from(images.pixels.subarray(6, 12)), [7, 8, 9, 10, 11, 12]);
    t.same(Array.from(readIdxLabels(files.labels)), [5, 0]);
  }
});

t.test('wrong magic, truncation and bad gzip are errors naming the file', async (t) => {
  const files = writeIdx(path.join(dir, 'ok'), [[1, 2, 3, 4]], 2, 2, [1]);
  t.throws(() => readIdxImages(files.labels), { name: 'IdxError', message: /ok-labels-idx1-ubyte\.gz: not an IDX image file/ });
  t.throws(() => readIdxLabels(files.images), { name: 'IdxError', message: /not an IDX label file/ });
  const short = path.join(dir, 'short.gz');
  const head = Buffer.alloc(16);
  head.writeUInt32BE(0x803, 0);
  head.writeUInt32BE(10, 4);
  head.writeUInt32BE(48, 8);
  head.writeUInt32BE(48, 12);
  writeFileSync(short, gzipSync(head));
  t.throws(() => readIdxImages(short), { message: /short\.gz: 16 bytes, expected 23056 for 10 images of 48x48/ });
  const broken = path.join(dir, 'broken.gz');
  writeFileSync(broken, Buffer.from([0x1f, 0x8b, 1, 2, 3]));
  t.throws(() => readIdxImages(broken), { message: /broken\.gz: not valid gzip/ });
  t.throws(() => readIdxImages(path.join(dir, 'absent.gz')), { message: /absent\.gz: ENOENT/ });
});
