import { mkdirSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import type { Mat } from '@u4/opencv4nodejs';
import { round } from '../bench/stats.js';
import { IMAGE_EXTENSIONS } from '../camera/sources.js';
import type { Config } from '../config/schema.js';
import { opencv } from '../runtime/opencv.js';
import type { Point } from '../vision/face.js';
import { PhotoError, readPhoto } from '../vision/photo-evaluation.js';
import { VisionPipeline, type StillFace } from '../vision/pipeline.js';

export interface LookOptions {
  inputs: string[];
  json: boolean;
  annotate?: string;
  vision: Config['vision'];
}

/** The files named: files as given, folders by their files whose names match `pattern`, in name order. */
export function filesFrom(inputs: string[], pattern: RegExp): string[] {
  return inputs.flatMap((input) => {
    if (!statSync(input).isDirectory()) return [input];
    return readdirSync(input)
      .filter((name) => pattern.test(name))
      .sort()
      .map((name) => path.join(input, name));
  });
}

/** The photos named: files as given, folders by their image files in name order. */
export const photoFiles = (inputs: string[]): string[] => filesFrom(inputs, IMAGE_EXTENSIONS);

/**
 * `<dir>/<photo's file name>.annotated.jpg` for each photo: never one of the photos themselves, and
 * an error (before anything is written) when two photos of the same name would share one.
 */
export function annotatedPaths(files: string[], dir: string): string[] | Error {
  const outputs = files.map((file) => path.resolve(dir, `${path.basename(file)}.annotated.jpg`));
  const inputs = new Set(files.map((file) => path.resolve(file)));
  for (const [i, out] of outputs.entries()) {
    const first = outputs.indexOf(out);
    if (first !== i) return new Error(`${files[first]} and ${files[i]} would both be annotated as ${out}: look at them in separate runs`);
    if (inputs.has(out)) return new Error(`annotating ${files[i]} would overwrite the photo ${out}`);
  }
  return outputs;
}

const roundPoint = (p: Point) => ({ x: round(p.x, 1), y: round(p.y, 1) });

/** A face as `look --json` prints it: pixels to 0.1, probabilities to 0.0001. */
export function lookFace(face: StillFace) {
  return {
    box: face.box,
    ...(face.landmarks ? { landmarks: Object.fromEntries(Object.entries(face.landmarks).map(([k, p]) => [k, roundPoint(p)])) } : {}),
    score: round(face.score, 4),
    label: face.label,
    confidence: round(face.confidence, 4),
    probabilities: Object.fromEntries(Object.entries(face.probabilities).map(([k, v]) => [k, round(v, 4)])),
  };
}

export async function lookCommand(options: LookOptions): Promise<number> {
  let files: string[];
  try {
    files = photoFiles(options.inputs);
  } catch (err) {
    process.stderr.write(`emobot look: ${(err as Error).message}\n`);
    return 2;
  }
  if (files.length === 0) {
    process.stderr.write(`emobot look: no photos (.jpg, .png, .webp, .bmp, .tif) in ${options.inputs.join(', ')}\n`);
    return 2;
  }
  const outputs = options.annotate ? annotatedPaths(files, options.annotate) : undefined;
  if (outputs instanceof Error) {
    process.stderr.write(`emobot look: ${outputs.message}\n`);
    return 2;
  }
  if (options.annotate) mkdirSync(options.annotate, { recursive: true });
  const pipeline = await VisionPipeline.create(options.vision);
  let failed = 0;
  try {
    for (const [index, file] of files.entries()) {
      let image: Mat;
      try {
        image = readPhoto(file, 0);
      } catch (err) {
        if (!(err instanceof PhotoError)) throw err;
        failed++;
        process.stderr.write(`emobot look: ${(err as Error).message}\n`);
        continue;
      }
      try {
        const faces = await pipeline.still(image);
        if (options.json) process.stdout.write(`${JSON.stringify({ file, faces: faces.map(lookFace) })}\n`);
        else process.stdout.write(describe(file, faces));
        if (outputs) {
          annotate(image, faces);
          opencv().imwrite(outputs[index]!, image);
        }
      } finally {
        image.release();
      }
    }
  } finally {
    await pipeline.release();
  }
  return failed ? 1 : 0;
}

function describe(file: string, faces: StillFace[]): string {
  if (!faces.length) return `${file}: no face\n`;
  const lines = faces.map((f, i) => {
    const top = Object.entries(f.probabilities)
      .sort((a, b) => b[1] - a[1])
      .slice(0, 3)
      .map(([label, p]) => `${label} ${(p * 100).toFixed(0)}%`)
      .join(', ');
    return `  face ${i + 1} at ${f.box.x},${f.box.y} ${f.box.width}x${f.box.height}: ${f.label} (${top})`;
  });
  return `${file}: ${faces.length} face(s)\n${lines.join('\n')}\n`;
}

/** Box, keypoints, label and a bar per emotion, drawn onto the photo itself. */
export function annotate(image: Mat, faces: StillFace[]): void {
  const cv = opencv();
  const scale = Math.max(0.4, Math.min(image.cols, image.rows) / 600);
  const thickness = Math.max(1, Math.round(2 * scale));
  const green = new cv.Vec3(80, 220, 80);
  const white = new cv.Vec3(255, 255, 255);
  const dark = new cv.Vec3(40, 40, 40);
  for (const face of faces) {
    const { x, y, width, height } = face.box;
    image.drawRectangle(new cv.Point2(x, y), new cv.Point2(x + width, y + height), green, thickness);
    for (const p of Object.values(face.landmarks ?? {})) image.drawCircle(new cv.Point2(Math.round(p.x), Math.round(p.y)), thickness + 1, new cv.Vec3(0, 200, 255), -1);
    // A face at the photo's edge may have a box that starts outside it; its label and bars stay inside.
    image.putText(`${face.label} ${(face.confidence * 100).toFixed(0)}%`, new cv.Point2(Math.max(0, x), Math.max(12, y - 6)), cv.FONT_HERSHEY_SIMPLEX, 0.6 * scale, green, thickness);
    const barHeight = Math.round(12 * scale);
    const barWidth = Math.round(90 * scale);
    const left = Math.min(image.cols - barWidth - 4, x + width + 6);
    Object.entries(face.probabilities).forEach(([label, p], i) => {
      const top = Math.min(image.rows - barHeight, Math.max(0, y) + i * (barHeight + 3));
      image.drawRectangle(new cv.Point2(left, top), new cv.Point2(left + barWidth, top + barHeight), dark, -1);
      image.drawRectangle(new cv.Point2(left, top), new cv.Point2(left + Math.max(1, Math.round(barWidth * p)), top + barHeight), green, -1);
      image.putText(label, new cv.Point2(left + 2, top + barHeight - 2), cv.FONT_HERSHEY_SIMPLEX, 0.35 * scale, white, 1);
    });
  }
}
