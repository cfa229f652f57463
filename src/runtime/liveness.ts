/**
 * Heartbeats of the loops that must keep running (the camera loop, the runtime tick). The systemd
 * watchdog is fed only while every registered loop beat recently, so a hung loop gets the daemon
 * restarted by systemd even though the process itself is still up.
 */
export class Liveness {
  private readonly loops = new Map<string, { maxAgeMs: number; lastBeat: number }>();

  constructor(private readonly now: () => number = () => performance.now()) {}

  register(name: string, maxAgeMs: number): () => void {
    this.loops.set(name, { maxAgeMs, lastBeat: this.now() });
    return () => this.loops.delete(name);
  }

  beat(name: string): void {
    const loop = this.loops.get(name);
    if (loop) loop.lastBeat = this.now();
  }

  /** Names of the loops that have not beaten within their allowed age. */
  stale(): string[] {
    const now = this.now();
    return [...this.loops].filter(([, loop]) => now - loop.lastBeat > loop.maxAgeMs).map(([name]) => name);
  }
}
