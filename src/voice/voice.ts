import type { RobotState } from '../runtime/events.js';
import type { Subsystem, SubsystemContext, SubsystemDefinition } from '../runtime/subsystem.js';
import { asError } from '../runtime/errors.js';
import { AttentionGate } from './attention.js';
import { SilentSink, SpeakerSink, type AudioSink } from './audio-out.js';
import { ChatBrain, type ReplyRequest } from './brain.js';
import { Speech } from './speech.js';
import type { Cloud } from './speaking.js';
import { Microphone, recorderFor } from './microphone.js';
import { ElevenLabsSynthesizer, EspeakSynthesizer, sampleRateOf } from './synthesizer.js';
import { Transcriber } from './transcriber.js';
import { Pipeline } from './frames.js';
import { AttentionStage, AwakeStage, CommandStage, DetectorStage, RecogniserStage, type ListeningFrame, type ListeningStage, type ListeningUpFrame, type Reach } from './listening.js';
import { CommandRecognizer, SPOT_EVERY_MS, type SpokenCommand } from './commands.js';
import { createSpeechDetector, VoiceActivityDetector } from './vad.js';

const HISTORY = 5;
/** How an emotion label is said in "You look ...". */
const LOOKS: Record<string, string> = { angry: 'angry', disgust: 'disgusted', fear: 'afraid', happy: 'happy', sad: 'sad', surprise: 'surprised', neutral: 'calm' };

type Words = Extract<ListeningFrame, { type: 'transcript' | 'not-understood' }>;

interface Attended {
  trackId: number;
  label: string;
  confidence: number;
  since: number;
}

/**
 * The robot's voice. It speaks up when the person's emotion changes and holds (not more often than
 * the cooldown), says what it is asked to, and answers what it hears: the microphone's audio flows
 * through the listening stages (frames.ts, listening.ts) into this subsystem's responder, the last
 * stage, and what the robot does flows back up. What it says goes through the speaking stages
 * (speech.ts, speaking.ts). One utterance at a time, cancelled at once by mute,
 * a mode change or stop. Only emotion labels and text leave the robot, never images.
 */
export class Voice implements Subsystem {
  private speech?: Speech;
  private attended?: Attended;
  private readonly history: string[] = [];
  private current?: { controller: AbortController; done: Promise<void> };
  private proactiveTimer?: NodeJS.Timeout;
  private lastSpokeAt = 0;
  /** Why the utterance in progress is being said, for the voice.said events. */
  private trigger: 'emotion' | 'say' | 'reply' = 'emotion';
  private ctx?: SubsystemContext;
  private listening?: { microphone: Microphone; pipeline: Pipeline<ListeningFrame, ListeningUpFrame> };
  private stopped = false;
  private transcriber?: Transcriber;
  /** True from the first audio of an utterance until it ended (what the microphone may hear back). */
  private speakingNow = false;
  private bargeInAt?: number;
  /** The reply in progress waits here for what the recogniser made of the person's words. */
  private awaitingWords?: (words?: Words) => void;
  /** The listening pipeline's last stage: the robot's side of the conversation. */
  private readonly responder: ListeningStage = { name: 'responder', down: (frame) => this.respondTo(frame) };

  constructor(private readonly sinkFor: (device: string, sampleRate: number) => Promise<AudioSink> = defaultSink) {}

