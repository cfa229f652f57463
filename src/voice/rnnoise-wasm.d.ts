/** The parts of the Emscripten module `@echogarden/rnnoise-wasm` builds from RNNoise that the robot uses. */
declare module '@echogarden/rnnoise-wasm' {
  export interface RNNoiseModule {
    /** A suppressor's state; 0: the built-in model. */
    _rnnoise_create(model: number): number;
    _rnnoise_destroy(state: number): void;
    /** Denoises 480 samples (10 ms at 48 kHz, 16-bit scale) from `input` into `out` (may be the same); returns the frame's speech probability. */
    _rnnoise_process_frame(state: number, out: number, input: number): number;
    _malloc(bytes: number): number;
    _free(pointer: number): void;
    HEAPF32: Float32Array;
  }
  export default function createModule(): Promise<RNNoiseModule>;
}
