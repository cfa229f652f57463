import { EmotionClassifier } from '../vision/classifier.js';
import { readIdxImages, readIdxLabels } from '../vision/idx.js';
import { argmax, classificationReport, type ClassificationReport } from '../vision/metrics.js';
import { facesToTensor, idxImageMat } from '../vision/preprocess.js';

export interface EvalModelOptions {
  model: string;
  images: string;
  labels: string;
  json: boolean;
  executionProvider: string;
  threads: number;
  batch: number;
  /** Only the first n images. */
  limit?: number;
}

export interface EvalModelResult extends ClassificationReport {
  model: string;
  executionProvider: string;
  testTimeFlip: boolean;
  batch: number;
  /** Preprocessing + inference wall time per image, at the given batch size. */
  msPerImage: number;
}

/** Accuracy of a classifier on an IDX image/label pair, preprocessed exactly as the live pipeline does. */
export async function evaluateModel(options: Omit<EvalModelOptions, 'json'>): Promise<EvalModelResult> {
  const images = readIdxImages(options.images);
  const allLabels = readIdxLabels(options.labels);
  if (allLabels.length !== images.count) throw new Error(`${options.images} has ${images.count} images but ${options.labels} has ${allLabels.length} labels`);
  const count = Math.min(images.count, options.limit ?? Infinity);
  const labels = allLabels.subarray(0, count);
  const classifier = await EmotionClassifier.load(options.model, { executionProvider: options.executionProvider, threads: options.threads });
  try {
    const k = classifier.labels.length;
    const predicted = new Uint8Array(count);
    let elapsedMs = 0;
    for (let start = 0; start < count; start += options.batch) {
      const n = Math.min(options.batch, count - start);
      const faces = Array.from({ length: n }, (_, i) => idxImageMat(images, start + i));
      const began = performance.now();
      const probs = await classifier.probabilities(facesToTensor(faces, classifier.card), n);
      elapsedMs += performance.now() - began;
      for (let i = 0; i < n; i++) predicted[start + i] = argmax(probs.subarray(i * k, (i + 1) * k));
    }
    return {
      model: options.model,
      executionProvider: classifier.executionProvider,
      testTimeFlip: classifier.card.test_time_flip,
      batch: options.batch,
      msPerImage: count ? elapsedMs / count : 0,
      ...classificationReport(labels, predicted, classifier.labels),
    };
  } finally {
    await classifier.release();
  }
}

export async function evalModelCommand(options: EvalModelOptions): Promise<number> {
  const result = await evaluateModel(options);
  process.stdout.write(options.json ? `${JSON.stringify(result)}\n` : formatReport(result));
  return 0;
}

const pct = (x: number) => `${(x * 100).toFixed(2)}%`;

export function formatReport(r: EvalModelResult): string {
  const labels = Object.keys(r.perClass);
  const width = Math.max(8, ...labels.map((l) => l.length));
  const lines = [
    `model        ${r.model} (${r.executionProvider}${r.testTimeFlip ? ', flip-averaged' : ''})`,
    `images       ${r.count}`,
    `accuracy     ${pct(r.accuracy)}`,
    `macro-F1     ${pct(r.macroF1)}`,
    `ms/image     ${r.msPerImage.toFixed(3)} (batch ${r.batch})`,
    '',
    `${'class'.padEnd(width)}  count  recall  precision     F1`,
    ...labels.map((l) => {
      const m = r.perClass[l]!;
      return `${l.padEnd(width)}  ${String(m.count).padStart(5)}  ${pct(m.recall).padStart(6)}  ${pct(m.precision).padStart(9)}  ${pct(m.f1).padStart(6)}`;
    }),
    '',
    `confusion (rows: true class, columns: predicted)`,
    `${''.padEnd(width)}  ${labels.map((l) => l.slice(0, 5).padStart(5)).join(' ')}`,
    ...r.confusion.map((row, i) => `${labels[i]!.padEnd(width)}  ${row.map((v) => String(v).padStart(5)).join(' ')}`),
  ];
  return `${lines.join('\n')}\n`;
}