  async start(ctx: SubsystemContext): Promise<void> {
    this.ctx = ctx;
    const { voice } = ctx.config;
    const { openaiApiKey, elevenlabsApiKey } = ctx.secrets;
    const cloudReady = voice.mode === 'cloud' && openaiApiKey && elevenlabsApiKey;
    const cloud: Cloud | undefined = cloudReady ? { brain: new ChatBrain(voice, openaiApiKey), synthesizer: new ElevenLabsSynthesizer(voice, elevenlabsApiKey) } : undefined;
    const sampleRate = sampleRateOf(voice.tts.output_format);
    const sink = await this.sinkFor(voice.speaker, sampleRate);
    const offline = new EspeakSynthesizer(voice, sampleRate);
    this.speech = new Speech(voice, sink, offline, cloud, {
      speaking: (on, stillQueuedMs = 0) => {
        this.speakingNow = on;
        this.listening?.pipeline.pushUp({ type: 'robot-speaking', speaking: on, at: performance.now() });
        if (!on && this.bargeInAt !== undefined) {
          // Silence comes when the audio already handed to the device has played too.
          const stopMs = Math.round(performance.now() - this.bargeInAt + stillQueuedMs);
          this.bargeInAt = undefined;
          ctx.log.info({ stopMs }, `barge-in: stopped talking ${stopMs} ms after the person started`);
          ctx.bus.emit('voice.barge-in', { at: Date.now(), stopMs });
        }
        ctx.bus.emit('voice.speaking', { speaking: on, at: Date.now() });
      },
      said: (text, source) => {
        ctx.log.info({ text, source }, `said (${source}): ${text}`);
        ctx.bus.emit('voice.said', { text, source, trigger: this.trigger, at: Date.now() });
      },
    }, ctx.log);
    if (sink instanceof SilentSink) ctx.log.warn(`${sink.reason}: the robot's speech is shown as text only`);
    const why = voice.mode === 'offline' ? 'voice.mode is offline' : 'OPENAI_API_KEY and ELEVENLABS_API_KEY are needed';
    ctx.log.info({ speaker: sink.description, cloud: !!cloud }, `voice on ${sink.description}, ${cloud ? `${voice.llm.model} at ${voice.openai_base_url} + ElevenLabs, espeak-ng as fallback` : `offline only (${why})`}`);

    if (cloudReady) this.transcriber = new Transcriber(voice, openaiApiKey);

    ctx.bus.on('emotion', (e) => {
      if (!e.attended) return;
      if (this.attended?.label !== e.label) this.history.push(e.label);
      while (this.history.length > HISTORY) this.history.shift();
      this.attended = { trackId: e.trackId, label: e.label, confidence: e.confidence, since: e.since };
      this.scheduleProactive();
    });
    ctx.bus.on('face.lost', ({ trackId }) => {
      if (this.attended?.trackId === trackId) this.attended = undefined;
    });
    ctx.bus.on('robot.state', (state) => {
      if (!mayTalk(state)) this.cancelWithListening();
    });
    ctx.bus.on('voice.say', ({ text }) => {
      if (ctx.robotState().muted) return ctx.log.info(`not saying "${text}": muted`);
      this.utter('say', (signal) => this.speech!.say(text, signal));
    });
    // Last: loading the speech detector takes a moment, and what the bus says meanwhile must not be lost.
    if (voice.listen.enabled) await this.listen(ctx, voice.listen);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.listening?.microphone.stop();
    clearTimeout(this.proactiveTimer);
    this.cancelWithListening();
    await this.current?.done;
    await this.speech?.stop();
    // Audio already captured is still being judged: the stages let go once that is done, and once only.
    const listening = this.listening;
    this.listening = undefined;
    await listening?.pipeline.stop();
  }

