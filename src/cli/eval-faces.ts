import { FaceApiPeer, PeerUnavailableError } from '../bench/peer.js';
import type { Config } from '../config/schema.js';
import { resolveAsset } from '../runtime/paths.js';
import { loadModelCard } from '../vision/model-card.js';
import { cropWithMargin } from '../vision/preprocess.js';
import { attendedFace, evaluateFaces, FAR_FRAME, facesReport, ManifestError, PhotoError, readManifest, type FacesReport, type ManifestEntry } from '../vision/photo-evaluation.js';

export interface EvalFacesOptions {
  manifest: string;
  pad: number;
  /** Each photo's face this many pixels wide in a 640x480 frame first (see evaluateFaces). */
  faceWidth?: number;
  json: boolean;
  peer: boolean;
  vision: Config['vision'];
}

/** The margin face-api's own SSD boxes have around a face, roughly, put around EmoBot's tighter boxes. */
const PEER_CROP_MARGIN = 0.15;

export interface EvalFacesResult extends FacesReport {
  manifest: string;
  detector: string;
  model: string;
  pad: number;
  faceWidth?: number;
  peer?: { name: string; ownDetector: FacesReport; onEmoBotBoxes: FacesReport };
}

export async function evalFacesCommand(options: EvalFacesOptions): Promise<number> {
  let result: EvalFacesResult;
  try {
    result = await runEvalFaces(options);
  } catch (err) {
    if (!(err instanceof ManifestError || err instanceof PhotoError || err instanceof PeerUnavailableError)) throw err;
    process.stderr.write(`emobot eval-faces: ${err.message}\n`);
    return 1;
  }
  process.stdout.write(options.json ? `${JSON.stringify(result)}\n` : formatFacesReport(result));
  return 0;
}

/** EmoBot over the photos, and face-api beside it when asked (also the benchmark's development-set table). */
export async function runEvalFaces(options: Omit<EvalFacesOptions, 'json'>): Promise<EvalFacesResult> {
  const labels = loadModelCard(resolveAsset(options.vision.model)).card.labels;
  const entries = readManifest(options.manifest, labels.length); // a bad list fails before any model loads
  const peer = options.peer ? await FaceApiPeer.load(labels) : undefined;
  const peerOwn: (number | undefined)[] = [];
  const peerOnOurs: (number | undefined)[] = [];
  const { report, detector, model } = await evaluateFaces({ entries, pad: options.pad, vision: options.vision, ...(options.faceWidth ? { faceWidth: options.faceWidth } : {}) }, async ({ image, faces }) => {
    if (!peer) return;
    peerOwn.push(await peer.ownDetection(image));
    const face = attendedFace(faces);
    if (!face) return void peerOnOurs.push(undefined);
    const crop = cropWithMargin(image, face.box, PEER_CROP_MARGIN);
    try {
      peerOnOurs.push(await peer.expression(crop));
    } finally {
      crop.release();
    }
  });
  return {
    manifest: options.manifest,
    detector,
    model,
    pad: options.pad,
    ...(options.faceWidth ? { faceWidth: options.faceWidth } : {}),
    ...report,
    ...(peer ? { peer: { name: peer.name, ownDetector: facesReport(truth(entries), peerOwn, labels), onEmoBotBoxes: facesReport(truth(entries), peerOnOurs, labels) } } : {}),
  };
}

const truth = (entries: ManifestEntry[]) => entries.map((e) => e.label);

const pct = (x: number) => `${(x * 100).toFixed(1)}%`;

export function formatFacesReport(r: EvalFacesResult): string {
  const labels = Object.keys(r.perClass);
  const width = Math.max(8, ...labels.map((l) => l.length));
  const columns: [string, FacesReport][] = [['EmoBot', r]];
  if (r.peer) columns.push(['face-api', r.peer.ownDetector], ['face-api on EmoBot boxes', r.peer.onEmoBotBoxes]);
  const cell = Math.max(...columns.map(([name]) => name.length)) + 2;
  const row = (name: string, value: (report: FacesReport) => string) => `${name.padEnd(width + 9)}${columns.map(([, rep]) => value(rep).padStart(cell)).join('')}`;
  const lines = [
    `photos       ${r.images} from ${r.manifest}${r.pad ? `, padded ${pct(r.pad)} by edge replication` : ''}`,
    ...(r.faceWidth ? [`faces        scaled to ${r.faceWidth} px wide in a ${FAR_FRAME.cols}x${FAR_FRAME.rows} frame`] : []),
    `detector     ${r.detector}`,
    `model        ${r.model}`,
    ...(r.peer ? [`peer         ${r.peer.name}`] : []),
    '',
    `${''.padEnd(width + 9)}${columns.map(([name]) => name.padStart(cell)).join('')}`,
    row('faces found', (rep) => pct(rep.faceFound)),
    row('accuracy', (rep) => pct(rep.accuracy)),
    row('macro-F1', (rep) => pct(rep.macroF1)),
    '',
    'recall per class (support)',
    ...labels.map((l) => row(`${l} (${r.perClass[l]!.support})`, (rep) => pct(rep.perClass[l]!.recall))),
    '',
    'EmoBot confusion (rows: true class, columns: predicted; photos with a face)',
    `${''.padEnd(width)}  ${labels.map((l) => l.slice(0, 5).padStart(5)).join(' ')}`,
    ...r.confusion.map((cells, i) => `${labels[i]!.padEnd(width)}  ${cells.map((v) => String(v).padStart(5)).join(' ')}`),
  ];
  return `${lines.join('\n')}\n`;
}
