import { existsSync } from 'node:fs';
import { cpus } from 'node:os';
import path from 'node:path';
import { benchFrames, FACE_COUNTS, type FaceCount } from '../bench/frames.js';
import { DevToolsMissingError } from '../bench/dev-tools.js';
import { detectorCosts, type DetectorCost } from '../bench/detectors.js';
import { compareModels, ferValidation } from '../bench/models.js';
import { benchPeer, loadFaceApi, type PeerBench } from '../bench/peer.js';
import { barChartsSvg, type Chart } from '../bench/plot.js';
import { printReport, saveReport } from '../bench/report.js';
import { startup } from '../bench/startup.js';
import { round } from '../bench/stats.js';
import { replay, STAGES, throughput, type Throughput } from '../bench/vision.js';
import { benchCommands } from '../bench/commands.js';
import { benchListening } from '../bench/listening.js';
import { benchWeb } from '../bench/web.js';
import { benchVoice, type VoiceBench } from '../bench/voice.js';
import { demoConfig } from '../config/demo.js';
import { packageRoot, resolveAsset } from '../runtime/paths.js';
import { loadModelCard } from '../vision/model-card.js';
import { ManifestError, PhotoError } from '../vision/photo-evaluation.js';
import { runEvalFaces, type EvalFacesResult } from './eval-faces.js';

export interface BenchOptions {
  json: boolean;
  /** Frames per face count for the throughput measurement. */
  frames: number;
  /** Length of the live replay whose memory is reported. */
  seconds: number;
  turns: number;
  /** Where bench.json and bench.svg are written. */
  out: string;
  /** FER-2013 IDX files; absent (as on a robot), accuracy is left out. */
  ferDir: string;
  ferImages?: number;
  startupRuns: number;
  /** How many of the synthetic voices say the spoken commands (the benchmark's longest part). */
  voices: number;
  /** Each phase of the web page bench (no page, three pages). */
  webSeconds: number;
  peer: boolean;
  /** Labelled real-face photos (file,label manifest) for the whole-pipeline table; absent, it is left out. */
  devSet: string;
}

export const DEFAULT_FER_DIR = path.join(packageRoot, '..', 'shared', 'data', 'fer2013');
export const DEFAULT_DEV_SET = path.join(packageRoot, '..', 'shared', 'data', 'muxspace-facial-expressions', 'manifest.csv');
/** The development set's photos are tight LFW crops: detectors need a border around the face. */
const DEV_SET_PAD = 0.25;

const SERIES = ['#4c78a8', '#f58518', '#54a24b', '#b279a2'];

/**
 * `emobot bench`: one JSON report (stdout and <out>/bench.json) and a plot (<out>/bench.svg). The live
 * replay runs first, so its memory figures are those of a daemon rather than of a process that has
 * also loaded the peer library and the data sets.
 */
