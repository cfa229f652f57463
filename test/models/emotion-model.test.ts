import { createHash } from 'node:crypto';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import * as ort from 'onnxruntime-node';
import t from 'tap';
import { EmotionClassifier } from '../../src/vision/classifier.js';
import { readIdxImages, readIdxLabels } from '../../src/vision/idx.js';
import { loadModelCard } from '../../src/vision/model-card.js';
import { facesToTensor, grayMat, idxImageMat } from '../../src/vision/preprocess.js';

const run = promisify(execFile);
// The emulated CPU below takes about a minute, more with other test files running beside it.
t.setTimeout(300_000);
const models = path.join(import.meta.dirname, '..', '..', 'models');
const fer = path.join(import.meta.dirname, '..', '..', '..', 'shared', 'data', 'fer2013');
const variants = ['fp32', 'int8'] as const;
const modelPath = (v: string) => path.join(models, `emotion-mobilenetv2-${v}.onnx`);
const { card } = loadModelCard(modelPath('int8'));
const raw = JSON.parse(readFileSync(path.join(models, 'emotion-mobilenetv2.json'), 'utf8')) as {
  files: Record<string, { path: string; bytes: number; sha256: string }>;
  evaluation: {
    fp32: { accuracy: number };
    int8: { accuracy: number };
    logit_offsets?: number[] | null;
    int8_across_cpus?: { basis: unknown; images: number; results: { cpu: string; int8_minus_fp32: number; agreement: number }[] };
  };
  input: unknown;
  output: unknown;
  test_time_flip: boolean;
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

t.test("the card's INT8 figures on other CPUs are of the committed files, and hold FP32's accuracy on each", async (t) => {
  const across = raw.evaluation.int8_across_cpus;
  if (!across) return t.fail('no evaluation.int8_across_cpus in the card: run models/training/int8-across-cpus.sh');
  t.same(
    across.basis,
    { int8_sha256: raw.files.int8!.sha256, fp32_sha256: raw.files.fp32!.sha256, runtime: { input: raw.input, output: raw.output, test_time_flip: raw.test_time_flip } },
    'measured on the committed files, used as the card says',
  );
  t.equal(across.images, 3589, 'on the whole validation split');
  t.ok(across.results.some((r) => /AVX2, no AVX-512, no VNNI/.test(r.cpu)), 'an x86 without VNNI is among them');
  t.ok(across.results.some((r) => /ARM64/.test(r.cpu)), 'an ARM64 CPU is among them');
  for (const r of across.results) t.ok(r.int8_minus_fp32 >= -0.01 && r.agreement >= 0.97, `${r.cpu}: INT8 minus FP32 ${(r.int8_minus_fp32 * 100).toFixed(2)} points, agreement ${(r.agreement * 100).toFixed(1)}%`);
});

const haveFer = existsSync(fer);

/** The first `count` validation images, preprocessed as the live pipeline does, and their labels. */
function validationTensor(count: number): { tensor: Float32Array; labels: Uint8Array } {
  const images = readIdxImages(path.join(fer, 'val-images-idx3-ubyte.gz'));
  const faces = Array.from({ length: count }, (_, i) => idxImageMat(images, i));
  return { tensor: facesToTensor(faces, card), labels: readIdxLabels(path.join(fer, 'val-labels-idx1-ubyte.gz')).subarray(0, count) };
}

async function topClasses(variant: string, tensor: Float32Array, count: number): Promise<Uint8Array> {
  const classifier = await EmotionClassifier.load(modelPath(variant), { executionProvider: 'cpu', threads: 1 });
  try {
    return await classifier.topClasses(tensor, count);
  } finally {
    await classifier.release();
  }
}

t.test('INT8 and FP32 agree on the top class for nearly every validation image', { skip: haveFer ? false : 'shared FER-2013 data not present' }, async (t) => {
  const count = 600;
  const { tensor, labels } = validationTensor(count);
  const fp32 = await topClasses('fp32', tensor, count);
  const int8 = await topClasses('int8', tensor, count);
  const agree = fp32.filter((c, i) => c === int8[i]).length / count;
  const correct = int8.filter((c, i) => c === labels[i]).length / count;
  t.ok(agree >= 0.97, `top class agreement ${(agree * 100).toFixed(1)}% on ${count} images`);
  t.ok(Math.abs(correct - raw.evaluation.int8.accuracy) < 0.06, `INT8 accuracy on these ${count}: ${(correct * 100).toFixed(1)}%, card: ${(raw.evaluation.int8.accuracy * 100).toFixed(1)}%`);
});

t.test('a face 2.7 stops under (a dim room) reads as it does lit: the card brings it to the training images\' levels', { skip: haveFer ? false : 'shared FER-2013 data not present' }, async (t) => {
  const count = 500;
  const images = readIdxImages(path.join(fer, 'val-images-idx3-ubyte.gz'));
  const size = images.rows * images.cols;
  const faces = (gain: number) => Array.from({ length: count }, (_, i) => grayMat(Uint8Array.from(images.pixels.subarray(i * size, (i + 1) * size), (v) => Math.round(v * gain)), images.rows, images.cols));
  const lit = await topClasses('int8', facesToTensor(faces(1), card), count);
  const agreement = (classes: Uint8Array) => classes.filter((c, i) => c === lit[i]).length / count;
  const dark = faces(0.15);
  const leveled = agreement(await topClasses('int8', facesToTensor(dark, card), count));
  const asCaptured = agreement(await topClasses('int8', facesToTensor(dark, { ...card, input: { ...card.input, crop: { ...card.input.crop, levels: undefined } } }), count));
  t.ok(card.input.crop.levels, 'the card has the training images\' levels');
  t.ok(leveled >= 0.88, `the same top class as lit for ${(leveled * 100).toFixed(1)}% of ${count} images (as captured: ${(asCaptured * 100).toFixed(1)}%)`);
  t.ok(leveled - asCaptured >= 0.1, 'the levels make the difference');
});

// onnxruntime's int8 kernels depend on the CPU: on x86 with AVX2 but without VNNI they add uint8 x int8
// products in a saturating 16-bit register, where a model quantized with full-range weights lost 3.5
// points on a real AMD EPYC. qemu-user (7.2 and later) emulates such a CPU instruction by instruction,
// saturation included, so any x86-64 host checks it.
t.test('INT8 and FP32 agree on an x86 CPU with AVX2 and no VNNI (emulated by qemu-user)', {
  skip: !haveFer ? 'shared FER-2013 data not present' : process.arch !== 'x64' ? 'x86 emulation is set up on x86-64 hosts only' : false,
}, async (t) => {
  const count = 200;
  const tool = path.join(models, 'training', 'int8-across-cpus.mjs');
  if (!existsSync(path.join(models, '..', 'dist', 'vision', 'classifier.js'))) return t.fail('dist/ is missing: bash scripts/setup.sh builds it');
  const work = mkdtempSync(path.join(tmpdir(), 'emobot-int8-avx2-'));
  t.teardown(() => rmSync(work, { recursive: true, force: true }));
  const answers = (variant: string) => path.join(work, `${variant}.u8`);
  const predict = (variant: string) => [tool, 'predict', work, modelPath(variant), answers(variant), '--cpu', variant === 'fp32' ? 'this machine' : 'emulated Haswell'];
  await run(process.execPath, [tool, 'tensors', path.join(fer, 'val-images-idx3-ubyte.gz'), path.join(fer, 'val-labels-idx1-ubyte.gz'), work, String(count)]);
  await run(process.execPath, predict('fp32'));
  const emulated = await run('qemu-x86_64', ['-cpu', 'Haswell', process.execPath, ...predict('int8'), '--against', answers('fp32')], { maxBuffer: 1 << 20 }).catch((err: NodeJS.ErrnoException) => {
    throw err.code === 'ENOENT' ? new Error('qemu-x86_64 is missing: bash scripts/setup.sh installs qemu-user') : err;
  });
  // An older qemu drops AVX2 with a warning, and onnxruntime would quietly take its SSE kernels.
  t.notMatch(emulated.stderr, /doesn't support requested feature: \S*\.(avx2|fma)\b/, 'qemu emulates AVX2 and FMA');
  const result = JSON.parse(emulated.stdout) as { images: number; agreement: number; minusReference: number };
  t.equal(result.images, count);
  t.ok(result.agreement >= 0.97, `top class agreement ${(result.agreement * 100).toFixed(1)}% on ${count} images`);
  t.ok(result.minusReference >= -0.02, `INT8 minus FP32: ${(result.minusReference * 100).toFixed(1)} points (within 2 on ${count} images)`);
});
