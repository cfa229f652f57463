import type { Config } from '../config/schema.js';
import { boxArea, byAreaDescending, iou, type Box, type DetectedFace, type FaceLandmarks } from './face.js';

export interface Track {
  id: number;
  box: Box;
  /** This frame's keypoints, from detectors that find them. */
  landmarks?: FaceLandmarks;
  firstSeenMs: number;
  lastSeenMs: number;
  /** Frames in which a detection matched this track. */
  hits: number;
}

export interface TrackUpdate {
  /** Tracks matched to a detection in this frame, largest first. */
  visible: Track[];
  found: Track[];
  lost: Track[];
  /** The user the robot pays attention to, if anyone is in view. */
  attended?: Track;
}


/**
 * Follows faces across frames by box overlap (greedy IoU matching), so that emotion smoothing is per
 * person, and picks the attended person: the largest (closest) face, with hysteresis so attention
 * does not flicker between two people of similar size.
 */
export class FaceTracker {
  private tracks: Track[] = [];
  private nextId = 1;
  private attendedId?: number;
  private challenger?: { id: number; sinceMs: number };

  constructor(private readonly config: Config['vision']['tracking']) {}

  /** Whether any face is followed: seen within lost_after_ms, confirmed or not yet. */
  get following(): boolean {
    return this.tracks.length > 0;
  }

  /** Where each face followed was last seen. */
  get lastSeen(): Box[] {
    return this.tracks.map((t) => t.box);
  }

  update(detections: DetectedFace[], nowMs: number): TrackUpdate {
    const pairs: { track: Track; detection: number; overlap: number }[] = [];
    for (const track of this.tracks) {
      detections.forEach(({ box }, detection) => {
        const overlap = iou(track.box, box);
        if (overlap >= this.config.iou_threshold) pairs.push({ track, detection, overlap });
      });
    }
    pairs.sort((a, b) => b.overlap - a.overlap);
    const matchedTracks = new Set<Track>();
    const matchedDetections = new Set<number>();
    for (const { track, detection } of pairs) {
      if (matchedTracks.has(track) || matchedDetections.has(detection)) continue;
      const { box, landmarks } = detections[detection]!;
      track.box = box;
      if (landmarks) track.landmarks = landmarks;
      else delete track.landmarks;
      track.lastSeenMs = nowMs;
      track.hits++;
      matchedTracks.add(track);
      matchedDetections.add(detection);
    }
    detections.forEach(({ box, landmarks }, detection) => {
      if (!matchedDetections.has(detection)) {
        this.tracks.push({ id: this.nextId++, box, ...(landmarks ? { landmarks } : {}), firstSeenMs: nowMs, lastSeenMs: nowMs, hits: 1 });
      }
    });
    const confirmed = (t: Track) => t.hits >= this.config.confirm_frames;
    // A detection becomes a person only once it persisted: single-frame false positives never surface.
    const found = this.tracks.filter((t) => t.lastSeenMs === nowMs && t.hits === this.config.confirm_frames);
    const expired = this.tracks.filter((t) => nowMs - t.lastSeenMs > this.config.lost_after_ms);
    this.tracks = this.tracks.filter((t) => !expired.includes(t));
    const visible = this.tracks.filter((t) => t.lastSeenMs === nowMs && confirmed(t)).sort(byAreaDescending);
    return { visible, found, lost: expired.filter(confirmed), attended: this.attend(visible, nowMs) };
  }

  private attend(visible: Track[], nowMs: number): Track | undefined {
    const current = this.tracks.find((t) => t.id === this.attendedId && t.hits >= this.config.confirm_frames);
    const largest = visible[0];
    if (!current) {
      this.attendedId = largest?.id;
      this.challenger = undefined;
      return largest;
    }
    if (!largest || largest === current || boxArea(largest.box) < this.config.switch_ratio * boxArea(current.box)) {
      this.challenger = undefined;
      return current;
    }
    if (this.challenger?.id !== largest.id) this.challenger = { id: largest.id, sinceMs: nowMs };
    if (nowMs - this.challenger.sinceMs < this.config.switch_after_ms) return current;
    this.attendedId = largest.id;
    this.challenger = undefined;
    return largest;
  }
}
