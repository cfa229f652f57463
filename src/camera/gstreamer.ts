/**
 * What a `camera.source` GStreamer pipeline may contain. A pipeline string is a program: with `tee`
 * and a network or file sink it would send or store the camera's images, which the robot promises
 * never to do. So a pipeline is one camera source, converters and caps, and the appsink OpenCV reads.
 */
import { excerpt } from '../runtime/errors.js';

const SOURCES = new Set(['v4l2src', 'libcamerasrc', 'nvarguscamerasrc', 'nvv4l2camerasrc', 'videotestsrc', 'filesrc']);
const CONVERTERS = new Set([
  'videoconvert', 'videoscale', 'videorate', 'videoflip', 'videocrop', 'videobalance', 'v4l2convert', 'nvvidconv', 'queue',
  'jpegdec', 'nvjpegdec', 'v4l2jpegdec', 'jpegparse', 'decodebin', 'qtdemux', 'matroskademux', 'avidemux', 'tsdemux', 'h264parse', 'h265parse',
  'avdec_h264', 'avdec_h265', 'v4l2h264dec', 'nvv4l2decoder', 'oggdemux', 'theoradec',
]);
const SINK = 'appsink';

/** Camera device nodes: video devices only, never /dev/mem or a disk. */
export const VIDEO_DEVICE = /^\/dev\/(video\d+|v4l\/by-(id|path)\/[\w.:+-]+)$/;

/** Jetson's hardware decoder node, which nvv4l2decoder's `device=` names (older L4T releases, then newer). */
const JETSON_DECODER_DEVICE = /^\/dev\/(nvhost-nvdec\d?|v4l2-nvdec)$/;

/** What `device=` may name for this element: a camera or V4L2 codec node, or Jetson's decoder for its decoder. */
function allowedDevice(element: string, device: string): boolean {
  return VIDEO_DEVICE.test(device) || (element === 'nvv4l2decoder' && JETSON_DECODER_DEVICE.test(device));
}

/** `video/x-raw(memory:NVMM), width=1280, framerate=30/1`: a media type with optional fields. */
const CAPS = /^(video|image)\/[a-z0-9.+-]+(\(memory:[A-Za-z]+\))?(\s*,\s*[a-z][a-z0-9-]*=(\([a-z0-9]+\))?[A-Za-z0-9_./:+-]+)*$/;
/** `device=/dev/video0`, `sensor-id=0`, `drop=true`: no quotes, spaces, `!` or shell characters. */
const PROPERTY = /^[a-z][a-z0-9-]*=[A-Za-z0-9_./:+-]+$/;

/** filesrc's `location=`, and where in the pipeline its path is written. */
export interface FileLocation {
  path: string;
  offset: number;
}

export interface PipelineCheck {
  /** Why the pipeline is refused, or undefined when it is allowed. */
  problem?: string;
  /** `filesrc location=`: the caller checks it like any other file the config names. */
  file?: FileLocation;
  /**
   * The element right after `filesrc`, which reads the file: the caller checks that it is the
   * demuxer of the file's container, since `decodebin` picks one from the content, SDP's among them.
   */
  fileReader?: string;
}

export function checkGstreamerPipeline(pipeline: string): PipelineCheck {
  const refuse = (problem: string): PipelineCheck => ({ problem });
  // No element allowed here takes an `@`, and a refusal quotes parts of the pipeline cut short: a URL's
  // password (rtsp://user:password@camera) could be quoted with the `@` that marks it cut off.
  if (pipeline.includes('@')) return refuse('no "@": no element allowed here takes a URL or a password');
  // Words are kept with where they start, so that the location checked is the one rewritten.
  let offset = 0;
  const segments = pipeline.split('!').map((raw) => {
    const words = [...raw.matchAll(/\S+/g)].map((word) => ({ text: word[0], at: offset + word.index }));
    offset += raw.length + 1;
    return { text: raw.trim(), words };
  });
  const elementAt = (index: number) => segments[index]?.words[0]?.text;
  const fileReader = elementAt(0) === 'filesrc' ? elementAt(1) : undefined;
  if (segments.some((s) => s.text === '')) return refuse('an empty element between "!"');
  if (segments.length < 2) return refuse('a pipeline needs a source and appsink');
  let file: FileLocation | undefined;
  for (const [index, { text: segment, words }] of segments.entries()) {
    if (/^(video|image)\//.test(segment)) {
      if (index === 0) return refuse('a pipeline starts with a camera source');
      if (!CAPS.test(segment)) return refuse(`caps "${excerpt(segment)}" are not of the form video/x-raw,width=640,height=480`);
      continue;
    }
    const [first, ...properties] = words;
    const element = first!.text;
    const last = index === segments.length - 1;
    if (index === 0 && !SOURCES.has(element)) return refuse(`the first element must be a camera source (${[...SOURCES].join(', ')}), not "${excerpt(element)}"`);
    if (index > 0 && !last && !CONVERTERS.has(element)) {
      return refuse(element === SINK ? 'appsink must be the last element, and the only sink' : `element "${excerpt(element)}" is not allowed (converters: ${[...CONVERTERS].join(', ')})`);
    }
    const given = new Set<string>();
    for (const { text: property, at } of properties) {
      if (!PROPERTY.test(property)) return refuse(`property "${excerpt(property)}" of ${element} must be name=value without quotes or spaces`);
      const name = property.slice(0, property.indexOf('='));
      const value = property.slice(name.length + 1);
      // GStreamer takes the last one given, and only one would be checked.
      if (given.has(name)) return refuse(`${element} sets ${name} twice`);
      given.add(name);
      if (element === 'filesrc' && name === 'location') {
        // GStreamer opens it relative to the working directory: only an absolute path is checked the same way.
        if (!value.startsWith('/')) return refuse('filesrc location must be an absolute path');
        file = { path: value, offset: at + name.length + 1 };
      }
      // Any element's device (v4l2src, nvv4l2camerasrc, the v4l2 converters and decoders), never /dev/sda;
      // a file descriptor number opens whatever the daemon has open under it.
      if (name === 'device' && !allowedDevice(element, value)) {
        return refuse(`${element} device must be /dev/videoN or /dev/v4l/by-id/...${element === 'nvv4l2decoder' ? ' (or /dev/nvhost-nvdec, /dev/v4l2-nvdec)' : ''}`);
      }
      if (name === 'device-fd') return refuse(`${element} device-fd is not allowed: name the device (device=/dev/videoN)`);
    }
  }
  // Checked last, so that a forbidden element is named first; a pipeline ending in caps has no sink at all.
  if (elementAt(segments.length - 1) !== SINK) return refuse('the pipeline must end in appsink, its only sink');
  const check: PipelineCheck = file === undefined ? {} : { file };
  return fileReader === undefined ? check : { ...check, fileReader };
}

/** The pipeline with filesrc's location replaced where it is written: another property may end in the same text. */
export function withLocation(pipeline: string, file: FileLocation, replacement: string): string {
  return pipeline.slice(0, file.offset) + replacement + pipeline.slice(file.offset + file.path.length);
}
