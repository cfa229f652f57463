import type { CameraState } from '../camera/types.js';
import type { EventBus } from './bus.js';
import type { SubsystemState } from './events.js';

export interface StatusSnapshot {
  uptimeS: number;
  fps: number;
  frames: number;
  camera?: CameraState;
  subsystems: Record<string, SubsystemState>;
}

const FPS_WINDOW_MS = 2000;

/** Aggregates bus events into the one-line summary used for systemd STATUS= and the console. */
export class StatusBoard {
  private camera?: CameraState;
  private frames = 0;
  private readonly recentFrames: number[] = [];
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
    bus.on('subsystem.state', ({ name, state }) => {
      this.subsystems[name] = state;
    });
  }

  snapshot(now = performance.now()): StatusSnapshot {
    while (this.recentFrames.length && now - this.recentFrames[0]! > FPS_WINDOW_MS) this.recentFrames.shift();
    return {
      uptimeS: Math.round((now - this.startedAt) / 1000),
      fps: Math.round((this.recentFrames.length / (FPS_WINDOW_MS / 1000)) * 10) / 10,
      frames: this.frames,
      ...(this.camera ? { camera: this.camera } : {}),
      subsystems: { ...this.subsystems },
    };
  }
}

export function summarize(status: StatusSnapshot): string {
  const camera = status.camera
    ? status.camera.state === 'open'
      ? `camera ${status.fps} fps`
      : `camera ${status.camera.state}`
    : 'camera -';
  const troubled = Object.entries(status.subsystems).filter(([, s]) => s === 'crashed' || s === 'starting');
  const health = troubled.length ? troubled.map(([name, s]) => `${name} ${s}`).join(', ') : 'all subsystems ok';
  return `${camera} | ${health} | up ${status.uptimeS}s`;
}
