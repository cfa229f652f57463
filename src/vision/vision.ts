import path from 'node:path';
import type { CameraFrame } from '../camera/types.js';
import type { Subsystem, SubsystemContext, SubsystemDefinition } from '../runtime/subsystem.js';
import { asError } from '../runtime/errors.js';
import { VisionPipeline } from './pipeline.js';

/**
 * Runs the vision pipeline on camera frames with latest-frame semantics: while a frame is being
 * processed only the newest arrival is kept, older ones are dropped and counted, so a slow model
 * adds no backlog and the robot always reacts to what is in front of it now.
 */
class Vision implements Subsystem {
  private pipeline?: VisionPipeline;
  private pending?: { frame: CameraFrame; done: () => void };
  private running?: Promise<void>;
  private stopped = false;
  private droppedFrames = 0;
  private inferred = false;

  async start(ctx: SubsystemContext): Promise<void> {
    const pipeline = await VisionPipeline.create(ctx.config.vision);
    this.pipeline = pipeline;
    const { classifier, detector } = pipeline;
    ctx.log.info(
      { model: classifier.modelPath, executionProvider: classifier.executionProvider, detector: detector.name, detectorFiles: detector.source.files },
      `emotion model on ${classifier.executionProvider}${classifier.fallbackReason ? ` (${ctx.config.vision.execution_provider} unavailable: ${classifier.fallbackReason})` : ''}, detector ${detector.name} (${detector.source.files.map((f) => path.basename(f)).join(', then ')}, ${detector.source.package} ${detector.source.version})`,
    );
    const framing = classifier.card.input.crop.align;
    if (framing?.detector && framing.detector !== detector.name && detector.name.startsWith('blazeface')) {
      ctx.log.warn(
        { detector: detector.name, framingDetector: framing.detector },
        `the model card's face framing was measured with ${framing.detector}; ${detector.name} places keypoints a little differently, so aligned crops may be slightly off`,
      );
    }
    const { files, package: pkg, version } = detector.source;
    ctx.bus.emit('vision.ready', {
      model: path.basename(classifier.modelPath),
      executionProvider: classifier.executionProvider,
      detector: { name: detector.name, files: files.map((f) => path.basename(f)), package: pkg, version },
    });
    ctx.bus.on('camera.frame', (frame) => {
      // Asleep, the robot does not look: frames pass by unprocessed (and uncounted), saving the CPU.
      if (ctx.robotState().mode === 'sleep') return;
      if (this.pending) {
        this.droppedFrames++;
        this.pending.done();
      }
      this.pending = { frame, done: frame.retain() };
      this.running ??= this.drain(ctx).finally(() => (this.running = undefined));
    });
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.running;
    await this.pipeline?.release();
  }

  private async drain(ctx: SubsystemContext): Promise<void> {
    try {
      while (this.pending && !this.stopped) {
        const { frame, done } = this.pending;
        this.pending = undefined;
        try {
          await this.process(ctx, frame);
        } finally {
          done();
        }
      }
    } catch (err) {
      ctx.fail(asError(err));
    } finally {
      this.pending?.done();
      this.pending = undefined;
    }
  }

  private async process(ctx: SubsystemContext, frame: CameraFrame): Promise<void> {
    const result = await this.pipeline!.process(frame.image, frame.monotonicMs);
    if (!this.inferred && result.faces.length > 0) {
      this.inferred = true;
      // How long a boot takes to become useful (performance.now() counts from the process's start).
      const ms = Math.round(performance.now());
      ctx.log.info({ msSinceProcessStart: ms }, `first emotion inference ${ms} ms after the process started`);
    }
    const epoch = (monotonicMs: number) => Math.round(frame.capturedAt - (frame.monotonicMs - monotonicMs));
    const at = frame.capturedAt;
    for (const lost of result.lost) ctx.bus.emit('face.lost', { trackId: lost.trackId, at, visibleForMs: lost.visibleForMs });
    for (const found of result.found) ctx.bus.emit('face.found', { trackId: found.trackId, box: found.box, at });
    for (const face of result.faces) {
      if (!face.smoothed.changed) continue;
      ctx.bus.emit('emotion', {
        trackId: face.trackId,
        attended: face.attended,
        label: face.smoothed.label,
        confidence: face.smoothed.confidence,
        probabilities: face.probabilities,
        box: face.box,
        since: epoch(face.smoothed.sinceMs),
        at,
      });
    }
    ctx.bus.emit('vision.frame', {
      frameIndex: frame.index,
      capturedAt: at,
      width: frame.width,
      height: frame.height,
      faces: result.faces,
      ...(result.attendedTrackId === undefined ? {} : { attendedTrackId: result.attendedTrackId }),
      timings: result.timings,
      droppedFrames: this.droppedFrames,
    });
  }
}

export const vision: SubsystemDefinition = {
  name: 'vision',
  sections: ['vision'],
  create: () => new Vision(),
};
