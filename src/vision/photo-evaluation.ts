import { readFileSync, realpathSync, statSync } from 'node:fs';
import path from 'node:path';
import type { Mat } from '@u4/opencv4nodejs';
import type { Config } from '../config/schema.js';
import { excerpt } from '../runtime/errors.js';
import { opencv } from '../runtime/opencv.js';
import { padByEdge, placeInFrame } from './framing.js';
import type { DetectedFace } from './face.js';
import { VisionPipeline, type StillFace } from './pipeline.js';

export interface ManifestEntry {
  /** Real path of the photo (links resolved), inside the manifest's folder. */
  file: string;
  /** FER-2013 label index. */
  label: number;
}

export class ManifestError extends Error {
  constructor(readonly file: string, line: number, reason: string) {
    super(line ? `${file}:${line}: ${reason}` : `${file}: ${reason}`);
    this.name = 'ManifestError';
  }
}

/** A photo OpenCV cannot open or decode. */
export class PhotoError extends Error {
  constructor(readonly file: string, reason: string) {
    super(`cannot read image ${file}: ${reason}`);
    this.name = 'PhotoError';
  }
}

/** One CSV line into fields; double quotes enclose fields with commas, "" is a quote. */
function csvFields(line: string): string[] {
  const fields: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i]!;
    if (quoted) {
      if (ch === '"' && line[i + 1] === '"') (field += '"'), i++;
      else if (ch === '"') quoted = false;
      else field += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ',') fields.push(field), (field = '');
    else field += ch;
  }
  fields.push(field);
  return fields;
}

/**
 * A labelled photo list: a header with at least `file` and `label` columns (more may follow), one
 * photo per line, files relative to the manifest's folder and inside it (links resolved), regular
 * files only, labels FER-2013 indices (0 angry ... 6 neutral). A bad line, or a photo that is not
 * there, is an error naming it, before anything is evaluated: nothing runs on a half-read list.
 * Errors quote the list's text only cut short, since the file named may be anyone's.
 */
export function readManifest(manifestPath: string, labelCount: number): ManifestEntry[] {
  let text: string;
  try {
    text = readFileSync(manifestPath, 'utf8');
  } catch (err) {
    throw new ManifestError(manifestPath, 0, (err as Error).message);
  }
  // A spreadsheet's CSV export may start with a byte order mark.
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  const header = csvFields(lines[0] ?? '').map((h) => h.trim());
  const fileColumn = header.indexOf('file');
  const labelColumn = header.indexOf('label');
  const missing = ['file', 'label'].filter((column) => !header.includes(column));
  if (missing.length) throw new ManifestError(manifestPath, 1, `the header must name "file" and "label" columns; it has no ${missing.map((c) => `"${c}"`).join(' or ')}`);
  const folder = realpathSync(path.dirname(path.resolve(manifestPath)));
  const entries: ManifestEntry[] = [];
  lines.slice(1).forEach((line, i) => {
    if (!line.trim()) return;
    const fields = csvFields(line);
    const file = fields[fileColumn]?.trim();
    const labelText = fields[labelColumn]?.trim() ?? '';
    const label = Number(labelText);
    if (!file) throw new ManifestError(manifestPath, i + 2, 'no file');
    if (!/^\d+$/.test(labelText) || label >= labelCount) {
      throw new ManifestError(manifestPath, i + 2, `label must be an integer from 0 to ${labelCount - 1}, got "${excerpt(labelText)}"`);
    }
    entries.push({ file: photoInside(folder, file, (reason) => new ManifestError(manifestPath, i + 2, reason)), label });
  });
  return entries;
}

/**
 * The real path of a photo the list names, which must be a regular file inside the list's folder:
 * a list is a file anyone may hand over, and `../`, an absolute path or a link would have the
 * evaluation read any file the user can (a device such as /dev/zero never ends).
 */
function photoInside(folder: string, file: string, refuse: (reason: string) => ManifestError): string {
  const resolved = path.resolve(folder, file);
  let real: string;
  try {
    real = realpathSync(resolved);
  } catch {
    throw refuse(`no such photo "${excerpt(file)}" in ${folder}`);
  }
  if (path.relative(folder, real).split(path.sep)[0] === '..') throw refuse(`photo "${excerpt(file)}" is outside the manifest's folder ${folder}`);
  if (!statSync(real).isFile()) throw refuse(`photo "${excerpt(file)}" is not a regular file`);
  return real;
}

export interface FacesReport {
  images: number;
  /** Fraction of photos in which a face was found. */
  faceFound: number;
  /** A photo without a found face counts as wrong. */
  accuracy: number;
  macroF1: number;
  perClass: Record<string, { support: number; recall: number; precision: number; f1: number; faceFound: number }>;
  /** confusion[truth][predicted] over the photos with a face, in label order. */
  confusion: number[][];
}

