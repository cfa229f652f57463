import { isIP } from 'node:net';
import { z } from 'zod';
import { checkGstreamerPipeline } from '../camera/gstreamer.js';
import { urlCredentials } from './url-credentials.js';

/**
 * The one schema for /etc/emobot/config.yaml. Every key has a default, so an empty file is a valid
 * config; unknown keys are rejected so that a typo over SSH is reported instead of silently ignored.
 * Secrets are deliberately absent: they come from the environment only (see secrets.ts).
 */

/** A day at most: a longer hold, delay or window is a mistake (or a remote sender) freezing the robot in one state. */
const milliseconds = z.number().int().min(0).max(86_400_000);

/** The message names the credential word, not the parameter: text in front of it could be the secret. */
const noCredentialParameter = (url: string, ctx: z.RefinementCtx) => {
  const word = urlCredentials(url).first;
  if (word !== undefined) ctx.addIssue({ code: 'custom', message: `no credential in the URL (a parameter named for a ${word}): keys come from the secrets file, and URLs get logged` });
};

/** An http(s) URL without credentials in it: keys travel in headers, never in a URL that gets logged. */
const endpoint = z
  .url({ protocol: /^https?$/ })
  .refine((url) => !/^[a-z]+:\/\/[^/]*@/i.test(url), 'no user name or password in the URL (keys come from the secrets file)')
  .superRefine(noCredentialParameter);
/** Control characters other than tab and line breaks: nothing a voice says, and a NUL fails a spawn. */
export const UNSPEAKABLE_CHARACTERS = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/g;

/**
 * Text the robot says or sends to the language model: bounded, since a remote change may set it, and
 * without control characters (a NUL fails the offline voice's spawn, escape codes reach terminals).
 */
export const spokenText = (max: number) =>
  z
    .string()
    .trim()
    .min(1)
    .max(max)
    .refine((text) => !new RegExp(UNSPEAKABLE_CHARACTERS.source).test(text), 'no control characters but tabs and line breaks (a NUL, escape codes): words to be spoken');
const sentence = spokenText(500);

/**
 * ALSA PCM names as `aplay -L` lists them: default, sysdefault, hw:1,0, plughw:CARD=USB,DEV=0, or a
 * PCM named in asound.conf. ALSA also accepts inline definitions and the `file` plugin, whose value
 * after `|` it hands to a shell: those, and anything naming a file, are not device names. A plugin's
 * arguments may name another PCM (`plug:file:x`, `plug:SLAVE=file:x` open the file plugin beneath
 * `plug`), so no part of the name may be one of them, not only its first.
 */
const ALSA_PLUGINS_WITH_FILES_OR_PROGRAMS = ['file', 'tee', 'shm', 'pipe', 'ladspa', 'jack', 'hooks'];
/** Names of a card or device (`CARD=Jack`) are the owner's words, not PCMs; anything else may name one. */
const ALSA_NAME_KEYS = new Set(['card', 'dev', 'subdev', 'device']);
/** The words of a PCM name that could name a PCM, `pcm.file` as well as `file`. */
function pcmWords(name: string): string[] {
  return name
    .toLowerCase()
    .split(/[:,]/)
    .filter((part) => !(part.includes('=') && ALSA_NAME_KEYS.has(part.split('=')[0]!)))
    .flatMap((part) => part.split(/[=.]/));
}
export const alsaDevice = z
  .string()
  .min(1)
  .max(100)
  .regex(/^[A-Za-z_][A-Za-z0-9_-]*(:[A-Za-z0-9_=,.:-]+)?$/, 'an ALSA device name such as default, hw:1,0 or plughw:CARD=USB,DEV=0 (`aplay -L`)')
  .refine((name) => !pcmWords(name).some((word) => ALSA_PLUGINS_WITH_FILES_OR_PROGRAMS.includes(word)), 'ALSA plugins that reach files or programs are not device names');

