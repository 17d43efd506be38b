/** Bench results drawn as SVG: small panels side by side, one measure each, over the same x labels. */
import type { Measure } from "./harness.js";

/** One panel: a measure at each x label (median as a point, min–max as a whisker). */
export interface Panel {
  readonly title: string;
  readonly unit: string;
  readonly values: ReadonlyArray<Measure>;
}

const WIDTH = 260;
const HEIGHT = 220;
const MARGIN = { top: 44, right: 36, bottom: 40, left: 56 };

const escape = (text: string) => text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");

/** A whole SVG document on a white ground. */
const svg = (width: number, height: number, body: string) =>
  `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="system-ui, sans-serif">` +
  `<rect width="${width}" height="${height}" fill="#ffffff"/>${body}</svg>\n`;

/** A number as a short axis label: 12.3, 4,560, 1.2M. */
function short(value: number): string {
  if (value >= 1e6) return `${(value / 1e6).toFixed(value >= 1e7 ? 0 : 1)}M`;
  if (value >= 1e4) return `${Math.round(value / 1e3)}k`;
  if (value >= 100) return Math.round(value).toLocaleString("en");
  return value.toFixed(value >= 10 ? 1 : 2);
}

/** An SVG of `panels` in a row, each with its own y axis from 0, sharing `xLabels`. */
export function panelsChart(title: string, xLabels: ReadonlyArray<string>, panels: ReadonlyArray<Panel>): string {
  const plotWidth = WIDTH - MARGIN.left - MARGIN.right;
  const plotHeight = HEIGHT - MARGIN.top - MARGIN.bottom;
  const x = (index: number) => MARGIN.left + (xLabels.length === 1 ? plotWidth / 2 : (index * plotWidth) / (xLabels.length - 1));
  const parts = panels.map((panel, p) => {
    const top = Math.max(...panel.values.map((value) => value.max)) * 1.1 || 1;
    const y = (value: number) => MARGIN.top + plotHeight - (value / top) * plotHeight;
    const ticks = [0, 0.25, 0.5, 0.75, 1].map((share) => share * top);
    const grid = ticks.map(
      (tick) =>
        `<line x1="${MARGIN.left}" x2="${MARGIN.left + plotWidth}" y1="${y(tick)}" y2="${y(tick)}" stroke="#e5e7eb"/>` +
        `<text x="${MARGIN.left - 6}" y="${y(tick) + 4}" text-anchor="end" font-size="10" fill="#6b7280">${short(tick)}</text>`,
    );
    const labels = xLabels.map(
      (label, i) => `<text x="${x(i)}" y="${HEIGHT - MARGIN.bottom + 16}" text-anchor="middle" font-size="10" fill="#374151">${escape(label)}</text>`,
    );
    const line = panel.values.map((value, i) => `${x(i)},${y(value.median)}`).join(" ");
    const points = panel.values.map(
      (value, i) =>
        `<line x1="${x(i)}" x2="${x(i)}" y1="${y(value.min)}" y2="${y(value.max)}" stroke="#2563eb" stroke-width="1.5"/>` +
        `<circle cx="${x(i)}" cy="${y(value.median)}" r="3.5" fill="#2563eb"/>` +
        `<text x="${x(i) + 6}" y="${y(value.median) - 6}" font-size="10" fill="#1e3a8a">${short(value.median)}</text>`,
    );
    return (
      `<g transform="translate(${p * WIDTH},0)">` +
      `<text x="${MARGIN.left}" y="18" font-size="12" font-weight="600" fill="#111827">${escape(panel.title)}</text>` +
      `<text x="${MARGIN.left}" y="32" font-size="10" fill="#6b7280">${escape(panel.unit)}</text>` +
      grid.join("") +
      labels.join("") +
      `<polyline points="${line}" fill="none" stroke="#93c5fd" stroke-width="1.5"/>` +
      points.join("") +
      `</g>`
    );
  });
  const width = WIDTH * panels.length;
  const height = HEIGHT + 28;
  return svg(
    width,
    height,
    `<g transform="translate(0,24)">${parts.join("")}</g><text x="12" y="18" font-size="13" font-weight="600" fill="#111827">${escape(title)}</text>`,
  );
}

