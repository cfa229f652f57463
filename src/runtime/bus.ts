import { asError } from './errors.js';
import type { BusEventName, BusEvents } from './events.js';

type Handler<K extends BusEventName> = (payload: BusEvents[K]) => unknown;
type ErrorSink = (error: Error, event: BusEventName) => void;

interface Subscription {
  handler: (payload: never) => unknown;
  onError: ErrorSink;
}

/**
 * Typed publish/subscribe between subsystems. A throwing (or rejecting) handler is reported to the
 * error sink of whoever subscribed it, so one subsystem's bug never reaches the publisher.
 */
export class EventBus {
  private readonly subscriptions = new Map<BusEventName, Set<Subscription>>();

  constructor(private readonly defaultErrorSink: ErrorSink) {}

  emit<K extends BusEventName>(event: K, payload: BusEvents[K]): void {
    const subs = this.subscriptions.get(event);
    if (!subs) return;
    for (const sub of [...subs]) {
      try {
        const result = (sub.handler as Handler<K>)(payload);
        if (result instanceof Promise) result.catch((err: unknown) => sub.onError(asError(err), event));
      } catch (err) {
        sub.onError(asError(err), event);
      }
    }
  }

  on<K extends BusEventName>(event: K, handler: Handler<K>, onError: ErrorSink = this.defaultErrorSink): () => void {
    const sub: Subscription = { handler: handler as Subscription['handler'], onError };
    let subs = this.subscriptions.get(event);
    if (!subs) this.subscriptions.set(event, (subs = new Set()));
    subs.add(sub);
    return () => subs.delete(sub);
  }

  listenerCount(event: BusEventName): number {
    return this.subscriptions.get(event)?.size ?? 0;
  }

  /** A view for one owner: its handler errors go to `onError`, and `close()` drops all its subscriptions. */
  scope(onError: ErrorSink): ScopedBus {
    return new ScopedBus(this, onError);
  }
}

export class ScopedBus {
  private readonly unsubscribers = new Set<() => void>();

  constructor(
    private readonly bus: EventBus,
    private readonly onError: ErrorSink,
  ) {}

  emit<K extends BusEventName>(event: K, payload: BusEvents[K]): void {
    this.bus.emit(event, payload);
  }

  on<K extends BusEventName>(event: K, handler: Handler<K>): () => void {
    const off = this.bus.on(event, handler, this.onError);
    const unsubscribe = () => {
      off();
      this.unsubscribers.delete(unsubscribe);
    };
    this.unsubscribers.add(unsubscribe);
    return unsubscribe;
  }

  close(): void {
    for (const off of [...this.unsubscribers]) off();
  }
}
