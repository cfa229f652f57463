// Writes a distillation teacher's expression probabilities for every image of an IDX split, as a
// NumPy .npy file (float32, N x 7, row i for record i, EmoBot's label order) that train.py's
// --teacher reads. The teacher is @vladmandic/face-api's expression model (MIT, weights in its npm
// package, a dev dependency), which was trained on other faces than FER-2013's: its view of each
// training image carries some of that data's knowledge into the student, which the robot runs.
//   node models/training/teacher-labels.mjs <images-idx3.gz> <out.npy>
import { writeFileSync } from 'node:fs';
import { FaceApiPeer } from '../../dist/bench/peer.js';
import { readIdxImages } from '../../dist/vision/idx.js';
import { idxImageMat } from '../../dist/vision/preprocess.js';

const LABELS = ['angry', 'disgust', 'fear', 'happy', 'sad', 'surprise', 'neutral'];
const [imagesFile, outFile] = process.argv.slice(2);
if (!outFile) {
  console.error('usage: teacher-labels.mjs <images-idx3.gz> <out.npy>');
  process.exit(2);
}

/** NumPy's .npy format, version 1.0: magic, header length, a Python dict literal padded to 64 bytes. */
function npy(values, rows, cols) {
  let header = `{'descr': '<f4', 'fortran_order': False, 'shape': (${rows}, ${cols}), }`;
  header += ' '.repeat(64 - ((10 + header.length + 1) % 64)) + '\n';
  const preamble = Buffer.alloc(10);
  preamble.write('\x93NUMPY', 0, 'latin1');
  preamble[6] = 1;
  preamble.writeUInt16LE(header.length, 8);
  return Buffer.concat([preamble, Buffer.from(header, 'latin1'), Buffer.from(values.buffer, values.byteOffset, values.byteLength)]);
}

const images = readIdxImages(imagesFile);
const teacher = await FaceApiPeer.load(LABELS);
const out = new Float32Array(images.count * LABELS.length);
const began = performance.now();
for (let i = 0; i < images.count; i++) {
  const face = idxImageMat(images, i);
  out.set(await teacher.probabilities(face), i * LABELS.length);
  face.release();
  if ((i + 1) % 5000 === 0) console.error(`${i + 1}/${images.count} (${((performance.now() - began) / (i + 1)).toFixed(1)} ms each)`);
}
writeFileSync(outFile, npy(out, images.count, LABELS.length));
console.log(JSON.stringify({ teacher: teacher.name, images: images.count, out: outFile }));
