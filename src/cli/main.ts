#!/usr/bin/env node
import { parseArgs } from 'node:util';
import { packageVersion } from '../runtime/paths.js';
import { benchCommand, DEFAULT_DEV_SET, DEFAULT_FER_DIR } from './bench.js';
import { VOICES } from '../bench/listening.js';
import { calibrateCommand } from './calibrate.js';
import { configCheckCommand } from './config-check.js';
import { daemonCommand } from './daemon-command.js';
import { doctorCommand } from './doctor.js';
import { evalFacesCommand } from './eval-faces.js';
import { evalModelCommand } from './eval-model.js';
import { fleetCommand } from './fleet.js';
import { loadConfigOrReport } from './load-config.js';
import { hearCommand } from './hear.js';
import { lookCommand } from './look.js';
import { replayCommand } from './replay.js';
import { soakCommand } from './soak.js';

const HELP = `emobot — emotion-aware desktop robot runtime

Usage: emobot <command> [options]

Commands:
  run                    run the robot daemon (what systemd starts)
  demo                   run on the bundled demo video with simulated hardware and offline voice
  doctor                 check camera, model, board, audio, API keys and broker; say how to fix
  config check [file]    validate the config and remote control's overlay over it (errors name the
                         key, the value and the line), then show each key's value and its source
  fleet [--url u]        watch every robot on the broker: status, mode, emotion, fps, temperature
                         (a table; --json: a JSON line per update; --seconds n: stop after n s)
  calibrate [--out f]    jog each servo with the arrow keys, set min/centre/max, write the calibration
  replay <video|folder>  run the vision pipeline over a recording, one line (--json: JSON) per frame
  bench [--json]         benchmark: vision stages and fps with 0/1/3 faces, INT8 vs FP32, startup, memory
                         over a replay, voice first audio and barge-in, speech detectors, spoken
                         commands, face-api on the same frames;
                         writes bench.json and bench.svg to --out (default bench-results)
  soak [--minutes n]     the daemon in full mode for n minutes (30) against a private mosquitto, the
                         fake cloud and the simulated board: memory and event-loop delay over time;
                         writes soak.json and soak.svg to --out (default bench-results); exit 1 on a leak
  eval-model             accuracy of an emotion model on IDX images:
                         --model <onnx> --images <idx3[.gz]> --labels <idx1[.gz]> [--json]
  hear <wav|folder>...   every utterance the robot's speech detector finds in each 16 kHz recording:
                         start, end and the spoken command it is, if one (--json: one line per
                         utterance); for checking a microphone
  look <image|folder>... every face in each photo: box, keypoints, emotion and probabilities
                         (--json: one line per photo; --annotate <dir>: copies with them drawn on)
  eval-faces --manifest <csv>
                         the live detector, alignment and model over labelled photos (columns
                         file,label): faces found, accuracy, macro-F1, per-class recall, confusion
                         [--pad <fraction>] [--face-width <px>] [--json] [--peer: face-api on
                         the same photos]

Options:
  -c, --config <file>    config file (default: $EMOBOT_CONFIG, /etc/emobot/config.yaml, ./config.yaml)
      --seconds <n>      run/demo: stop by itself after n seconds; bench: replay length (600)
      --frames <n>       bench: frames per face count for the throughput measurement (300)
      --turns <n>        bench: voice turns and barge-ins measured (20)
      --fer <dir>        bench: FER-2013 IDX folder for accuracy (default ../shared/data/fer2013)
      --fer-images <n>   bench: only the first n validation images (default all)
      --starts <n>       bench: cold starts measured (3)
      --voices <n>       bench: spoken commands said by the first n of its 4 synthetic voices (4)
      --no-peer          bench: leave out the face-api comparison
      --dev-set <csv>    bench: labelled real-face photos for the whole-pipeline table (default
                         ../shared/data/muxspace-facial-expressions/manifest.csv)
      --json             doctor, eval-model: print JSON
      --provider <name>  eval-model: onnxruntime execution provider (cpu, cuda, tensorrt; default cpu)
      --threads <n>      eval-model: intra-op threads (default 0: onnxruntime decides)
      --batch <n>        eval-model: images per inference call (default 64)
      --pad <fraction>   eval-faces: border added by edge replication first, for tight crops (0)
      --face-width <px>  eval-faces: each photo scaled so that its face is that wide in a 640x480
                         frame first: how well the robot reads people further away (16-320)
  -v, --verbose          demo: also print the daemon's logs (stderr)
  -V, --version          print the version
  -h, --help             print this help
`;

