/** Numbers as the language writes them. */
export function formatNumber(locale: string, n: number, digits = 0): string {
  return n.toLocaleString(locale, { maximumFractionDigits: digits, minimumFractionDigits: digits });
}

export function formatPercent(locale: string, ratio: number, digits = 1): string {
  return (
    (ratio * 100).toLocaleString(locale, { maximumFractionDigits: digits, minimumFractionDigits: digits }) +
    ' %'
  );
}

/** A signed percentage: +12.0 %, −3.5 %. */
export function formatLift(locale: string, ratio: number): string {
  const text = formatPercent(locale, Math.abs(ratio));
  return ratio > 0 ? `+${text}` : ratio < 0 ? `−${text}` : text;
}

export function formatTime(locale: string, ms: number): string {
  return new Date(ms).toLocaleTimeString(locale, { hour: '2-digit', minute: '2-digit', second: '2-digit' });
}

export function formatDateTime(locale: string, iso: string): string {
  return new Date(iso).toLocaleString(locale, { dateStyle: 'short', timeStyle: 'medium' });
}
