import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import t from 'tap';
import { EmotionClassifier } from '../../src/vision/classifier.js';
import { readIdxImages, readIdxLabels } from '../../src/vision/idx.js';
import { argmax } from '../../src/vision/metrics.js';
import { loadModelCard } from '../../src/vision/model-card.js';
import { facesToTensor, idxImageMat } from '../../src/vision/preprocess.js';

const models = path.join(import.meta.dirname, '..', '..', 'models');
const fer = path.join(import.meta.dirname, '..', '..', '..', 'shared', 'data', 'fer2013');
const variants = ['fp32', 'int8'] as const;
const modelPath = (v: string) => path.join(models, `emotion-mobilenetv2-${v}.onnx`);
const { card } = loadModelCard(modelPath('int8'));
const raw = JSON.parse(readFileSync(path.join(models, 'emotion-mobilenetv2.json'), 'utf8')) as {
  files: Record<string, { path: string; bytes: number; sha256: string }>;
  evaluation: { fp32: { accuracy: number }; int8: { accuracy: number }; logit_offsets?: number[] | null };
};

t.test('the model card describes the committed files: sha256, size, input shape, labels', async (t) => {
  t.same(card.labels, ['angry', 'disgust', 'fear', 'happy', 'sad', 'surprise', 'neutral'], 'FER-2013 label order');
  for (const variant of variants) {
    const bytes = readFileSync(modelPath(variant));
    t.equal(raw.files[variant]!.sha256, createHash('sha256').update(bytes).digest('hex'), `${variant} sha256`);
    t.equal(raw.files[variant]!.bytes, bytes.length, `${variant} size`);
    const session = await ort.InferenceSession.create(modelPath(variant));
    const input = session.inputMetadata.find((m) => m.name === card.input.name);
    const output = session.outputMetadata.find((m) => m.name === card.output.name);
    t.ok(input?.isTensor && output?.isTensor);
    if (input?.isTensor && output?.isTensor) {
      t.same(input.shape.slice(1), [card.input.channels, card.input.height, card.input.width], `${variant} input shape`);
      t.equal(output.shape[1], card.labels.length, `${variant} outputs one logit per label`);
    }
    await session.release();
  }
  t.same(raw.evaluation.logit_offsets ?? null, card.output.logit_offsets ?? null, "the card's figures were measured with its logit offsets");
});

t.test('INT8 holds the FP32 accuracy recorded in the card', async (t) => {
  t.ok(raw.evaluation.int8.accuracy >= raw.evaluation.fp32.accuracy - 0.01, `INT8 ${raw.evaluation.int8.accuracy} vs FP32 ${raw.evaluation.fp32.accuracy}`);
});

t.test('INT8 and FP32 agree on the top class for nearly every validation image', { skip: existsSync(fer) ? false : 'shared FER-2013 data not present' }, async (t) => {
  const images = readIdxImages(path.join(fer, 'val-images-idx3-ubyte.gz'));
  const labels = readIdxLabels(path.join(fer, 'val-labels-idx1-ubyte.gz'));
  const count = 600;
  const faces = Array.from({ length: count }, (_, i) => idxImageMat(images, i));
  const tensor = facesToTensor(faces, card);
  const top: Record<string, number[]> = {};
  for (const variant of variants) {
    const classifier = await EmotionClassifier.load(modelPath(variant), { executionProvider: 'cpu', threads: 1 });
    const probs = await classifier.probabilities(tensor, count);
    top[variant] = Array.from({ length: count }, (_, i) => argmax(probs.subarray(i * 7, (i + 1) * 7)));
    await classifier.release();
  }
  const agree = top.fp32!.filter((c, i) => c === top.int8![i]).length / count;
  const correct = top.int8!.filter((c, i) => c === labels[i]).length / count;
  t.ok(agree >= 0.97, `top class agreement ${(agree * 100).toFixed(1)}% on ${count} images`);
  t.ok(Math.abs(correct - raw.evaluation.int8.accuracy) < 0.06, `INT8 accuracy on these ${count}: ${(correct * 100).toFixed(1)}%, card: ${(raw.evaluation.int8.accuracy * 100).toFixed(1)}%`);
});
