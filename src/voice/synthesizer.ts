import { spawn } from 'node:child_process';
import type { ElevenLabsClient } from '@elevenlabs/elevenlabs-js';
import type { Config } from '../config/schema.js';
import { asError } from '../runtime/errors.js';

type VoiceConfig = Config['voice'];

/** The sample rate of an ElevenLabs PCM output format such as `pcm_16000`. */
export function sampleRateOf(format: Config['voice']['tts']['output_format']): number {
  return Number(format.split('_')[1]);
}

/** Text to 16-bit mono PCM at `sampleRate`, streamed as it is made. */
export interface Synthesizer {
  readonly name: string;
  readonly sampleRate: number;
  /** `listenerEmotion` lets a voice sound calmer for a sad or frightened listener. */
  synthesize(text: string, signal: AbortSignal, listenerEmotion?: string): AsyncIterable<Buffer>;
}

/**
 * ElevenLabs streaming TTS: the first audio arrives while the rest of the sentence is still being made.
 * The SDK is loaded when the cloud voice is set up, not when the daemon starts: it takes about 0.7 s
 * and 31 MB of heap on a 2-core x86, which an offline robot should not pay.
 */
export class ElevenLabsSynthesizer implements Synthesizer {
  readonly name = 'elevenlabs';
  readonly sampleRate: number;
  private client?: Promise<ElevenLabsClient>;

  constructor(
    private readonly config: VoiceConfig,
    private readonly apiKey: string,
  ) {
    this.sampleRate = sampleRateOf(config.tts.output_format);
    // A failed load surfaces on the first sentence spoken, not as an unhandled rejection at start.
    this.load().catch(() => {});
  }

  /** The client, loading the SDK once; a load that failed (a full file table, say) is tried again next time. */
  private load(): Promise<ElevenLabsClient> {
    const loading = (this.client ??= import('@elevenlabs/elevenlabs-js').then(
      ({ ElevenLabsClient }) => new ElevenLabsClient({ apiKey: this.apiKey, baseUrl: this.config.elevenlabs_base_url }),
      (err: unknown) => {
        if (this.client === loading) this.client = undefined;
        throw new Error(`cannot load the ElevenLabs SDK: ${asError(err).message}`);
      },
    ));
    return loading;
  }

  async *synthesize(text: string, signal: AbortSignal, listenerEmotion?: string): AsyncGenerator<Buffer> {
    const { tts } = this.config;
    const calm = listenerEmotion !== undefined && tts.calm_for.includes(listenerEmotion);
    const client = await this.load();
    if (signal.aborted) return;
    const stream = await client.textToSpeech.stream(
      tts.voice_id,
      { text, modelId: tts.model, outputFormat: tts.output_format, voiceSettings: calm ? { stability: 0.8, style: 0 } : { stability: 0.45, style: 0.3 } },
      { abortSignal: signal, timeoutInSeconds: tts.timeout_ms / 1000, maxRetries: 0 },
    );
    for await (const chunk of stream) yield Buffer.from(chunk);
  }
}

/**
 * The offline voice: espeak-ng, resampled by sox to the speaker's rate (-R: sox's dither repeatable,
 * so the same text is the same audio, which tests and benchmarks rely on). Needs no network and no key.
 */
export class EspeakSynthesizer implements Synthesizer {
  readonly name = 'espeak-ng';

  constructor(
    private readonly config: VoiceConfig,
    readonly sampleRate: number,
  ) {}

  async *synthesize(text: string, signal: AbortSignal): AsyncGenerator<Buffer> {
    if (signal.aborted) return;
    const { offline } = this.config;
    const espeak = spawn('espeak-ng', ['--stdout', '-v', offline.voice, '-s', String(offline.words_per_minute), '--', text], { stdio: ['ignore', 'pipe', 'pipe'] });
    const sox = spawn('sox', ['-q', '-R', '-t', 'wav', '-', '-t', 'raw', '-r', String(this.sampleRate), '-e', 'signed', '-b', '16', '-c', '1', '-'], { stdio: ['pipe', 'pipe', 'pipe'] });
    espeak.stdout.pipe(sox.stdin);
    let stderr = '';
    espeak.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    sox.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const stop = () => {
      espeak.kill();
      sox.kill();
    };
    signal.addEventListener('abort', stop, { once: true });
    const spawnFailure = new Promise<never>((_, reject) => {
      for (const child of [espeak, sox]) child.once('error', (err) => reject(new Error(`offline voice: ${err.message}`)));
    });
    spawnFailure.catch(() => {});
    try {
      for await (const chunk of sox.stdout) yield chunk as Buffer;
      const code = await Promise.race([new Promise<number | null>((resolve) => (sox.exitCode !== null ? resolve(sox.exitCode) : sox.once('close', resolve))), spawnFailure]);
      if (code !== 0 && !signal.aborted) throw new Error(`offline voice: sox/espeak-ng failed (${code}): ${stderr.trim().split('\n')[0]}`);
    } finally {
      signal.removeEventListener('abort', stop);
      stop();
    }
  }
}
