import type { Config } from '../config/schema.js';
import type { Logger } from '../runtime/logger.js';
import { asError } from '../runtime/errors.js';
import type { AudioSink, Playback } from './audio-out.js';
import type { ChatBrain, ReplyRequest } from './brain.js';
import { CircuitBreaker } from './circuit-breaker.js';
import { SentenceSplitter } from './sentences.js';
import type { Synthesizer } from './synthesizer.js';

type VoiceConfig = Config['voice'];
export type SpeechSource = 'cloud' | 'offline';

export interface SpeechEvents {
  /** `stillQueuedMs`: when speech is cut off, the audio already in the device that still sounds. */
  speaking(on: boolean, stillQueuedMs?: number): void;
  /** A sentence went to the speaker. */
  said(text: string, source: SpeechSource): void;
}

export interface Cloud {
  brain: ChatBrain;
  synthesizer: Synthesizer;
}

/**
 * Turns replies into sound: the language model's stream is cut into sentences, each sentence is
 * synthesised and played while the next is being written, so the first words play long before the
 * reply is complete. Any cloud failure before the robot has said something falls back to the
 * offline voice; the circuit breaker keeps a failing cloud from being asked again and again.
 */
export class Speech {
  private readonly breaker: CircuitBreaker;
  private phraseIndex = 0;

  constructor(
    private readonly config: VoiceConfig,
    private readonly sink: AudioSink,
    private readonly offline: Synthesizer,
    private readonly cloud: Cloud | undefined,
    private readonly events: SpeechEvents,
    private readonly log: Logger,
  ) {
    this.breaker = new CircuitBreaker(config.circuit_breaker);
  }

  /** Answers the person (or speaks up about how they look). */
  async respond(request: ReplyRequest, signal: AbortSignal): Promise<void> {
    if (this.cloud && this.breaker.available()) {
      const cloud = this.cloud;
      const spoke = await this.tryCloud(() => this.sentences(cloud.brain.reply(request, signal)), request.emotion?.label, signal);
      if (spoke) return;
    }
    // Picked only when needed: the phrases rotate, and a turn the cloud answered must not use one up.
    await this.speak([this.phrase(request.userText ? 'reply' : request.emotion?.label)], this.offline, 'offline', undefined, signal);
  }

  /** The person said something the robot cannot understand or answer now (no cloud, failed transcription). */
  async apologize(signal: AbortSignal): Promise<void> {
    await this.speak([this.phrase('reply')], this.offline, 'offline', undefined, signal);
  }

  /** Speaks given text as it is (the MQTT `say` command). */
  async say(text: string, signal: AbortSignal): Promise<void> {
    if (this.cloud && this.breaker.available()) {
      const spoke = await this.tryCloud(async function* () {
        yield text;
      }, undefined, signal);
      if (spoke) return;
    }
    await this.speak([text], this.offline, 'offline', undefined, signal);
  }

  /** True when the cloud handled the turn (or it was cancelled); false to fall back offline. */
  private async tryCloud(sentences: () => AsyncIterable<string>, emotion: string | undefined, signal: AbortSignal): Promise<boolean> {
    let wroteAudio = false;
    try {
      wroteAudio = await this.speak(sentences(), this.cloud!.synthesizer, 'cloud', emotion, signal, () => (wroteAudio = true));
      this.breaker.succeeded();
      return true;
    } catch (err) {
      if (signal.aborted) return true;
      const opened = this.breaker.failed();
      this.log.warn({ err: asError(err).message }, `cloud voice failed: ${asError(err).message}${opened ? `; offline only for ${this.config.circuit_breaker.open_ms} ms` : ''}`);
      // Half a reply followed by a stock phrase would sound broken: only fall back if nothing was said.
      return wroteAudio;
    }
  }

  /** Plays sentences through one synthesizer; returns whether any audio was written. */
  private async speak(sentences: Iterable<string> | AsyncIterable<string>, synthesizer: Synthesizer, source: SpeechSource, emotion: string | undefined, signal: AbortSignal, onAudio?: () => void): Promise<boolean> {
    let playback: Playback | undefined;
    try {
      for await (const sentence of sentences) {
        if (signal.aborted) break;
        for await (const pcm of synthesizer.synthesize(sentence, signal, emotion)) {
          if (signal.aborted) break;
          if (!playback) {
            playback = this.sink.open(synthesizer.sampleRate);
            this.events.speaking(true);
            onAudio?.();
          }
          await playback.write(pcm, signal);
        }
        if (playback && !signal.aborted) this.events.said(sentence, source);
      }
    } finally {
      if (playback) {
        const queued = signal.aborted ? playback.queuedMs() : 0;
        await playback.end(signal.aborted);
        this.events.speaking(false, queued);
      }
    }
    return playback !== undefined;
  }

  private async *sentences(tokens: AsyncIterable<string>): AsyncGenerator<string> {
    const splitter = new SentenceSplitter();
    for await (const token of tokens) yield* splitter.push(token);
    yield* splitter.flush();
  }

  /** The next phrase for an emotion (or for a reply), rotating so repeats are rare. */
  private phrase(key: string | undefined): string {
    const table = this.config.offline.phrases as Record<string, string[]>;
    const list = table[key ?? 'neutral'] ?? table.neutral!;
    return list[this.phraseIndex++ % list.length]!;
  }
}
