import { useEffect, useRef } from 'react';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { useI18n } from './i18n';
import { formatNumber, formatTime } from './format';

export interface ChartSeries {
  label: string;
  values: number[];
  color: string;
}

/**
 * A time series chart (uPlot, canvas), with the same numbers as a table for screen readers and keyboard
 * users (the canvas itself is hidden from them): the newest rows only, to stay short.
 */
export function TimeChart({
  title,
  times,
  series,
  height = 180,
}: {
  title: string;
  times: number[];
  series: ChartSeries[];
  height?: number;
}) {
  const { t, locale } = useI18n();
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot>(undefined);
  const data: uPlot.AlignedData = [times.map((ms) => ms / 1000), ...series.map((s) => s.values)];

  useEffect(() => {
    const element = box.current!;
    const chart = new uPlot(
      {
        width: Math.max(280, element.clientWidth),
        height,
        legend: { show: true },
        axes: [{ stroke: '#333' }, { stroke: '#333' }],
        series: [{ label: t('time') }, ...series.map((s) => ({ label: s.label, stroke: s.color, width: 2 }))],
      },
      data,
      element,
    );
    plot.current = chart;
    const resize = () => chart.setSize({ width: Math.max(280, element.clientWidth), height });
    window.addEventListener('resize', resize);
    return () => {
      window.removeEventListener('resize', resize);
      chart.destroy();
    };
    // rebuilt when the series change, not for every new point
  }, [series.map((s) => s.label).join('|'), height]);

  useEffect(() => {
    plot.current?.setData(data);
  });

  const rows = times
    .map((ms, i) => ({ ms, values: series.map((s) => s.values[i]) }))
    .slice(-5)
    .reverse();
  return (
    <figure className="chart">
      <figcaption>{title}</figcaption>
      <div ref={box} aria-hidden="true" />
      <table className="visually-hidden">
        <caption>{title}</caption>
        <thead>
          <tr>
            <th scope="col">{t('time')}</th>
            {series.map((s) => (
              <th scope="col" key={s.label}>
                {s.label}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {rows.map((r) => (
            <tr key={r.ms}>
              <th scope="row">{formatTime(locale, r.ms)}</th>
              {r.values.map((v, i) => (
                <td key={i}>{formatNumber(locale, v ?? 0, 1)}</td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
    </figure>
  );
}
