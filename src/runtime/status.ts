import type { CameraState } from '../camera/types.js';
import type { EventBus } from './bus.js';
import type { SubsystemState } from './events.js';

export interface StatusSnapshot {
  uptimeS: number;
  /** Camera frames per second, and frames the vision pipeline processed per second. */
  fps: number;
  visionFps: number;
  frames: number;
  droppedFrames: number;
  faces: number;
  /** The attended person's smoothed emotion. */
  emotion?: { label: string; confidence: number };
  camera?: CameraState;
  subsystems: Record<string, SubsystemState>;
}

const FPS_WINDOW_MS = 2000;

/** Aggregates bus events into the one-line summary used for systemd STATUS= and the console. */
export class StatusBoard {
  private camera?: CameraState;
  private frames = 0;
  private readonly recentFrames: number[] = [];
  private readonly recentVisionFrames: number[] = [];
  private droppedFrames = 0;
  private faces = 0;
  private emotion?: { label: string; confidence: number };
  private readonly subsystems: Record<string, SubsystemState> = {};
  private readonly startedAt = performance.now();

  constructor(bus: EventBus) {
    bus.on('camera.state', (state) => {
      this.camera = state;
    });
    bus.on('camera.frame', (frame) => {
      this.frames++;
      this.recentFrames.push(frame.monotonicMs);
    });
    bus.on('vision.frame', (result) => {
      this.recentVisionFrames.push(performance.now());
      this.droppedFrames = result.droppedFrames;
      this.faces = result.faces.length;
      const attended = result.faces.find((f) => f.attended);
      this.emotion = attended ? { label: attended.smoothed.label, confidence: attended.smoothed.confidence } : undefined;
    });
    bus.on('subsystem.state', ({ name, state }) => {
      this.subsystems[name] = state;
    });
  }

  snapshot(now = performance.now()): StatusSnapshot {
    return {
      uptimeS: Math.round((now - this.startedAt) / 1000),
      fps: rate(this.recentFrames, now),
      visionFps: rate(this.recentVisionFrames, now),
      frames: this.frames,
      droppedFrames: this.droppedFrames,
      faces: this.faces,
      ...(this.emotion ? { emotion: this.emotion } : {}),
      ...(this.camera ? { camera: this.camera } : {}),
      subsystems: { ...this.subsystems },
    };
  }
}

/** Events per second over the last window; drops timestamps that fell out of it. */
function rate(times: number[], now: number): number {
  while (times.length && now - times[0]! > FPS_WINDOW_MS) times.shift();
  return Math.round((times.length / (FPS_WINDOW_MS / 1000)) * 10) / 10;
}

export function summarize(status: StatusSnapshot): string {
  const camera = status.camera
    ? status.camera.state === 'open'
      ? `camera ${status.fps} fps`
      : `camera ${status.camera.state}`
    : 'camera -';
  const troubled = Object.entries(status.subsystems).filter(([, s]) => s === 'crashed' || s === 'starting');
  const health = troubled.length ? troubled.map(([name, s]) => `${name} ${s}`).join(', ') : 'all subsystems ok';
  const vision = status.subsystems.vision === 'running' ? ` | vision ${status.visionFps} fps, ${status.faces} face(s)${status.emotion ? `, ${status.emotion.label} ${Math.round(status.emotion.confidence * 100)}%` : ''}` : '';
  return `${camera}${vision} | ${health} | up ${status.uptimeS}s`;
}
