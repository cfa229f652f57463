import { setTimeout as sleep } from 'node:timers/promises';
import type { Mat } from '@u4/opencv4nodejs';
import type { Config } from '../config/schema.js';
import { backoffDelay } from '../runtime/backoff.js';
import { asError } from '../runtime/errors.js';
import { opencv } from '../runtime/opencv.js';
import type { Subsystem, SubsystemContext, SubsystemDefinition } from '../runtime/subsystem.js';
import { describeSource, openSource, type FrameSource } from './sources.js';

const LOOP = 'camera.loop';

/**
 * Reads frames and publishes them on the bus. It owns reconnection: an unplugged or busy camera is
 * retried with backoff forever, while the loop keeps beating, because a restart of the whole daemon
 * would not bring a camera back any sooner.
 */
class Camera implements Subsystem {
  private stopped = false;
  private loop?: Promise<void>;
  private source?: FrameSource;
  private unregister?: () => void;
  /** Snapshots wanted of the next frame: the JPEG quality each requester asked for. */
  private readonly snapshotRequests = new Map<string, number>();

  constructor(private readonly config: Config['camera']) {}

  async start(ctx: SubsystemContext): Promise<void> {
    this.unregister = ctx.liveness.register(LOOP, ctx.config.runtime.loop_stale_after_ms);
    ctx.bus.on('camera.snapshot-requested', ({ quality, by }) => this.snapshotRequests.set(by, quality));
    this.loop = this.run(ctx).catch((err: unknown) => ctx.fail(asError(err)));
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.loop;
    this.unregister?.();
  }

  private async run(ctx: SubsystemContext): Promise<void> {
    let failures = 0;
    let index = 0;
    const { device } = describeSource(this.config.source);
    while (!this.stopped) {
      try {
        const source = openSource(this.config, (message) => ctx.log.warn(message));
        this.source = source;
        const first = await source.read();
        // Only a delivered frame proves the camera works; a camera that opens but fails at once keeps backing off.
        if (first) failures = 0;
        ctx.bus.emit('camera.state', { state: 'open', device, width: first?.cols ?? 0, height: first?.rows ?? 0, fps: source.fps });
        ctx.log.info({ device, fps: source.fps }, `camera open: ${device}`);
        let frame = first;
        const interval = 1000 / source.fps;
        let due = performance.now();
        while (!this.stopped) {
          if (!frame) {
            if (!this.config.loop_video) {
              ctx.bus.emit('camera.state', { state: 'ended', device });
              await this.idleUntilStopped(ctx);
              break;
            }
            source.rewind();
            frame = await source.read();
            if (!frame) throw new Error(`${device} has no frames`);
          }
          ctx.liveness.beat(LOOP);
          const monotonicMs = performance.now();
          const { retain, release } = holds(frame);
          ctx.bus.emit('camera.frame', { index: index++, capturedAt: Date.now(), monotonicMs, width: frame.cols, height: frame.rows, image: frame, retain });
          if (this.snapshotRequests.size) this.sendSnapshots(ctx, frame);
          release();
          if (!source.live) {
            due = Math.max(due + interval, monotonicMs);
            await sleep(due - performance.now());
          }
          frame = await source.read();
        }
      } catch (err) {
        this.closeSource();
        if (this.stopped) break;
        failures++;
        const retryInMs = backoffDelay(failures, this.config.reconnect);
        const error = asError(err).message;
        ctx.bus.emit('camera.state', { state: 'reconnecting', device, error, retryInMs });
        ctx.log.warn({ device, retryInMs, failures }, `${error}; retrying in ${retryInMs} ms`);
        await this.wait(ctx, retryInMs);
      }
    }
    this.closeSource();
    ctx.bus.emit('camera.state', { state: 'closed', device });
  }

  /** One encoding per quality asked for, however many requesters share it. */
  private sendSnapshots(ctx: SubsystemContext, frame: Mat): void {
    const cv = opencv();
    const encoded = new Map<number, Buffer>();
    const requests = [...this.snapshotRequests];
    this.snapshotRequests.clear();
    for (const [by, quality] of requests) {
      let jpeg = encoded.get(quality);
      if (!jpeg) encoded.set(quality, (jpeg = cv.imencode('.jpg', frame, [cv.IMWRITE_JPEG_QUALITY, quality])));
      ctx.bus.emit('camera.snapshot', { jpeg, width: frame.cols, height: frame.rows, at: Date.now(), by });
    }
  }

  private closeSource(): void {
    this.source?.close();
    this.source = undefined;
  }

  /** Sleeps in short steps, beating, so that a long backoff is not mistaken for a hung loop. */
  private async wait(ctx: SubsystemContext, ms: number): Promise<void> {
    const end = performance.now() + ms;
    while (!this.stopped && performance.now() < end) {
      ctx.liveness.beat(LOOP);
      await sleep(Math.min(250, end - performance.now()));
    }
  }

  private async idleUntilStopped(ctx: SubsystemContext): Promise<void> {
    this.closeSource();
    while (!this.stopped) await this.wait(ctx, 1000);
  }
}

/** Reference count for a frame's pixels: the camera's own hold plus one per retain(). */
function holds(image: Mat): { retain: () => () => void; release: () => void } {
  let count = 1;
  const release = () => {
    if (--count === 0) image.release();
  };
  return {
    retain: () => {
      count++;
      let released = false;
      return () => {
        if (!released) release();
        released = true;
      };
    },
    release,
  };
}

export const camera: SubsystemDefinition = {
  name: 'camera',
  sections: ['camera'],
  create: (config) => new Camera(config.camera),
};
