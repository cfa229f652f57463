import t from 'tap';
import { EmotionClassifier } from '../../src/vision/classifier.js';
import { providerUnavailable } from '../../src/vision/execution-providers.js';
import { grayMat } from '../../src/vision/preprocess.js';
import { tinyModel } from '../helpers/models.js';

const softmax = (xs: number[]) => {
  const e = xs.map((x) => Math.exp(x - Math.max(...xs)));
  const sum = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / sum);
};
const normalised = (pixels: number[]) => pixels.map((p) => (p / 255 - 0.5) / 0.25);
const close = (a: ArrayLike<number>, b: number[]) => Array.from(a).every((v, i) => Math.abs(v - b[i]!) < 1e-5);

t.test('probabilities are the softmax of the model output, per face, in label order', async (t) => {
  const classifier = await EmotionClassifier.load(tinyModel(), { executionProvider: 'cpu', threads: 1 });
  t.teardown(() => classifier.release());
  t.equal(classifier.executionProvider, 'cpu');
  t.equal(classifier.fallbackReason, undefined);
  const faces = [[255, 0, 0, 0], [0, 0, 30, 200]];
  const probs = await classifier.classify(faces.map((p) => grayMat(new Uint8Array(p), 2, 2)));
  t.equal(probs.length, 2);
  faces.forEach((p, i) => t.ok(close(probs[i]!, softmax(normalised(p))), `face ${i}`));
  t.same(await classifier.classify([]), []);
});

t.test('topClasses names the most probable label of each face in a preprocessed batch', async (t) => {
  const classifier = await EmotionClassifier.load(tinyModel(), { executionProvider: 'cpu', threads: 1 });
  t.teardown(() => classifier.release());
  const faces = [[255, 0, 0, 0], [0, 0, 30, 200], [0, 90, 10, 0]];
  t.same(Array.from(await classifier.topClasses(Float32Array.from(faces.flatMap(normalised)), faces.length)), [0, 3, 1]);
});

t.test('test-time flip averages the prediction of the face and its mirror image', async (t) => {
  const classifier = await EmotionClassifier.load(tinyModel((card) => (card.test_time_flip = true)), { executionProvider: 'cpu', threads: 1 });
  t.teardown(() => classifier.release());
  const pixels = [255, 0, 0, 100];
  const mirrored = [0, 255, 100, 0];
  const [probs] = await classifier.classify([grayMat(new Uint8Array(pixels), 2, 2)]);
  const a = softmax(normalised(pixels));
  const b = softmax(normalised(mirrored));
  t.ok(close(probs!, a.map((v, i) => (v + b[i]!) / 2)));
});

t.test("the card's logit offsets shift the logits before the softmax", async (t) => {
  const offsets = [0.5, 0, 0, -2];
  const classifier = await EmotionClassifier.load(tinyModel((card) => (card.output.logit_offsets = offsets)), { executionProvider: 'cpu', threads: 1 });
  t.teardown(() => classifier.release());
  const pixels = [200, 200, 0, 255];
  const [probs] = await classifier.classify([grayMat(new Uint8Array(pixels), 2, 2)]);
  t.ok(close(probs!, softmax(normalised(pixels).map((v, i) => v + offsets[i]!))));
  t.equal(Array.from(probs!).indexOf(Math.max(...probs!)), 0, 'the largest logit (last) loses to the first after its offset');
});

t.test('with test-time flip, the face and its mirror image each get the offsets before their softmax', async (t) => {
  const offsets = [0, 0, -1, 1];
  const classifier = await EmotionClassifier.load(tinyModel((card) => {
    card.test_time_flip = true;
    card.output.logit_offsets = offsets;
  }), { executionProvider: 'cpu', threads: 1 });
  t.teardown(() => classifier.release());
  const shifted = (pixels: number[]) => softmax(normalised(pixels).map((v, i) => v + offsets[i]!));
  const [probs] = await classifier.classify([grayMat(new Uint8Array([255, 0, 0, 100]), 2, 2)]);
  const a = shifted([255, 0, 0, 100]);
  const b = shifted([0, 255, 100, 0]);
  t.ok(close(probs!, a.map((v, i) => (v + b[i]!) / 2)));
});

t.test('an execution provider this installation lacks is not tried: CPU runs, and the reason is what the installation says', async (t) => {
  const classifier = await EmotionClassifier.load(tinyModel(), { executionProvider: 'cuda', threads: 0 });
  t.teardown(() => classifier.release());
  t.equal(classifier.executionProvider, 'cpu');
  t.equal(classifier.fallbackReason, providerUnavailable('cuda'));
  t.ok(classifier.fallbackReason);
});

t.test('a card that does not fit the model is refused with both sides named', async (t) => {
  await t.rejects(EmotionClassifier.load(tinyModel((card) => (card.input.name = 'pixels')), { executionProvider: 'cpu', threads: 1 }), {
    name: 'ModelLoadError',
    message: /model card names input "pixels" \/ output "logits", the model has input \/ logits/,
  });
  await t.rejects(EmotionClassifier.load(tinyModel((card) => (card.input.width = 3)), { executionProvider: 'cpu', threads: 1 }), {
    message: /model card describes input 1x1x2x3, the model takes batchx1x2x2/,
  });
});

t.test('a corrupt model file is a ModelLoadError naming it', async (t) => {
  const { writeFileSync } = await import('node:fs');
  const model = tinyModel();
  writeFileSync(model, 'garbage');
  await t.rejects(EmotionClassifier.load(model, { executionProvider: 'cpu', threads: 1 }), { name: 'ModelLoadError', message: /tiny\.onnx/ });
});
