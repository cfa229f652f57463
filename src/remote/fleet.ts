/** What `emobot fleet` knows about one robot, from its retained status and state and its telemetry. */
export interface RobotView {
  id: string;
  status?: string;
  /** As the robot published them (another version may send other fields); read them with care. */
  state?: Record<string, unknown>;
  telemetry?: Record<string, unknown>;
  /** When anything was last heard from it (ms since the epoch). */
  seenAt: number;
}

/** The most robots the view keeps: any client may publish under as many ids as it likes. */
export const MAX_ROBOTS = 256;
/**
 * The largest status, state or telemetry payload read: a robot's state, the largest, is about a
 * kilobyte (file names in it included); a larger payload is neither parsed nor kept.
 */
export const ROBOT_PAYLOAD_MAX_BYTES = 16 * 1024;
/** What `emobot fleet` tells an MQTT 5 broker it takes at most: such a payload and room for its topic. */
export const FLEET_MAX_PACKET_BYTES = ROBOT_PAYLOAD_MAX_BYTES + 4096;

/**
 * Every robot under one base topic, built from `<base>/+/status|state|telemetry`. Payloads that are not
 * what a robot sends are counted and skipped: one misbehaving client must not blind the whole view.
 * Past MAX_ROBOTS the robot heard from least recently is forgotten (and counted): made-up ids take
 * bounded room, and a robot pushed out comes back at its next report.
 */
export class FleetView {
  /** In the order last heard from, the least recent first. */
  readonly robots = new Map<string, RobotView>();
  ignored = 0;
  forgotten = 0;

  constructor(readonly baseTopic: string) {}

  get subscriptions(): string[] {
    return ['status', 'state', 'telemetry'].map((kind) => `${this.baseTopic}/+/${kind}`);
  }

  /** Returns the robot that changed, or undefined when the message was not one of ours. */
  receive(topic: string, payload: Buffer | string, now = Date.now()): RobotView | undefined {
    const rest = topic.startsWith(`${this.baseTopic}/`) ? topic.slice(this.baseTopic.length + 1).split('/') : [];
    if (rest.length !== 2) return this.ignore();
    if (Buffer.byteLength(payload) > ROBOT_PAYLOAD_MAX_BYTES) return this.ignore();
    const [id, kind] = rest as [string, string];
    const robot = this.robots.get(id) ?? { id, seenAt: now };
    const body = payload.toString();
    if (kind === 'status') {
      if (body !== 'online' && body !== 'offline') return this.ignore();
      robot.status = body;
    } else {
      let parsed: unknown;
      try {
        parsed = JSON.parse(body);
      } catch {
        return this.ignore();
      }
      if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return this.ignore();
      if (kind === 'state') robot.state = parsed as Record<string, unknown>;
      else if (kind === 'telemetry') robot.telemetry = parsed as Record<string, unknown>;
      else return this.ignore();
    }
    robot.seenAt = now;
    this.remember(robot);
    return robot;
  }

  /** One line per robot, sorted by id, for a terminal. */
  table(): string[] {
    const header = ['robot', 'status', 'mode', 'emotion', 'faces', 'head', 'fps', 'cpu', 'temp', 'rss', 'version'];
    const rows = [...this.robots.values()]
      .sort((a, b) => a.id.localeCompare(b.id))
      .map((r) => {
        // Field by field, only what has the expected type: another version of EmoBot (or another
        // client) may publish fields this view does not know, or in other shapes.
        const s = r.state ?? {};
        const t = r.telemetry ?? {};
        const e = (s.emotion ?? {}) as Record<string, unknown>;
        const emotion = text(e.label) && number(e.confidence) !== undefined ? `${text(e.label)} ${Math.round(number(e.confidence)! * 100)}%` : '-';
        return [cell(r.id), r.status ?? '?', `${text(s.mode) ?? '-'}${s.muted === true ? ' (muted)' : ''}`, emotion, fmt(number(s.faces)), text(s.activity) ?? '-', fmt(number(t.visionFps)), fmt(number(t.cpuPercent), '%'), fmt(number(t.cpuTemperatureC), '°C'), fmt(number(t.rssMb), ' MB'), text(s.version) ?? '-'];
      });
    const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
    return [header, ...rows].map((cells) => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd());
  }

  /** Puts the robot last in `robots`, making room first when it is new and the view is full. */
  private remember(robot: RobotView): void {
    if (!this.robots.delete(robot.id) && this.robots.size >= MAX_ROBOTS) {
      this.robots.delete(this.robots.keys().next().value!);
      this.forgotten++;
    }
    this.robots.set(robot.id, robot);
  }

  private ignore(): undefined {
    this.ignored++;
    return undefined;
  }
}

function fmt(value: number | undefined, unit = ''): string {
  return value === undefined ? '-' : `${Math.round(value * 10) / 10}${unit}`;
}

const number = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);
const text = (v: unknown) => (typeof v === 'string' ? cell(v) : undefined);

/** The longest a table cell is shown: a field is a word or two. */
const CELL_MAX = 40;
/**
 * Text from the broker as a terminal may show it: any client can publish a robot's state, and control
 * characters in it (escape sequences) would move the cursor over other robots' rows, retitle the
 * window or write the clipboard of whoever runs `emobot fleet`.
 */
function cell(value: string): string {
  const printable = value.replace(/[\u0000-\u001f\u007f-\u009f]/g, '?');
  return printable.length > CELL_MAX ? `${printable.slice(0, CELL_MAX - 3)}...` : printable;
}

