import type { Config } from '../config/schema.js';
import type { ConversationPayload, StatePayload, TelemetryPayload } from '../remote/payloads.js';
import { RobotReport, round, roundAll } from '../remote/report.js';
import type { ScopedBus } from '../runtime/bus.js';
import type { BusEvents, RobotState } from '../runtime/events.js';
import type { ProblemEntry } from '../runtime/logger.js';

/**
 * The page's name on the bus: the camera sends its pictures back to this requester only, and its
 * commands carry it as their source.
 */
export const PAGE_SOURCE = 'web page';
/** A frame may be skipped for a page that is behind; an update may not. */
export type Delivery = 'frame' | 'update';
/** Faces are sent to pages at most this often: smoother than a person can follow, far below the camera's rate. */
const FACES_INTERVAL_MS = 100;
/** The emotion timeline a page opens with, sampled twice a second. */
const TIMELINE_S = 60;
const TIMELINE_INTERVAL_MS = 500;
/** Telemetry samples a page opens with (its charts), and warnings. */
const TELEMETRY_HISTORY = 120;
const RECENT_WARNINGS = 20;
const RECENT_CONVERSATION = 20;

export interface FaceMessage {
  trackId: number;
  attended: boolean;
  box: { x: number; y: number; width: number; height: number };
  landmarks?: Record<string, { x: number; y: number }>;
  label: string;
  confidence: number;
  probabilities: Record<string, number>;
}

/** What a page receives as JSON text; the camera image comes as binary JPEG messages. */
export type LiveMessage =
  | {
      type: 'hello';
      robot: { id: string; name: string };
      poses: string[];
      commands: readonly string[];
      camera: boolean;
      conversation: boolean;
      state: StatePayload;
      telemetry: TelemetryPayload[];
      timeline: { at: number; probabilities: Record<string, number> }[];
      servos: BusEvents['expression.servos'] | null;
      warnings: ProblemEntry[];
      said: ConversationPayload[];
    }
  | { type: 'state'; state: StatePayload }
  | { type: 'telemetry'; telemetry: TelemetryPayload }
  | { type: 'faces'; at: number; width: number; height: number; faces: FaceMessage[] }
  | { type: 'servos'; servos: BusEvents['expression.servos'] }
  | { type: 'warning'; entry: ProblemEntry }
  | { type: 'conversation'; entry: ConversationPayload };

export interface LiveAudience {
  /** Pages open now. */
  count(): number;
  broadcast(message: string | Buffer, delivery: Delivery): void;
}

/**
 * What open pages see: the same state and telemetry MQTT publishes (one RobotReport each), faces
 * per frame, servo positions, warnings and, with consent, the conversation. The camera is asked
 * for a picture only while a page is open and web.camera is on: with no page, nothing is encoded.
 */
export class LiveFeed {
  private readonly report: RobotReport;
  private readonly telemetry: TelemetryPayload[] = [];
  private readonly timeline: { at: number; probabilities: Record<string, number> }[] = [];
  private readonly warnings: ProblemEntry[] = [];
  private readonly said: ConversationPayload[] = [];
  private servos: BusEvents['expression.servos'] | null = null;
  private lastFaces = -Infinity;
  private lastTimeline = -Infinity;
  private cameraTimer?: NodeJS.Timeout;

  constructor(
    private readonly bus: ScopedBus,
    private readonly config: () => Config,
    robotState: () => RobotState,
    private readonly audience: LiveAudience,
  ) {
    this.report = new RobotReport(bus, robotState, {
      state: (state) => this.send({ type: 'state', state }),
      telemetry: (telemetry) => {
        keep(this.telemetry, telemetry, TELEMETRY_HISTORY);
        this.send({ type: 'telemetry', telemetry });
      },
    });
    bus.on('vision.frame', (frame) => this.onFrame(frame));
    bus.on('expression.servos', (servos) => {
      this.servos = servos;
      this.send({ type: 'servos', servos });
    });
    bus.on('log', (entry) => {
      keep(this.warnings, entry, RECENT_WARNINGS);
      this.send({ type: 'warning', entry });
    });
    bus.on('camera.snapshot', ({ jpeg, by }) => {
      if (by === PAGE_SOURCE && this.cameraOn()) this.audience.broadcast(jpeg, 'frame');
    });
    if (config().web.conversation) {
      const conversation = (entry: ConversationPayload) => {
        keep(this.said, entry, RECENT_CONVERSATION);
        this.send({ type: 'conversation', entry });
      };
      bus.on('voice.said', ({ text, source, trigger, at }) => conversation({ role: 'robot', text, source, trigger, at }));
      bus.on('voice.heard', ({ text, at }) => conversation({ role: 'person', text, at }));
    }
  }

  /** The first message a page gets: everything it needs to draw itself at once. */
  hello(commands: readonly string[]): LiveMessage {
    const { robot, expression, web } = this.config();
    return {
      type: 'hello',
      robot: { id: robot.id, name: robot.name },
      poses: Object.keys(expression.poses),
      commands,
      camera: web.camera,
      conversation: web.conversation,
      state: this.report.state(),
      telemetry: this.telemetry,
      timeline: this.timeline,
      servos: this.servos,
      warnings: this.warnings,
      said: this.said,
    };
  }

  /** Called when the number of open pages changed: the camera is asked for pictures only while one is. */
  audienceChanged(): void {
    const { web } = this.config();
    const wanted = this.audience.count() > 0 && web.camera;
    if (wanted && !this.cameraTimer) {
      const { camera_fps, camera_quality } = web;
      const ask = () => this.bus.emit('camera.snapshot-requested', { quality: camera_quality, by: PAGE_SOURCE });
      ask();
      this.cameraTimer = setInterval(ask, 1000 / camera_fps);
    } else if (!wanted && this.cameraTimer) {
      clearInterval(this.cameraTimer);
      this.cameraTimer = undefined;
    }
  }

  stop(): void {
    clearInterval(this.cameraTimer);
    this.cameraTimer = undefined;
    this.report.stop();
  }

  private cameraOn(): boolean {
    return this.cameraTimer !== undefined;
  }

  private onFrame(frame: BusEvents['vision.frame']): void {
    const now = performance.now();
    const attended = frame.faces.find((f) => f.trackId === frame.attendedTrackId);
    if (attended && now - this.lastTimeline >= TIMELINE_INTERVAL_MS) {
      this.lastTimeline = now;
      keep(this.timeline, { at: frame.capturedAt, probabilities: roundAll(attended.probabilities) }, (TIMELINE_S * 1000) / TIMELINE_INTERVAL_MS);
    }
    if (this.audience.count() === 0 || now - this.lastFaces < FACES_INTERVAL_MS) return;
    this.lastFaces = now;
    const faces = frame.faces.map(
      (f): FaceMessage => ({
        trackId: f.trackId,
        attended: f.trackId === frame.attendedTrackId,
        box: f.box,
        ...(f.landmarks ? { landmarks: { ...f.landmarks } } : {}),
        label: f.smoothed.label,
        confidence: round(f.smoothed.confidence),
        probabilities: roundAll(f.probabilities),
      }),
    );
    this.send({ type: 'faces', at: frame.capturedAt, width: frame.width, height: frame.height, faces }, 'frame');
  }

  private send(message: LiveMessage, delivery: Delivery = 'update'): void {
    if (this.audience.count() > 0) this.audience.broadcast(JSON.stringify(message), delivery);
  }
}

function keep<T>(list: T[], item: T, limit: number): void {
  list.push(item);
  if (list.length > limit) list.splice(0, list.length - limit);
}