  private async listen(ctx: SubsystemContext, listen: SubsystemContext['config']['voice']['listen']): Promise<void> {
    const microphone = new Microphone(ctx.config.voice.microphone, recorderFor(process.env));
    const detector = await createSpeechDetector(listen, microphone.sampleRate).catch((err: unknown) => {
      // A robot that listens with the cheaper detector is better than one that does not listen.
      ctx.log.warn(`the ${listen.detector} speech detector did not load (${asError(err).message}); listening with the energy detector`);
      return createSpeechDetector({ ...listen, detector: 'energy' }, microphone.sampleRate);
    });
    const commands = listen.commands ? await this.commandRecognizer(ctx, listen) : undefined;
    if (this.stopped) {
      commands?.release();
      return detector.release();
    }
    let detectorFailures = 0;
    const vadSettings = { ...listen, sampleRate: microphone.sampleRate, progress_ms: commands ? SPOT_EVERY_MS : undefined };
    const vad = new VoiceActivityDetector(vadSettings, detector, (err) => {
      // Once is enough to know; a broken detector would otherwise log every 32 ms.
      if (detectorFailures++ === 0) ctx.log.warn(`the ${detector.name} speech detector failed (${asError(err).message}); such audio counts as silence`);
    });
    const reachNow = (): Reach | undefined => {
      if (this.stopped) return undefined;
      const state = ctx.robotState();
      if (mayTalk(state)) return 'reply';
      // Without spoken commands, a robot that may not talk has nothing to do with what it hears.
      if (!commands) return undefined;
      return state.mode === 'sleep' ? 'wake' : 'commands';
    };
    const stages: ListeningStage[] = [new DetectorStage(vad, detector, listen.barge_in_ratio), new AwakeStage(reachNow)];
    if (listen.require_attention) {
      const attention = new AttentionGate(listen);
      ctx.bus.on('vision.frame', (frame) => attention.frame(frame));
      stages.push(new AttentionStage(attention, ctx.log));
    }
    if (commands) stages.push(new CommandStage(commands, ctx.log));
    stages.push(new RecogniserStage(this.transcriber, microphone.sampleRate, ctx.log), this.responder);
    const pipeline = new Pipeline(stages, (stage, err) => ctx.log.warn(`listening (${stage}): ${asError(err).message}`));
    this.listening = { microphone, pipeline };
    // The robot may have started talking while the detector loaded.
    if (this.speakingNow) pipeline.pushUp({ type: 'robot-speaking', speaking: true, at: performance.now() });
    ctx.log.info(`listening on ${ctx.config.voice.microphone} with the ${detector.name} speech detector${commands ? `; spoken commands: ${commands.commands.map((c) => c.phrases[0]).join(', ')}` : ''}`);
    microphone.start(
      (pcm) => pipeline.push({ type: 'audio', pcm, capturedAt: performance.now() }),
      // A missing or broken microphone leaves a robot that still sees, moves and speaks.
      (err) => ctx.log.warn(`${err.message}; not listening (check voice.microphone, \`arecord -L\`)`),
    );
  }

  /** The offline command recogniser, or none (logged) when pocketsphinx is missing: the robot listens on without it. */
  private async commandRecognizer(ctx: SubsystemContext, listen: SubsystemContext['config']['voice']['listen']): Promise<CommandRecognizer | undefined> {
    try {
      const recognizer = await CommandRecognizer.load(Object.keys(ctx.config.expression.poses), listen.command_noise_suppression, (message) => ctx.log.warn(message));
      for (const { pose, why } of recognizer.unspeakable) ctx.log.warn(`expression.poses.${pose} cannot be a spoken command: ${why} (MQTT's pose command still takes it)`);
      return recognizer;
    } catch (err) {
      ctx.log.warn(`no spoken commands (${asError(err).message}); voice.listen.commands: false goes without them and this warning`);
      return undefined;
    }
  }

  /** A spoken command acts as MQTT's commands do, through the bus; the two questions are answered aloud. */
  private obey(command: SpokenCommand, text: string): void {
    const ctx = this.ctx!;
    ctx.log.info({ command: command.name, text }, `spoken command: ${command.name}`);
    const { action } = command;
    switch (action.kind) {
      case 'control':
        return ctx.bus.emit('robot.control', { ...action.request, by: 'voice' });
      case 'pose':
        return ctx.bus.emit('expression.pose', { name: action.pose, by: 'voice' });
      case 'tell': {
        if (!mayTalk(ctx.robotState())) return ctx.log.info(`not answering "${text}": the robot may not talk now`);
        const answer = action.what === 'time' ? `It is ${new Date().toLocaleTimeString('en-US', { hour: 'numeric', minute: '2-digit' })}.` : this.howTheyLook();
        this.utter('say', (signal) => this.speech!.say(answer, signal));
        return;
      }
    }
  }

  private howTheyLook(): string {
    const seen = this.attended;
    return seen ? `You look ${LOOKS[seen.label] ?? seen.label}.` : 'I cannot see you right now.';
  }

  /**
   * What reaches the end of the listening path: the person started talking (over the robot: it
   * stops), said something meant for it (the reply turn begins, and waits for the words), and
   * what those words were, or that they could not be understood (the offline apology).
   */
  private respondTo(frame: ListeningFrame): void {
    // A stopped voice (a reload starts a new one) answers nothing it heard before.
    if (this.stopped) return;
    switch (frame.type) {
      case 'speech-started':
        if (this.speakingNow && this.ctx!.config.voice.listen.barge_in && this.current) {
          this.bargeInAt = performance.now();
          this.cancel();
        }
        return;
      case 'utterance':
        if (mayTalk(this.ctx!.robotState())) this.utter('reply', (signal) => this.answer(signal));
        return;
      case 'command':
        return this.obey(frame.command, frame.text);
      case 'transcript':
      case 'not-understood':
        this.awaitingWords?.(frame);
        return;
    }
  }

