import { writeFileSync } from 'node:fs';
import path from 'node:path';

/**
 * Real ALSA without a sound card: a "file" PCM plugin records what is played into a file and plays
 * a file as the microphone (see shared/notes/platform.md). Returns the environment that selects it.
 */
export function alsaFileDevices(dir: string, micRaw?: string) {
  const speakerFile = path.join(dir, 'speaker.raw');
  const mic = micRaw ?? path.join(dir, 'silence.raw');
  if (!micRaw) writeFileSync(mic, Buffer.alloc(32_000));
  const conf = path.join(dir, 'asound.conf');
  writeFileSync(
    conf,
    `pcm.speaker_file { type file; slave.pcm "null"; file "${speakerFile}"; format "raw" }
pcm.mic_file_raw { type file; slave.pcm "null"; file "/dev/null"; infile "${mic}"; format "raw" }
pcm.mic_file { type plug; slave { pcm "mic_file_raw"; format S16_LE; rate 16000; channels 1 } }
pcm.!default { type asym; playback.pcm "speaker_file"; capture.pcm "mic_file" }
`,
  );
  return { env: { ALSA_CONFIG_PATH: `/usr/share/alsa/alsa.conf:${conf}` }, speakerFile };
}
