// Writes FER-2013's images as the live pipeline would crop them (dist/, built by scripts/setup.sh):
// each face found by the live detector, turned upright and framed as the model card's
// input.crop.align says, at its side. Training on these (`train.py --data <out folder>`) teaches the
// model the crops the robot gives it, rather than FER-2013's frames with their own roll and framing.
//   node models/training/align-training-images.mjs <fer2013 folder> <model card .json> <out folder>
import { copyFileSync, mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { configSchema } from '../../dist/config/schema.js';
import { createDetector } from '../../dist/vision/detector.js';
import { alignTrainingImages } from '../../dist/vision/framing.js';
import { readIdxImages, writeIdxImages } from '../../dist/vision/idx.js';

const [dataDir, cardFile, outDir] = process.argv.slice(2);
if (!outDir) {
  console.error('usage: align-training-images.mjs <fer2013 folder> <card.json> <out folder>');
  process.exit(2);
}
const { align } = JSON.parse(readFileSync(cardFile, 'utf8')).input.crop;
if (!align) throw new Error(`${cardFile} has no input.crop.align to align to`);
mkdirSync(outDir, { recursive: true });
const detector = await createDetector(configSchema.parse({}).vision.detection);
for (const split of ['train', 'val']) {
  const images = readIdxImages(path.join(dataDir, `${split}-images-idx3-ubyte.gz`));
  const { aligned, ...out } = await alignTrainingImages(images, detector, { align, pad: 0.25 });
  writeIdxImages(path.join(outDir, `${split}-images-idx3-ubyte.gz`), out);
  copyFileSync(path.join(dataDir, `${split}-labels-idx1-ubyte.gz`), path.join(outDir, `${split}-labels-idx1-ubyte.gz`));
  console.log(JSON.stringify({ split, images: images.count, aligned, side: out.cols }));
}
await detector.release();
