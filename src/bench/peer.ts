import { createRequire } from 'node:module';
import type { Mat } from '@u4/opencv4nodejs';
import { opencv } from '../runtime/opencv.js';
import { readIdxImages, readIdxLabels } from '../vision/idx.js';
import { boxArea } from '../vision/face.js';
import { argmax, classificationReport } from '../vision/metrics.js';
import { idxImageMat } from '../vision/preprocess.js';
import type { FaceCount } from './frames.js';
import type { FerValidation } from './models.js';
import { fpsOf, round } from './stats.js';

/**
 * The JavaScript alternative a user would otherwise pick: @vladmandic/face-api (TensorFlow.js), its
 * own face detector and expression model, with the weights shipped in its npm package. Loaded only
 * by the benchmark, from the dev dependencies. Only what the benchmark calls is typed here.
 */
interface Tensor {
  dispose(): void;
}
interface FaceApi {
  tf: {
    setBackend(name: string): Promise<boolean>;
    ready(): Promise<void>;
    getBackend(): string;
    tensor3d(values: Int32Array, shape: [number, number, number], dtype: 'int32'): Tensor;
    version_core: string;
  };
  nets: Record<'tinyFaceDetector' | 'ssdMobilenetv1' | 'faceExpressionNet', { loadFromDisk(dir: string): Promise<void> }> & {
    faceExpressionNet: { predictExpressions(input: Tensor): Promise<Record<string, number>> };
  };
  detectAllFaces(input: Tensor, options: unknown): { withFaceExpressions(): Promise<PeerFace[]> };
  TinyFaceDetectorOptions: new () => unknown;
  SsdMobilenetv1Options: new () => unknown;
}

interface PeerFace {
  detection: { box: { x: number; y: number; width: number; height: number } };
  expressions: Record<string, number>;
}

/** face-api's expression names for ours. */
const LABELS: Record<string, string> = { angry: 'angry', disgusted: 'disgust', fearful: 'fear', happy: 'happy', sad: 'sad', surprised: 'surprise', neutral: 'neutral' };

export interface PeerRun {
  backend: string;
  detector: 'tiny_face_detector' | 'ssd_mobilenetv1';
  byFaces: Partial<Record<FaceCount, { frames: number; fps: number; facesPerFrame: number }>>;
}

export interface PeerBench {
  package: string;
  tfjs: string;
  runs: PeerRun[];
  /** The expression model alone on the FER-2013 validation images, mapped to EmoBot's labels. */
  accuracy?: { images: number; accuracy: number; macroF1: number; msPerFace: number; backend: string };
}

export function loadFaceApi(): { api: FaceApi; version: string; modelDir: string } | { error: string } {
  const require = createRequire(import.meta.url);
  try {
    // The WASM build runs TensorFlow.js without tfjs-node, whose install downloads a native library.
    const api = require('@vladmandic/face-api/dist/face-api.node-wasm.js') as FaceApi;
    const manifest = require.resolve('@vladmandic/face-api/package.json');
    const { version } = require(manifest) as { version: string };
    return { api, version, modelDir: manifest.replace(/package\.json$/, 'model') };
  } catch (err) {
    return { error: (err as Error).message.split('\n')[0]! };
  }
}

/** Pixels as face-api takes them in Node: an RGB int32 tensor. */
function toTensor(api: FaceApi, image: Mat): Tensor {
  const cv = opencv();
  const rgb = image.channels === 1 ? image.cvtColor(cv.COLOR_GRAY2RGB) : image.cvtColor(cv.COLOR_BGR2RGB);
  const tensor = api.tf.tensor3d(Int32Array.from(rgb.getData()), [rgb.rows, rgb.cols, 3], 'int32');
  rgb.release();
  return tensor;
}

export interface PeerPlan {
  sets: Record<FaceCount, Mat[]>;
  /** Frames per (backend, detector, face count); the slow pure-JavaScript backend gets fewer. */
  runs: { backend: 'wasm' | 'cpu'; detector: PeerRun['detector']; frames: number; faceCounts: FaceCount[] }[];
  fer?: FerValidation;
  labels: string[];
}

