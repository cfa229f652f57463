/**
 * A person talking to the robot without a person: speech from espeak-ng between silences, played in
 * real time by realtime-mic.cjs beside it (a node-record-lpcm16 recorder module). Used by the tests and
 * the soak run; never by the daemon on its own.
 */
import path from 'node:path';
import { configSchema } from '../config/schema.js';
import { packageRoot } from '../runtime/paths.js';
import { EspeakSynthesizer } from '../voice/synthesizer.js';

const REALTIME_MIC = path.join(packageRoot, 'src', 'dev', 'realtime-mic.cjs');

/** The environment that makes the daemon hear `file` (raw 16 kHz mono PCM) in real time; `loop` repeats it. */
export function realtimeMicrophone(file: string, loop = false): Record<string, string> {
  return { EMOBOT_RECORDER_MODULE: REALTIME_MIC, EMOBOT_MIC_FILE: file, EMOBOT_MIC_LOOP: loop ? '1' : '0' };
}

/** Raw 16 kHz mono 16-bit PCM: `leadMs` of silence, `text` spoken, `tailMs` of silence. */
export async function spokenRecording(text: string, leadMs: number, tailMs: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of new EspeakSynthesizer(configSchema.parse({}).voice, 16_000).synthesize(text, new AbortController().signal)) chunks.push(c);
  return Buffer.concat([Buffer.alloc(leadMs * 32), ...chunks, Buffer.alloc(tailMs * 32)]);
}
