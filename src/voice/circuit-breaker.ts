/**
 * After `failures` failed cloud turns in a row the cloud is left alone for `openMs`: a dead or
 * rate-limiting API is not hammered, and the robot answers offline at once instead of waiting for
 * a timeout every time. The first turn after that is a trial.
 */
export class CircuitBreaker {
  private consecutive = 0;
  private openUntil = 0;

  constructor(private readonly settings: { failures: number; open_ms: number }) {}

  available(now = Date.now()): boolean {
    return now >= this.openUntil;
  }

  succeeded(): void {
    this.consecutive = 0;
  }

  /** Returns true when this failure opened the circuit. */
  failed(now = Date.now()): boolean {
    this.consecutive++;
    if (this.consecutive < this.settings.failures) return false;
    this.consecutive = 0;
    this.openUntil = now + this.settings.open_ms;
    return true;
  }
}