  private async answer(signal: AbortSignal): Promise<void> {
    const words = await new Promise<Words | undefined>((resolve) => {
      const settle = (got?: Words) => {
        if (this.awaitingWords === settle) this.awaitingWords = undefined;
        resolve(got);
      };
      this.awaitingWords = settle;
      signal.addEventListener('abort', () => settle(), { once: true });
    });
    if (!words || signal.aborted) return;
    if (words.type === 'not-understood') return this.speech!.apologize(signal);
    if (!words.text) return;
    this.ctx!.bus.emit('voice.heard', { text: words.text, at: Date.now() });
    await this.speech!.respond({ userText: words.text, ...this.seeing() }, signal);
  }

  private scheduleProactive(): void {
    const { proactive } = this.ctx!.config.voice;
    clearTimeout(this.proactiveTimer);
    const attended = this.attended;
    if (!proactive.enabled || !attended || !proactive.emotions.includes(attended.label)) return;
    const heldFor = Date.now() - attended.since;
    this.proactiveTimer = setTimeout(() => this.speakUp(attended), Math.max(0, proactive.after_ms - heldFor));
  }

  private speakUp(seen: Attended): void {
    const ctx = this.ctx!;
    const { proactive } = ctx.config.voice;
    // Still the same person and emotion, the robot is free and allowed to talk, and it has not just spoken.
    if (this.attended !== seen || this.current || !mayTalk(ctx.robotState())) return;
    if (Date.now() - this.lastSpokeAt < proactive.cooldown_ms) return;
    const request = this.seeing();
    this.utter('emotion', (signal) => this.speech!.respond(request, signal));
  }

  /** What the robot sees, as context for what it says: the attended person's emotion and the ones before. */
  private seeing(): Omit<ReplyRequest, 'userText'> {
    const seen = this.attended;
    return {
      ...(seen ? { emotion: { label: seen.label, confidence: seen.confidence, forMs: Date.now() - seen.since } } : {}),
      recentEmotions: this.history.slice(0, -1),
    };
  }

  /** One utterance at a time: a new one replaces (cancels) the one in progress. */
  private utter(trigger: 'emotion' | 'say' | 'reply', speak: (signal: AbortSignal) => Promise<void>): void {
    // A reply still waiting for the person's words is given up, and so is their speech-to-text,
    // unless a newer utterance replaces it: the recogniser is already on that one's words.
    if (trigger !== 'reply' && this.awaitingWords) this.cancelWithListening();
    else this.cancel();
    const controller = new AbortController();
    this.trigger = trigger;
    const done = speak(controller.signal)
      .catch((err) => this.ctx!.log.warn(`voice: ${asError(err).message}`))
      .finally(() => {
        this.lastSpokeAt = Date.now();
        if (this.current?.controller === controller) this.current = undefined;
      });
    this.current = { controller, done };
  }

  private cancel(): void {
    this.current?.controller.abort();
  }

  /** Also abandons what the listening stages still do with the person's last words (speech-to-text). */
  private cancelWithListening(): void {
    this.cancel();
    this.listening?.pipeline.pushUp({ type: 'cancel' });
  }
}

/** The robot talks only in active mode and unmuted. */
function mayTalk(state: RobotState): boolean {
  return !state.muted && state.mode === 'active';
}

/** The configured speaker if ALSA can open it, else a silent stand-in (logged) so the robot runs on. */
async function defaultSink(device: string, sampleRate: number): Promise<AudioSink> {
  try {
    await SpeakerSink.probe(device, sampleRate);
    return new SpeakerSink(device);
  } catch (err) {
    return new SilentSink(asError(err).message);
  }
}

export const voice: SubsystemDefinition = {
  name: 'voice',
  // The poses are spoken commands too: a changed pose list needs a new grammar.
  sections: ['voice', 'expression'],
  create: () => new Voice(),
};
