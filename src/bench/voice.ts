import pino from 'pino';
import { devTools } from './dev-tools.js';
import { percentiles } from './stats.js';
import { configSchema } from '../config/schema.js';
import { SilentSink, type AudioSink, type Playback } from '../voice/audio-out.js';
import { ChatBrain } from '../voice/brain.js';
import { Speech } from '../voice/speech.js';
import { ElevenLabsSynthesizer, EspeakSynthesizer } from '../voice/synthesizer.js';
import { Transcriber } from '../voice/transcriber.js';

/** Paced like a real device, and notes when each utterance's first audio was handed over. */
class TimingSink implements AudioSink {
  readonly description = 'timing (paced, silent)';
  readonly firstAudioAt: number[] = [];

  open(sampleRate: number): Playback {
    const inner = new SilentSink('benchmark').open(sampleRate);
    let first = true;
    const firstAudioAt = this.firstAudioAt;
    return {
      async write(pcm, signal) {
        if (first) {
          first = false;
          firstAudioAt.push(performance.now());
        }
        return inner.write(pcm, signal);
      },
      end: (abandon) => inner.end(abandon),
      queuedMs: () => inner.queuedMs(),
      get bytes() {
        return inner.bytes;
      },
      get firstWriteAt() {
        return inner.firstWriteAt;
      },
    };
  }
}

export interface VoiceBench {
  services: { llmFirstTokenMs: number; ttsFirstByteMs: number; sttMs: number };
  turns: number;
  /** End of the person's utterance (the detector's end) to the first reply audio handed to the speaker. */
  firstAudioMs: { p50: number; p95: number };
  /** The same, minus the fake services' delays: what EmoBot itself adds. */
  ownOverheadMs: { p50: number; p95: number };
  /** Cancel (barge-in detected) to silence, counting the audio already queued in the device. */
  bargeInStopMs: { p50: number; p95: number };
}

/**
 * The voice pipeline against the fake services with the delays the issue specifies (first LLM token
 * 300 ms, first TTS byte 150 ms): transcription, streamed reply, sentence cut, TTS, speaker.
 */
export async function benchVoice(turns: number): Promise<VoiceBench> {
  const services = { llmFirstTokenMs: 300, ttsFirstByteMs: 150, sttMs: 0 };
  const { startFakeCloud } = await devTools('the voice benchmark', () => import('../dev/fake-cloud.js'));
  const cloud = await startFakeCloud({ llmFirstTokenMs: services.llmFirstTokenMs, ttsFirstByteMs: services.ttsFirstByteMs, sttDelayMs: services.sttMs, llmTokenGapMs: 0, transcript: 'How are you?', reply: 'I am fine, thank you. And you?' });
  try {
    const config = configSchema.parse({ voice: { mode: 'cloud', openai_base_url: cloud.openaiBaseUrl, elevenlabs_base_url: cloud.elevenlabsBaseUrl } }).voice;
    const sink = new TimingSink();
    let stoppedAt = 0;
    let queuedAtStop = 0;
    const speech = new Speech(
      config,
      sink,
      new EspeakSynthesizer(config, 16_000),
      { brain: new ChatBrain(config, 'bench'), synthesizer: new ElevenLabsSynthesizer(config, 'bench') },
      {
        speaking: (on, queued = 0) => {
          if (!on) [stoppedAt, queuedAtStop] = [performance.now(), queued];
        },
        said: () => {},
      },
      pino({ level: 'silent' }),
    );
    const transcriber = new Transcriber(config, 'bench');
    const utterance = Buffer.alloc(32_000);
    const firstAudio: number[] = [];
    for (let i = 0; i < turns + 1; i++) {
      const ended = performance.now();
      const signal = new AbortController().signal;
      const text = await transcriber.transcribe(utterance, 16_000, signal);
      await speech.respond({ userText: text, recentEmotions: [] }, signal);
      // The first turn warms up connections and JIT; it is not counted.
      if (i > 0) firstAudio.push(sink.firstAudioAt.at(-1)! - ended);
    }
    const stops: number[] = [];
    for (let i = 0; i < turns; i++) {
      const controller = new AbortController();
      const speaking = speech.say('This is a long announcement, read slowly to everyone in the room. '.repeat(4), controller.signal);
      await new Promise((resolve) => setTimeout(resolve, services.ttsFirstByteMs + 300));
      const cancelled = performance.now();
      controller.abort();
      await speaking;
      stops.push(stoppedAt - cancelled + queuedAtStop);
    }
    const serviceMs = services.sttMs + services.llmFirstTokenMs + services.ttsFirstByteMs;
    return { services, turns, firstAudioMs: percentiles(firstAudio), ownOverheadMs: percentiles(firstAudio.map((ms) => ms - serviceMs)), bargeInStopMs: percentiles(stops) };
  } finally {
    await cloud.close();
  }
}