export async function benchPeer(plan: PeerPlan): Promise<PeerBench | { skipped: string }> {
  const loaded = loadFaceApi();
  if ('error' in loaded) return { skipped: `@vladmandic/face-api (a dev dependency) could not be loaded: ${loaded.error}` };
  const { api, version, modelDir } = loaded;
  // Weights become tensors of whichever backend is active; switching later moves them.
  await api.tf.setBackend(plan.runs[0]?.backend ?? 'wasm');
  await api.tf.ready();
  for (const net of ['tinyFaceDetector', 'ssdMobilenetv1', 'faceExpressionNet'] as const) await api.nets[net].loadFromDisk(modelDir);
  const result: PeerBench = { package: `@vladmandic/face-api ${version}`, tfjs: api.tf.version_core, runs: [] };
  const peer = new FaceApiPeer(api, result.package, plan.labels);
  for (const run of plan.runs) {
    await api.tf.setBackend(run.backend);
    await api.tf.ready();
    const options = run.detector === 'tiny_face_detector' ? new api.TinyFaceDetectorOptions() : new api.SsdMobilenetv1Options();
    const byFaces: PeerRun['byFaces'] = {};
    for (const n of run.faceCounts) {
      const images = plan.sets[n];
      // Timed from the OpenCV frame, as EmoBot's pipeline is: the conversion to a tensor is part of using face-api.
      const analyse = async (image: Mat) => (await peer.faces(image, options)).length;
      await analyse(images[0]!); // untimed: the first call compiles kernels and allocates
      const totals: number[] = [];
      let faces = 0;
      for (let i = 0; i < run.frames; i++) {
        const began = performance.now();
        faces += await analyse(images[i % images.length]!);
        totals.push(performance.now() - began);
      }
      byFaces[n] = { frames: run.frames, fps: fpsOf(totals), facesPerFrame: round(faces / run.frames, 2) };
    }
    result.runs.push({ backend: api.tf.getBackend(), detector: run.detector, byFaces });
  }
  if (plan.fer) {
    await api.tf.setBackend('wasm');
    await api.tf.ready();
    result.accuracy = await peerAccuracy(peer, plan.fer, plan.labels);
  }
  return result;
}


export class PeerUnavailableError extends Error {
  constructor(reason: string) {
    super(`the face-api comparison needs @vladmandic/face-api (a dev dependency): ${reason}`);
    this.name = 'PeerUnavailableError';
  }
}

/**
 * face-api on single photos, for `emobot eval-faces --peer`: its own detector (SSD MobileNet v1)
 * and expression model, or its expression model alone on a crop EmoBot chose.
 */
export class FaceApiPeer {
  /** face-api's expression name for each of our labels, in our order. */
  private readonly theirLabels: string[];

  constructor(
    private readonly api: FaceApi,
    readonly name: string,
    labels: string[],
  ) {
    this.theirLabels = labels.map((ours) => Object.keys(LABELS).find((theirs) => LABELS[theirs] === ours)!);
  }

  /** Index into our labels of face-api's most probable expression. */
  private ourLabel(expressions: Record<string, number>): number {
    return argmax(this.theirLabels.map((theirs) => expressions[theirs] ?? 0));
  }

  static async load(labels: string[]): Promise<FaceApiPeer> {
    const loaded = loadFaceApi();
    if ('error' in loaded) throw new PeerUnavailableError(loaded.error);
    const { api, version, modelDir } = loaded;
    await api.tf.setBackend('wasm');
    await api.tf.ready();
    for (const net of ['ssdMobilenetv1', 'faceExpressionNet'] as const) await api.nets[net].loadFromDisk(modelDir);
    return new FaceApiPeer(api, `@vladmandic/face-api ${version} (TF.js ${api.tf.version_core}, ${api.tf.getBackend()} backend)`, labels);
  }

  /** face-api's whole analysis of a frame: its detector (these options), then its expression model. */
  async faces(image: Mat, options: unknown): Promise<PeerFace[]> {
    const tensor = toTensor(this.api, image);
    try {
      return await this.api.detectAllFaces(tensor, options).withFaceExpressions();
    } finally {
      tensor.dispose();
    }
  }

  /** The largest face face-api finds itself (SSD MobileNet v1), as one of our label indices; undefined when it finds none. */
  async ownDetection(image: Mat): Promise<number | undefined> {
    const faces = await this.faces(image, new this.api.SsdMobilenetv1Options());
    const largest = faces.sort((a, b) => boxArea(b.detection.box) - boxArea(a.detection.box))[0];
    return largest ? this.ourLabel(largest.expressions) : undefined;
  }

  /** face-api's expression model on a face crop (gray crops are repeated to RGB, as from a camera): its most probable label. */
  async expression(crop: Mat): Promise<number> {
    return argmax(await this.probabilities(crop));
  }

  /** face-api's expression probabilities on a face crop, in our label order (also the distillation teacher's targets). */
  async probabilities(crop: Mat): Promise<Float32Array> {
    const tensor = toTensor(this.api, crop);
    try {
      const expressions = await this.api.nets.faceExpressionNet.predictExpressions(tensor);
      return Float32Array.from(this.theirLabels, (theirs) => expressions[theirs] ?? 0);
    } finally {
      tensor.dispose();
    }
  }
}

async function peerAccuracy(peer: FaceApiPeer, fer: FerValidation, labels: string[]): Promise<NonNullable<PeerBench['accuracy']>> {
  const images = readIdxImages(fer.images);
  const truth = readIdxLabels(fer.labels);
  const count = Math.min(fer.limit ?? Infinity, images.count);
  const predicted = new Uint8Array(count);
  let elapsedMs = 0;
  for (let i = 0; i < count; i++) {
    const gray = idxImageMat(images, i);
    const began = performance.now();
    predicted[i] = await peer.expression(gray);
    elapsedMs += performance.now() - began;
    gray.release();
  }
  const report = classificationReport(truth.subarray(0, count), predicted, labels);
  return { images: count, accuracy: round(report.accuracy, 4), macroF1: round(report.macroF1, 4), msPerFace: round(elapsedMs / count), backend: 'wasm' };
}
