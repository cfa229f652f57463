import type { Logger } from '../runtime/logger.js';
import { asError, serviceFailure } from '../runtime/errors.js';
import type { AttentionGate } from './attention.js';
import type { CommandRecognizer, DecodedPiece, SpokenCommand } from './commands.js';
import type { Push as PushOf, Stage } from './frames.js';
import type { Transcriber } from './transcriber.js';
import type { SpeechDetector, VoiceActivityDetector } from './vad.js';

/**
 * The listening path's stages, in their order in the pipeline: speech detector, awake gate,
 * attention gate, command recogniser, recogniser. Each passes on the frames it does not handle.
 */

/**
 * The listening path's frames. Flowing down, from the microphone towards the responder. Two clocks:
 * `capturedAt` and `at` are performance.now(); `atMs`, `startMs` and `endMs` are milliseconds of
 * audio since the detector started (where in the recording, as `emobot hear` prints them).
 */
export type ListeningFrame =
  /** 16-bit mono PCM, and when it was captured (performance.now()). */
  | { type: 'audio'; pcm: Buffer; capturedAt: number }
  /** The person started talking (a detected onset): the robot stops talking over them (barge-in). */
  | { type: 'speech-started'; atMs: number }
  /** What the person said, from onset to the end of speech, with the pre-roll; `reach`: what it may lead to. */
  | { type: 'utterance'; pcm: Buffer; durationMs: number; startMs: number; endMs: number; reach: Reach }
  /** An utterance still going on, from its onset (with the pre-roll) to `atMs`: for commands said while the room talks on. */
  | { type: 'speech-so-far'; pcm: Buffer; durationMs: number; startMs: number; atMs: number; reach: Reach }
  /**
   * An utterance that was a spoken command (recognised on the robot, so it never went to
   * speech-to-text); `endMs` is where it was recognised when that was before the utterance ended.
   */
  | { type: 'command'; command: SpokenCommand; text: string; startMs: number; endMs: number }
  | { type: 'transcript'; text: string }
  /** An utterance meant for the robot that it cannot understand now (offline, speech-to-text failed). */
  | { type: 'not-understood'; because: string };

/** Flowing up, from the responder towards the microphone. */
export type ListeningUpFrame =
  /** The robot started or stopped making sound (performance.now() then), so the microphone hears it or not. */
  | { type: 'robot-speaking'; speaking: boolean; at: number }
  /** The robot may no longer answer (muted, asleep, stopping): work on the person's last words is void. */
  | { type: 'cancel' };

/**
 * What an utterance may lead to, by the robot's state when it was heard: `reply`, anything (a
 * command, or words to answer); `commands`, a spoken command only (muted or idle: the robot does
 * not talk, but hears "speak again"); `wake`, only the command that wakes it (asleep).
 */
export type Reach = 'reply' | 'commands' | 'wake';

export type ListeningStage = Stage<ListeningFrame, ListeningUpFrame>;
type Push = PushOf<ListeningFrame>;

/** Changes kept without audio to prune them (no microphone); a backlog of audio spans far fewer. */
const MAX_SPEAKING_CHANGES = 64;

/**
 * Audio in, `speech-started`, `speech-so-far` (when the detector is set to give it) and `utterance`
 * out, judged in the order captured. While the robot
 * talks the bar for speech is `barge_in_ratio` times higher (the microphone hears the robot):
 * whether it talked is looked up for the moment the audio was captured, however long the audio
 * waited for the detector.
 */
export class DetectorStage implements ListeningStage {
  readonly name = 'speech detector';
  /** The robot's speaking changes, oldest first; only the last one before the oldest waiting audio matters. */
  private changes: { at: number; speaking: boolean }[] = [];

  constructor(
    private readonly vad: VoiceActivityDetector,
    private readonly detector: SpeechDetector,
    private readonly bargeInRatio: number,
  ) {}

  async down(frame: ListeningFrame, push: Push): Promise<void> {
    if (frame.type !== 'audio') return push(frame);
    const boost = this.robotSpeakingAt(frame.capturedAt) ? this.bargeInRatio : 1;
    for (const event of await this.vad.push(frame.pcm, boost)) {
      if (event.type === 'onset') push({ type: 'speech-started', atMs: event.atMs });
      else push({ ...event, reach: 'reply' });
    }
  }

  up(frame: ListeningUpFrame): void {
    if (frame.type !== 'robot-speaking') return;
    this.changes.push({ at: frame.at, speaking: frame.speaking });
    if (this.changes.length > MAX_SPEAKING_CHANGES) this.changes.shift();
  }

  async stop(): Promise<void> {
    await this.vad.idle();
    await this.detector.release();
  }

  private robotSpeakingAt(at: number): boolean {
    while (this.changes.length > 1 && this.changes[1]!.at <= at) this.changes.shift();
    const first = this.changes[0];
    return first !== undefined && first.at <= at && first.speaking;
  }
}