export async function benchCommand(options: BenchOptions): Promise<number> {
  const config = demoConfig();
  const progress = (what: string) => process.stderr.write(`bench: ${what}\n`);
  progress(`replaying the demo video through the daemon for ${options.seconds} s`);
  const replayed = await replay(config, options.seconds);
  progress(`cold starts to first inference (${options.startupRuns})`);
  const started = await startup(options.startupRuns);
  progress('building frames with 0, 1 and 3 faces');
  const frames = await benchFrames(config);
  try {
    const byFaces = {} as Record<FaceCount, Throughput>;
    for (const n of FACE_COUNTS) {
      progress(`throughput with ${n} face(s)`);
      byFaces[n] = await throughput(config, frames.sets[n], options.frames);
    }
    progress('each face detector on the one-face frames');
    const detectors = await detectorCosts(config, frames.sets[1], Math.min(options.frames, 200));
    let devSet: EvalFacesResult | { skipped: string } = { skipped: `no development set at ${options.devSet}` };
    if (existsSync(options.devSet)) {
      // face-api is a dev dependency: on a robot the table runs without it, as the peer section skips.
      const peer = options.peer && !('error' in loadFaceApi());
      progress(`the whole pipeline over the labelled photos of ${options.devSet}${peer ? ', face-api beside it' : ''}`);
      try {
        devSet = await runEvalFaces({ manifest: options.devSet, pad: DEV_SET_PAD, peer, vision: config.vision });
      } catch (err) {
        if (!(err instanceof ManifestError || err instanceof PhotoError)) throw err;
        devSet = { skipped: err.message };
      }
    }
    const fer = ferValidation(options.ferDir, options.ferImages);
    progress(`INT8 against FP32 on ${fer ? 'FER-2013 validation' : 'demo face crops'}`);
    const models = await compareModels({ int8: config.vision.model, fp32: 'models/emotion-mobilenetv2-fp32.onnx' }, fer, frames.faceCrops);
    let peer: PeerBench | { skipped: string } = { skipped: 'left out (--no-peer)' };
    if (options.peer) {
      progress('the peer: @vladmandic/face-api on the same frames and images');
      peer = await benchPeer({
        sets: frames.sets,
        runs: [
          { backend: 'wasm', detector: 'tiny_face_detector', frames: Math.min(options.frames, 60), faceCounts: FACE_COUNTS },
          { backend: 'wasm', detector: 'ssd_mobilenetv1', frames: Math.min(options.frames, 20), faceCounts: FACE_COUNTS },
          // Pure JavaScript is ~15x slower than WASM here: a few frames are enough to show it.
          { backend: 'cpu', detector: 'tiny_face_detector', frames: Math.min(options.frames, 5), faceCounts: [1] },
        ],
        ...(fer ? { fer } : {}),
        labels: loadModelCard(resolveAsset(config.vision.model)).card.labels,
      });
    }
    progress(`voice turns against the fake services (${options.turns})`);
    let voice: VoiceBench | { skipped: string };
    try {
      voice = await benchVoice(options.turns);
    } catch (err) {
      if (!(err instanceof DevToolsMissingError)) throw err;
      voice = { skipped: err.message };
    }
    progress('both speech detectors on generated speech in noise, and on each noise alone');
    const listening = await benchListening();
    progress('spoken commands: the recogniser on generated commands and ordinary talk, quiet and in noise');
    const commands = await benchCommands(options.voices);
    progress(`the web page: vision with no page open, then with three (${options.webSeconds} s each)`);
    const webPage = await benchWeb(config, options.webSeconds);
    const report = {
      machine: { cpus: cpus().length, model: cpus()[0]?.model ?? 'unknown', arch: process.arch, node: process.version },
      vision: { source: frames.source, resolution: '640x480', executionProvider: byFaces[1].executionProvider, captureMs: frames.captureMs, byFaces, replay: replayed, detectors },
      devSet,
      models,
      startup: started,
      voice,
      listening,
      commands,
      web: webPage,
      peer,
      comparison: compare(byFaces, models.int8.accuracy, peer, devSet),
    };
    const files = saveReport(options.out, 'bench', report, plot(report.vision, models, peer));
    progress(`wrote ${files.json} and ${files.svg}`);
    printReport(report, options.json);
    return 0;
  } finally {
    frames.release();
  }
}

