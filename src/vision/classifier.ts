import type { Mat } from '@u4/opencv4nodejs';
import * as ort from 'onnxruntime-node';
import { asError } from '../runtime/errors.js';
import { providerUnavailable } from './execution-providers.js';
import { argmax } from './metrics.js';
import { loadModelCard, type ModelCard } from './model-card.js';
import { facesToTensor } from './preprocess.js';

export interface ClassifierOptions {
  /** onnxruntime execution provider to try first (see execution-providers.ts); CPU is the fallback. */
  executionProvider: string;
  /** Intra-op threads; 0 lets onnxruntime decide. */
  threads: number;
}

export class ModelLoadError extends Error {
  constructor(readonly file: string, reason: string) {
    super(`emotion model ${file}: ${reason}`);
    this.name = 'ModelLoadError';
  }
}

/** An ONNX emotion classifier driven entirely by its model card. */
export class EmotionClassifier {
  private constructor(
    readonly modelPath: string,
    readonly card: ModelCard,
    private readonly session: ort.InferenceSession,
    /** The provider actually running the model, after any fallback. */
    readonly executionProvider: string,
    /** Why the requested provider could not be used, when it was not. */
    readonly fallbackReason: string | undefined,
  ) {}

  static async load(modelPath: string, options: ClassifierOptions): Promise<EmotionClassifier> {
    const { card } = loadModelCard(modelPath);
    const sessionOptions: ort.InferenceSession.SessionOptions = {
      graphOptimizationLevel: 'all',
      executionMode: 'sequential',
      intraOpNumThreads: options.threads,
      interOpNumThreads: 1,
    };
    let session: ort.InferenceSession | undefined;
    let active = options.executionProvider;
    // A provider this installation does not have is not tried: onnxruntime would only print a loader error.
    let fallbackReason = providerUnavailable(options.executionProvider);
    if (!fallbackReason) {
      try {
        session = await ort.InferenceSession.create(modelPath, { ...sessionOptions, executionProviders: [options.executionProvider] });
      } catch (err) {
        if (options.executionProvider === 'cpu') throw new ModelLoadError(modelPath, firstLine(err));
        fallbackReason = firstLine(err);
      }
    }
    if (!session) {
      active = 'cpu';
      try {
        session = await ort.InferenceSession.create(modelPath, { ...sessionOptions, executionProviders: ['cpu'] });
      } catch (cpuErr) {
        throw new ModelLoadError(modelPath, firstLine(cpuErr));
      }
    }
    if (!session.inputNames.includes(card.input.name) || !session.outputNames.includes(card.output.name)) {
      await session.release();
      throw new ModelLoadError(
        modelPath,
        `model card names input "${card.input.name}" / output "${card.output.name}", the model has ${session.inputNames.join(',')} / ${session.outputNames.join(',')}`,
      );
    }
    const mismatch = inputShapeMismatch(session, card);
    if (mismatch) {
      await session.release();
      throw new ModelLoadError(modelPath, mismatch);
    }
    const classifier = new EmotionClassifier(modelPath, card, session, active, fallbackReason);
    await classifier.probabilities(new Float32Array(card.input.channels * card.input.width * card.input.height), 1);
    return classifier;
  }

  get labels(): string[] {
    return this.card.labels;
  }

  /** Class probabilities for each face crop (gray or BGR Mats of any size). */
  async classify(faces: Mat[]): Promise<Float32Array[]> {
    if (faces.length === 0) return [];
    const probs = await this.probabilities(facesToTensor(faces, this.card), faces.length);
    const k = this.labels.length;
    return faces.map((_, i) => probs.subarray(i * k, (i + 1) * k));
  }

  /** n x labels probabilities for an already preprocessed NCHW batch; mirrored copies are averaged in. */
  async probabilities(batch: Float32Array, n: number): Promise<Float32Array> {
    const { channels, width, height } = this.card.input;
    const flip = this.card.test_time_flip;
    const input = flip ? withMirrors(batch, n * channels * height, width) : batch;
    const rows = flip ? 2 * n : n;
    const feeds = { [this.card.input.name]: new ort.Tensor('float32', input, [rows, channels, height, width]) };
    const output = (await this.session.run(feeds))[this.card.output.name];
    if (!output) throw new Error(`model produced no "${this.card.output.name}" output`);
    const k = this.labels.length;
    const raw = output.data as Float32Array;
    if (raw.length !== rows * k) throw new Error(`model output has ${raw.length} values, expected ${rows} x ${k} labels`);
    const probs = new Float32Array(n * k);
    const offsets = this.card.output.logit_offsets;
    for (let r = 0; r < rows; r++) {
      const row = raw.subarray(r * k, (r + 1) * k);
      const p = this.card.output.activation === 'softmax' ? softmax(row, offsets) : row;
      const target = (r % n) * k;
      for (let c = 0; c < k; c++) probs[target + c]! += p[c]! / (flip ? 2 : 1);
    }
    return probs;
  }

  /** The index of the most probable label for each of the n faces of an already preprocessed NCHW batch. */
  async topClasses(batch: Float32Array, n: number): Promise<Uint8Array> {
    const probs = await this.probabilities(batch, n);
    const k = this.labels.length;
    return Uint8Array.from({ length: n }, (_, i) => argmax(probs.subarray(i * k, (i + 1) * k)));
  }

  release(): Promise<void> {
    return this.session.release();
  }
}

/** The batch followed by its horizontally mirrored copy (rows reversed), for test-time flip. */
function withMirrors(batch: Float32Array, rowCount: number, width: number): Float32Array {
  const out = new Float32Array(batch.length * 2);
  out.set(batch);
  for (let r = 0; r < rowCount; r++) {
    const start = r * width;
    for (let x = 0; x < width; x++) out[batch.length + start + x] = batch[start + width - 1 - x]!;
  }
  return out;
}

function softmax(logits: Float32Array, offsets: number[] | undefined): Float32Array {
  const shifted = offsets ? logits.map((v, i) => v + offsets[i]!) : logits;
  let max = -Infinity;
  for (const v of shifted) max = Math.max(max, v);
  const out = new Float32Array(shifted.length);
  let sum = 0;
  for (let i = 0; i < shifted.length; i++) sum += out[i] = Math.exp(shifted[i]! - max);
  for (let i = 0; i < out.length; i++) out[i]! /= sum;
  return out;
}

/** The card's channels x height x width must be the model's input shape (batch may be symbolic). */
function inputShapeMismatch(session: ort.InferenceSession, card: ModelCard): string | undefined {
  const meta = session.inputMetadata.find((m) => m.name === card.input.name);
  if (!meta?.isTensor) return undefined;
  const expected = [card.input.channels, card.input.height, card.input.width];
  const actual = meta.shape.slice(1);
  const matches = meta.shape.length === 4 && actual.every((dim, i) => typeof dim !== 'number' || dim === expected[i]);
  return matches ? undefined : `model card describes input 1x${expected.join('x')}, the model takes ${meta.shape.join('x')}`;
}

function firstLine(err: unknown): string {
  return asError(err).message.split('\n')[0]!;
}