/** `predicted[i]` undefined: no face was found in photo i. */
export function facesReport(truth: number[], predicted: (number | undefined)[], labels: string[]): FacesReport {
  const k = labels.length;
  const confusion = Array.from({ length: k }, () => new Array<number>(k).fill(0));
  const support = new Array<number>(k).fill(0);
  const found = new Array<number>(k).fill(0);
  truth.forEach((t, i) => {
    support[t]!++;
    const p = predicted[i];
    if (p === undefined) return;
    found[t]!++;
    confusion[t]![p]!++;
  });
  const perClass: FacesReport['perClass'] = {};
  let correct = 0;
  let f1Sum = 0;
  labels.forEach((label, c) => {
    const hits = confusion[c]![c]!;
    correct += hits;
    const predictedAs = confusion.reduce((sum, row) => sum + row[c]!, 0);
    const recall = support[c] ? hits / support[c]! : 0;
    const precision = predictedAs ? hits / predictedAs : 0;
    const f1 = recall + precision ? (2 * recall * precision) / (recall + precision) : 0;
    f1Sum += f1;
    perClass[label] = { support: support[c]!, recall, precision, f1, faceFound: support[c] ? found[c]! / support[c]! : 0 };
  });
  const n = truth.length;
  return {
    images: n,
    faceFound: n ? found.reduce((a, b) => a + b, 0) / n : 0,
    accuracy: n ? correct / n : 0,
    macroF1: f1Sum / k,
    perClass,
    confusion,
  };
}

/** Reads a photo as the camera would deliver it (BGR), with an optional edge-replicated border. */
export function readPhoto(file: string, pad: number): Mat {
  const cv = opencv();
  let image: Mat;
  try {
    image = cv.imread(file);
  } catch (err) {
    throw new PhotoError(file, (err as Error).message);
  }
  if (image.empty) throw new PhotoError(file, 'not an image OpenCV can decode');
  if (!pad) return image;
  const padded = padByEdge(image, pad);
  image.release();
  return padded;
}

/** The face the robot would attend to in a photo: the largest. */
export const attendedFace = <Face extends DetectedFace>(faces: Face[]): Face | undefined => faces[0];

export interface PhotoVisit {
  entry: ManifestEntry;
  image: Mat;
  faces: StillFace[];
}

/** A photo's frame for faceWidth: none when its face is not found at full size, so not at any distance. */
async function atFaceWidth(pipeline: VisionPipeline, photo: Mat, width: number): Promise<Mat | undefined> {
  const face = attendedFace(await pipeline.stillFaces(photo));
  if (!face) return undefined;
  const centre = { x: face.box.x + face.box.width / 2, y: face.box.y + face.box.height / 2 };
  return placeInFrame(photo, width / face.box.width, FAR_FRAME.cols, FAR_FRAME.rows, centre);
}

/** The camera frame faceWidth places a photo's person in. */
export const FAR_FRAME = { cols: 640, rows: 480 } as const;

/**
 * The live pipeline's detector, alignment and model over labelled photos (read by readManifest, so
 * that a bad list fails before any model loads). `visit` sees each photo and EmoBot's faces before
 * the image is released (the peer comparison runs there). With `faceWidth`, each photo is first
 * scaled so that its face (found at full size) is that many pixels wide, in the middle of a grey
 * 640x480 frame: how well the robot reads that person further away, given the detector's every
 * search at once (live, the tiles take a few searches); `visit` then sees that frame, and a photo
 * without a face at full size is not visited.
 */
export async function evaluateFaces(
  options: { entries: ManifestEntry[]; pad: number; vision: Config['vision']; faceWidth?: number },
  visit?: (photo: PhotoVisit) => Promise<void>,
): Promise<{ report: FacesReport; detector: string; model: string }> {
  const { entries } = options;
  const pipeline = await VisionPipeline.create(options.vision);
  try {
    const labels = pipeline.classifier.labels;
    const predicted: (number | undefined)[] = [];
    for (const entry of entries) {
      const photo = readPhoto(entry.file, options.pad);
      let image: Mat | undefined = photo;
      try {
        if (options.faceWidth) image = await atFaceWidth(pipeline, photo, options.faceWidth);
        const faces = image ? await pipeline.still(image) : [];
        const face = attendedFace(faces);
        predicted.push(face ? labels.indexOf(face.label) : undefined);
        if (image) await visit?.({ entry, image, faces });
      } finally {
        if (image !== photo) image?.release();
        photo.release();
      }
    }
    return {
      report: facesReport(entries.map((e) => e.label), predicted, labels),
      detector: `${pipeline.detector.name} (${pipeline.detector.source.package} ${pipeline.detector.source.version})`,
      model: path.basename(pipeline.classifier.modelPath),
    };
  } finally {
    await pipeline.release();
  }
}
