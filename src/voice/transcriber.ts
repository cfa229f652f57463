import OpenAI, { toFile } from 'openai';
import type { Config } from '../config/schema.js';

/** A WAV file around 16-bit mono PCM: what transcription endpoints accept. */
export function wav(pcm: Buffer, sampleRate: number): Buffer {
  const header = Buffer.alloc(44);
  header.write('RIFF', 0);
  header.writeUInt32LE(36 + pcm.length, 4);
  header.write('WAVEfmt ', 8);
  header.writeUInt32LE(16, 16);
  header.writeUInt16LE(1, 20);
  header.writeUInt16LE(1, 22);
  header.writeUInt32LE(sampleRate, 24);
  header.writeUInt32LE(sampleRate * 2, 28);
  header.writeUInt16LE(2, 32);
  header.writeUInt16LE(16, 34);
  header.write('data', 36);
  header.writeUInt32LE(pcm.length, 40);
  return Buffer.concat([header, pcm]);
}

/** Longer than anything said in one utterance (`max_utterance_ms` is at most a minute). */
export const MAX_TRANSCRIPT_LENGTH = 2000;

/** Speech to text through the OpenAI-compatible audio transcription endpoint. Only the audio of what the person said is sent. */
export class Transcriber {
  private readonly client: OpenAI;

  constructor(
    private readonly config: Config['voice'],
    apiKey: string,
  ) {
    this.client = new OpenAI({ apiKey, baseURL: config.openai_base_url, maxRetries: 1, timeout: config.listen.stt_timeout_ms, logLevel: 'off' });
  }

  async transcribe(pcm: Buffer, sampleRate: number, signal: AbortSignal): Promise<string> {
    const { listen } = this.config;
    const result = await this.client.audio.transcriptions.create(
      { file: await toFile(wav(pcm, sampleRate), 'utterance.wav', { type: 'audio/wav' }), model: listen.stt_model, ...(listen.language ? { language: listen.language } : {}) },
      { signal },
    );
    // Whatever the endpoint answers: the text goes on to the language model, the log and MQTT.
    return typeof result.text === 'string' ? result.text.trim().slice(0, MAX_TRANSCRIPT_LENGTH) : '';
  }
}
