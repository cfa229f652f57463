import { closeSync, read, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import type { Mat, VideoCapture } from '@u4/opencv4nodejs';
import type { Config } from '../config/schema.js';
import { asError, excerpt } from '../runtime/errors.js';
import { MAX_IMAGE_PIXELS, opencv } from '../runtime/opencv.js';
import { openRegularFile, openVideoFile, VideoFileError, type OpenedVideoFile } from './containers.js';
import { checkGstreamerPipeline, withLocation } from './gstreamer.js';
import { DEMO_VIDEO, resolveAsset } from '../runtime/paths.js';

export interface FrameSource {
  /** What the user configured, in words, for logs and errors. */
  readonly device: string;
  /** Files are paced to their own frame rate and can be rewound; live cameras block on read. */
  readonly live: boolean;
  readonly fps: number;
  /** The next frame, or undefined when a file has ended. Throws when a live camera stops delivering. */
  read(): Promise<Mat | undefined>;
  rewind(): void;
  close(): void;
}

export class CameraOpenError extends Error {
  constructor(readonly device: string, reason: string) {
    super(`cannot open camera ${device}: ${reason}`);
    this.name = 'CameraOpenError';
  }
}

type CameraConfig = Config['camera'];

interface SourceSpec {
  device: string;
  target: string | number;
  api?: number;
  live: boolean;
  folder?: boolean;
}

export function describeSource(source: CameraConfig['source']): SourceSpec {
  const cv = opencv();
  if (source === 'demo') return { device: `demo video ${DEMO_VIDEO}`, target: DEMO_VIDEO, live: false };
  if (typeof source === 'number') return { device: `V4L2 camera #${source}`, target: source, api: cv.CAP_V4L2, live: true };
  if (source.includes('!')) return { device: `GStreamer pipeline "${source}"`, target: source, api: cv.CAP_GSTREAMER, live: true };
  if (source.startsWith('/dev/')) return { device: `V4L2 camera ${source}`, target: source, api: cv.CAP_V4L2, live: true };
  const file = resolveAsset(source);
  const folder = statSync(file, { throwIfNoEntry: false })?.isDirectory() ?? false;
  return { device: `${folder ? 'image folder' : 'video file'} ${file}`, target: file, live: false, folder };
}

/** Still images OpenCV reads: a camera's image folder, `emobot look`'s folders. */
export const IMAGE_EXTENSIONS = /\.(jpe?g|png|bmp|tiff?|webp|pgm|ppm)$/i;

/** Larger than any camera frame's file; a bigger one is no frame to decode on a Pi. */
const MAX_IMAGE_BYTES = 32 * 1024 * 1024;
const readAt = promisify(read);

/**
 * One file of an image folder, read through a handle that follows no link (a link could lead out of
 * the folder that the config check allowed), does not block (a FIFO or device in its place would
 * hang the camera) and is checked to be a regular file of a sane size; then decoded in memory.
 * The reason it cannot be a frame otherwise, never the file's content.
 */
async function readImage(file: string): Promise<Mat | string> {
  const opened = openRegularFile(file, { followLinks: false });
  if (typeof opened === 'string') return opened === 'a link' ? 'a link (the folder must hold the images themselves)' : opened;
  const { fd, size } = opened;
  let bytes: Buffer;
  try {
    if (size === 0 || size > MAX_IMAGE_BYTES) return `${size} bytes (an image is 1 byte to ${MAX_IMAGE_BYTES / 1024 / 1024} MB)`;
    bytes = Buffer.alloc(size);
    // Off the event loop (a large file on a slow SD card), and a failing card's EIO is this file's problem only.
    const read = await readAt(fd, bytes, 0, size, 0).catch((err: NodeJS.ErrnoException) => `cannot be read (${err.code ?? 'error'})`);
    if (typeof read === 'string') return read;
    if (read.bytesRead !== size) return 'changed while it was read';
  } finally {
    closeSync(fd);
  }
  // As a camera delivers it and as `emobot look` reads it: three channels, whatever the file holds.
  const cv = opencv();
  const image = await cv.imdecodeAsync(bytes, cv.IMREAD_COLOR).catch((err: unknown) => String(err));
  if (typeof image === 'string' && image.includes('MAX_IMAGE_PIXELS')) return `more than ${MAX_IMAGE_PIXELS / 2 ** 20} megapixels (a compressed file may hold far more pixels than its size says)`;
  return typeof image === 'string' || image.empty ? 'not an image OpenCV decodes' : image;
}

/**
 * A folder of images played in name order at the configured rate: for replays and tests. A file
 * that is not a readable image is skipped (`warn` says which, once), so one bad file neither stops
 * the camera nor sends it back to the first image.
 */
function openImageFolder(device: string, folder: string, config: CameraConfig, warn: (message: string) => void): FrameSource {
  const files = readdirSync(folder).filter((f) => IMAGE_EXTENSIONS.test(f)).sort();
  if (files.length === 0) throw new CameraOpenError(device, 'no images in it');
  const warned = new Set<string>();
  let next = 0;
  let delivered = false;
  return {
    device,
    live: false,
    fps: config.fps,
    async read() {
      for (; next < files.length; next++) {
        const name = files[next]!;
        const image = await readImage(path.join(folder, name));
        if (typeof image !== 'string') {
          next++;
          delivered = true;
          return image;
        }
        if (!warned.has(name)) warn(`${device}: skipped ${JSON.stringify(excerpt(name, 60))}: ${image}`);
        warned.add(name);
      }
      if (!delivered) throw new CameraOpenError(device, 'none of its images can be read');
      return undefined;
    },
    rewind() {
      next = 0;
    },
    close() {},
  };
}

/**
 * A video file, or a GStreamer pipeline's `filesrc location=`, opened and checked (see containers.ts);
 * what OpenCV then opens names the checked file through its handle, and its demuxer: a plain file
 * goes to FFmpeg alone (no GStreamer fallback, whose decodebin guesses), a pipeline's file to the
 * demuxer written after filesrc, which must be its container's.
 */
function openChecked(spec: SourceSpec): { target: string | number; api?: number; file?: OpenedVideoFile } {
  const cv = opencv();
  if (spec.api === cv.CAP_GSTREAMER) {
    const pipeline = spec.target as string;
    const { problem, file: location, fileReader } = checkGstreamerPipeline(pipeline);
    // The config check refuses it too; what opens the camera does not count on being handed a checked config.
    if (problem) throw new CameraOpenError(spec.device, problem);
    if (location === undefined) return spec;
    const file = openNamed(spec, location.path);
    if (!fileReader || !file.container.gstreamerReaders.includes(fileReader)) {
      file.close();
      throw new CameraOpenError(spec.device, `${location.path} is ${file.container.name}: after filesrc comes its demuxer (${file.container.gstreamerReaders.join(' or ')}), not ${fileReader ?? 'nothing'}`);
    }
    return { target: withLocation(pipeline, location, file.path), api: spec.api, file };
  }
  if (spec.live) return spec;
  const file = openNamed(spec, spec.target as string);
  return { target: file.path, api: cv.CAP_FFMPEG, file };
}

function openNamed(spec: SourceSpec, location: string): OpenedVideoFile {
  try {
    return openVideoFile(location);
  } catch (err) {
    if (!(err instanceof VideoFileError)) throw err;
    throw new CameraOpenError(spec.device, spec.live ? `${location}: ${err.message}` : err.message);
  }
}

/** FFmpeg's options for one open (OpenCV reads them from the environment as it opens): its demuxer named, local files only. */
function withFfmpegOptions<T>(file: OpenedVideoFile | undefined, open: () => T): T {
  if (!file) return open();
  const before = process.env[FFMPEG_OPTIONS];
  process.env[FFMPEG_OPTIONS] = `input_format;${file.container.ffmpegFormat}|protocol_whitelist;file`;
  try {
    return open();
  } finally {
    if (before === undefined) delete process.env[FFMPEG_OPTIONS];
    else process.env[FFMPEG_OPTIONS] = before;
  }
}
const FFMPEG_OPTIONS = 'OPENCV_FFMPEG_CAPTURE_OPTIONS';

/** `warn`: told of what a source can play past (an image folder's unreadable files). */
export function openSource(config: CameraConfig, warn: (message: string) => void = () => {}): FrameSource {
  const cv = opencv();
  const spec = describeSource(config.source);
  if (spec.folder) return openImageFolder(spec.device, spec.target as string, config, warn);
  const { target, api, file } = openChecked(spec);
  let capture: VideoCapture;
  try {
    capture = withFfmpegOptions(file, () => (api === undefined ? new cv.VideoCapture(target) : new cv.VideoCapture(target, api)));
  } catch (err) {
    file?.close();
    throw new CameraOpenError(spec.device, `${asError(err).message} (is it connected, and not in use by another program?)`);
  }
  // A GStreamer pipeline states its own caps; setting properties on it stalls the pipeline.
  if (spec.api === cv.CAP_V4L2) {
    capture.set(cv.CAP_PROP_FRAME_WIDTH, config.width);
    capture.set(cv.CAP_PROP_FRAME_HEIGHT, config.height);
    capture.set(cv.CAP_PROP_FPS, config.fps);
  }
  const reported = capture.get(cv.CAP_PROP_FPS);
  const fps = reported > 0 && reported < 1000 ? Math.min(reported, config.fps) : config.fps;
  return {
    device: spec.device,
    live: spec.live,
    fps,
    async read() {
      const frame = await capture.readAsync();
      if (!frame.empty) return frame;
      if (spec.live) throw new Error(`${spec.device} delivered no frame (unplugged?)`);
      return undefined;
    },
    rewind() {
      capture.set(cv.CAP_PROP_POS_FRAMES, 0);
    },
    close() {
      capture.release();
      file?.close();
    },
  };
}
