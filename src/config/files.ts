import { lstatSync, readlinkSync } from 'node:fs';
import path from 'node:path';
import { checkGstreamerPipeline, VIDEO_DEVICE } from '../camera/gstreamer.js';
import { packageRoot, resolveAsset, stateDirectory } from '../runtime/paths.js';
import type { Config } from './schema.js';

/** A problem with a value the config names, at its key (for the file's line). */
export interface FileProblem {
  key: (string | number)[];
  message: string;
}

/**
 * Serial ports only, never /dev/mem or a disk: UARTs, USB serial, their by-id links, and
 * pseudo-terminals (a simulated board, a network serial bridge such as socat or ser2net).
 */
const SERIAL_PORT = /^\/dev\/(tty[A-Za-z]+\d+|serial\d*|serial\/by-(id|path)\/[\w.:+-]+|pts\/\d+)$/;

/** Why `port` is not a serial port the board may be opened on, or undefined when it is one. */
export function serialPortProblem(port: string): string | undefined {
  // The device a link leads to decides (udev's /dev/serial/by-id/... links, a simulator's stable link).
  if (SERIAL_PORT.test(real(port))) return undefined;
  return 'a serial port is /dev/ttyUSB0, /dev/ttyACM0, /dev/serial0, /dev/serial/by-id/... or a pseudo-terminal /dev/pts/N';
}

/** A hardware profile given by name (hardware/<name>.yaml in the package), not by path. */
const PROFILE_NAME = /^[a-z0-9-]+$/;

/** Where files named by the config may live; everything else (/proc, /sys, other users' homes) is out. */
export function allowedFolders(config: Config, configFile: string | undefined, env: NodeJS.ProcessEnv = process.env): string[] {
  const folders = [packageRoot, '/etc/emobot', stateDirectory(env), ...config.runtime.allowed_folders];
  if (configFile) folders.push(path.dirname(configFile));
  return folders.map(real);
}

/** The most links one lookup follows: Linux's own limit, where a loop of links ends (ELOOP). */
const MAX_LINKS = 40;

/**
 * The real path, resolved part by part as the kernel resolves it when the file is opened, so that a
 * link or `..` cannot lead out of an allowed folder. A link is followed before a `..` after it
 * applies, in the config's text and in link targets alike: `folder/link/../f` opens `f` beside the
 * link's target, not beside the link (Node's realpathSync cancels such `..` in the text first, and
 * would check the wrong file). A part that is not there (a board unplugged, a file about to be
 * written) is taken as written, a dangling link as where it points.
 */
function real(p: string): string {
  const pending = (path.isAbsolute(p) ? p : `${process.cwd()}${path.sep}${p}`).split(path.sep).reverse();
  let resolved: string = path.sep;
  let links = 0;
  while (pending.length > 0) {
    const part = pending.pop()!;
    if (part === '' || part === '.') continue;
    if (part === '..') {
      resolved = path.dirname(resolved);
      continue;
    }
    const next = path.join(resolved, part);
    const target = links < MAX_LINKS ? readlinkIfLink(next) : undefined;
    if (target === undefined) {
      // Past the limit the kernel refuses to open the path at all, so where the check stops is moot.
      resolved = next;
      continue;
    }
    links++;
    pending.push(...target.split(path.sep).reverse());
    if (path.isAbsolute(target)) resolved = path.sep;
  }
  return resolved;
}

function readlinkIfLink(p: string): string | undefined {
  try {
    return lstatSync(p).isSymbolicLink() ? readlinkSync(p) : undefined;
  } catch {
    return undefined;
  }
}

function inside(file: string, folders: string[]): boolean {
  const target = real(resolveAsset(file));
  return folders.some((folder) => target === folder || target.startsWith(folder.endsWith(path.sep) ? folder : folder + path.sep));
}

/** Every file and device the config names that is outside what the robot may open. */
export function fileProblems(config: Config, configFile: string | undefined, env: NodeJS.ProcessEnv = process.env): FileProblem[] {
  const folders = allowedFolders(config, configFile, env);
  const problems: FileProblem[] = [];
  const where = `inside ${folders.join(', ')} (runtime.allowed_folders adds folders)`;
  const checkFile = (key: (string | number)[], file: string | undefined) => {
    if (file !== undefined && !inside(file, folders)) problems.push({ key, message: `the file must be ${where}` });
  };
  const { source } = config.camera;
  if (typeof source === 'string' && source !== 'demo') {
    if (source.includes('!')) checkFile(['camera', 'source'], checkGstreamerPipeline(source).file?.path);
    else if (source.startsWith('/dev/')) {
      if (!VIDEO_DEVICE.test(source) && !VIDEO_DEVICE.test(real(source))) problems.push({ key: ['camera', 'source'], message: 'a camera device is /dev/videoN or /dev/v4l/by-id/...' });
    } else checkFile(['camera', 'source'], source);
  }
  checkFile(['vision', 'model'], config.vision.model);
  if (!PROFILE_NAME.test(config.expression.hardware)) checkFile(['expression', 'hardware'], config.expression.hardware);
  checkFile(['expression', 'calibration'], config.expression.calibration);
  const portProblem = config.expression.port === undefined ? undefined : serialPortProblem(config.expression.port);
  if (portProblem) problems.push({ key: ['expression', 'port'], message: portProblem });
  for (const name of ['ca', 'cert', 'key'] as const) checkFile(['remote', 'mqtt', 'tls', name], config.remote.mqtt.tls[name]);
  return problems;
}
