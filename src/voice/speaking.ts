import type { Config } from '../config/schema.js';
import type { Logger } from '../runtime/logger.js';
import { serviceFailure } from '../runtime/errors.js';
import type { AudioSink, Playback } from './audio-out.js';
import type { ChatBrain, ReplyRequest } from './brain.js';
import { CircuitBreaker } from './circuit-breaker.js';
import type { Push, Stage } from './frames.js';
import { SentenceSplitter, wholeCharactersEnd } from './sentences.js';
import type { Synthesizer } from './synthesizer.js';

/**
 * The speaking path's stages, in their order in the pipeline: brain, sentence splitter,
 * synthesiser, speaker. Each passes on the frames it does not handle. The language model's stream
 * is cut into sentences, each sentence is synthesised while the one before plays, and failures
 * and what the speaker does flow back up.
 */

type VoiceConfig = Config['voice'];
export type SpeechSource = 'cloud' | 'offline';

/**
 * One thing the robot says, from its first frame to `turn-end`. One turn at a time: its owner
 * cancels it (barge-in, mute) through `signal`, and every stage then drops what it still has of it.
 */
export interface Turn {
  readonly signal: AbortSignal;
  /** The person's emotion, which the cloud voice takes into account (calmer for a sad listener). */
  readonly listenerEmotion?: string;
  /** What the offline voice says when the cloud cannot: one of the configured phrases, or this text. */
  readonly offline: { phrase: PhraseKey } | { text: string };
}

/** The offline phrases are kept per emotion, and for a reply the robot cannot give. */
export type PhraseKey = keyof VoiceConfig['offline']['phrases'];

/** Flows down, from the owner towards the speaker. Every turn ends with `turn-end`, cancelled or not. */
export type SpeakingFrame =
  /** A reply for the language model to write (the person spoke, or the robot speaks up). */
  | { type: 'reply'; turn: Turn; request: ReplyRequest }
  /** Text to say as it is (the MQTT `say`). */
  | { type: 'say'; turn: Turn; text: string }
  /** The offline voice says `turn.offline`: no cloud now, or it failed before the person heard anything. */
  | { type: 'offline'; turn: Turn }
  /** A piece of the language model's streamed reply. */
  | { type: 'text'; turn: Turn; text: string }
  /** A whole sentence for the cloud voice. */
  | { type: 'sentence'; turn: Turn; text: string }
  /** The language model failed: text not yet a sentence is dropped, and the offline voice answers if nothing was heard. */
  | { type: 'brain-failed'; turn: Turn }
  | { type: 'audio'; turn: Turn; pcm: Buffer; sampleRate: number }
  /** After the audio of `text`: it has been handed to the speaker. */
  | { type: 'said'; turn: Turn; text: string; source: SpeechSource }
  | { type: 'turn-end'; turn: Turn };

/** Flows up, from the speaker towards the owner. */
export type SpeakingUpFrame =
  /** The cloud voice failed on a turn; the brain stops writing it and the circuit breaker counts it. */
  | { type: 'cloud-failed'; turn: Turn; error: unknown }
  /** The cloud spoke a whole turn. */
  | { type: 'cloud-spoke' }
  /** `stillQueuedMs`: when speech is cut off, the audio already in the device that still sounds. */
  | { type: 'speaking'; speaking: boolean; stillQueuedMs: number }
  | { type: 'said'; turn: Turn; text: string; source: SpeechSource }
  /** Everything of the turn has played, or been dropped. */
  | { type: 'turn-ended'; turn: Turn };

export type SpeakingStage = Stage<SpeakingFrame, SpeakingUpFrame>;
type PushDown = Push<SpeakingFrame>;
type PushUp = Push<SpeakingUpFrame>;

/** A token is about four characters of English; twice that leaves room for any language's before a reply is cut. */
const MAX_CHARACTERS_PER_TOKEN = 8;

/** What the robot needs to talk through the cloud; without it, it speaks offline only. */
export interface Cloud {
  brain: ChatBrain;
  synthesizer: Synthesizer;
}

/**
 * Where every turn starts, and where it is ended. Replies and `say`s in, text out, through the
 * cloud while it is usable: the circuit breaker keeps a failing cloud from being asked again and
 * again, and counts failures of the cloud voice that come back up, once per turn. Without the
 * cloud, the turn goes to the offline voice. The language model is told, for the next turns, what
 * of its reply the person heard: a reply cut off by barge-in still happened, as far as it was said.
 */
export class BrainStage implements SpeakingStage {
  readonly name = 'brain';
  private readonly breaker: CircuitBreaker;
  /** The reply being written, so that a failure of the cloud voice further down stops it. */
  private writing?: { turn: Turn; controller: AbortController };
  /** Replies to the person's words, until they have ended: what of each was said. */
  private readonly replies = new Map<Turn, { userText: string; said: string[] }>();
  /** The last turn whose cloud failure was counted: the language model and the voice failing in one turn is one failure. */
  private countedFailure?: Turn;

