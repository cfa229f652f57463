import { writeFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';

/** Writes an IDX image file and its label file, gzipped like shared/data/fer2013. */
export function writeIdx(prefix: string, images: number[][], rows: number, cols: number, labels: number[], gzip = true) {
  const head = Buffer.alloc(16);
  head.writeUInt32BE(0x803, 0);
  head.writeUInt32BE(images.length, 4);
  head.writeUInt32BE(rows, 8);
  head.writeUInt32BE(cols, 12);
  const imageBytes = Buffer.concat([head, Buffer.from(images.flat())]);
  const labelHead = Buffer.alloc(8);
  labelHead.writeUInt32BE(0x801, 0);
  labelHead.writeUInt32BE(labels.length, 4);
  const labelBytes = Buffer.concat([labelHead, Buffer.from(labels)]);
  const suffix = gzip ? '.gz' : '';
  const files = { images: `${prefix}-images-idx3-ubyte${suffix}`, labels: `${prefix}-labels-idx1-ubyte${suffix}` };
  writeFileSync(files.images, gzip ? gzipSync(imageBytes) : imageBytes);
  writeFileSync(files.labels, gzip ? gzipSync(labelBytes) : labelBytes);
  return files;
}
