/** Horizontal bar charts as standalone SVG: no plotting dependency on the robot, and any browser shows them. */

export interface Series {
  name: string;
  color: string;
}

export interface Bar {
  value: number;
  /** Instead of the series colour, for a value that belongs to no series. */
  color?: string;
  /** A thin line out to a second value, e.g. p95 beyond a p50 bar. */
  whisker?: number;
}

export interface Chart {
  title: string;
  unit: string;
  series: Series[];
  /** One row per group; bars[i] belongs to series[i] (undefined: no bar). */
  groups: { label: string; bars: (Bar | undefined)[] }[];
}

const ROW = 14;
const GAP = 10;
const LEFT = 150;
const WIDTH = 760;
const RIGHT = 90;

const escape = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const fmt = (v: number) => (v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2));

function chartSvg(chart: Chart, top: number): { svg: string; height: number } {
  const max = Math.max(1e-9, ...chart.groups.flatMap((g) => g.bars.flatMap((b) => (b ? [b.value, b.whisker ?? 0] : []))));
  const scale = (WIDTH - LEFT - RIGHT) / max;
  const parts = [`<text x="10" y="${top + 16}" font-size="15" font-weight="bold">${escape(chart.title)}</text>`];
  chart.series.forEach((s, i) => {
    const x = LEFT + i * 150;
    parts.push(`<rect x="${x}" y="${top + 26}" width="12" height="12" fill="${s.color}"/><text x="${x + 16}" y="${top + 36}" font-size="12">${escape(s.name)}</text>`);
  });
  let y = top + 50;
  for (const group of chart.groups) {
    const height = group.bars.length * ROW;
    parts.push(`<text x="${LEFT - 8}" y="${y + height / 2 + 4}" font-size="12" text-anchor="end">${escape(group.label)}</text>`);
    group.bars.forEach((bar, i) => {
      const by = y + i * ROW;
      if (!bar) return;
      const w = Math.max(1, bar.value * scale);
      parts.push(`<rect x="${LEFT}" y="${by + 1}" width="${w.toFixed(1)}" height="${ROW - 3}" fill="${bar.color ?? chart.series[i]!.color}"/>`);
      let label = `${fmt(bar.value)} ${chart.unit}`;
      let end = LEFT + w;
      if (bar.whisker !== undefined && bar.whisker > bar.value) {
        end = LEFT + bar.whisker * scale;
        parts.push(`<line x1="${LEFT + w}" y1="${by + ROW / 2}" x2="${end.toFixed(1)}" y2="${by + ROW / 2}" stroke="#333" stroke-width="1.5"/>`);
        label += ` (${fmt(bar.whisker)})`;
      }
      parts.push(`<text x="${(end + 4).toFixed(1)}" y="${by + ROW - 3}" font-size="10" fill="#333">${label}</text>`);
    });
    y += height + GAP;
  }
  parts.push(`<line x1="${LEFT}" y1="${top + 46}" x2="${LEFT}" y2="${y - GAP + 2}" stroke="#999"/>`);
  return { svg: parts.join('\n'), height: y - top + 10 };
}

export function barChartsSvg(charts: Chart[], footnote?: string): string {
  let top = 0;
  const bodies = charts.map((chart) => {
    const { svg, height } = chartSvg(chart, top);
    top += height;
    return svg;
  });
  return svgDocument(top, bodies, footnote);
}

function svgDocument(contentHeight: number, parts: string[], footnote: string | undefined): string {
  const height = contentHeight + (footnote ? 24 : 0);
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" font-family="sans-serif">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    ...parts,
    ...(footnote ? [`<text x="10" y="${height - 8}" font-size="11" fill="#555">${escape(footnote)}</text>`] : []),
    '</svg>',
    '',
  ].join('\n');
}

export interface LineChart {
  title: string;
  xLabel: string;
  yLabel: string;
  series: (Series & { points: [number, number][] })[];
}

/** Lines over time, y from zero so that a small drift looks small. */
export function lineChartsSvg(charts: LineChart[], footnote?: string): string {
  const plotHeight = 180;
  const parts: string[] = [];
  charts.forEach((chart, c) => {
    const top = c * (plotHeight + 80);
    const points = chart.series.flatMap((s) => s.points);
    const maxX = Math.max(1e-9, ...points.map((p) => p[0]));
    const maxY = Math.max(1e-9, ...points.map((p) => p[1])) * 1.1;
    const x = (v: number) => LEFT + (v / maxX) * (WIDTH - LEFT - RIGHT);
    const y = (v: number) => top + 40 + plotHeight - (v / maxY) * plotHeight;
    parts.push(`<text x="10" y="${top + 16}" font-size="15" font-weight="bold">${escape(chart.title)}</text>`);
    chart.series.forEach((s, i) => {
      const lx = LEFT + i * 150;
      parts.push(`<rect x="${lx}" y="${top + 22}" width="12" height="12" fill="${s.color}"/><text x="${lx + 16}" y="${top + 32}" font-size="12">${escape(s.name)}</text>`);
      if (s.points.length) parts.push(`<polyline fill="none" stroke="${s.color}" stroke-width="2" points="${s.points.map(([px, py]) => `${x(px).toFixed(1)},${y(py).toFixed(1)}`).join(' ')}"/>`);
    });
    for (const frac of [0, 0.5, 1]) {
      const v = (maxY / 1.1) * frac;
      parts.push(`<text x="${LEFT - 6}" y="${y(v) + 4}" font-size="10" text-anchor="end">${fmt(v)}</text><line x1="${LEFT}" y1="${y(v)}" x2="${WIDTH - RIGHT}" y2="${y(v)}" stroke="#ddd"/>`);
    }
    parts.push(`<text x="${LEFT - 40}" y="${top + 40 + plotHeight / 2}" font-size="11" text-anchor="end">${escape(chart.yLabel)}</text>`);
    parts.push(`<text x="${WIDTH - RIGHT}" y="${top + 40 + plotHeight + 16}" font-size="11" text-anchor="end">${escape(`${fmt(maxX)} ${chart.xLabel}`)}</text>`);
    parts.push(`<text x="${LEFT}" y="${top + 40 + plotHeight + 16}" font-size="11">0</text>`);
  });
  return svgDocument(charts.length * (plotHeight + 80), parts, footnote);
}
