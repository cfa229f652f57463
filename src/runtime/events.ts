import type { Config, ConfigSection } from '../config/schema.js';
import type { ConfigIssue } from '../config/load.js';
import type { CameraFrame, CameraState } from '../camera/types.js';
import type { DetectorSource } from '../vision/detector.js';
import type { Box } from '../vision/face.js';
import type { FaceResult, StageTimings } from '../vision/pipeline.js';
import type { ProblemEntry } from './logger.js';
import type { StatusSnapshot } from './status.js';

export type SubsystemState = 'starting' | 'running' | 'stopping' | 'stopped' | 'crashed' | 'disabled';

/** Every event on the bus, by name. Subsystems only ever talk through these. */
export interface BusEvents {
  'camera.frame': CameraFrame;
  'camera.state': CameraState;
  /** Every processed frame: all classified faces, which one is attended, and the stage timings. */
  'vision.frame': { frameIndex: number; capturedAt: number; width: number; height: number; faces: FaceResult[]; attendedTrackId?: number; timings: StageTimings; droppedFrames: number };
  /** Someone asked for a picture of what the camera sees (MQTT snapshot, the web page's live view). */
  'camera.snapshot-requested': { quality: number; by: string };
  /** The next frame after a request, as JPEG, for the requester named in `by` only. */
  'camera.snapshot': { jpeg: Buffer; width: number; height: number; at: number; by: string };
  /** The vision pipeline is up: which model runs where. */
  'vision.ready': { model: string; executionProvider: string; detector: DetectorSource & { name: string } };
  'face.found': { trackId: number; box: Box; at: number };
  'face.lost': { trackId: number; at: number; visibleForMs: number };
  /** A person's smoothed emotion changed (or was first established). Times are ms since the epoch. */
  'emotion': { trackId: number; attended: boolean; label: string; confidence: number; probabilities: Record<string, number>; box: Box; since: number; at: number };
  /** A request to change the robot's mode or mute (from MQTT, later from voice); the daemon decides. */
  'robot.control': { mode?: RobotMode; muted?: boolean; by: string };
  /** The robot's mode and mute state after every change. */
  'robot.state': RobotState;
  /** A request to hold a named pose for a while (from MQTT); names not in expression.poses are refused. */
  'expression.pose': { name: string; by: string };
  /** What the expressive hardware is doing, after every change of activity or board connection. */
  'expression.state': { activity: 'following' | 'idle' | 'asleep' | 'posing' | 'resting'; board: string };
  /** Where each servo points now, as degrees from its centre, with its calibrated limits (a few times a second while moving). */
  'expression.servos': { servos: Record<string, { offsetDeg: number; minDeg: number; maxDeg: number }>; at: number };
  /** The simulated board's report of where its servos are and what its LEDs show (when it changed). */
  'expression.simulated': { summary: string };
  /** The robot's own voice started or stopped (drives the speaking animation; mutes listening). */
  'voice.speaking': { speaking: boolean; at: number };
  /** A sentence the robot said, and whether the cloud or the offline voice made it. */
  'voice.said': { text: string; source: 'cloud' | 'offline'; trigger: 'emotion' | 'say' | 'reply'; at: number };
  /** What the person said (speech-to-text of one utterance). */
  'voice.heard': { text: string; at: number };
  /** The person started talking while the robot spoke: it stopped. */
  'voice.barge-in': { at: number; stopMs: number };
  /** A request to speak given text (the MQTT say command). */
  'voice.say': { text: string; by: string };
  /** The web page is being served, at this address. */
  'web.ready': { url: string; host: string; port: number };
  /** A warning or error that was logged: for remote monitoring. */
  'log': ProblemEntry;
  'subsystem.state': { name: string; state: SubsystemState; error?: string; restartInMs?: number };
  'config.reloaded': { file: string; changed: ConfigSection[]; config: Config };
  'config.rejected': { file: string; issues: ConfigIssue[] };
  /** A subsystem (e.g. a remote command) asks the daemon to re-read the config file. */
  'config.reload-requested': { reason: string };
  /** Published every runtime.status_interval_ms for presenters (console, MQTT telemetry). */
  'runtime.status': { summary: string; snapshot: StatusSnapshot };
}

/** active: full behaviour; idle: no conversation, calm motion; sleep: vision paused, rest pose. */
export const robotModes = ['active', 'idle', 'sleep'] as const;
export type RobotMode = (typeof robotModes)[number];
export interface RobotState {
  mode: RobotMode;
  muted: boolean;
}

export type BusEventName = keyof BusEvents;
