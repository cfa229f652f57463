import type { ConfigSection } from '../config/schema.js';
import type { ConfigIssue } from '../config/load.js';
import type { CameraFrame, CameraState } from '../camera/types.js';
import type { StatusSnapshot } from './status.js';

export type SubsystemState = 'starting' | 'running' | 'stopping' | 'stopped' | 'crashed' | 'disabled';

/** Every event on the bus, by name. Subsystems only ever talk through these. */
export interface BusEvents {
  'camera.frame': CameraFrame;
  'camera.state': CameraState;
  'subsystem.state': { name: string; state: SubsystemState; error?: string; restartInMs?: number };
  'config.reloaded': { file: string; changed: ConfigSection[] };
  'config.rejected': { file: string; issues: ConfigIssue[] };
  /** Published every runtime.status_interval_ms for presenters (console, MQTT telemetry). */
  'runtime.status': { summary: string; snapshot: StatusSnapshot };
}

export type BusEventName = keyof BusEvents;
