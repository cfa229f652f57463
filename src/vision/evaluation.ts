import { EmotionClassifier } from './classifier.js';
import { readIdxImages, readIdxLabels } from './idx.js';
import { classificationReport, type ClassificationReport } from './metrics.js';
import { facesToTensor, idxImageMat } from './preprocess.js';

export interface EvaluationOptions {
  model: string;
  images: string;
  labels: string;
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
export async function evaluateModel(options: EvaluationOptions): Promise<EvalModelResult> {
  const images = readIdxImages(options.images);
  const allLabels = readIdxLabels(options.labels);
  if (allLabels.length !== images.count) throw new Error(`${options.images} has ${images.count} images but ${options.labels} has ${allLabels.length} labels`);
  const count = Math.min(images.count, options.limit ?? Infinity);
  const labels = allLabels.subarray(0, count);
  const classifier = await EmotionClassifier.load(options.model, { executionProvider: options.executionProvider, threads: options.threads });
  try {
    const predicted = new Uint8Array(count);
    let elapsedMs = 0;
    for (let start = 0; start < count; start += options.batch) {
      const n = Math.min(options.batch, count - start);
      const faces = Array.from({ length: n }, (_, i) => idxImageMat(images, start + i));
      const began = performance.now();
      predicted.set(await classifier.topClasses(facesToTensor(faces, classifier.card), n), start);
      elapsedMs += performance.now() - began;
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

