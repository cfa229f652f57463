import { createRequire } from 'node:module';
import type * as OpenCV from '@u4/opencv4nodejs';

/**
 * The one place OpenCV is loaded. The package's ESM entry tries to (re)build OpenCV at import time
 * unless OPENCV4NODEJS_DISABLE_AUTOBUILD is set; its CommonJS entry with that variable set just binds
 * the addon that `npm ci` compiled against Debian's OpenCV. Its chatty build logger is silenced.
 */
let loaded: typeof OpenCV | undefined;

/**
 * The most pixels an image file may decode to. A file of a few hundred kilobytes can hold a
 * 30000x30000 image, 2.7 GB decoded, which OpenCV's default (a gigapixel) allows and a Pi has not;
 * a camera frame is at most a few megapixels and a phone's photo about 50.
 */
export const MAX_IMAGE_PIXELS = 2 ** 26;

export function opencv(): typeof OpenCV {
  if (!loaded) {
    process.env.OPENCV4NODEJS_DISABLE_AUTOBUILD ??= '1';
    // OpenCV's own WARN lines (e.g. every failed V4L2 probe) would flood the journal while reconnecting.
    process.env.OPENCV_LOG_LEVEL ??= 'ERROR';
    // Read once, when the library loads: it must be set before.
    process.env.OPENCV_IO_MAX_IMAGE_PIXELS ??= String(MAX_IMAGE_PIXELS);
    // The binding reports Mat memory to V8 from inside Mat destructors, which also run in GC callbacks;
    // on Node 20 that was seen to abort the process ("Check failed: marking_done_", a known issue of
    // the binding). EmoBot releases its Mats explicitly instead (frames are reference counted).
    process.env.OPENCV4NODEJS_DISABLE_EXTERNAL_MEM_TRACKING ??= '1';
    const require = createRequire(import.meta.url);
    const build = require('@u4/opencv-build') as { Log?: { silence: boolean } };
    if (build.Log) build.Log.silence = true;
    loaded = require('@u4/opencv4nodejs') as typeof OpenCV;
  }
  return loaded;
}
