/** A small SVG line chart: latency percentiles (log scale) against offered load. No dependencies. */
export interface ChartSeries {
  name: string;
  colour: string;
  points: Array<{ x: number; y: number }>;
  dashed?: boolean;
}

export interface ChartOptions {
  /** horizontal reference lines (ms), e.g. the p99 aim */
  lines?: Array<{ y: number; label: string }>;
  /** a note above a point of the x axis, e.g. the share of late decisions at that load */
  notes?: Array<{ x: number; text: string }>;
}

export function latencyChart(title: string, series: ChartSeries[], options: ChartOptions = {}): string {
  const width = 760;
  const height = 420;
  const m = { left: 70, right: 150, top: 48, bottom: 56 };
  const xs = series.flatMap((s) => s.points.map((p) => p.x));
  const ys = series.flatMap((s) => s.points.map((p) => p.y)).filter((y) => y > 0 && Number.isFinite(y));
  const refs = (options.lines ?? []).map((l) => l.y);
  const xMax = Math.max(...xs, 1) * 1.05;
  const yMin = Math.pow(10, Math.floor(Math.log10(Math.max(Math.min(...ys, ...refs), 0.1))));
  const yMax = Math.pow(10, Math.ceil(Math.log10(Math.max(...ys, ...refs, 1))));
  const px = (x: number) => m.left + (x / xMax) * (width - m.left - m.right);
  const py = (y: number) =>
    height -
    m.bottom -
    ((Math.log10(Math.max(y, yMin)) - Math.log10(yMin)) / (Math.log10(yMax) - Math.log10(yMin))) *
      (height - m.top - m.bottom);
  const out: string[] = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif" font-size="12">`,
  );
  out.push(`<rect width="100%" height="100%" fill="white"/>`);
  out.push(
    `<text x="${width / 2}" y="24" text-anchor="middle" font-size="15" font-weight="bold">${escape(title)}</text>`,
  );
  for (let d = yMin; d <= yMax; d *= 10) {
    out.push(`<line x1="${m.left}" x2="${width - m.right}" y1="${py(d)}" y2="${py(d)}" stroke="#ddd"/>`);
    out.push(
      `<text x="${m.left - 8}" y="${py(d) + 4}" text-anchor="end">${d >= 1 ? d : d.toFixed(1)} ms</text>`,
    );
  }
  const xTicks = [...new Set(xs)].sort((a, b) => a - b);
  for (const x of xTicks)
    out.push(`<text x="${px(x)}" y="${height - m.bottom + 18}" text-anchor="middle">${x}</text>`);
  out.push(
    `<text x="${(m.left + width - m.right) / 2}" y="${height - 16}" text-anchor="middle">offered load, events/s (open loop)</text>`,
  );
  out.push(`<line x1="${m.left}" x2="${m.left}" y1="${m.top}" y2="${height - m.bottom}" stroke="#333"/>`);
  out.push(
    `<line x1="${m.left}" x2="${width - m.right}" y1="${height - m.bottom}" y2="${height - m.bottom}" stroke="#333"/>`,
  );
  for (const line of options.lines ?? []) {
    out.push(
      `<line x1="${m.left}" x2="${width - m.right}" y1="${py(line.y)}" y2="${py(line.y)}" stroke="#c00" stroke-dasharray="6 4"/>`,
    );
    out.push(
      `<text x="${width - m.right + 6}" y="${py(line.y) + 4}" fill="#c00">${escape(line.label)}</text>`,
    );
  }
  for (const note of options.notes ?? [])
    out.push(
      `<text x="${px(note.x)}" y="${m.top - 6}" text-anchor="middle" font-size="10" fill="#555">${escape(note.text)}</text>`,
    );
  series.forEach((s, i) => {
    const pts = s.points.filter((p) => Number.isFinite(p.y));
    out.push(
      `<polyline fill="none" stroke="${s.colour}" stroke-width="2"${s.dashed ? ' stroke-dasharray="3 3"' : ''} points="${pts.map((p) => `${px(p.x)},${py(p.y)}`).join(' ')}"/>`,
    );
    for (const p of pts) out.push(`<circle cx="${px(p.x)}" cy="${py(p.y)}" r="3" fill="${s.colour}"/>`);
    out.push(
      `<rect x="${width - m.right + 10}" y="${m.top + 40 + 20 * i}" width="14" height="3" fill="${s.colour}"/>`,
    );
    out.push(`<text x="${width - m.right + 30}" y="${m.top + 40 + 20 * i + 5}">${escape(s.name)}</text>`);
  });
  out.push('</svg>');
  return out.join('\n');
}

const escape = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;');
