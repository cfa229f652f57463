/**
 * What a video file named by the config must be before OpenCV or GStreamer opens it. Both pick a
 * demuxer by the file's content, not its name, and some demuxers are programs of a kind: an HLS or
 * DASH playlist, FFmpeg's concat list or an SDP description makes the robot fetch URLs or read other
 * files, whatever the file is called. So a file must start as a media container does; each of these
 * starts with binary bytes that no text playlist can.
 */
import { closeSync, openSync, readSync } from 'node:fs';

/** Enough for the MPEG-TS check, which looks at three 188-byte packets' sync bytes. */
const HEADER_BYTES = 377;

/** ISO base media (MP4, MOV, 3GP): the first box's type; old QuickTime files start without `ftyp`. */
const ISO_BOXES = new Set(['ftyp', 'moov', 'mdat', 'free', 'skip', 'wide', 'pnot']);

const CONTAINERS: { name: string; matches: (h: Buffer) => boolean }[] = [
  { name: 'MP4/MOV', matches: (h) => h.length >= 8 && ISO_BOXES.has(h.toString('latin1', 4, 8)) },
  { name: 'Matroska/WebM', matches: (h) => h.length >= 4 && h.readUInt32BE(0) === 0x1a45dfa3 },
  { name: 'AVI', matches: (h) => h.length >= 12 && h.toString('latin1', 0, 4) === 'RIFF' && h.toString('latin1', 8, 12) === 'AVI ' },
  { name: 'Ogg', matches: (h) => h.length >= 4 && h.toString('latin1', 0, 4) === 'OggS' },
  { name: 'MPEG-TS', matches: (h) => h.length >= 377 && h[0] === 0x47 && h[188] === 0x47 && h[376] === 0x47 },
  // A program stream, or a raw H.264/H.265 stream (`filesrc ! h264parse`): an MPEG start code.
  { name: 'MPEG stream', matches: (h) => h.length >= 4 && h[0] === 0 && h[1] === 0 && (h[2] === 1 || (h[2] === 0 && h[3] === 1)) },
  { name: 'Motion JPEG', matches: (h) => h.length >= 3 && h[0] === 0xff && h[1] === 0xd8 && h[2] === 0xff },
];

export const PLAYABLE_CONTAINERS = CONTAINERS.map((c) => c.name);

/** The container the file's first bytes announce, or undefined when none the robot plays. */
export function videoContainer(file: string): string | undefined {
  const header = Buffer.alloc(HEADER_BYTES);
  const fd = openSync(file, 'r');
  let length: number;
  try {
    length = readSync(fd, header, 0, HEADER_BYTES, 0);
  } finally {
    closeSync(fd);
  }
  const read = header.subarray(0, length);
  // Magic numbers alone leave room: an MP4's first four bytes are a size, any four characters, and
  // an MPEG-TS's sync byte is "G". Every container's header holds control bytes (sizes, flags,
  // padding); a text playlist that a parser accepts holds none.
  if (!read.some((byte) => byte < 0x09 || (byte > 0x0d && byte < 0x20))) return undefined;
  return CONTAINERS.find((c) => c.matches(read))?.name;
}

/** Why the file may not be played (never its content, which may be a foreign file's), or undefined. */
export function containerProblem(file: string): string | undefined {
  if (videoContainer(file) !== undefined) return undefined;
  return `not a video file the robot plays (${PLAYABLE_CONTAINERS.join(', ')}): a playlist or other text file could make it fetch URLs or read other files`;
}
