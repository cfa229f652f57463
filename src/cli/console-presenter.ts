import type { Subsystem, SubsystemContext, SubsystemDefinition } from '../runtime/subsystem.js';

/**
 * The demo's window into the robot: one plain line per thing it sees, feels and does, so that a
 * person watching the terminal can follow the pipeline without reading JSON logs.
 */
class ConsolePresenter implements Subsystem {
  constructor(private readonly write: (line: string) => void) {}

  async start(ctx: SubsystemContext): Promise<void> {
    const say = (tag: string, text: string) => this.write(`${new Date().toISOString().slice(11, 19)} [${tag}] ${text}`);
    ctx.bus.on('camera.state', (camera) => {
      switch (camera.state) {
        case 'open':
          return say('sees', `${camera.device}: ${camera.width}x${camera.height} at ${camera.fps} fps`);
        case 'reconnecting':
          return say('sees', `camera lost (${camera.error}); retrying in ${camera.retryInMs} ms`);
        case 'ended':
          return say('sees', `${camera.device} ended`);
        case 'closed':
          return say('sees', 'camera closed');
      }
    });
    ctx.bus.on('face.found', ({ trackId, box }) => say('sees', `face #${trackId} at ${box.x},${box.y} (${box.width}x${box.height} px)`));
    ctx.bus.on('face.lost', ({ trackId, visibleForMs }) => say('sees', `face #${trackId} gone after ${(visibleForMs / 1000).toFixed(1)} s`));
    ctx.bus.on('emotion', ({ trackId, attended, label, confidence }) =>
      say('feels', `face #${trackId}${attended ? ' (attended)' : ''} looks ${label} (${Math.round(confidence * 100)}%)`),
    );
    ctx.bus.on('expression.state', ({ activity, board }) => say('moves', `${activity} (${board})`));
    ctx.bus.on('voice.said', ({ text, source }) => say('says', `"${text}" (${source} voice)`));
    ctx.bus.on('expression.simulated', ({ summary }) => say('moves', summary));
    ctx.bus.on('subsystem.state', ({ name, state, error, restartInMs }) => {
      if (state === 'crashed') say('robot', `${name} crashed: ${error}; restarting in ${restartInMs} ms`);
    });
    ctx.bus.on('config.reloaded', ({ changed }) => say('robot', `config reloaded: ${changed.join(', ')}`));
    ctx.bus.on('config.rejected', ({ issues }) => say('robot', `config edit rejected: ${issues.map((i) => `${i.key || 'file'}: ${i.message}`).join('; ')}`));
    ctx.bus.on('web.ready', ({ url }) => say('web', `the robot's page: ${url} (open it in a browser on this machine)`));
    ctx.bus.on('runtime.status', ({ summary }) => say('status', summary));
  }

  async stop(): Promise<void> {}
}

export function consolePresenter(write: (line: string) => void = (line) => process.stdout.write(`${line}\n`)): SubsystemDefinition {
  return { name: 'console', sections: [], create: () => new ConsolePresenter(write) };
}
