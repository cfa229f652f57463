// Measures the brightness and contrast of FER-2013's training images as the runtime sees them (at the
// model's input size, through dist/, built by scripts/setup.sh) and writes their range into the model
// card as input.crop.levels: a live face darker or flatter than that is brought to the range's edge.
//   node models/training/measure-levels.mjs <train-images-idx3.gz> <model card .json>
import { readFileSync, writeFileSync } from 'node:fs';
import { quantile, round } from '../../dist/bench/stats.js';
import { readIdxImages } from '../../dist/vision/idx.js';
import { modelCardSchema } from '../../dist/vision/model-card.js';
import { idxImageMat, modelPixels, pixelLevels } from '../../dist/vision/preprocess.js';

const [imagesFile, cardFile] = process.argv.slice(2);
if (!cardFile) {
  console.error('usage: measure-levels.mjs <train-images-idx3.gz> <card.json>');
  process.exit(2);
}
const images = readIdxImages(imagesFile);
const raw = JSON.parse(readFileSync(cardFile, 'utf8'));
const card = modelCardSchema.parse(raw);
const means = [];
const stds = [];
for (let i = 0; i < images.count; i++) {
  const face = idxImageMat(images, i);
  const level = pixelLevels(modelPixels(face, card));
  face.release();
  // FER-2013's blank placeholders are not faces.
  if (level.std < 1) continue;
  means.push(level.mean);
  stds.push(level.std);
}
means.sort((a, b) => a - b);
stds.sort((a, b) => a - b);
const range = (sorted) => [round(quantile(sorted, 0.05), 1), round(quantile(sorted, 0.95), 1)];
// The middle 90% of the training images: the model has seen plenty of faces lit like that. A stretch of
// up to 8 times recovers a face nearly 3 stops under, while sensor noise, stretched with it, stays
// under the face (figures in models/training/README.md, "Faces in poor light").
raw.input.crop.levels = {
  mean: range(means),
  std: range(stds),
  max_gain: 8,
  measured_on: `5th to 95th percentile of ${means.length} of ${images.count} training images at ${card.input.width} px`,
};
writeFileSync(cardFile, `${JSON.stringify(raw, null, 2)}\n`);
console.log(JSON.stringify(raw.input.crop.levels));
