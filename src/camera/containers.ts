/**
 * What a video file named by the config must be before OpenCV or GStreamer opens it. Both pick a
 * demuxer by the file's content, not its name, and some demuxers are programs of a kind: an HLS or
 * DASH playlist, FFmpeg's concat list or an SDP description makes the robot fetch URLs or read other
 * files, whatever the file is called. So a file must start as a media container does, and it is
 * then read by that container's demuxer, named: never one chosen from its content.
 */
import { closeSync, constants, fstatSync, openSync, readSync, type Stats } from 'node:fs';

/** Enough for the MPEG-TS check, which looks at three 188-byte packets' sync bytes. */
const HEADER_BYTES = 377;

/** ISO base media (MP4, MOV, 3GP): the first box's type; old QuickTime files start without `ftyp`. */
const ISO_BOXES = new Set(['ftyp', 'moov', 'mdat', 'free', 'skip', 'wide', 'pnot']);

export interface Container {
  name: string;
  /**
   * The FFmpeg demuxer the file is opened with: named, so that FFmpeg does not guess from the
   * content (text after a container's first bytes scores as SDP or DASH in its probe).
   */
  ffmpegFormat: string;
  /** The GStreamer elements that may read it straight after `filesrc` (never `decodebin`, which guesses). */
  gstreamerReaders: string[];
}

/** An MPEG start code (00 00 01, or 00 00 00 01) and the byte after it. */
function afterStartCode(h: Buffer): number | undefined {
  if (h.length >= 4 && h[0] === 0 && h[1] === 0 && h[2] === 1) return h[3];
  if (h.length >= 5 && h[0] === 0 && h[1] === 0 && h[2] === 0 && h[3] === 1) return h[4];
  return undefined;
}

/** The first box's size: at least its own header and within the file (0: to its end; 1: a 64-bit size follows). */
const boxSizeFits = (box: number, fileSize: number) => box === 0 || box === 1 || (box >= 8 && box <= fileSize);

/** The first NAL unit's type (its forbidden bit clear) is one of `types`. */
function nalType(h: Buffer, typeOf: (header: number) => number, types: number[]): boolean {
  const header = afterStartCode(h);
  return header !== undefined && (header & 0x80) === 0 && types.includes(typeOf(header));
}

const CONTAINERS: (Container & { matches: (h: Buffer, size: number) => boolean })[] = [
  { name: 'MP4/MOV', ffmpegFormat: 'mov', gstreamerReaders: ['qtdemux'], matches: (h, size) => h.length >= 8 && ISO_BOXES.has(h.toString('latin1', 4, 8)) && boxSizeFits(h.readUInt32BE(0), size) },
  { name: 'Matroska/WebM', ffmpegFormat: 'matroska', gstreamerReaders: ['matroskademux'], matches: (h) => h.length >= 4 && h.readUInt32BE(0) === 0x1a45dfa3 },
  { name: 'AVI', ffmpegFormat: 'avi', gstreamerReaders: ['avidemux'], matches: (h) => h.length >= 12 && h.toString('latin1', 0, 4) === 'RIFF' && h.toString('latin1', 8, 12) === 'AVI ' },
  { name: 'Ogg', ffmpegFormat: 'ogg', gstreamerReaders: ['oggdemux'], matches: (h) => h.length >= 4 && h.toString('latin1', 0, 4) === 'OggS' },
  { name: 'MPEG-TS', ffmpegFormat: 'mpegts', gstreamerReaders: ['tsdemux'], matches: (h) => h.length >= 377 && h[0] === 0x47 && h[188] === 0x47 && h[376] === 0x47 },
  { name: 'MPEG program stream', ffmpegFormat: 'mpeg', gstreamerReaders: ['mpegpsdemux'], matches: (h) => afterStartCode(h) === 0xba },
  // Raw streams (`filesrc ! h264parse`): the first NAL unit is an access unit delimiter or a parameter set.
  { name: 'H.264 stream', ffmpegFormat: 'h264', gstreamerReaders: ['h264parse'], matches: (h) => nalType(h, (b) => b & 0x1f, [7, 9]) },
  { name: 'H.265 stream', ffmpegFormat: 'hevc', gstreamerReaders: ['h265parse'], matches: (h) => nalType(h, (b) => (b >> 1) & 0x3f, [32, 33, 34, 35]) },
  { name: 'Motion JPEG', ffmpegFormat: 'mjpeg', gstreamerReaders: ['jpegparse', 'jpegdec'], matches: (h) => h.length >= 3 && h[0] === 0xff && h[1] === 0xd8 && h[2] === 0xff },
];

export const PLAYABLE_CONTAINERS = CONTAINERS.map((c) => c.name);

export class VideoFileError extends Error {}

/** A video file the config names, opened once; what plays it opens `path`, the same file through this handle. */
export interface OpenedVideoFile {
  container: Container;
  /** `/proc/self/fd/N`: the file that was checked, even if its name is given to another file meanwhile. */
  path: string;
  close(): void;
}

/**
 * A file the config names, opened without blocking (a FIFO or device put in its place would hang
 * the robot) and checked through that handle to be a regular file: its descriptor and size, or
 * why not. `followLinks: false` also refuses a link (one in a folder could lead out of it).
 */
export function openRegularFile(file: string, { followLinks = true } = {}): { fd: number; size: number } | string {
  let fd: number;
  try {
    fd = openSync(file, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY | (followLinks ? 0 : constants.O_NOFOLLOW));
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return code === 'ELOOP' && !followLinks ? 'a link' : code === 'ENOENT' ? 'no such file' : 'cannot be opened';
  }
  let stat: Stats;
  try {
    stat = fstatSync(fd);
  } catch {
    closeSync(fd);
    return 'cannot be opened';
  }
  if (stat.isFile()) return { fd, size: stat.size };
  closeSync(fd);
  return 'not a regular file';
}

/**
 * Opens the file, checks through that handle that it is a regular file that starts as a media
 * container does, and keeps it open for the player. Errors never carry the file's content, which may
 * be a foreign file's. Non-blocking, so that a FIFO put in its place cannot hang the robot.
 */
export function openVideoFile(file: string): OpenedVideoFile {
  const opened = openRegularFile(file);
  if (typeof opened === 'string') throw new VideoFileError(opened);
  const { fd, size } = opened;
  try {
    const header = Buffer.alloc(HEADER_BYTES);
    const container = sniff(header.subarray(0, readSync(fd, header, 0, HEADER_BYTES, 0)), size);
    if (!container) {
      throw new VideoFileError(`not a video file the robot plays (${PLAYABLE_CONTAINERS.join(', ')}): a playlist or other text file could make it fetch URLs or read other files`);
    }
    return { container, path: `/proc/self/fd/${fd}`, close: () => closeSync(fd) };
  } catch (err) {
    closeSync(fd);
    throw err;
  }
}

/** The container a file's first bytes announce, or undefined when none the robot plays. */
export function sniff(header: Buffer, size: number): Container | undefined {
  // Magic numbers alone leave room: an MPEG-TS's sync byte is "G". Every container's header holds
  // control bytes (sizes, flags, padding); the naming of its demuxer (above) is what keeps text out.
  if (!header.some((byte) => byte < 0x09 || (byte > 0x0d && byte < 0x20))) return undefined;
  const found = CONTAINERS.find((c) => c.matches(header, size));
  return found && { name: found.name, ffmpegFormat: found.ffmpegFormat, gstreamerReaders: found.gstreamerReaders };
}
