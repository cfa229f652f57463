/** 8-bit colour channels, as the LED should look (common-anode inversion is the board's business). */
export interface Rgb {
  red: number;
  green: number;
  blue: number;
}

/** `#rrggbb`, the form johnny-five and people both read. */
export function rgbToHex(color: Rgb): string {
  return `#${[color.red, color.green, color.blue].map((v) => Math.round(Math.min(255, Math.max(0, v))).toString(16).padStart(2, '0')).join('')}`;
}

/**
 * What the expression behaviours need from the hardware, and nothing more: the real johnny-five board
 * and the simulated one both implement it, so the behaviours never know which they drive.
 */
export interface ActuatorBoard {
  /** Words for logs: which board, on which port or bus. */
  readonly description: string;
  /** Resolves once the servos and LEDs can be written; rejects with an error that names the port. */
  connect(): Promise<void>;
  /** Physical degrees, already limited by SafeServos. */
  writeServo(name: string, degrees: number): void;
  writeLed(name: string, color: Rgb): void;
  /** Called once if the board goes away (USB unplugged, bus error) after connect(). */
  onDisconnect(listener: (error: Error) => void): void;
  close(): Promise<void>;
}
