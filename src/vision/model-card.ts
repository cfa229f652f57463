import { existsSync, readFileSync } from 'node:fs';
import { z } from 'zod';

/**
 * The contract between a classifier file and the pipeline: input geometry, colour, normalisation,
 * crop and labels live next to the .onnx, never in code, so any classifier with a card can be used.
 */
/**
 * Measured on the training images themselves (models/training/measure-framing.mjs): where the eye
 * midpoint sits and how far apart the eyes are, as fractions of the crop's side.
 */
export const faceFramingSchema = z.strictObject({
  /** Side of the aligned crop in pixels (the fractions below do not depend on it). */
  side: z.number().int().min(8).max(1024),
  eye_centre: z.tuple([z.number().min(0).max(1), z.number().min(0).max(1)]),
  eye_distance: z.number().gt(0).max(1),
  /**
   * Crops per face at these multiples of eye_distance, their predictions averaged (below 1: more of
   * the head around the face). [1, 0.9] measured better than [1] alone on both the FER-2013
   * validation images and the development set.
   */
  zooms: z.array(z.number().min(0.5).max(2)).min(1).max(4).default([1]),
  /** The detector whose keypoints the figures were measured with (keypoint conventions differ). */
  detector: z.string().optional(),
  /** How many training images the detector found a face in, and on how many the figures rest. */
  measured_on: z.string().optional(),
});
export type FaceFraming = z.output<typeof faceFramingSchema>;

export const faceLevelsSchema = z.strictObject({
  mean: z.tuple([z.number().min(0).max(255), z.number().min(0).max(255)]).refine(([lo, hi]) => lo <= hi, 'low end first'),
  std: z.tuple([z.number().gt(0).max(128), z.number().gt(0).max(128)]).refine(([lo, hi]) => lo <= hi, 'low end first'),
  /** The most a crop's contrast is stretched: sensor noise is stretched with it. */
  max_gain: z.number().min(1).max(16),
  /** Which images and percentiles the range was measured on. */
  measured_on: z.string().optional(),
});
export type FaceLevels = z.output<typeof faceLevelsSchema>;

export const modelCardSchema = z.looseObject({
  name: z.string(),
  input: z.strictObject({
    name: z.string(),
    layout: z.literal('NCHW'),
    channels: z.union([z.literal(1), z.literal(3)]),
    color: z.enum(['gray', 'bgr', 'rgb']),
    width: z.number().int().positive(),
    height: z.number().int().positive(),
    resize: z.enum(['bilinear', 'area']),
    /** x = (pixel * scale - mean) / std, per channel when arrays are given. */
    normalization: z.strictObject({
      scale: z.number().positive(),
      mean: z.union([z.number(), z.array(z.number())]),
      std: z.union([z.number().positive(), z.array(z.number().positive())]),
    }),
    crop: z.strictObject({
      /** Fraction of the detector box added on every side before resizing (faces without landmarks). */
      margin: z.number().min(0).max(1),
      equalize: z.boolean(),
      /**
       * The brightness (mean) and contrast (standard deviation) of the training images, 8-bit, as a
       * range of their per-image figures. A crop outside it (a dim room, haze, a face against a
       * window) is brought linearly to the range's nearest edge; one inside it is left alone.
       */
      levels: faceLevelsSchema.optional(),
      /** How the training images frame a face, for crops aligned on the eyes. */
      align: faceFramingSchema.optional(),
    }),
  }),
  output: z.strictObject({
    name: z.string(),
    activation: z.enum(['softmax', 'none']),
    /**
     * Added to the logits before the softmax, one per label: a correction for the class prior of the
     * training targets (-tau x log prior), which a model carries into every answer. FER+'s crowd
     * calls a third of its faces neutral, so without it a mild expression on a real face reads neutral.
     */
    logit_offsets: z.array(z.number()).optional(),
  }),
  labels: z.array(z.string().min(1)).min(2),
  /** Average the prediction of the face and its mirror image. */
  test_time_flip: z.boolean().default(false),
})
  .refine((card) => !card.output.logit_offsets || card.output.logit_offsets.length === card.labels.length, {
    message: 'one logit offset per label',
    path: ['output', 'logit_offsets'],
  })
  .refine((card) => !card.output.logit_offsets || card.output.activation === 'softmax', {
    message: 'logit offsets need logits (activation softmax)',
    path: ['output', 'logit_offsets'],
  });

export type ModelCard = z.output<typeof modelCardSchema>;

/**
 * `models/x-int8.onnx` and `models/x-fp32.onnx` share `models/x.json`; a card named exactly like the
 * model (`x-int8.json`) wins when both exist.
 */
export function modelCardPath(modelPath: string): string {
  const exact = modelPath.replace(/\.onnx$/, '.json');
  if (existsSync(exact)) return exact;
  return modelPath.replace(/-(int8|fp32|fp16)\.onnx$/, '.json').replace(/\.onnx$/, '.json');
}

export class ModelCardError extends Error {
  constructor(readonly file: string, reason: string) {
    super(`model card ${file}: ${reason}`);
    this.name = 'ModelCardError';
  }
}

export function loadModelCard(modelPath: string): { card: ModelCard; file: string } {
  const file = modelCardPath(modelPath);
  let raw: unknown;
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ModelCardError(file, (err as NodeJS.ErrnoException).code ?? 'cannot be read');
  }
  try {
    raw = JSON.parse(text);
  } catch {
    // JSON.parse quotes what it read, and a model path in the config may name any file.
    throw new ModelCardError(file, 'not JSON');
  }
  const result = modelCardSchema.safeParse(raw);
  if (!result.success) {
    throw new ModelCardError(file, result.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '));
  }
  return { card: result.data, file };
}