  constructor(
    private readonly config: VoiceConfig,
    private readonly cloud: Cloud | undefined,
    private readonly log: Logger,
  ) {
    this.breaker = new CircuitBreaker(config.circuit_breaker);
  }

  async down(frame: SpeakingFrame, push: PushDown): Promise<void> {
    if (frame.type !== 'reply' && frame.type !== 'say' && frame.type !== 'offline') return push(frame);
    const { turn } = frame;
    try {
      if (turn.signal.aborted) return;
      if (frame.type === 'offline' || !this.cloud || !this.breaker.available()) return push({ type: 'offline', turn });
      if (frame.type === 'say') return push({ type: 'sentence', turn, text: frame.text });
      if (frame.request.userText) this.replies.set(turn, { userText: frame.request.userText, said: [] });
      await this.write(frame.request, turn, this.cloud.brain, push);
    } finally {
      push({ type: 'turn-end', turn });
    }
  }

  up(frame: SpeakingUpFrame): void {
    switch (frame.type) {
      case 'cloud-spoke':
        return this.breaker.succeeded();
      case 'cloud-failed':
        if (this.writing?.turn === frame.turn) this.writing.controller.abort();
        return this.failed(frame.turn, frame.error);
      case 'said':
        if (frame.source === 'cloud') this.replies.get(frame.turn)?.said.push(frame.text);
        return;
      case 'turn-ended': {
        const reply = this.replies.get(frame.turn);
        this.replies.delete(frame.turn);
        if (reply?.said.length) this.cloud?.brain.remember(reply.userText, reply.said.join(' '));
        return;
      }
    }
  }

  private async write(request: ReplyRequest, turn: Turn, brain: ChatBrain, push: PushDown): Promise<void> {
    const controller = new AbortController();
    this.writing = { turn, controller };
    const signal = AbortSignal.any([turn.signal, controller.signal]);
    // `max_tokens` is only asked for: an endpoint may stream on for ever.
    let room = this.config.llm.max_tokens * MAX_CHARACTERS_PER_TOKEN;
    try {
      for await (const text of brain.reply(request, signal)) {
        if (room <= 0) {
          this.log.warn(`the language model wrote past voice.llm.max_tokens (${this.config.llm.max_tokens}); the rest of its reply is not said`);
          break;
        }
        push({ type: 'text', turn, text: text.slice(0, wholeCharactersEnd(text, room)) });
        room -= text.length;
      }
    } catch (err) {
      // Cancelled, or stopped because the voice failed (counted when it came up).
      if (signal.aborted) return;
      this.failed(turn, err);
      push({ type: 'brain-failed', turn });
    } finally {
      if (this.writing?.controller === controller) this.writing = undefined;
    }
  }

  private failed(turn: Turn, err: unknown): void {
    if (this.countedFailure === turn) return;
    this.countedFailure = turn;
    const opened = this.breaker.failed();
    this.log.warn(`cloud voice failed: ${serviceFailure(err)}${opened ? `; offline only for ${this.config.circuit_breaker.open_ms} ms` : ''}`);
  }
}

/** The language model's text in, whole sentences out as soon as each is complete. */
export class SentenceStage implements SpeakingStage {
  readonly name = 'sentence splitter';
  private splitter = new SentenceSplitter();

  down(frame: SpeakingFrame, push: PushDown): void {
    switch (frame.type) {
      case 'text':
        for (const text of this.splitter.push(frame.text)) push({ type: 'sentence', turn: frame.turn, text });
        return;
      case 'turn-end':
        for (const text of this.splitter.flush()) push({ type: 'sentence', turn: frame.turn, text });
        return push(frame);
      case 'brain-failed':
        // Half a sentence from a reply that broke off is not said.
        this.splitter = new SentenceSplitter();
        return push(frame);
      default:
        return push(frame);
    }
  }
}

/**
 * Sentences in, audio out: the cloud voice for the sentences, the offline voice for `offline`
 * turns and for any cloud failure before the person heard something of the turn. Half a reply
 * followed by a stock phrase would sound broken, so after the first audio a failure ends the turn.
 */
export class SynthesizerStage implements SpeakingStage {
  readonly name = 'synthesiser';
  private phraseIndex = 0;
  /** The turn being voiced: whether any of its audio went down, whether its cloud voice failed. */
  private voicing?: { turn: Turn; heard: boolean; cloudSpoke: boolean; failed: boolean };

  constructor(
    private readonly config: VoiceConfig,
    private readonly offline: Synthesizer,
    private readonly cloud: Cloud | undefined,
  ) {}

