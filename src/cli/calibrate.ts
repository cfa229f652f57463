import { existsSync } from 'node:fs';
import { emitKeypressEvents } from 'node:readline';
import type { Config } from '../config/schema.js';
import { CalibrationSession, roamingCalibration, type CalibrationKey } from '../expression/calibration-session.js';
import { defaultCalibration, loadCalibration, saveCalibration } from '../expression/calibration.js';
import { defaultBoardFactory } from '../expression/expression.js';
import { loadHardwareProfile } from '../expression/profile.js';
import { asError } from '../runtime/errors.js';
import { resolveAsset } from '../runtime/paths.js';

const KEYS: Record<string, CalibrationKey> = {
  left: 'left', right: 'right', pageup: 'page-left', pagedown: 'page-right', up: 'up', down: 'down',
  n: 'min', c: 'center', x: 'max', i: 'invert', '+': 'faster', '=': 'faster', '-': 'slower',
};
const HELP = '←/→ jog 1°  PgUp/PgDn 5°  ↑/↓ servo  n: min here  c: centre here  x: max here  i: invert  +/-: speed  s: save  q: quit';

export interface CalibrateOptions {
  config: Config;
  /** Where to write; default: expression.calibration, else calibration/<robot id>.yaml. */
  out?: string;
  input?: NodeJS.ReadStream;
  output?: NodeJS.WriteStream;
}

/** `emobot calibrate`: jog each servo to its limits with the arrow keys and write the calibration file. */
export async function calibrateCommand(options: CalibrateOptions): Promise<number> {
  const { config } = options;
  const input = options.input ?? process.stdin;
  const output = options.output ?? process.stdout;
  const file = resolveAsset(options.out ?? config.expression.calibration ?? `calibration/${config.robot.id}.yaml`);
  let session: CalibrationSession;
  let profileName: string;
  try {
    const profile = loadHardwareProfile(config.expression.hardware);
    profileName = profile.name;
    const start = existsSync(file) ? loadCalibration(file, profile) : defaultCalibration(profile);
    // The board's own range fence must not hold the servos inside the limits being searched for.
    const board = defaultBoardFactory(profile, roamingCalibration(start), config, () => {});
    await board.connect();
    session = new CalibrationSession(start, board);
  } catch (err) {
    process.stderr.write(`emobot calibrate: ${asError(err).message}\n`);
    return 1;
  }

  const interactive = output.isTTY === true;
  const render = () => {
    const rows = session.names.map((name, i) => {
      const c = session.calibration.servos[name]!;
      const cells = [name.padEnd(10), session.position(name).toFixed(0).padStart(4), String(c.min).padStart(5), String(c.center).padStart(7), String(c.max).padStart(5), (c.invert ? 'yes' : 'no').padStart(7), String(c.max_speed_deg_s).padStart(6)];
      return `${i === session.selected ? '>' : ' '} ${cells.join(' ')}`;
    });
    const screen = [`EmoBot servo calibration: ${profileName} (${config.expression.board})`, `file: ${file}`, '', '  servo       now   min  centre   max  invert  speed', ...rows, '', session.message, HELP].join('\n');
    output.write(interactive ? `\x1b[2J\x1b[H${screen}\n` : `${session.message || `${session.current} at ${session.position(session.current).toFixed(0)}°`}\n`);
  };

  const ticker = setInterval(() => session.step(performance.now()), 20);
  emitKeypressEvents(input);
  if (input.isTTY) input.setRawMode(true);
  if (!interactive) output.write(`${HELP}\n`);
  render();
  const finished = await new Promise<'saved' | 'quit'>((resolve) => {
    const onKey = (text: string | undefined, key: { name?: string; ctrl?: boolean; sequence?: string } | undefined) => {
      const name = key?.name ?? text;
      if (name === 'q' || (key?.ctrl && name === 'c')) return done('quit');
      if (name === 's') {
        try {
          saveCalibration(file, session.calibration, `servo calibration for ${config.robot.id} (${profileName}), written by emobot calibrate`);
          return done('saved');
        } catch (err) {
          session.message = `not saved: ${asError(err).message}`;
          return render();
        }
      }
      const action = KEYS[name ?? ''] ?? KEYS[key?.sequence ?? ''];
      if (action) session.press(action);
      render();
    };
    const done = (how: 'saved' | 'quit') => {
      input.off('keypress', onKey);
      input.off('end', onEnd);
      resolve(how);
    };
    const onEnd = () => done('quit');
    input.on('keypress', onKey);
    input.on('end', onEnd);
  });
  if (input.isTTY) input.setRawMode(false);
  input.pause();
  clearInterval(ticker);
  await session.close();
  if (finished === 'saved') {
    const configured = config.expression.calibration && resolveAsset(config.expression.calibration) === file;
    output.write(`saved ${file}${configured ? '' : `\nto use it, set in the config:\n  expression:\n    calibration: ${file}`}\n`);
  } else output.write('quit without saving\n');
  return 0;
}
