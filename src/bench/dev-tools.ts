/**
 * The benchmark and the soak run stand in for the cloud, the broker and a person with the test
 * doubles in src/dev/, which systemd/install.sh leaves out of the robot's installation. They are
 * loaded only when a run needs them, so an installed robot can still run what does not.
 */
export class DevToolsMissingError extends Error {
  constructor(what: string) {
    super(`${what} needs the development tools (dist/dev), which an installed robot leaves out: run it from a checkout (npm run bench)`);
    this.name = 'DevToolsMissingError';
  }
}

/** `load` (a dynamic import of a dist/dev module), or a DevToolsMissingError naming `what` when it is not installed. */
export async function devTools<T>(what: string, load: () => Promise<T>): Promise<T> {
  try {
    return await load();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ERR_MODULE_NOT_FOUND' && /[/\\]dev[/\\]/.test((err as Error).message)) throw new DevToolsMissingError(what);
    throw err;
  }
}