/** A row of a bench run as the ratio chart needs it. */
export interface RatioRow {
  readonly workload: string;
  readonly unit: string;
  readonly meowmx: Measure;
  readonly emmett?: Measure;
  readonly raw?: Measure;
  readonly target?: string;
  readonly met?: boolean;
}

const RATIO_MIN = 0.1;
const RATIO_MAX = 1000;

/**
 * An SVG of how many times faster meowmx was than Emmett and than raw INSERTs in each workload of
 * a run (for times and latencies the other's median over meowmx's, for rates meowmx's over the
 * other's), on a log scale, with each workload's target and whether it was met.
 */
export function ratiosChart(title: string, rows: ReadonlyArray<RatioRow>): string {
  const compared = rows.filter((row) => row.emmett !== undefined || row.raw !== undefined);
  const labelWidth = 430;
  const plotWidth = 460;
  const verdictWidth = 300;
  const rowHeight = 34;
  const top = 56;
  const width = labelWidth + plotWidth + verdictWidth + 48;
  const height = top + compared.length * rowHeight + 44;
  const lower = (row: RatioRow) => row.unit === "ms";
  const speedUp = (row: RatioRow, other: Measure) => (lower(row) ? other.median / row.meowmx.median : row.meowmx.median / other.median);
  const clamp = (ratio: number) => Math.min(RATIO_MAX, Math.max(RATIO_MIN, ratio));
  const x = (ratio: number) => labelWidth + (Math.log10(clamp(ratio) / RATIO_MIN) / Math.log10(RATIO_MAX / RATIO_MIN)) * plotWidth;
  const ticks = [0.1, 0.5, 1, 2, 5, 10, 100, 1000].map(
    (tick) =>
      `<line x1="${x(tick)}" x2="${x(tick)}" y1="${top - 8}" y2="${height - 36}" stroke="${tick === 1 ? "#6b7280" : "#e5e7eb"}"/>` +
      `<text x="${x(tick)}" y="${height - 22}" text-anchor="middle" font-size="10" fill="#374151">${tick}×</text>`,
  );
  const bars = compared.map((row, i) => {
    const y = top + i * rowHeight;
    const bar = (other: Measure | undefined, offset: number, color: string, name: string) => {
      if (other === undefined) return "";
      const ratio = speedUp(row, other);
      const from = x(1);
      const to = x(ratio);
      return (
        `<rect x="${Math.min(from, to)}" y="${y + offset}" width="${Math.max(1, Math.abs(to - from))}" height="11" fill="${color}"/>` +
        `<text x="${Math.max(from, to) + 4}" y="${y + offset + 9}" font-size="10" fill="#111827">${ratio.toFixed(2)}× ${name}</text>`
      );
    };
    const verdict =
      row.target === undefined
        ? ""
        : `<text x="${labelWidth + plotWidth + 40}" y="${y + 16}" font-size="11" fill="${row.met ? "#15803d" : "#b91c1c"}">${row.met ? "met" : "missed"}: ${escape(row.target)}</text>`;
    return (
      `<text x="12" y="${y + 16}" font-size="11" fill="#111827">${escape(row.workload.length > 70 ? `${row.workload.slice(0, 69)}…` : row.workload)}</text>` +
      bar(row.emmett, 2, "#2563eb", "Emmett") +
      bar(row.raw, 16, "#9ca3af", "raw") +
      verdict
    );
  });
  return svg(
    width,
    height,
    `<text x="12" y="20" font-size="13" font-weight="600" fill="#111827">${escape(title)}</text>` +
    `<text x="12" y="38" font-size="10" fill="#6b7280">times faster than Emmett (blue) and raw INSERTs (grey), log scale: right of 1× meowmx is faster; on the right, each workload's target as the bench states it</text>` +
    ticks.join("") +
    bars.join(""),
  );
}
