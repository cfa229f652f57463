import { configSchema, type Config } from './schema.js';

/**
 * The embedded default behind `npm start` / `emobot demo`: the bundled video instead of a camera,
 * simulated actuators, offline voice and no broker, so it runs on any machine with nothing attached.
 */
export function demoConfig(): Config {
  return configSchema.parse({
    robot: { id: 'emobot-demo', name: 'EmoBot (demo)' },
    camera: { source: 'demo', loop_video: true },
    expression: { board: 'simulated' },
    // The demo video has no one to listen to: the microphone stays off.
    voice: { mode: 'offline', listen: { enabled: false } },
    remote: { mqtt: { enabled: false } },
  });
}
