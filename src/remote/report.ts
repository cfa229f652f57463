import { packageVersion } from '../runtime/paths.js';
import type { ScopedBus } from '../runtime/bus.js';
import type { BusEvents, RobotState } from '../runtime/events.js';
import type { StatusSnapshot } from '../runtime/status.js';
import { HostMetrics, ProcessMetrics } from './host-metrics.js';
import type { StatePayload, TelemetryPayload } from './payloads.js';

export interface ReportListener {
  /** The state changed (called only when it differs from the previous one). */
  state(payload: StatePayload): void;
  /** Every runtime.status_interval_ms. */
  telemetry(payload: TelemetryPayload): void;
}

/**
 * The robot's state and telemetry, built from bus events. MQTT and the web page each keep one, so
 * both show the same thing from the same code; neither reaches into the other.
 */
export class RobotReport {
  private snapshot?: StatusSnapshot;
  private attendedEmotion: { label: string; confidence: number; since: number; trackId: number } | null = null;
  private model: BusEvents['vision.ready'] | null = null;
  private readonly startedAt = Date.now() - Math.round(process.uptime() * 1000);
  /** What the head is doing (following, idle, asleep, posing, resting) and whether the robot talks. */
  private activity: StatePayload['activity'] = null;
  private speaking = false;
  private lastState = '';
  private readonly host = new HostMetrics();
  private readonly processMetrics = new ProcessMetrics();
  private readonly version = packageVersion();

  constructor(
    bus: ScopedBus,
    private readonly robotState: () => RobotState,
    private readonly listener: ReportListener,
  ) {
    bus.on('emotion', (e) => {
      if (e.attended) this.attendedEmotion = { label: e.label, confidence: round(e.confidence), since: e.since, trackId: e.trackId };
    });
    bus.on('robot.state', () => this.stateChanged());
    bus.on('vision.ready', ({ model, executionProvider, detector }) => {
      this.model = { model, executionProvider, detector };
      this.stateChanged();
    });
    bus.on('expression.state', ({ activity }) => {
      this.activity = activity;
      this.stateChanged();
    });
    bus.on('voice.speaking', ({ speaking }) => {
      this.speaking = speaking;
      this.stateChanged();
    });
    bus.on('runtime.status', ({ snapshot }) => {
      this.snapshot = snapshot;
      const { uptimeS, fps, visionFps, droppedFrames } = snapshot;
      this.listener.telemetry({ at: Date.now(), uptimeS, cameraFps: fps, visionFps, droppedFrames, ...this.processMetrics.sample(), ...this.host.sample() });
      this.stateChanged();
    });
  }

  state(): StatePayload {
    const faces = this.snapshot?.faces ?? 0;
    const attended = faces > 0 ? this.attendedEmotion : null;
    return {
      emotion: attended ? { label: attended.label, confidence: attended.confidence, since: attended.since } : null,
      faces,
      attendedTrackId: attended?.trackId ?? null,
      ...this.robotState(),
      activity: this.activity,
      speaking: this.speaking,
      subsystems: this.snapshot?.subsystems ?? {},
      model: this.model?.model ?? null,
      executionProvider: this.model?.executionProvider ?? null,
      detector: this.model?.detector ?? null,
      startedAt: this.startedAt,
      version: this.version,
    };
  }

  stop(): void {
    this.processMetrics.stop();
  }

  private stateChanged(): void {
    const payload = this.state();
    const text = JSON.stringify(payload);
    if (text === this.lastState) return;
    this.lastState = text;
    this.listener.state(payload);
  }
}

export const round = (x: number): number => Math.round(x * 1000) / 1000;
export const roundAll = (r: Record<string, number>): Record<string, number> => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, round(v)]));