/** EmoBot over face-api: frame rates per face count (against face-api's fastest setting) and accuracy. */
function compare(byFaces: Record<FaceCount, Throughput>, ourAccuracy: number | undefined, peer: PeerBench | { skipped: string }, devSet: EvalFacesResult | { skipped: string }) {
  if ('skipped' in peer) return undefined;
  const fastest = (n: FaceCount) => Math.max(0, ...peer.runs.map((r) => r.byFaces[n]?.fps ?? 0));
  const points = (ours: number, theirs: number) => round((ours - theirs) * 100, 2);
  const dev = 'peer' in devSet ? devSet.peer : undefined;
  return {
    fpsRatio: Object.fromEntries(FACE_COUNTS.map((n) => [n, fastest(n) ? round(byFaces[n].fps / fastest(n), 2) : null])),
    ...(ourAccuracy !== undefined && peer.accuracy
      ? { accuracy: { emobotInt8: ourAccuracy, faceApi: peer.accuracy.accuracy, differencePoints: points(ourAccuracy, peer.accuracy.accuracy) } }
      : {}),
    // The classifiers compared on the same crop: face-api's expression model on EmoBot's face boxes.
    ...(dev && 'peer' in devSet
      ? {
          devSet: {
            emobot: { accuracy: round(devSet.accuracy, 4), macroF1: round(devSet.macroF1, 4), faceFound: round(devSet.faceFound, 4) },
            faceApiOnEmoBotBoxes: { accuracy: round(dev.onEmoBotBoxes.accuracy, 4), macroF1: round(dev.onEmoBotBoxes.macroF1, 4) },
            faceApiOwnDetector: { accuracy: round(dev.ownDetector.accuracy, 4), macroF1: round(dev.ownDetector.macroF1, 4), faceFound: round(dev.ownDetector.faceFound, 4) },
            accuracyPoints: points(devSet.accuracy, dev.onEmoBotBoxes.accuracy),
            macroF1Points: points(devSet.macroF1, dev.onEmoBotBoxes.macroF1),
          },
        }
      : {}),
  };
}

type VisionReport = { captureMs: { p50: number; p95: number }; byFaces: Record<FaceCount, Throughput>; detectors: DetectorCost[] };

function plot(vision: VisionReport, models: Awaited<ReturnType<typeof compareModels>>, peer: PeerBench | { skipped: string }): string {
  const faceSeries = FACE_COUNTS.map((n, i) => ({ name: `${n} face${n === 1 ? '' : 's'}`, color: SERIES[i]! }));
  const stages: Chart = {
    title: 'EmoBot vision latency per stage, 640x480 (bar p50, line p95)',
    unit: 'ms',
    series: faceSeries,
    groups: [
      // Decoding does not depend on the faces in the frame: one grey bar over the whole video.
      { label: 'capture (decode)', bars: [{ value: vision.captureMs.p50, whisker: vision.captureMs.p95, color: '#999' }] },
      ...STAGES.map((stage) => ({ label: stage, bars: FACE_COUNTS.map((n) => ({ value: vision.byFaces[n].stagesMs[stage].p50, whisker: vision.byFaces[n].stagesMs[stage].p95 })) })),
    ],
  };
  const peerRuns = 'skipped' in peer ? [] : peer.runs;
  const fps: Chart = {
    title: 'Frames per second, detection + emotion (higher is better)',
    unit: 'fps',
    series: [{ name: 'EmoBot', color: SERIES[0]! }, ...peerRuns.map((r, i) => ({ name: `face-api ${r.detector.split('_')[0]} ${r.backend}`, color: SERIES[i + 1]! }))],
    groups: FACE_COUNTS.map((n, i) => ({
      label: faceSeries[i]!.name,
      bars: [{ value: vision.byFaces[n].fps }, ...peerRuns.map((r) => (r.byFaces[n] ? { value: r.byFaces[n].fps } : undefined))],
    })),
  };
  const perFace: Chart = {
    title: 'Emotion model per face, one thread (lower is better)',
    unit: 'ms',
    series: [{ name: 'ms per face', color: SERIES[0]! }],
    groups: [
      { label: 'EmoBot INT8', bars: [{ value: models.int8.msPerFace }] },
      { label: 'EmoBot FP32', bars: [{ value: models.fp32.msPerFace }] },
      ...('skipped' in peer || !peer.accuracy ? [] : [{ label: 'face-api (wasm)', bars: [{ value: peer.accuracy.msPerFace }] }]),
    ],
  };
  const detectors: Chart = {
    title: 'Face detection alone, one 640x480 frame with a face (bar p50, line p95; lower is better)',
    unit: 'ms',
    series: [{ name: 'detect', color: SERIES[0]! }],
    groups: vision.detectors.map((d) => ({ label: d.detector, bars: [{ value: d.ms.p50, whisker: d.ms.p95 }] })),
  };
  return barChartsSvg([stages, fps, perFace, detectors], `${cpus().length} x ${cpus()[0]?.model ?? 'CPU'}, Node ${process.version}`);
}