  async down(frame: SpeakingFrame, push: PushDown, pushUp: PushUp): Promise<void> {
    const voicing = this.voicingOf(frame.turn);
    switch (frame.type) {
      case 'sentence':
        if (frame.turn.signal.aborted || voicing.failed) return;
        try {
          // The brain sends sentences only with the cloud set up.
          await this.voice(frame.text, this.cloud!.synthesizer, 'cloud', frame.turn, push);
          voicing.cloudSpoke = true;
        } catch (err) {
          if (frame.turn.signal.aborted) return;
          voicing.failed = true;
          pushUp({ type: 'cloud-failed', turn: frame.turn, error: err });
          await this.fallBack(frame.turn, push);
        }
        return;
      case 'brain-failed':
        voicing.failed = true;
        return this.fallBack(frame.turn, push);
      case 'offline':
        return this.voice(this.offlineText(frame.turn), this.offline, 'offline', frame.turn, push);
      case 'turn-end':
        // A turn cut off after the cloud voice spoke is one the cloud served well.
        if (voicing.cloudSpoke && !voicing.failed) pushUp({ type: 'cloud-spoke' });
        return push(frame);
      default:
        return push(frame);
    }
  }

  private voicingOf(turn: Turn) {
    if (this.voicing?.turn !== turn) this.voicing = { turn, heard: false, cloudSpoke: false, failed: false };
    return this.voicing;
  }

  private async fallBack(turn: Turn, push: PushDown): Promise<void> {
    if (!this.voicingOf(turn).heard && !turn.signal.aborted) await this.voice(this.offlineText(turn), this.offline, 'offline', turn, push);
  }

  private async voice(text: string, synthesizer: Synthesizer, source: SpeechSource, turn: Turn, push: PushDown): Promise<void> {
    const voicing = this.voicingOf(turn);
    for await (const pcm of synthesizer.synthesize(text, turn.signal, turn.listenerEmotion)) {
      if (turn.signal.aborted) return;
      voicing.heard = true;
      push({ type: 'audio', turn, pcm, sampleRate: synthesizer.sampleRate });
    }
    if (voicing.heard && !turn.signal.aborted) push({ type: 'said', turn, text, source });
  }

  /** Picked only when needed: the phrases rotate, and a turn the cloud answered must not use one up. */
  private offlineText(turn: Turn): string {
    if ('text' in turn.offline) return turn.offline.text;
    const list = this.config.offline.phrases[turn.offline.phrase];
    return list[this.phraseIndex++ % list.length]!;
  }
}

/**
 * Audio in, sound out, paced to real time (audio-out.ts); reports when the robot starts and stops
 * making sound, what it said, and when a turn is over. A cancelled turn is cut off at once, even
 * between two pieces of audio, and the rest of it is dropped.
 */
export class SpeakerStage implements SpeakingStage {
  readonly name = 'speaker';
  private playing?: { turn: Turn; playback: Playback; close: (abandon: boolean) => Promise<void> };
  /** A turn whose sound the device would not take: the rest of its audio is dropped, and the failure told once. */
  private unplayable?: Turn;

  constructor(private readonly sink: AudioSink) {}

  async down(frame: SpeakingFrame, push: PushDown, pushUp: PushUp): Promise<void> {
    switch (frame.type) {
      case 'audio': {
        const { turn } = frame;
        if (turn.signal.aborted || this.unplayable === turn) return;
        // A turn's audio comes after the turn-end of the one before, which closed its playback.
        let playing = this.playing;
        if (!playing) {
          try {
            playing = this.open(turn, frame.sampleRate, pushUp);
          } catch (err) {
            this.unplayable = turn;
            throw err;
          }
        }
        await playing.playback.write(frame.pcm, turn.signal);
        return;
      }
      case 'said':
        if (this.playing?.turn === frame.turn && !frame.turn.signal.aborted) pushUp({ type: 'said', turn: frame.turn, text: frame.text, source: frame.source });
        return;
      case 'turn-end':
        try {
          if (this.playing?.turn === frame.turn) await this.playing.close(frame.turn.signal.aborted);
        } finally {
          pushUp({ type: 'turn-ended', turn: frame.turn });
        }
        return;
      default:
        return push(frame);
    }
  }

  async stop(): Promise<void> {
    await this.playing?.close(true);
  }

  private open(turn: Turn, sampleRate: number, pushUp: PushUp): NonNullable<SpeakerStage['playing']> {
    const playback = this.sink.open(sampleRate);
    let closing: Promise<void> | undefined;
    const close = (abandon: boolean): Promise<void> =>
      (closing ??= (async () => {
        turn.signal.removeEventListener('abort', onAbort);
        if (this.playing?.playback === playback) this.playing = undefined;
        const stillQueuedMs = abandon ? playback.queuedMs() : 0;
        try {
          await playback.end(abandon);
        } finally {
          pushUp({ type: 'speaking', speaking: false, stillQueuedMs });
        }
      })());
    // Ending an abandoned playback only ends the device's stream; a device that fails shows on the next turn's open.
    const onAbort = () => void close(true).catch(() => {});
    turn.signal.addEventListener('abort', onAbort, { once: true });
    this.playing = { turn, playback, close };
    pushUp({ type: 'speaking', speaking: true, stillQueuedMs: 0 });
    return this.playing;
  }
}
