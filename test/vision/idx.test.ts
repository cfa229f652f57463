import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import t from 'tap';
import { readIdxImages, readIdxLabels, writeIdxImages } from '../../src/vision/idx.js';
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

t.test('writeIdxImages writes gzipped IDX images that read back the same', async (t) => {
  const file = path.join(dir, 'written-images-idx3-ubyte.gz');
  // The pixels may be a view into a larger buffer: only the records' own bytes are written.
  const backing = Uint8Array.from({ length: 20 }, (_, i) => 100 + i);
  writeIdxImages(file, { count: 2, rows: 2, cols: 3, pixels: backing.subarray(2, 14) });
  const bytes = gunzipSync(readFileSync(file));
  t.same([bytes.readUInt32BE(0), bytes.readUInt32BE(4), bytes.readUInt32BE(8), bytes.readUInt32BE(12), bytes.length], [0x803, 2, 2, 3, 16 + 12]);
  const back = readIdxImages(file);
  t.same([back.count, back.rows, back.cols], [2, 2, 3]);
  t.same(Array.from(back.pixels), Array.from({ length: 12 }, (_, i) => 102 + i));
});
