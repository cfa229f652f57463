import type { Config } from '../config/schema.js';
import type { Logger } from '../runtime/logger.js';
import { asError } from '../runtime/errors.js';
import type { AudioSink } from './audio-out.js';
import type { ReplyRequest } from './brain.js';
import { Pipeline } from './frames.js';
import { BrainStage, SentenceStage, SpeakerStage, SynthesizerStage, type Cloud, type PhraseKey, type SpeakingFrame, type SpeakingUpFrame, type SpeechSource, type Turn } from './speaking.js';
import type { Synthesizer } from './synthesizer.js';

type VoiceConfig = Config['voice'];

/** What the speaking stages report up (speaking.ts), for the voice subsystem. */
export interface SpeechEvents {
  speaking(on: boolean, stillQueuedMs: number): void;
  /** A sentence went to the speaker. */
  said(text: string, source: SpeechSource): void;
}

/**
 * Turns replies into sound through the speaking stages (speaking.ts): brain, sentence splitter,
 * synthesiser, speaker. Each call is one turn, which ends when everything of it has played, or at
 * once when its signal fires; the first words play long before a streamed reply is complete.
 */
export class Speech {
  private readonly pipeline: Pipeline<SpeakingFrame, SpeakingUpFrame>;
  private readonly ending = new Map<Turn, () => void>();
  private stopped = false;

  constructor(
    private readonly config: VoiceConfig,
    sink: AudioSink,
    offline: Synthesizer,
    cloud: Cloud | undefined,
    private readonly events: SpeechEvents,
    log: Logger,
  ) {
    const stages = [new BrainStage(config, cloud, log), new SentenceStage(), new SynthesizerStage(config, offline, cloud), new SpeakerStage(sink)];
    this.pipeline = new Pipeline(stages, (stage, err) => log.warn(`voice (${stage}): ${asError(err).message}`), (frame) => this.heard(frame));
  }

  /** Answers the person (or speaks up about how they look). */
  respond(request: ReplyRequest, signal: AbortSignal): Promise<void> {
    const emotion = request.emotion?.label;
    return this.turn(signal, { phrase: request.userText ? 'reply' : this.phraseFor(emotion) }, emotion, (turn) => ({ type: 'reply', turn, request }));
  }

  /** The person said something the robot cannot understand or answer now (no cloud, failed transcription). */
  apologize(signal: AbortSignal): Promise<void> {
    return this.turn(signal, { phrase: 'reply' }, undefined, (turn) => ({ type: 'offline', turn }));
  }

  /** Speaks given text as it is (the MQTT `say` command). */
  say(text: string, signal: AbortSignal): Promise<void> {
    return this.turn(signal, { text }, undefined, (turn) => ({ type: 'say', turn, text }));
  }

  /** Lets what is still playing end, and the stages go. */
  stop(): Promise<void> {
    this.stopped = true;
    return this.pipeline.stop();
  }

  /** An emotion the phrases do not know (a model with other labels) gets the neutral ones. */
  private phraseFor(emotion: string | undefined): PhraseKey {
    return emotion && emotion in this.config.offline.phrases ? (emotion as PhraseKey) : 'neutral';
  }

  /** `first` is what the brain stage begins a turn with; it ends every turn it begins. */
  private turn(signal: AbortSignal, offline: Turn['offline'], listenerEmotion: string | undefined, first: (turn: Turn) => Extract<SpeakingFrame, { type: 'reply' | 'say' | 'offline' }>): Promise<void> {
    const turn: Turn = { signal, offline, ...(listenerEmotion ? { listenerEmotion } : {}) };
    if (this.stopped) return Promise.resolve();
    const ended = new Promise<void>((resolve) => this.ending.set(turn, resolve));
    this.pipeline.push(first(turn));
    return ended;
  }

  private heard(frame: SpeakingUpFrame): void {
    switch (frame.type) {
      case 'speaking':
        return this.events.speaking(frame.speaking, frame.stillQueuedMs);
      case 'said':
        return this.events.said(frame.text, frame.source);
      case 'turn-ended':
        this.ending.get(frame.turn)?.();
        this.ending.delete(frame.turn);
        return;
    }
  }
}
