/** What a face detector reports, in the frame's pixels. */

export interface Box {
  x: number;
  y: number;
  width: number;
  height: number;
}

export interface Point {
  x: number;
  y: number;
}

/**
 * Facial keypoints in frame pixels. "Right" and "left" are the person's own: their right eye is
 * on the image's left in an unmirrored camera picture.
 */
export interface FaceLandmarks {
  rightEye: Point;
  leftEye: Point;
  nose: Point;
  mouth: Point;
  rightEar: Point;
  leftEar: Point;
}

export interface DetectedFace {
  box: Box;
  /** The detector's confidence in 0..1 (1 for detectors that give none). */
  score: number;
  /** Only from detectors that find keypoints; a face without them is cropped by its box. */
  landmarks?: FaceLandmarks;
}

export const boxArea = (b: Box): number => b.width * b.height;

/** Largest first: the nearest person, whom the robot attends to. */
export const byAreaDescending = (a: { box: Box }, b: { box: Box }): number => boxArea(b.box) - boxArea(a.box);

export function iou(a: Box, b: Box): number {
  const x1 = Math.max(a.x, b.x);
  const y1 = Math.max(a.y, b.y);
  const x2 = Math.min(a.x + a.width, b.x + b.width);
  const y2 = Math.min(a.y + a.height, b.y + b.height);
  const inter = Math.max(0, x2 - x1) * Math.max(0, y2 - y1);
  const union = a.width * a.height + b.width * b.height - inter;
  return union > 0 ? inter / union : 0;
}
