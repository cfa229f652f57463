import { camera } from '../camera/camera.js';
import { expression } from '../expression/expression.js';
import type { SubsystemDefinition } from '../runtime/subsystem.js';
import { remote } from '../remote/remote.js';
import { vision } from '../vision/vision.js';
import { voice } from '../voice/voice.js';
import { web } from '../web/web.js';
import { consolePresenter } from './console-presenter.js';

/** Start order matters: producers last, so every consumer is subscribed before the first frame. */
export function subsystemsFor(mode: { demo: boolean }): SubsystemDefinition[] {
  return [...(mode.demo ? [consolePresenter()] : []), remote, web, expression, voice, vision, camera];
}
