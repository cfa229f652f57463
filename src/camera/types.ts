import type { Mat } from '@u4/opencv4nodejs';

export interface CameraFrame {
  /** Counts frames delivered since the camera subsystem started. */
  index: number;
  /** Wall-clock capture time (ms since epoch) and monotonic time (performance.now()). */
  capturedAt: number;
  monotonicMs: number;
  width: number;
  height: number;
  /** BGR image. Shared by all subscribers: read it, never modify or release it. */
  image: Mat;
  /**
   * A subscriber that uses the image after its handler returned (asynchronous processing) holds it
   * with retain() and calls the returned function when done. The image is released as soon as nobody
   * holds it, instead of when the garbage collector gets to it: at 30 fps that is ~27 MB/s of pixels.
   */
  retain(): () => void;
}

export type CameraState =
  | { state: 'open'; device: string; width: number; height: number; fps: number }
  | { state: 'reconnecting'; device: string; error: string; retryInMs: number }
  | { state: 'ended'; device: string }
  | { state: 'closed'; device: string };
