import { cpus } from 'node:os';
import path from 'node:path';
import { benchFrames, FACE_COUNTS, type FaceCount } from '../bench/frames.js';
import { compareModels, ferValidation } from '../bench/models.js';
import { benchPeer, type PeerBench } from '../bench/peer.js';
import { barChartsSvg, type Chart } from '../bench/plot.js';
import { printReport, saveReport } from '../bench/report.js';
import { startup } from '../bench/startup.js';
import { round } from '../bench/stats.js';
import { replay, STAGES, throughput, type Throughput } from '../bench/vision.js';
import { benchVoice } from '../bench/voice.js';
import { demoConfig } from '../config/demo.js';
import { packageRoot, resolveAsset } from '../runtime/paths.js';
import { loadModelCard } from '../vision/model-card.js';

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
  peer: boolean;
}

export const DEFAULT_FER_DIR = path.join(packageRoot, '..', 'shared', 'data', 'fer2013');

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
    const voice = await benchVoice(options.turns);
    const report = {
      machine: { cpus: cpus().length, model: cpus()[0]?.model ?? 'unknown', arch: process.arch, node: process.version },
      vision: { source: frames.source, resolution: '640x480', executionProvider: byFaces[1].executionProvider, captureMs: frames.captureMs, byFaces, replay: replayed },
      models,
      startup: started,
      voice,
      peer,
      comparison: compare(byFaces, models.int8.accuracy, peer),
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
function compare(byFaces: Record<FaceCount, Throughput>, ourAccuracy: number | undefined, peer: PeerBench | { skipped: string }) {
  if ('skipped' in peer) return undefined;
  const fastest = (n: FaceCount) => Math.max(0, ...peer.runs.map((r) => r.byFaces[n]?.fps ?? 0));
  return {
    fpsRatio: Object.fromEntries(FACE_COUNTS.map((n) => [n, fastest(n) ? round(byFaces[n].fps / fastest(n), 2) : null])),
    ...(ourAccuracy !== undefined && peer.accuracy
      ? { accuracy: { emobotInt8: ourAccuracy, faceApi: peer.accuracy.accuracy, differencePoints: round((ourAccuracy - peer.accuracy.accuracy) * 100, 2) } }
      : {}),
  };
}

type VisionReport = { captureMs: { p50: number; p95: number }; byFaces: Record<FaceCount, Throughput> };

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
  return barChartsSvg([stages, fps, perFace], `${cpus().length} x ${cpus()[0]?.model ?? 'CPU'}, Node ${process.version}`);
}