/**
 * The first levels of a topic: no wildcards, spaces or control characters (a NUL in the last will's
 * topic makes the broker refuse the robot for good), not a broker's own `$` topics, and short, since
 * the robot id and a command name follow and a topic is at most 65,535 bytes.
 */
const topicRoot = z.string().regex(/^(?!\$)[^#+\s\u0000-\u001f\u007f]{1,100}$/, 'up to 100 characters, no spaces, control characters or MQTT wildcards, not starting with $');

export const robotSchema = z.strictObject({
  /** Identifies this robot in logs, MQTT topics and the fleet; lower-case so it is safe in topic names. */
  id: z.string().regex(/^[a-z0-9][a-z0-9_-]{0,62}$/, 'lower-case letters, digits, "-" and "_" only').default('emobot'),
  name: z.string().min(1).max(64).default('EmoBot'),
});

export const logSchema = z.strictObject({
  level: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal']).default('info'),
});

export const runtimeSchema = z.strictObject({
  /** Upper bound for a graceful stop (rest pose, audio off, MQTT offline) before the process exits anyway. */
  shutdown_timeout_ms: milliseconds.default(5000),
  restart: z
    .strictObject({
      initial_delay_ms: milliseconds.default(500),
      max_delay_ms: milliseconds.default(30_000),
      /** A subsystem that ran this long without crashing gets its backoff reset. */
      stable_after_ms: milliseconds.default(60_000),
    })
    .prefault({}),
  /**
   * Folders, besides the package, the config file's own folder, /etc/emobot and the state directory,
   * where the files this config names (model, hardware profile, calibration, TLS, videos) may live.
   */
  allowed_folders: z.array(z.string().startsWith('/', 'an absolute path')).max(20).default([]),
  /** The systemd watchdog is fed only while the main loop beat within this time. */
  loop_stale_after_ms: milliseconds.min(100).default(5000),
  /** Seconds between STATUS= lines to systemd and status lines on the console. */
  status_interval_ms: milliseconds.min(100).default(2000),
});

/**
 * `demo` is the bundled video; a number is a V4L2 index; a path is a device node, video file or image
 * folder; anything containing "!" is a GStreamer pipeline.
 */
export const cameraSchema = z.strictObject({
  source: z
    .union([z.literal('demo'), z.number().int().min(0), z.string().min(1).max(1000)])
    .superRefine((source, ctx) => {
      const problem = typeof source === 'string' && source.includes('!') ? checkGstreamerPipeline(source).problem : undefined;
      if (problem) ctx.addIssue({ code: 'custom', message: `GStreamer pipeline: ${problem}` });
    })
    .default(0),
  width: z.number().int().min(32).max(4096).default(640),
  height: z.number().int().min(32).max(4096).default(480),
  fps: z.number().positive().max(240).default(30),
  /** Restart video files at their end instead of stopping; a live camera ignores it. */
  loop_video: z.boolean().default(true),
  reconnect: z
    .strictObject({
      initial_delay_ms: milliseconds.default(500),
      max_delay_ms: milliseconds.default(10_000),
    })
    .prefault({}),
});

/**
 * The execution providers some build of onnxruntime-node 1.30 has on Linux: the CPU everywhere;
 * WebGPU (through Vulkan) built into the x64 build; CUDA and TensorRT on x64 only, as libraries its
 * install script downloads (set-up skips that download), which also need CUDA 12 and cuDNN on the
 * machine. The arm64 build (Raspberry Pi, Jetson) has the CPU alone.
 */
export const executionProviderNames = ['cpu', 'webgpu', 'cuda', 'tensorrt'] as const;

/** Face detectors; the vision subsystem maps each to its implementation. */
export const detectorNames = ['blazeface', 'blazeface-back', 'haar', 'haar-alt2', 'lbp'] as const;

export const visionSchema = z.strictObject({
  /** ONNX classifier; its model card (same name, .json) describes input and labels. */
  model: z.string().min(1).default('models/emotion-mobilenetv2-int8.onnx'),
  /** onnxruntime execution provider to try first; CPU is the fallback. `emobot doctor` lists what this installation has. */
  execution_provider: z.enum(executionProviderNames).default('cpu'),
  /** Intra-op threads for inference; 0 lets onnxruntime use every core. */
  threads: z.number().int().min(0).max(64).default(1),
  detection: z
    .strictObject({
      /**
       * blazeface: a neural detector with eye, nose, mouth and ear keypoints, so faces are turned
       * upright before classification (its short-range model, then with far_faces its full-range
       * one); blazeface-back: the full-range model alone; haar, haar-alt2, lbp: OpenCV's cascades
       * (box only).
       */
      detector: z.enum(detectorNames).default('blazeface'),
      /** BlazeFace: lowest face score kept (0..1). */
      min_score: z.number().min(0.05).max(0.99).default(0.5),
      /** Cascades: frames are downscaled to this width before detection. */
      width: z.number().int().min(80).max(1920).default(320),
      /**
       * BlazeFace: when the short-range model finds no face, search again with the full-range one,
       * which finds faces too small for it (under about 120 px in a 640x480 frame: further than
       * about 80 cm from a webcam); a face it finds counts once the short-range model finds it too,
       * close up. A frame where it runs costs both searches (about 9 ms against 1.4 ms on one core
       * of a 2-core x86).
       */
      far_faces: z.boolean().default(true),
      /**
       * BlazeFace with far_faces: while nobody is in view, the full-range search runs at most this
       * often (video time) rather than on every frame, which bounds an idle robot's CPU; from the
       * moment it finds someone, it runs on every frame until they are lost. 0: on every frame.
       */
      far_idle_interval_ms: milliseconds.default(500),
      /**
       * BlazeFace with far_faces: when the full-range model finds nobody in the whole frame (and
       * nobody is followed), it looks at one of an n x n grid of overlapping tiles, each seen
       * larger, the next one at its next search: that finds faces of about 24-32 px in a 640x480
       * frame (3 to 4 m from a webcam) that it often misses in the whole frame. One tile costs one
       * more full-range inference, whatever n; a larger n sees smaller faces but takes n x n
       * searches (n x n x far_idle_interval_ms) to look everywhere. A face found so is then looked
       * for where it was last seen, by the short-range model close up. A photo (look, eval-faces)
       * gets every tile at once. 1: the whole frame only.
       */
      far_tiles: z.number().int().min(1).max(4).default(2),
      /** Smallest face, as a fraction of the frame height (0.05: 24 px of 480, about 2.5 m from a webcam), for every detector. */
      min_face: z.number().positive().max(1).default(0.05),
      /** Cascades: image pyramid step. */
      scale_factor: z.number().gt(1).max(2).default(1.2),
      /** Cascades: overlapping hits needed for a face. */
      min_neighbors: z.number().int().min(1).max(20).default(5),
      /** Faces classified per frame, largest first. */
      max_faces: z.number().int().min(1).max(10).default(3),
    })
    .prefault({}),
  tracking: z
    .strictObject({
      /** Overlap needed to call a detection the same person as a track. */
      iou_threshold: z.number().min(0.05).max(0.95).default(0.3),
      /** Consecutive-enough detections before a face counts (filters one-frame false positives). */
      confirm_frames: z.number().int().min(1).max(30).default(3),
      /** A track not seen for this long is lost (face.lost). */
      lost_after_ms: milliseconds.default(1000),
      /** Attention moves to another face only if it is this much larger ... */
      switch_ratio: z.number().min(1).default(1.3),
      /** ... for this long, so it does not jump between two similar faces. */
      switch_after_ms: milliseconds.default(700),
    })
    .prefault({}),
  smoothing: z
    .strictObject({
      /** Time constant of the per-face moving average of probabilities (0: no averaging). */
      time_constant_ms: milliseconds.default(250),
      /** A new emotion must beat the current one by this much probability ... */
      margin: z.number().min(0).max(1).default(0.15),
      /** ... and the current one must have been shown for at least this long. */
      min_dwell_ms: milliseconds.default(1000),
    })
    .prefault({}),
});

/** Servo and LED names, as the hardware profile declares them. */
export const actuatorName = z.string().regex(/^[a-z][a-z0-9_]{0,31}$/, 'lower-case letters, digits and "_" only');
const hexColor = z.string().regex(/^#[0-9a-fA-F]{6}$/, 'a colour like "#ffb000"');

/** Degrees away from each servo's calibrated centre (positive: pan right, tilt up, ears up). */
export const poseSchema = z.record(actuatorName, z.number().min(-180).max(180));
export type Pose = z.output<typeof poseSchema>;

export const ledLookSchema = z.strictObject({
  color: hexColor,
  animation: z.enum(['solid', 'pulse', 'blink']).default('solid'),
  /** One pulse or blink cycle. */
  period_ms: milliseconds.min(100).default(2000),
});
export type LedLook = z.output<typeof ledLookSchema>;

const reaction = (pose: Pose, color: string, animation: LedLook['animation'], period_ms: number) =>
  z.strictObject({
    /** Held for duration_ms on top of face following, then eased out; the colour stays while the emotion does. */
    pose: poseSchema.default(pose),
    led: ledLookSchema.default({ color, animation, period_ms }),
    duration_ms: milliseconds.default(2500),
  }).prefault({});

export const expressionSchema = z.strictObject({
  /** `simulated` prints what the servos and LEDs would do; `hardware` drives the profile's board. */
  board: z.enum(['simulated', 'hardware']).default('simulated'),
  /**
   * The robot's wiring: a profile name from hardware/ (arduino-uno, raspberry-pi-pca9685,
   * jetson-pca9685) or the path of a profile YAML file. The simulated board has the same actuators.
   */
  hardware: z.string().min(1).default('arduino-uno'),
  /** Overrides the profile's serial port (Firmata boards), e.g. /dev/ttyUSB0. */
  port: z.string().startsWith('/', 'an absolute path such as /dev/ttyUSB0').optional(),
  /** Servo limits for this robot (written by `emobot calibrate`); without it the profile's safe defaults apply. */
  calibration: z.string().min(1).optional(),
  /** Servo updates per second: the granularity of the speed limit. */
  update_hz: z.number().int().min(5).max(200).default(50),
  /** Head follows the attended face: the camera sits in the head, so centring the face is the goal. */
  follow: z
    .strictObject({
      enabled: z.boolean().default(true),
      /** The camera's field of view, to turn pixels into degrees. */
      horizontal_fov_deg: z.number().min(10).max(180).default(62),
      vertical_fov_deg: z.number().min(10).max(180).default(49),
      /** Faces this close to the centre (degrees) do not move the head: no jitter while someone sits still. */
      deadband_deg: z.number().min(0).max(30).default(3),
      /** How quickly the head closes the remaining gap; longer is calmer. */
      time_constant_ms: milliseconds.min(10).default(350),
    })
    .prefault({}),
  /** With nobody in view the robot looks around slowly; after sleep_after_ms of that it rests. */
  idle: z
    .strictObject({
      after_ms: milliseconds.default(3000),
      amplitude_deg: z.number().min(0).max(90).default(20),
      period_ms: milliseconds.min(1000).default(14_000),
      led: ledLookSchema.default({ color: '#2040ff', animation: 'pulse', period_ms: 5000 }),
    })
    .prefault({}),
  sleep: z
    .strictObject({
      /** Time without a face before sleeping (0: never); the sleep mode command sleeps at once. */
      after_ms: milliseconds.default(300_000),
      led: ledLookSchema.default({ color: '#080010', animation: 'pulse', period_ms: 8000 }),
    })
    .prefault({}),
  /** While the robot talks, one servo wiggles and the LED brightness follows. */
  speaking: z
    .strictObject({
      servo: actuatorName.optional(),
      amplitude_deg: z.number().min(0).max(45).default(8),
      period_ms: milliseconds.min(100).default(320),
    })
    .prefault({}),
  /** Named poses for the pose command; `rest` is taken on stop and `sleep` while asleep. */
  poses: z
    .record(z.string().regex(/^[a-z][a-z0-9_-]{0,31}$/), poseSchema)
    .refine((poses) => Object.keys(poses).length <= 50, 'at most 50 poses')
    .default({
      rest: { head_pan: 0, head_tilt: -10, ears: 0 },
      sleep: { head_pan: 0, head_tilt: -25, ears: -30 },
      nod: { head_tilt: -15 },
      look_left: { head_pan: -40 },
      look_right: { head_pan: 40 },
      curious: { head_tilt: 12, ears: 35 },
    })
    .refine((poses) => 'rest' in poses && 'sleep' in poses, 'the poses "rest" and "sleep" are required'),
  /** How long the pose command holds a pose. */
  pose_hold_ms: milliseconds.default(3000),
  reactions: z
    .strictObject({
      angry: reaction({ head_tilt: -8, ears: -35 }, '#ff1000', 'blink', 600),
      disgust: reaction({ head_pan: -12, ears: -20 }, '#50a000', 'solid', 2000),
      fear: reaction({ head_tilt: -12, ears: -40 }, '#8000ff', 'blink', 300),
      happy: reaction({ head_tilt: 10, ears: 30 }, '#ffb000', 'pulse', 1500),
      sad: reaction({ head_tilt: -20, ears: -25 }, '#0030ff', 'pulse', 4000),
      surprise: reaction({ head_tilt: 18, ears: 40 }, '#ffffff', 'blink', 250),
      neutral: reaction({}, '#30ffd0', 'solid', 2000),
    })
    .prefault({}),
});

const phrases = (...lines: string[]) => z.array(sentence).min(1).max(20).default(lines);
/** Emotion labels in lists (calm voice for, speak up for). */
const emotionList = (labels: string[]) => z.array(z.string().regex(/^[a-z][a-z_-]{0,19}$/, 'an emotion label such as sad or happy')).max(10).default(labels);

export const voiceSchema = z.strictObject({
  /** `offline` never calls a cloud API and speaks with espeak-ng; `cloud` uses OpenAI + ElevenLabs when keys exist. */
  mode: z.enum(['offline', 'cloud']).default('offline'),
  /** ALSA device names, as `arecord -L` / `aplay -L` list them. */
  microphone: alsaDevice.default('default'),
  speaker: alsaDevice.default('default'),
  openai_base_url: endpoint.default('https://api.openai.com/v1'),
  elevenlabs_base_url: endpoint.default('https://api.elevenlabs.io'),
  llm: z
    .strictObject({
      /** Any chat model the endpoint serves (a local llama.cpp or Ollama model name works too). */
      model: z.string().min(1).default('gpt-4o-mini'),
      persona: z
        .string()
        .min(1)
        .max(4000)
        .default(
          'You are EmoBot, a small, warm desktop robot with a camera for eyes. You can see the emotion on the face of the person in front of you. ' +
            'Answer in one to three short spoken sentences, kindly and without lists or emoji. Do not mention cameras or models unless asked.',
        ),
      max_tokens: z.number().int().min(16).max(4096).default(150),
      temperature: z.number().min(0).max(2).default(0.7),
      /** No first token within this time: the offline reply is spoken instead. */
      timeout_ms: milliseconds.min(500).default(8000),
      /** Past exchanges kept as context (each is the user's and the robot's turn). */
      memory_turns: z.number().int().min(0).max(50).default(6),
    })
    .prefault({}),
  tts: z
    .strictObject({
      /** Goes into the request's path: letters and digits only, as ElevenLabs' IDs are (`..` would move the request, key and all). */
      voice_id: z.string().regex(/^[A-Za-z0-9]{1,64}$/, 'an ElevenLabs voice ID: letters and digits only').default('21m00Tcm4TlvDq8ikWAM'),
      model: z.string().min(1).default('eleven_flash_v2_5'),
      output_format: z.enum(['pcm_16000', 'pcm_22050']).default('pcm_16000'),
      timeout_ms: milliseconds.min(500).default(8000),
      /** Calmer, steadier delivery for these emotions of the listener (ElevenLabs stability 0-1). */
      calm_for: emotionList(['sad', 'fear', 'angry']),
    })
    .prefault({}),
  /** Listening: the microphone, voice activity detection and speech-to-text. */
  listen: z
    .strictObject({
      enabled: z.boolean().default(true),
      /** Speech-to-text model on the OpenAI-compatible endpoint (needs the cloud; offline the robot understands only spoken commands: see `commands`). */
      stt_model: z.string().min(1).default('whisper-1'),
      /** ISO-639-1 hint for speech-to-text, e.g. "en"; empty lets the model detect it. */
      language: z.string().regex(/^([a-z]{2,3})?$/, 'an ISO-639-1 code such as en, or empty').default(''),
      stt_timeout_ms: milliseconds.min(500).default(8000),
      /**
       * What finds speech: `silero` (Silero VAD, a neural detector that tells speech from noise, music
       * and tones) or `energy` (loudness above the room's noise floor: cheaper, fooled by anything loud).
       */
      detector: z.enum(['silero', 'energy']).default('silero'),
      /** silero: the lowest speech probability that starts an utterance. */
      // An utterance goes on while the probability stays above this minus 0.15: below 0.2 it would never end early.
      speech_threshold: z.number().min(0.2).max(0.95).default(0.5),
      /** energy: speech is energy this many times the room's noise floor (both: the bar while the robot talks is this times barge_in_ratio) ... */
      start_ratio: z.number().min(1.2).max(50).default(3),
      /** ... for this long (clicks and bumps are shorter). */
      min_speech_ms: milliseconds.min(20).max(1000).default(100),
      end_silence_ms: milliseconds.min(100).max(5000).default(700),
      preroll_ms: milliseconds.max(2000).default(300),
      max_utterance_ms: milliseconds.min(1000).max(60_000).default(15_000),
      /**
       * Where the room talks on (a TV, people not talking to the robot), a voice this many dB louder
       * than it starts an utterance of its own, and ends with that voice: the person near the robot
       * stands out of the room's talk. 0: utterances run on for as long as anyone talks.
       */
      nearer_voice_db: z.number().min(0).max(30).default(0),
      /** While the robot talks, the bar is raised this much so its own voice is not heard as the person's. */
      barge_in_ratio: z.number().min(1).max(50).default(4),
      /** Talking over the robot stops it (and the reply being prepared). */
      barge_in: z.boolean().default(true),
      /**
       * An utterance is understood (sent to speech-to-text, or answered offline) only when the attended
       * person faced the robot, or the robot talked with them in view, within attention_window_ms of it;
       * otherwise it is dropped on the robot. People talking to each other get no answer and go nowhere.
       */
      require_attention: z.boolean().default(true),
      /**
       * Spoken commands recognised on the robot, in cloud mode too (pocketsphinx): sleep, wake up, be
       * quiet, speak again, how do I look, what time is it, and the poses by name ("look left").
       */
      commands: z.boolean().default(true),
      /**
       * Spoken commands are decoded with the room's noise taken out first (music's held notes,
       * then RNNoise, on the robot): music, a fan or a TV under a command. The voice detector and
       * speech-to-text get the microphone's audio as it is.
       */
      command_noise_suppression: z.boolean().default(true),
      /** Facing: the attended face turned at most this far to the side (estimated from eyes and nose). */
      attention_max_yaw_deg: z.number().min(5).max(90).default(35),
      attention_window_ms: milliseconds.min(500).max(60_000).default(5000),
      /** No longer used (the microphone is always arecord); kept so that older config files still load. */
      recorder: z.literal('arecord').optional(),
    })
    .prefault({}),
  /** The robot speaks up by itself when the person's emotion changes and stays so. */
  proactive: z
    .strictObject({
      enabled: z.boolean().default(true),
      /** The new emotion must have held this long ... */
      after_ms: milliseconds.default(4000),
      /** ... and the robot waits this long after anything it said, so it does not nag. */
      cooldown_ms: milliseconds.default(60_000),
      emotions: emotionList(['sad', 'angry', 'fear', 'surprise', 'happy']),
    })
    .prefault({}),
  /** A dead API is not hammered: after `failures` failed turns in a row, go offline for `open_ms`. */
  circuit_breaker: z
    .strictObject({
      failures: z.number().int().min(1).max(100).default(3),
      open_ms: milliseconds.default(60_000),
    })
    .prefault({}),
  /** Spoken with espeak-ng when the cloud is off, unreachable or failing. */
  offline: z
    .strictObject({
      /** espeak-ng voice (`espeak-ng --voices`). */
      voice: z.string().regex(/^[A-Za-z0-9_+-]{1,40}$/, 'an espeak-ng voice name such as en-us or en+f3').default('en-us'),
      words_per_minute: z.number().int().min(80).max(450).default(165),
      phrases: z
        .strictObject({
          angry: phrases('I can see you are upset. I am here if you want to talk.'),
          disgust: phrases('Hmm, that does not look pleasant.'),
          fear: phrases('It is all right. You are not alone.'),
          happy: phrases('You look happy! That makes me happy too.'),
          sad: phrases('You look a little sad. Do you want to talk about it?'),
          surprise: phrases('Oh! Did something surprise you?'),
          neutral: phrases('I am here if you need me.'),
          /** For a question the offline robot cannot answer. */
          reply: phrases('Sorry, I cannot think properly right now. My connection is down.'),
        })
        .prefault({}),
    })
    .prefault({}),
});

export const mqttSchema = z.strictObject({
  enabled: z.boolean().default(false),
  /** The user name is `username`, the password EMOBOT_MQTT_PASSWORD: neither goes in the URL, which gets logged. */
  url: z
    .string()
    .regex(/^(mqtts?|wss?|tcp|ssl):\/\/[^\s@/]+(\/\S*)?$/, 'an mqtt://, mqtts://, ws:// or wss:// URL without a user name or password in it')
    .superRefine(noCredentialParameter)
    .default('mqtt://localhost:1883'),
  username: z.string().min(1).optional(),
  /** Accept commands on <base>/cmd/<name> (mode, mute, say, pose, snapshot) and <base>/cmd/config/<name> (get, set, reload). Off unless enabled. */
  commands: z.boolean().default(false),
  /** Topics live under <base_topic>/<robot.id>/. */
  base_topic: topicRoot.default('emobot'),
  /**
   * MQTT 5 (mosquitto 1.6 and later, EMQX, HiveMQ, RabbitMQ 3.13): the robot tells the broker the
   * largest command it takes, and is not handed commands retained on the broker. `3.1.1` for brokers
   * that speak only that (aedes, older RabbitMQ); the robot then refuses those itself, after reading.
   */
  protocol: z.enum(['5', '3.1.1']).default('5'),
  keepalive_s: z.number().int().min(5).max(3600).default(30),
  reconnect: z
    .strictObject({
      initial_delay_ms: milliseconds.min(100).default(1000),
      max_delay_ms: milliseconds.min(100).default(30_000),
    })
    .prefault({}),
  /** For mqtts:// and wss:// URLs: the broker's CA, and a client certificate where the broker asks for one. */
  tls: z
    .strictObject({
      ca: z.string().min(1).optional(),
      cert: z.string().min(1).optional(),
      key: z.string().min(1).optional(),
      reject_unauthorized: z.boolean().default(true),
    })
    .refine((tls) => !tls.cert === !tls.key, 'cert and key go together')
    .prefault({}),
  /** Announce the robot to Home Assistant through MQTT discovery. */
  home_assistant: z
    .strictObject({
      enabled: z.boolean().default(false),
      discovery_prefix: topicRoot.default('homeassistant'),
    })
    .prefault({}),
  /** Allow the snapshot command (a JPEG of what the camera sees, on <base>/<id>/snapshot): off unless enabled. */
  snapshot: z.boolean().default(false),
  /** Publish what the robot says (and later hears) on <base>/<id>/conversation: personal data, so off unless enabled. */
  conversation: z.boolean().default(false),
  /** Events kept while the broker is unreachable (oldest dropped first); state and telemetry keep only their newest. */
  queue_limit: z.number().int().min(0).max(100_000).default(100),
});

export const remoteSchema = z.strictObject({
  mqtt: mqttSchema.prefault({}),
  /**
   * Keys that remote control (MQTT config/set) may change beyond the built-in behaviour list, as dotted
   * keys or prefixes ending in ".*". Only this file can widen it; nothing under `remote` is ever remote.
   */
  editable: z
    .array(z.string().regex(/^[a-z_]+(\.[a-z0-9_]+)*(\.\*)?$/, 'a dotted key such as voice.tts.voice_id or voice.tts.*'))
    .max(100)
    .default([]),
});

export const webSchema = z.strictObject({
  /** The robot's own page: live view, emotions, health and controls. */
  enabled: z.boolean().default(true),
  /** The address it listens on. Loopback by default; any other (the LAN) needs EMOBOT_WEB_TOKEN in the secrets file. */
  host: z
    .string()
    .refine((host) => host === 'localhost' || isIP(host) !== 0, 'an IP address to listen on, such as 127.0.0.1, 0.0.0.0 or 192.168.1.20')
    .default('127.0.0.1'),
  /** 0 takes any free port (the log says which). */
  port: z.number().int().min(0).max(65535).default(8080),
  /**
   * Names the page answers to from the network besides the robot's host name (and `.local`),
   * localhost and IP addresses: a DNS name of its own, or a TLS reverse proxy's. Any other name is
   * refused (DNS rebinding).
   */
  host_names: z
    .array(z.string().toLowerCase().regex(/^(?=.{1,253}$)[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/, 'a host name such as robot.example.net'))
    .max(16)
    .default([]),
  /** Send the camera image to open pages (never when no page is open); off, pages show faces and emotions only. */
  camera: z.boolean().default(true),
  camera_fps: z.number().min(0.5).max(15).default(5),
  camera_quality: z.number().int().min(10).max(95).default(70),
  /** Show what the robot says and hears on the page: personal data, so off unless enabled. */
  conversation: z.boolean().default(false),
  /** Pages open at once; more are refused, since each one costs the robot bandwidth. */
  max_clients: z.number().int().min(1).max(50).default(8),
});

export const configSchema = z.strictObject({
  robot: robotSchema.prefault({}),
  log: logSchema.prefault({}),
  runtime: runtimeSchema.prefault({}),
  camera: cameraSchema.prefault({}),
  vision: visionSchema.prefault({}),
  expression: expressionSchema.prefault({}),
  voice: voiceSchema.prefault({}),
  remote: remoteSchema.prefault({}),
  web: webSchema.prefault({}),
});

export type Config = z.output<typeof configSchema>;
export type ConfigSection = keyof Config;
export const configSections = Object.keys(configSchema.shape) as ConfigSection[];
