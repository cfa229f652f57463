/**
 * The listening path as typed frames flowing through stages, after Pipecat's frames and processors:
 * the microphone's audio goes in at the top, each stage turns the frames it handles into the next
 * kind and passes the others on, and what the robot does (it started or stopped talking) flows
 * back up to the stages that care. A stage can be swapped (another speech detector, a local
 * recogniser) without touching the others; none of them knows what comes before or after it.
 */

/**
 * Flows down, from the microphone towards the responder. Two clocks: `capturedAt` and `at` are
 * performance.now(); `atMs`, `startMs` and `endMs` are milliseconds of audio since the detector
 * started (where in the recording, as `emobot hear` prints them).
 */
export type DownFrame =
  /** 16-bit mono PCM, and when it was captured (performance.now()). */
  | { type: 'audio'; pcm: Buffer; capturedAt: number }
  /** The person started talking (a detected onset): the robot stops talking over them (barge-in). */
  | { type: 'speech-started'; atMs: number }
  /** What the person said, from onset to the end of speech, with the pre-roll. */
  | { type: 'utterance'; pcm: Buffer; durationMs: number; startMs: number; endMs: number }
  | { type: 'transcript'; text: string }
  /** An utterance meant for the robot that it cannot understand now (offline, speech-to-text failed). */
  | { type: 'not-understood'; because: string };

/** Flows up, from the responder towards the microphone. */
export type UpFrame =
  /** The robot started or stopped making sound (performance.now() then), so the microphone hears it or not. */
  | { type: 'robot-speaking'; speaking: boolean; at: number }
  /** The robot may no longer answer (muted, asleep, stopping): work on the person's last words is void. */
  | { type: 'cancel' };

export type Push = (frame: DownFrame) => void;

export interface Stage {
  readonly name: string;
  /**
   * One frame from the stage above; what the stage passes on goes down through `push`, in order.
   * A stage whose work takes a while either awaits it (the next frame waits: the detector must
   * judge audio in order) or lets it run and pushes when it is done (the recogniser: speech-to-text
   * must not hold up the detector).
   */
  down(frame: DownFrame, push: Push): void | Promise<void>;
  /** A frame on its way back up from the stages below; it goes on up after this returns. */
  up?(frame: UpFrame): void;
  /** Waits for the work the stage still has in hand and lets go of what it holds. */
  stop?(): Promise<void>;
}

/**
 * Stages in order; each gets its frames one at a time, in the order they were pushed to it, so an
 * awaiting stage holds up only itself and those below it. A stage that throws loses that frame,
 * not the pipeline: `onError` hears of it.
 */
export class Pipeline {
  private readonly queues: Promise<void>[];
  private stopping = false;

  constructor(
    private readonly stages: Stage[],
    private readonly onError: (stage: string, error: unknown) => void,
  ) {
    this.queues = stages.map(() => Promise.resolve());
  }

  /** Into the first stage; nothing once the pipeline is stopping (a microphone's last chunks). */
  push(frame: DownFrame): void {
    if (!this.stopping) this.pushTo(0, frame);
  }

  /** Into the last stage's `up`, then on up through every stage before it. */
  pushUp(frame: UpFrame): void {
    for (let i = this.stages.length - 1; i >= 0; i--) {
      const stage = this.stages[i]!;
      try {
        stage.up?.(frame);
      } catch (err) {
        this.onError(stage.name, err);
      }
    }
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
   * Takes no more audio, then stops the stages from the top, each once the frames handed to it are
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

  private pushTo(index: number, frame: DownFrame): void {
    const stage = this.stages[index];
    if (!stage) return;
    const next = (out: DownFrame) => this.pushTo(index + 1, out);
    this.queues[index] = this.queues[index]!.then(() => stage.down(frame, next)).catch((err: unknown) => this.onError(stage.name, err));
  }
}
