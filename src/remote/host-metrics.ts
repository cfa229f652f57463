import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';

export interface HostSample {
  /** Whole-machine CPU use since the previous sample, 0-100. */
  cpuPercent?: number;
  /** Hottest thermal zone (the SoC on a Pi or Jetson), in degrees Celsius. */
  cpuTemperatureC?: number;
  /** Raspberry Pi firmware throttling flags (under-voltage, frequency capped, throttled), when present. */
  throttled?: { now: boolean; underVoltage: boolean; sinceBoot: boolean; raw: string };
}

/**
 * Machine health for telemetry, read from /proc and /sys; each figure is simply absent where the
 * machine does not expose it (no thermal zones in a VM, no firmware flags off a Pi).
 */
export class HostMetrics {
  private previous?: { busy: number; total: number };

  constructor(private readonly root = '/') {}

  sample(): HostSample {
    return { ...this.cpu(), ...this.temperature(), ...this.throttling() };
  }

  private read(file: string): string | undefined {
    try {
      return readFileSync(path.join(this.root, file), 'utf8').trim();
    } catch {
      return undefined;
    }
  }

  private cpu(): Pick<HostSample, 'cpuPercent'> {
    const line = this.read('proc/stat')?.split('\n')[0];
    if (!line?.startsWith('cpu ')) return {};
    const fields = line.split(/\s+/).slice(1).map(Number);
    const idle = (fields[3] ?? 0) + (fields[4] ?? 0);
    const total = fields.slice(0, 8).reduce((a, b) => a + b, 0);
    const previous = this.previous;
    this.previous = { busy: total - idle, total };
    if (!previous || total === previous.total) return {};
    return { cpuPercent: Math.round(((total - idle - previous.busy) / (total - previous.total)) * 1000) / 10 };
  }

  private temperature(): Pick<HostSample, 'cpuTemperatureC'> {
    let zones: string[];
    try {
      zones = readdirSync(path.join(this.root, 'sys/class/thermal')).filter((z) => z.startsWith('thermal_zone'));
    } catch {
      return {};
    }
    const temps = zones.map((z) => Number(this.read(`sys/class/thermal/${z}/temp`))).filter((v) => Number.isFinite(v) && v > 0);
    return temps.length ? { cpuTemperatureC: Math.max(...temps) / 1000 } : {};
  }

  private throttling(): Pick<HostSample, 'throttled'> {
    const raw = this.read('sys/devices/platform/soc/soc:firmware/get_throttled');
    if (raw === undefined) return {};
    const bits = parseInt(raw, 16);
    if (!Number.isFinite(bits)) return {};
    // Bit 0: under-voltage now, 1: frequency capped, 2: throttled now; 16-18: the same, since boot.
    return { throttled: { now: (bits & 0b110) !== 0, underVoltage: (bits & 0b1) !== 0, sinceBoot: (bits & 0x70000) !== 0, raw } };
  }
}

export interface ProcessSample {
  rssMb: number;
  heapMb: number;
  /** Since the previous sample. */
  eventLoopDelayMs: { p99: number; max: number };
}

/** The daemon's own health: memory, and how late its event loop ran (the robot reacting late). */
export class ProcessMetrics {
  private readonly delay = monitorEventLoopDelay({ resolution: 10 });

  constructor() {
    this.delay.enable();
  }

  sample(): ProcessSample {
    const { rss, heapUsed } = process.memoryUsage();
    // The histogram counts in nanoseconds and includes the 10 ms sampling resolution itself.
    const ms = (ns: number) => Math.round(Math.max(0, ns / 1e6 - 10) * 10) / 10;
    const eventLoopDelayMs = this.delay.count ? { p99: ms(this.delay.percentile(99)), max: ms(this.delay.max) } : { p99: 0, max: 0 };
    this.delay.reset();
    return { rssMb: Math.round(rss / 1048576), heapMb: Math.round(heapUsed / 1048576), eventLoopDelayMs };
  }

  stop(): void {
    this.delay.disable();
  }
}
