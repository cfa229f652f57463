import { configSchema, type Config } from '../config/schema.js';
import { openSource } from '../camera/sources.js';
import { VisionPipeline, type FrameResult, type StageTimings } from '../vision/pipeline.js';

export interface ReplaySummary {
  source: string;
  frames: number;
  framesWithFaces: number;
  tracks: number;
  /** Seconds of video per smoothed emotion of the attended face. */
  attendedEmotionSeconds: Record<string, number>;
  meanStageMs: StageTimings;
  /** Frames processed per second of wall time (unpaced: as fast as the machine goes). */
  fps: number;
  executionProvider: string;
}

/**
 * Runs the live vision pipeline offline over a video or image folder, every frame, unpaced, timed
 * by the video's own clock so that smoothing behaves as it would live.
 */
export async function replay(source: string, vision: Config['vision'], onFrame: (index: number, timeMs: number, result: FrameResult) => void): Promise<ReplaySummary> {
  const camera = configSchema.parse({ camera: { source, loop_video: false } }).camera;
  const frames = openSource(camera, (message) => process.stderr.write(`${message}\n`));
  const pipeline = await VisionPipeline.create(vision);
  const totals: StageTimings = { detect: 0, preprocess: 0, infer: 0, smooth: 0 };
  const tracks = new Set<number>();
  const attendedEmotionSeconds: Record<string, number> = {};
  let index = 0;
  let framesWithFaces = 0;
  const began = performance.now();
  try {
    for (let image = await frames.read(); image; image = await frames.read(), index++) {
      const timeMs = (index * 1000) / frames.fps;
      const result = await pipeline.process(image, timeMs);
      image.release();
      for (const stage of Object.keys(totals) as (keyof StageTimings)[]) totals[stage] += result.timings[stage];
      for (const face of result.faces) tracks.add(face.trackId);
      if (result.faces.length) framesWithFaces++;
      const attended = result.faces.find((f) => f.attended);
      if (attended) attendedEmotionSeconds[attended.smoothed.label] = (attendedEmotionSeconds[attended.smoothed.label] ?? 0) + 1 / frames.fps;
      onFrame(index, timeMs, result);
    }
  } finally {
    frames.close();
    await pipeline.release();
  }
  const wallS = (performance.now() - began) / 1000;
  const mean = (x: number) => (index ? Math.round((x / index) * 1000) / 1000 : 0);
  return {
    source: frames.device,
    frames: index,
    framesWithFaces,
    tracks: tracks.size,
    attendedEmotionSeconds: Object.fromEntries(Object.entries(attendedEmotionSeconds).map(([k, v]) => [k, Math.round(v * 100) / 100])),
    meanStageMs: { detect: mean(totals.detect), preprocess: mean(totals.preprocess), infer: mean(totals.infer), smooth: mean(totals.smooth) },
    fps: Math.round((index / wallS) * 10) / 10,
    executionProvider: pipeline.classifier.executionProvider,
  };
}

export async function replayCommand(options: { source: string; vision: Config['vision']; json: boolean }): Promise<number> {
  const write = (line: string) => process.stdout.write(`${line}\n`);
  const summary = await replay(options.source, options.vision, (index, timeMs, result) => {
    if (options.json) {
      write(JSON.stringify({ frame: index, timeMs: Math.round(timeMs), ...result }));
      return;
    }
    const faces = result.faces.map(
      (f) =>
        `#${f.trackId}${f.attended ? '*' : ''} ${f.smoothed.label} ${f.smoothed.confidence.toFixed(2)} (raw ${f.raw.label} ${f.raw.confidence.toFixed(2)}) at ${f.box.x},${f.box.y} ${f.box.width}x${f.box.height}`,
    );
    write(`frame ${String(index).padStart(5)}  ${(timeMs / 1000).toFixed(2).padStart(7)}s  ${faces.join('; ') || 'no face'}`);
  });
  write(options.json ? JSON.stringify({ summary }) : `summary: ${JSON.stringify(summary, null, 2)}`);
  return 0;
}