async function main(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        config: { type: 'string', short: 'c' },
        seconds: { type: 'string' },
        json: { type: 'boolean' },
        model: { type: 'string' },
        images: { type: 'string' },
        labels: { type: 'string' },
        provider: { type: 'string' },
        threads: { type: 'string' },
        batch: { type: 'string' },
        frames: { type: 'string' },
        turns: { type: 'string' },
        out: { type: 'string' },
        url: { type: 'string' },
        fer: { type: 'string' },
        'fer-images': { type: 'string' },
        starts: { type: 'string' },
        voices: { type: 'string' },
        'no-peer': { type: 'boolean' },
        'dev-set': { type: 'string' },
        peer: { type: 'boolean' },
        manifest: { type: 'string' },
        pad: { type: 'string' },
        'face-width': { type: 'string' },
        annotate: { type: 'string' },
        minutes: { type: 'string' },
        verbose: { type: 'boolean', short: 'v' },
        version: { type: 'boolean', short: 'V' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (err) {
    process.stderr.write(`emobot: ${(err as Error).message}\n\n${HELP}`);
    return 2;
  }
  const { values, positionals } = parsed;
  if (values.version) {
    process.stdout.write(`${packageVersion()}\n`);
    return 0;
  }
  const [command, ...rest] = positionals;
  if (values.help || !command) {
    process.stdout.write(HELP);
    return values.help ? 0 : 2;
  }
  const seconds = values.seconds === undefined ? undefined : Number(values.seconds);
  if (seconds !== undefined && !(seconds > 0)) {
    process.stderr.write(`emobot: --seconds must be a positive number, got "${values.seconds}"\n`);
    return 2;
  }
  switch (command) {
    case 'run':
    case 'demo':
      return daemonCommand({ demo: command === 'demo', configPath: values.config, seconds, verbose: values.verbose === true });
    case 'doctor':
      return doctorCommand({ configPath: values.config, json: values.json === true });
    case 'bench': {
      const counts: Record<string, number> = {};
      for (const [name, value, fallback] of [['frames', values.frames, 300], ['turns', values.turns, 20], ['starts', values.starts, 3], ['voices', values.voices, VOICES.length], ['fer-images', values['fer-images'], 0]] as const) {
        const n = Number(value ?? fallback);
        const least = name === 'fer-images' ? 0 : 1;
        const most = name === 'voices' ? VOICES.length : Infinity;
        if (!Number.isInteger(n) || n < least || n > most) {
          process.stderr.write(`emobot: --${name} must be an integer of at least ${least}${most < Infinity ? ` and at most ${most}` : ''}, got "${value}"\n`);
          return 2;
        }
        counts[name] = n;
      }
      return benchCommand({
        json: values.json === true,
        frames: counts.frames!,
        seconds: seconds ?? 600,
        turns: counts.turns!,
        startupRuns: counts.starts!,
        voices: counts.voices!,
        // Long enough for a steady frame rate; a short --seconds (a quick run) shortens it too.
        webSeconds: Math.min(30, seconds ?? 600),
        out: values.out ?? 'bench-results',
        ferDir: values.fer ?? DEFAULT_FER_DIR,
        ...(counts['fer-images'] ? { ferImages: counts['fer-images'] } : {}),
        peer: values['no-peer'] !== true,
        devSet: values['dev-set'] ?? DEFAULT_DEV_SET,
      });
    }
    case 'soak': {
      const minutes = Number(values.minutes ?? 30);
      if (!(minutes > 0 && Number.isFinite(minutes))) {
        process.stderr.write(`emobot: --minutes must be a positive number, got "${values.minutes}"\n`);
        return 2;
      }
      return soakCommand({ minutes, out: values.out ?? 'bench-results', json: values.json === true });
    }
    case 'replay': {
      if (!rest[0]) {
        process.stderr.write('usage: emobot replay <video|image-folder> [--json] [--config file]\n');
        return 2;
      }
      const loaded = loadConfigOrReport(values.config);
      return loaded ? replayCommand({ source: rest[0], vision: loaded.config.vision, json: values.json === true }) : 2;
    }
    case 'eval-model': {
      const { model, images, labels } = values;
      const threads = Number(values.threads ?? 0);
      const batch = Number(values.batch ?? 64);
      if (!model || !images || !labels || !Number.isInteger(threads) || threads < 0 || !Number.isInteger(batch) || batch < 1) {
        process.stderr.write('usage: emobot eval-model --model <onnx> --images <idx3[.gz]> --labels <idx1[.gz]> [--json] [--provider cpu] [--threads n] [--batch n]\n');
        return 2;
      }
      return evalModelCommand({ model, images, labels, json: values.json === true, executionProvider: values.provider ?? 'cpu', threads, batch });
    }
    case 'hear': {
      if (!rest.length) {
        process.stderr.write('usage: emobot hear <wav|folder>... [--json] [--config file]\n');
        return 2;
      }
      const loaded = loadConfigOrReport(values.config);
      return loaded ? hearCommand({ inputs: rest, json: values.json === true, listen: loaded.config.voice.listen, poses: Object.keys(loaded.config.expression.poses) }) : 2;
    }
    case 'look': {
      if (!rest.length) {
        process.stderr.write('usage: emobot look <image|folder>... [--json] [--annotate <dir>] [--config file]\n');
        return 2;
      }
      const loaded = loadConfigOrReport(values.config);
      return loaded ? lookCommand({ inputs: rest, json: values.json === true, ...(values.annotate ? { annotate: values.annotate } : {}), vision: loaded.config.vision }) : 2;
    }
    case 'eval-faces': {
      const pad = Number(values.pad ?? 0);
      const faceWidth = values['face-width'] === undefined ? undefined : /^\d{1,3}$/.test(values['face-width']) ? Number(values['face-width']) : NaN;
      const widthOk = faceWidth === undefined || (faceWidth >= 16 && faceWidth <= 320);
      if (!values.manifest || !(pad >= 0 && pad <= 2) || !widthOk || (faceWidth !== undefined && values.peer)) {
        process.stderr.write('usage: emobot eval-faces --manifest <csv> [--pad <fraction 0..2>] [--face-width <px 16..320> | --peer] [--json] [--config file]\n');
        return 2;
      }
      const loaded = loadConfigOrReport(values.config);
      return loaded ? evalFacesCommand({ manifest: values.manifest, pad, ...(faceWidth ? { faceWidth } : {}), json: values.json === true, peer: values.peer === true, vision: loaded.config.vision }) : 2;
    }
    case 'fleet': {
      const loaded = loadConfigOrReport(values.config);
      return loaded ? fleetCommand({ config: loaded.config, url: values.url, json: values.json === true, seconds }) : 2;
    }
    case 'calibrate': {
      const loaded = loadConfigOrReport(values.config);
      return loaded ? calibrateCommand({ config: loaded.config, out: values.out }) : 2;
    }
    case 'config':
      if (rest[0] === 'check') return configCheckCommand(rest[1] ?? values.config);
      process.stderr.write('usage: emobot config check [file]\n');
      return 2;
    default:
      process.stderr.write(`emobot: unknown command "${command}"\n\n${HELP}`);
      return 2;
  }
}

// Exit explicitly: a command is over when it resolves, even if a native handle (camera, serial port)
// would keep the event loop alive. stdout/stderr are synchronous on Linux, so nothing is lost.
main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`emobot: ${(err as Error).stack ?? String(err)}\n`);
    process.exit(1);
  },
);
