import { existsSync } from 'node:fs';
import path from 'node:path';
import type { Mat } from '@u4/opencv4nodejs';
import { resolveAsset } from '../runtime/paths.js';
import { EmotionClassifier } from '../vision/classifier.js';
import { evaluateModel } from '../vision/evaluation.js';
import { round } from './stats.js';

/** The FER-2013 validation split as ../shared lays it out beside a checkout. */
export interface FerValidation {
  images: string;
  labels: string;
  /** Only the first n images (all when absent). */
  limit?: number;
}

export function ferValidation(dir: string, limit?: number): FerValidation | undefined {
  const images = path.join(dir, 'val-images-idx3-ubyte.gz');
  const labels = path.join(dir, 'val-labels-idx1-ubyte.gz');
  return existsSync(images) && existsSync(labels) ? { images, labels, ...(limit ? { limit } : {}) } : undefined;
}

export interface ModelFigures {
  model: string;
  faces: number;
  msPerFace: number;
  /** On the FER-2013 validation split, when it is present. */
  accuracy?: number;
  macroF1?: number;
}

export interface ModelComparison {
  /** What the timings ran on: the FER-2013 validation images, or face crops of the demo video. */
  on: string;
  threads: 1;
  int8: ModelFigures;
  fp32: ModelFigures;
  /** FP32 ms/face over INT8 ms/face. */
  int8Speedup: number;
}

/**
 * INT8 against FP32 in the same process, one face per inference on one thread (the robot's setting),
 * preprocessing included as on the robot. With the FER-2013 validation split the same pass gives each
 * model's accuracy; without it (on a robot) the demo video's face crops give the timings alone.
 */
export async function compareModels(models: { int8: string; fp32: string }, fer: FerValidation | undefined, crops: Mat[]): Promise<ModelComparison> {
  const figures = async (model: string): Promise<ModelFigures> => {
    const file = resolveAsset(model);
    if (fer) {
      const report = await evaluateModel({ model: file, ...fer, executionProvider: 'cpu', threads: 1, batch: 1 });
      return { model, faces: report.count, msPerFace: round(report.msPerImage), accuracy: round(report.accuracy, 4), macroF1: round(report.macroF1, 4) };
    }
    const classifier = await EmotionClassifier.load(file, { executionProvider: 'cpu', threads: 1 });
    try {
      await classifier.classify([crops[0]!]); // untimed: the first run allocates
      const began = performance.now();
      for (const crop of crops) await classifier.classify([crop]);
      return { model, faces: crops.length, msPerFace: round((performance.now() - began) / crops.length) };
    } finally {
      await classifier.release();
    }
  };
  const int8 = await figures(models.int8);
  const fp32 = await figures(models.fp32);
  return {
    on: fer ? `FER-2013 validation (${path.dirname(fer.images)})` : 'face crops of the demo video',
    threads: 1,
    int8,
    fp32,
    int8Speedup: round(fp32.msPerFace / int8.msPerFace, 2),
  };
}
