/**
 * Typed frames flowing through stages, after Pipecat's frames and processors: frames go in at the
 * top, each stage turns the frames it handles into the next kind and passes the others on, and
 * what happens further down (the robot started talking, a cloud service failed) flows back up to
 * the stages that care. A stage can be swapped without touching the others; none of them knows
 * what comes before or after it. The listening path (listening.ts) and the speaking path
 * (speaking.ts) are such pipelines, each with frame types of its own.
 */

export interface Frame {
  readonly type: string;
}

export type Push<Down extends Frame> = (frame: Down) => void;

export interface Stage<Down extends Frame, Up extends Frame> {
  readonly name: string;
  /**
   * One frame from the stage above; what the stage passes on goes down through `push`, in order,
   * and what the stages above must hear of (a failure) goes up through `pushUp`, from here.
   * A stage whose work takes a while either awaits it (the next frame waits: the detector must
   * judge audio in order) or lets it run and pushes when it is done (the recogniser: speech-to-text
   * must not hold up the detector).
   */
  down(frame: Down, push: Push<Down>, pushUp: Push<Up>): void | Promise<void>;
  /** A frame on its way back up from the stages below; it goes on up after this returns. */
  up?(frame: Up): void;
  /** Waits for the work the stage still has in hand and lets go of what it holds. */
  stop?(): Promise<void>;
}

/**
 * Stages in order; each gets its frames one at a time, in the order they were pushed to it, so an
 * awaiting stage holds up only itself and those below it. A stage that throws loses that frame,
 * not the pipeline: `onError` hears of it.
 */
export class Pipeline<Down extends Frame, Up extends Frame> {
  private readonly queues: Promise<void>[];
  private stopping = false;

  /** `onUp` hears each frame that comes out of the top: what the owner of the pipeline is told. */
  constructor(
    private readonly stages: Stage<Down, Up>[],
    private readonly onError: (stage: string, error: unknown) => void,
    private readonly onUp: (frame: Up) => void = () => {},
  ) {
    this.queues = stages.map(() => Promise.resolve());
  }

  /** Into the first stage; nothing once the pipeline is stopping (a microphone's last chunks, a turn begun too late). */
  push(frame: Down): void {
    if (!this.stopping) this.pushTo(0, frame);
  }

  /** Into the last stage's `up`, then on up through every stage before it, and out of the top. */
  pushUp(frame: Up): void {
    this.upFrom(this.stages.length - 1, frame);
  }

  /** Resolves when every frame pushed so far has been through every stage that awaits its work. */
  async idle(): Promise<void> {
    for (;;) {
      const pending = [...this.queues];
      await Promise.all(pending);
      // Done unless a stage pushed more meanwhile.
      if (pending.every((queue, i) => queue === this.queues[i])) return;
    }
  }

  /**
   * Takes no more frames in at the top, then stops the stages from the top, each once the frames handed to it are
   * done, so that what the ones above still pass on reaches a running stage. One that fails to stop
   * is reported and the others still stop.
   */
  async stop(): Promise<void> {
    this.stopping = true;
    for (let i = 0; i < this.stages.length; i++) {
      const stage = this.stages[i]!;
      await this.queues[i];
      try {
        await stage.stop?.();
      } catch (err) {
        this.onError(stage.name, err);
      }
    }
  }

  private pushTo(index: number, frame: Down): void {
    const stage = this.stages[index];
    if (!stage) return;
    const next = (out: Down) => this.pushTo(index + 1, out);
    const back = (out: Up) => this.upFrom(index - 1, out);
    this.queues[index] = this.queues[index]!.then(() => stage.down(frame, next, back)).catch((err: unknown) => this.onError(stage.name, err));
  }

  private upFrom(index: number, frame: Up): void {
    for (let i = index; i >= 0; i--) {
      const stage = this.stages[i]!;
      try {
        stage.up?.(frame);
      } catch (err) {
        this.onError(stage.name, err);
      }
    }
    try {
      this.onUp(frame);
    } catch (err) {
      this.onError('owner', err);
    }
  }
}
