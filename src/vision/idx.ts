import { readFileSync, writeFileSync } from 'node:fs';
import { gunzipSync, gzipSync } from 'node:zlib';

/** The IDX format of MNIST and of shared/data/fer2013: big-endian header, then raw uint8 records. */
export interface IdxImages {
  count: number;
  rows: number;
  cols: number;
  /** Record i is pixels.subarray(i * rows * cols, (i + 1) * rows * cols). */
  pixels: Uint8Array;
}

export class IdxError extends Error {
  constructor(readonly file: string, reason: string) {
    super(`${file}: ${reason}`);
    this.name = 'IdxError';
  }
}

function readMaybeGzipped(file: string): Buffer {
  let data: Buffer;
  try {
    data = readFileSync(file);
  } catch (err) {
    throw new IdxError(file, (err as Error).message);
  }
  if (data[0] !== 0x1f || data[1] !== 0x8b) return data;
  try {
    return gunzipSync(data);
  } catch (err) {
    throw new IdxError(file, `not valid gzip: ${(err as Error).message}`);
  }
}

export function readIdxImages(file: string): IdxImages {
  const data = readMaybeGzipped(file);
  if (data.length < 16 || data.readUInt32BE(0) !== 0x00000803) throw new IdxError(file, 'not an IDX image file (magic 0x00000803)');
  const count = data.readUInt32BE(4);
  const rows = data.readUInt32BE(8);
  const cols = data.readUInt32BE(12);
  const expected = 16 + count * rows * cols;
  if (data.length !== expected) throw new IdxError(file, `${data.length} bytes, expected ${expected} for ${count} images of ${rows}x${cols}`);
  return { count, rows, cols, pixels: new Uint8Array(data.buffer, data.byteOffset + 16, count * rows * cols) };
}

/** Images as a gzipped IDX file, as readIdxImages (and training's read_idx) read them. */
export function writeIdxImages(file: string, images: IdxImages): void {
  const head = Buffer.alloc(16);
  [0x00000803, images.count, images.rows, images.cols].forEach((value, i) => head.writeUInt32BE(value, 4 * i));
  writeFileSync(file, gzipSync(Buffer.concat([head, images.pixels.subarray(0, images.count * images.rows * images.cols)])));
}

export function readIdxLabels(file: string): Uint8Array {
  const data = readMaybeGzipped(file);
  if (data.length < 8 || data.readUInt32BE(0) !== 0x00000801) throw new IdxError(file, 'not an IDX label file (magic 0x00000801)');
  const count = data.readUInt32BE(4);
  if (data.length !== 8 + count) throw new IdxError(file, `${data.length} bytes, expected ${8 + count} for ${count} labels`);
  return new Uint8Array(data.buffer, data.byteOffset + 8, count);
}