/**
 * Narrows what an utterance may lead to by what the robot may do now (`reachNow`: asleep, muted,
 * stopping), and drops it when that is nothing: nothing heard then leaves the robot.
 */
export class AwakeStage implements ListeningStage {
  readonly name = 'awake gate';

  constructor(private readonly reachNow: () => Reach | undefined) {}

  down(frame: ListeningFrame, push: Push): void {
    if (frame.type !== 'utterance' && frame.type !== 'speech-so-far') return push(frame);
    const reach = this.reachNow();
    if (reach) push({ ...frame, reach });
  }
}

/** Drops, on the robot, utterances nobody addressed to it (see AttentionGate); logs each drop. */
export class AttentionStage implements ListeningStage {
  readonly name = 'attention gate';
  private warnedBlind = false;

  constructor(
    private readonly gate: AttentionGate,
    private readonly log: Logger,
  ) {}

  down(frame: ListeningFrame, push: Push): void {
    // Asleep the robot does not look, so nobody can be seen facing it: what wakes it needs no face.
    if ((frame.type !== 'utterance' && frame.type !== 'speech-so-far') || frame.reach === 'wake') return push(frame);
    const verdict = this.gate.admits(frame.durationMs);
    if (verdict.admitted) return push(frame);
    // The utterance it is part of is judged again when it ends, and logged then.
    if (frame.type === 'speech-so-far') return;
    const ms = Math.round(frame.durationMs);
    this.log.info({ durationMs: ms }, `utterance of ${ms} ms dropped on the robot: ${verdict.because} (voice.listen.require_attention)`);
    // Once: a robot whose vision reports nothing would otherwise drop everything with info lines only.
    if (this.gate.blind && !this.warnedBlind) {
      this.warnedBlind = true;
      this.log.warn('the robot hears speech but vision reports no frames, so nobody can be seen paying attention: every utterance is dropped (check the camera and vision, or set voice.listen.require_attention: false)');
    }
  }

  up(frame: ListeningUpFrame): void {
    if (frame.type === 'robot-speaking') this.gate.speakingChanged(frame.speaking);
  }
}

/**
 * Spoken commands, on the robot (commands.ts): an utterance that is one goes on as `command` and no
 * further, so it acts without a network round trip and its audio never leaves the robot. Any other
 * utterance goes on to the recogniser if it may be answered, and is dropped here if not (muted,
 * asleep). A long utterance is watched while it goes on (`speech-so-far`), so that a command said
 * over talk that never pauses acts once it is said, not when the utterance is cut; the utterance
 * then ends as that command, and goes no further. Recognition takes about 0.2 s a decode, awaited
 * for an utterance (the stages above keep up meanwhile); the watching runs beside the frames.
 */
export class CommandStage implements ListeningStage {
  readonly name = 'command recogniser';
  private warned = false;
  private ongoing?: Ongoing;
  /** Every look still running, an abandoned one's too: stopping waits for them before the recogniser goes. */
  private readonly looks = new Set<Promise<void>>();

  constructor(
    private readonly recognizer: CommandRecognizer,
    private readonly log: Logger,
  ) {}

  async down(frame: ListeningFrame, push: Push): Promise<void> {
    if (frame.type === 'speech-so-far') return this.watch(frame, push);
    if (frame.type !== 'utterance') return push(frame);
    const ongoing = this.ongoing?.startMs === frame.startMs ? this.ongoing : undefined;
    this.abandon();
    if (ongoing) {
      await ongoing.looking;
      if (ongoing.acted) return;
    }
    try {
      const { text, command } = await this.recognizer.recognise(frame.pcm, ongoing?.decoded, (heard) => mayAct(heard, frame.reach));
      this.warned = false;
      if (command && mayAct(command, frame.reach)) return push({ type: 'command', command, text, startMs: frame.startMs, endMs: frame.endMs });
      if (frame.reach !== 'reply') {
        const why = frame.reach === 'wake' ? 'asleep, only "wake up" is heard' : 'the robot is muted or idle: only spoken commands are heard';
        this.log.info(`utterance dropped on the robot: ${why}`);
        return;
      }
    } catch (err) {
      this.failed(err, frame.reach);
      if (frame.reach !== 'reply') return;
    }
    push(frame);
  }

  async stop(): Promise<void> {
    this.abandon();
    await this.settled();
    this.recognizer.release();
  }

  /** Resolves when no look at an utterance going on is running. */
  async settled(): Promise<void> {
    await Promise.all(this.looks);
  }

  /** The utterance watched is over (or was dropped above, and another began): its look, if one runs, acts no more. */
  private abandon(): void {
    if (!this.ongoing) return;
    this.ongoing.latest = undefined;
    this.ongoing.abandoned = true;
    this.ongoing = undefined;
  }

