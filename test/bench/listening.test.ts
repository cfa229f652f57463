import t from 'tap';
import { benchListening, NOISES } from '../../src/bench/listening.js';

t.test('both speech detectors on the same generated audio: utterances in noise found, noise alone not taken for speech', async (t) => {
  const result = await benchListening({ noiseSeconds: 20 });
  t.equal(result.snrDb, 10);
  t.ok(result.speechMixSeconds > 60, `${result.speechMixSeconds} s of speech in noise`);
  const [energy, silero] = result.detectors;
  t.match(energy, { detector: 'energy', utterances: 16 });
  t.match(silero, { detector: 'silero', utterances: 16 });
  t.same(Object.keys(silero!.falseUtterancesPerHour), [...NOISES]);
  // At least 95% of utterances; in noise, tones and music far fewer false utterances than the energy
  // detector (babble is people talking: the attention gate's job, not the detector's).
  // Under babble Silero hears talk throughout: by default the utterances there run into one another.
  const missedOutsideBabble = Object.entries(silero!.missedUnder).reduce((sum, [noise, n]) => sum + (noise === 'babble' ? 0 : n), 0);
  t.ok(missedOutsideBabble <= 0.05 * silero!.utterances, `silero found ${silero!.utterancesFound} of ${silero!.utterances}, missed ${JSON.stringify(silero!.missedUnder)}`);
  // With nearer_voice_db a nearer voice starts an utterance of its own: babble included.
  const { nearerVoice } = result;
  t.ok(nearerVoice.utterancesFound >= 0.95 * nearerVoice.utterances, `nearer voice split: silero found ${nearerVoice.utterancesFound} of ${nearerVoice.utterances}, missed ${JSON.stringify(nearerVoice.missedUnder)}`);
  t.ok(nearerVoice.utterancesFound > silero!.utterancesFound, `more than without it (${silero!.utterancesFound})`);
  t.equal(nearerVoice.cutInTwo, 0, 'no utterance cut in two');
  t.ok(silero!.utterancesFound > energy!.utterancesFound, `more than energy's ${energy!.utterancesFound}`);
  const notTalk = NOISES.filter((n) => n !== 'babble');
  const falseOnes = (d: typeof silero) => notTalk.reduce((sum, n) => sum + d!.falseUtterancesPerHour[n], 0);
  t.ok(falseOnes(silero) * 4 < falseOnes(energy), `false utterances per hour over ${notTalk.join(', ')}: silero ${falseOnes(silero)}, energy ${falseOnes(energy)}`);
  for (const noise of notTalk) t.ok(silero!.falseUtterancesPerHour[noise] <= energy!.falseUtterancesPerHour[noise], `${noise} alone`);
  t.ok(silero!.speechFrameRecall > energy!.speechFrameRecall, `frame recall: silero ${silero!.speechFrameRecall}, energy ${energy!.speechFrameRecall}`);
  t.ok(energy!.falseUtterancesPerHour.chords > 0, 'the energy detector takes music for speech');
  // A real voice (alsa-utils' recordings, which set-up installs) over the same noises.
  t.match(silero!.realVoice, { utterances: 16 }, 'the real voice measured');
  const realMissedOutsideBabble = Object.entries(silero!.realVoice!.missedUnder).reduce((sum, [noise, n]) => sum + (noise === 'babble' ? 0 : n), 0);
  t.ok(realMissedOutsideBabble <= 0.05 * silero!.realVoice!.utterances, `real voice: silero found ${silero!.realVoice!.utterancesFound} of 16, missed ${JSON.stringify(silero!.realVoice!.missedUnder)}`);
  t.ok(silero!.realVoice!.utterancesFound > energy!.realVoice!.utterancesFound, `more than energy's ${energy!.realVoice!.utterancesFound}`);
  t.ok(silero!.realVoice!.speechFrameRecall > 0.8, `real voice frame recall ${silero!.realVoice!.speechFrameRecall}`);
  for (const d of result.detectors) {
    t.ok(d.speechFramePrecision > 0 && d.speechFramePrecision <= 1, `${d.detector} precision ${d.speechFramePrecision}`);
    t.ok(d.msPerAudioSecond > 0, `${d.detector} costs ${d.msPerAudioSecond} ms of CPU per second of audio`);
  }
});
