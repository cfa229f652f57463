import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import { Writable } from 'node:stream';
import { PacedPlayback, SilentSink, SpeakerSink } from '../../src/voice/audio-out.js';
import { alsaFileDevices } from '../helpers/alsa.js';

// Real ALSA: the default playback device is a file (see shared/notes/platform.md).
const alsa = alsaFileDevices(mkdtempSync(path.join(os.tmpdir(), 'emobot-audio-')));
Object.assign(process.env, alsa.env);

t.test('the bytes written reach the speaker unchanged, at the pace they play', async (t) => {
  await SpeakerSink.probe('default', 16_000);
  const sink = new SpeakerSink('default');
  const pcm = Buffer.alloc(32_000); // one second at 16 kHz
  for (let i = 0; i < pcm.length; i += 2) pcm.writeInt16LE(Math.round(8000 * Math.sin(i / 20)), i);
  const playback = sink.open(16_000);
  const started = performance.now();
  for (let offset = 0; offset < pcm.length; offset += 3200) await playback.write(pcm.subarray(offset, offset + 3200));
  const handedOver = performance.now() - started;
  await playback.end();
  const total = performance.now() - started;
  // Paced by the device: the writes cannot run more than its buffer (100 ms) ahead of playback. How
  // late a loaded machine lets them finish is not this test's business.
  t.ok(handedOver >= 850, `one second of audio handed over in ${Math.round(handedOver)} ms (at most 100 ms ahead)`);
  t.ok(total >= 980, `and played out by ${Math.round(total)} ms`);
  t.equal(playback.bytes, pcm.length);
  t.ok(readFileSync(alsa.speakerFile).equals(pcm), 'the ALSA device received exactly the PCM');
});

t.test('a device ALSA cannot open is an error naming it (instead of the speaker package aborting the process)', async (t) => {
  await t.rejects(SpeakerSink.probe('nosuchcard', 16_000), /speaker nosuchcard: cannot play: /);
});

t.test('a device on which the speaker package aborts the process is refused, and this process lives on', async (t) => {
  // Found by trying: a default PCM on a card that does not exist makes the package assert and abort.
  const conf = path.join(mkdtempSync(path.join(os.tmpdir(), 'emobot-abort-')), 'asound.conf');
  writeFileSync(conf, 'pcm.!default { type hw; card 7 }\n');
  const before = process.env.ALSA_CONFIG_PATH;
  process.env.ALSA_CONFIG_PATH = `/usr/share/alsa/alsa.conf:${conf}`;
  t.teardown(() => {
    if (before === undefined) delete process.env.ALSA_CONFIG_PATH;
    else process.env.ALSA_CONFIG_PATH = before;
  });
  await t.rejects(SpeakerSink.probe('default', 16_000), /speaker default: cannot play: ALSA could not open it \(the audio library aborted with SIGABRT\)/);
});

t.test('the silent stand-in keeps real time too', async (t) => {
  const playback = new SilentSink('no sound card').open(16_000);
  const started = performance.now();
  await playback.write(Buffer.alloc(8000));
  await playback.end();
  t.ok(performance.now() - started >= 240, 'a quarter second of audio takes a quarter second');
});

t.test('a device that stops taking audio holds up a write only until it is called off, fails or closes', async (t) => {
  // Takes nothing after the first piece: its buffer stays full, and 'drain' never comes.
  const stuck = () => new Writable({ highWaterMark: 1, write: () => {} });
  const slice = Buffer.alloc(640);
  for (const [how, end] of [
    ['cancelled', (_: Writable, controller: AbortController) => controller.abort()],
    ['failed', (output: Writable) => output.destroy(new Error('device gone'))],
    ['closed', (output: Writable) => output.destroy()],
  ] as const) {
    const output = stuck();
    output.on('error', () => {});
    const controller = new AbortController();
    const writing = new PacedPlayback(16_000, output).write(Buffer.concat([slice, slice]), controller.signal);
    let done = false;
    void writing.then(() => (done = true));
    await new Promise((resolve) => setTimeout(resolve, 50));
    t.notOk(done, `${how}: waiting while the device's buffer is full`);
    end(output, controller);
    await writing;
    t.pass(`${how}: the write returned`);
  }
});
