// Records the value range of every activation the INT8 model will quantize, by running the
// "augmented" FP32 model (see quantize.py prepare) in onnxruntime-node on the calibration images,
// preprocessed by the runtime's own code (dist/, built by scripts/setup.sh).
//   node models/training/calibrate-activations.mjs <augmented.onnx> <model card .json> <list.csv> <train-images-idx3.gz> <ranges.json>
import { readFileSync, writeFileSync } from 'node:fs';
import * as ort from 'onnxruntime-node';
import { modelCardSchema } from '../../dist/vision/model-card.js';
import { readIdxImages } from '../../dist/vision/idx.js';
import { facesToTensor, idxImageMat } from '../../dist/vision/preprocess.js';

const [augmented, cardFile, listFile, imagesFile, rangesFile] = process.argv.slice(2);
if (!rangesFile) {
  console.error('usage: calibrate-activations.mjs <augmented.onnx> <card.json> <list.csv> <images-idx3.gz> <ranges.json>');
  process.exit(2);
}
const card = modelCardSchema.parse(JSON.parse(readFileSync(cardFile, 'utf8')));
const indices = readFileSync(listFile, 'utf8').split('\n').filter((l) => /^\d/.test(l)).map((l) => Number(l.split(',')[0]));
const images = readIdxImages(imagesFile);
const session = await ort.InferenceSession.create(augmented, { graphOptimizationLevel: 'disabled' });
const ranges = {};
const update = (name, data) => {
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of data) {
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  const r = (ranges[name] ??= [Infinity, -Infinity]);
  r[0] = Math.min(r[0], lo);
  r[1] = Math.max(r[1], hi);
};
const batch = 50;
for (let start = 0; start < indices.length; start += batch) {
  const chunk = indices.slice(start, start + batch);
  const faces = chunk.map((i) => idxImageMat(images, i));
  const input = facesToTensor(faces, card);
  const { channels, width, height } = card.input;
  update(card.input.name, input);
  const outputs = await session.run({ [card.input.name]: new ort.Tensor('float32', input, [chunk.length, channels, height, width]) });
  for (const [name, tensor] of Object.entries(outputs)) if (name !== card.output.name) update(name, tensor.data);
}
writeFileSync(rangesFile, `${JSON.stringify(ranges, null, 1)}\n`);
console.log(JSON.stringify({ images: indices.length, tensors: Object.keys(ranges).length, ranges: rangesFile }));