  /**
   * Not awaited, so that a slow decode holds up neither the frames behind (barge-in's
   * `speech-started`) nor the detector; and only the newest audio so far is looked at when a look
   * ends, so that such a decode does not leave a queue of older ones behind it.
   */
  private watch(frame: SoFar, push: Push): void {
    if (this.ongoing?.startMs !== frame.startMs) {
      this.abandon();
      this.ongoing = { startMs: frame.startMs, decoded: [], acted: false, abandoned: false };
    }
    const ongoing = this.ongoing!;
    if (ongoing.acted) return;
    ongoing.latest = frame;
    if (ongoing.looking) return;
    // Started in a later tick, so that `looking` is set before the look can end, whatever spot does.
    const looking = Promise.resolve().then(() => this.look(ongoing, push));
    ongoing.looking = looking;
    this.looks.add(looking);
    void looking.finally(() => this.looks.delete(looking));
  }

  private async look(ongoing: Ongoing, push: Push): Promise<void> {
    for (let frame = ongoing.latest; frame && !ongoing.acted && !ongoing.abandoned; frame = ongoing.latest) {
      ongoing.latest = undefined;
      try {
        const before = [...ongoing.decoded];
        await this.recognizer.spot(frame.pcm, ongoing.decoded);
        if (ongoing.decoded.some((piece) => !before.includes(piece))) this.warned = false;
        if (ongoing.abandoned) break;
        // One heard earlier may act now: a command the sleeping robot did not take, said before it was woken.
        const heard = ongoing.decoded.find(({ heard }) => heard.command && mayAct(heard.command, frame!.reach))?.heard;
        if (heard?.command) {
          ongoing.acted = true;
          push({ type: 'command', command: heard.command, text: heard.text, startMs: frame.startMs, endMs: frame.atMs });
        }
      } catch (err) {
        this.failed(err, frame.reach);
      }
    }
    // No await since the loop's last check: audio so far that comes after this starts a new look.
    ongoing.looking = undefined;
  }

  /** Once until it works again: a broken decoder would otherwise warn on every utterance. */
  private failed(err: unknown, reach: Reach): void {
    const meanwhile = reach === 'reply' ? 'utterances go on as words to answer' : 'while muted, idle or asleep the robot hears nothing';
    if (!this.warned) this.log.warn(`spoken commands failed (${asError(err).message}); ${meanwhile}`);
    this.warned = true;
  }
}

type SoFar = Extract<ListeningFrame, { type: 'speech-so-far' }>;
/** The utterance going on (by its onset): the pieces of it decoded so far, whether one acted, the newest audio so far not yet looked at, and the look running. */
interface Ongoing {
  startMs: number;
  decoded: DecodedPiece[];
  acted: boolean;
  /** Over, or dropped above: its look acts no more. */
  abandoned: boolean;
  latest?: SoFar;
  looking?: Promise<void>;
}

/** Asleep, only the command that wakes the robot acts. */
const mayAct = (command: SpokenCommand, reach: Reach) => reach !== 'wake' || (command.action.kind === 'control' && command.action.request.mode === 'active');

/**
 * Utterances to words: passes the utterance on at once (the person has the turn), then its
 * transcript, or `not-understood` without speech-to-text (offline) or when it failed. Speech-to-text
 * runs beside the pipeline, so the detector keeps up meanwhile; a newer utterance or a `cancel`
 * from below abandons it, and an abandoned one pushes nothing.
 */
export class RecogniserStage implements ListeningStage {
  readonly name = 'recogniser';
  private inFlight?: { controller: AbortController; done: Promise<void> };

  constructor(
    private readonly transcriber: Transcriber | undefined,
    private readonly sampleRate: number,
    private readonly log: Logger,
  ) {}

  down(frame: ListeningFrame, push: Push): void {
    if (frame.type !== 'utterance') return push(frame);
    this.abandon();
    push(frame);
    const transcriber = this.transcriber;
    if (!transcriber) return push({ type: 'not-understood', because: 'offline' });
    const controller = new AbortController();
    // Through a promise even if transcribe throws at once: the responder waits for words or this.
    const done = Promise.resolve().then(() => transcriber.transcribe(frame.pcm, this.sampleRate, controller.signal)).then(
      (text) => {
        if (!controller.signal.aborted) push({ type: 'transcript', text });
      },
      (err: unknown) => {
        if (controller.signal.aborted) return;
        this.log.warn(`speech-to-text failed: ${serviceFailure(err)}`);
        push({ type: 'not-understood', because: 'speech-to-text failed' });
      },
    ).finally(() => {
      if (this.inFlight?.controller === controller) this.inFlight = undefined;
    });
    this.inFlight = { controller, done };
  }

  up(frame: ListeningUpFrame): void {
    if (frame.type === 'cancel') this.abandon();
  }

  async stop(): Promise<void> {
    const inFlight = this.inFlight;
    this.abandon();
    await inFlight?.done;
  }

  private abandon(): void {
    this.inFlight?.controller.abort();
  }
}
