export interface OutgoingMessage {
  topic: string;
  payload: string;
  retain: boolean;
  qos: 0 | 1;
}

/**
 * What the robot wants to say while the broker is unreachable. State-like topics (status, state,
 * telemetry) keep only their newest message, since an old state is worthless once a newer exists;
 * events keep the newest `limit`, oldest dropped first, so memory stays bounded during long outages.
 */
export class Outbox {
  private readonly latest = new Map<string, OutgoingMessage>();
  private events: OutgoingMessage[] = [];
  dropped = 0;

  constructor(private readonly limit: number) {}

  keepLatest(message: OutgoingMessage): void {
    this.latest.set(message.topic, message);
  }

  queueEvent(message: OutgoingMessage): void {
    this.events.push(message);
    if (this.events.length > this.limit) {
      const excess = this.events.length - this.limit;
      this.events = this.events.slice(excess);
      this.dropped += excess;
    }
  }

  get size(): number {
    return this.latest.size + this.events.length;
  }

  /** Everything waiting, state first (so a reconnecting dashboard is current at once), then events in order. */
  drain(): OutgoingMessage[] {
    const all = [...this.latest.values(), ...this.events];
    this.latest.clear();
    this.events = [];
    return all;
  }
}
