// INT8 against FP32 on another CPU's kernels. onnxruntime picks its int8 kernels by the CPU's
// instruction set (AVX2 without VNNI saturates 16-bit sums, VNNI and ARM's dot product do not),
// so the same files can score differently on a robot's CPU than on the machine that made them.
//
//   tensors <images.idx3.gz> <labels.idx1.gz> <out-dir> [count]
//                                        (natively, with OpenCV) the first `count` images (0: all)
//                                        through the runtime's own preprocessing, as float32 NCHW in
//                                        tensors.f32, and their labels, one byte each, in labels.u8
//   predict <out-dir> <model.onnx> <answers.u8> --cpu <description> [--against <reference.u8>]
//                                        (on any CPU, even an emulated one: needs only onnxruntime)
//                                        the model's answers for those tensors, written one byte
//                                        each; prints the model file's sha256, accuracy and macro-F1,
//                                        and with --against the accuracy difference to and the
//                                        agreement with the reference's answers
//
// int8-across-cpus.sh runs `predict` natively and under qemu-user for CPUs this machine is not.
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { createHash } from 'node:crypto';

const [step, ...args] = process.argv.slice(2);
const dist = new URL('../../dist/vision/', import.meta.url);
const BATCH = 64;

if (step === 'tensors') {
  const [images, labelFile, out, count = '0'] = args;
  const { readIdxImages, readIdxLabels } = await import(new URL('idx.js', dist));
  const { facesToTensor, idxImageMat } = await import(new URL('preprocess.js', dist));
  const { loadModelCard } = await import(new URL('model-card.js', dist));
  const { card } = loadModelCard(new URL('../emotion-mobilenetv2-int8.onnx', import.meta.url).pathname);
  const idx = readIdxImages(images);
  const labels = readIdxLabels(labelFile);
  if (labels.length !== idx.count) throw new Error(`${images} has ${idx.count} images, ${labelFile} ${labels.length} labels`);
  if (!/^\d+$/.test(count) || Number(count) > idx.count) throw new Error(`count: ${count} is not a whole number from 0 to ${idx.count}`);
  const n = Number(count) || idx.count;
  const faces = Array.from({ length: n }, (_, i) => idxImageMat(idx, i));
  const tensor = facesToTensor(faces, card);
  writeFileSync(path.join(out, 'tensors.f32'), Buffer.from(tensor.buffer, tensor.byteOffset, tensor.byteLength));
  writeFileSync(path.join(out, 'labels.u8'), labels.subarray(0, n));
  console.log(JSON.stringify({ images: n, out }));
} else if (step === 'predict') {
  const { values, positionals } = parseArgs({ args, allowPositionals: true, options: { against: { type: 'string' }, cpu: { type: 'string' } } });
  const [folder, model, out] = positionals;
  if (!folder || !model || !out || !values.cpu) throw new Error('predict needs <out-dir> <model.onnx> <answers.u8> --cpu <description>');
  const { EmotionClassifier } = await import(new URL('classifier.js', dist));
  const { classificationReport } = await import(new URL('metrics.js', dist));
  const labels = readFileSync(path.join(folder, 'labels.u8'));
  const bytes = readFileSync(path.join(folder, 'tensors.f32'));
  const tensor = new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
  const classifier = await EmotionClassifier.load(model, { executionProvider: 'cpu', threads: 1 });
  const { channels, width, height } = classifier.card.input;
  const perImage = channels * width * height;
  if (tensor.length !== perImage * labels.length) throw new Error(`${folder}: tensors.f32 does not hold one ${channels}x${height}x${width} tensor per label of labels.u8`);
  const predicted = new Uint8Array(labels.length);
  for (let start = 0; start < labels.length; start += BATCH) {
    const n = Math.min(BATCH, labels.length - start);
    predicted.set(await classifier.topClasses(tensor.subarray(start * perImage, (start + n) * perImage), n), start);
  }
  await classifier.release();
  writeFileSync(out, predicted);
  const { accuracy, macroF1 } = classificationReport(labels, predicted, classifier.labels);
  const sha256 = createHash('sha256').update(readFileSync(model)).digest('hex');
  const result = { cpu: values.cpu, arch: process.arch, model: path.basename(model), sha256, images: labels.length, accuracy, macroF1 };
  if (values.against) {
    const reference = readFileSync(values.against);
    if (reference.length !== predicted.length) throw new Error(`${values.against} has ${reference.length} answers, not ${predicted.length}`);
    const { accuracy: referenceAccuracy } = classificationReport(labels, reference, classifier.labels);
    Object.assign(result, { minusReference: accuracy - referenceAccuracy, agreement: predicted.filter((c, i) => c === reference[i]).length / labels.length });
  }
  console.log(JSON.stringify(result));
} else {
  console.error('usage: int8-across-cpus.mjs tensors <images> <labels> <dir> [count] | predict <dir> <model> <answers> --cpu <description> [--against <reference>]');
  process.exit(2);
}
