import { useLive } from '../api';
import { Figure, PageTitle } from '../common';
import { formatNumber } from '../format';

/** milliseconds: one decimal below 10 ms, whole ones above */
const formatMs = (locale: string, ms: number) => formatNumber(locale, ms, ms < 10 ? 1 : 0);
import { useI18n } from '../i18n';
import { href } from '../router';
import { TimeChart } from '../time-chart';

/** The live overview: events/s by channel, event → offer latency, decisions, late, the DLQ. */
export function OverviewPage() {
  const { t, locale } = useI18n();
  const { figures, connected } = useLive();
  const f = figures;
  const channels = f ? Object.keys({ ...f.eventsTotal, ...f.eventsPerSecond.byChannel }).sort() : [];
  return (
    <>
      <PageTitle>{t('overviewTitle')}</PageTitle>
      <p className="status" aria-live="polite" data-testid="live-status">
        <span className={connected ? 'dot on' : 'dot'} aria-hidden="true" />{' '}
        {connected ? t('live') : t('reconnecting')}
      </p>
      {!f ? (
        <p>{t('loading')}</p>
      ) : (
        <>
          <dl className="cards">
            <Figure
              testId="events-per-second"
              label={t('eventsPerSecond')}
              value={formatNumber(locale, f.eventsPerSecond.total, 1)}
              note={t('averagedOver', { n: Math.round(f.windowSeconds) })}
            />
            <Figure
              testId="event-to-offer"
              label={`${t('eventToOffer')} ${t('p50')} / ${t('p99')}`}
              value={
                f.eventToOfferMs
                  ? `${formatMs(locale, f.eventToOfferMs.p50)} / ${formatMs(locale, f.eventToOfferMs.p99)} ms`
                  : undefined
              }
              note={
                f.eventToOfferMs
                  ? t('lastMinuteOffers', { n: formatNumber(locale, f.eventToOfferMs.count) })
                  : t('noOffersLastMinute')
              }
            />
            <Figure testId="offers" label={t('offers')} value={formatNumber(locale, f.decisions.offers)} />
            <Figure testId="control" label={t('control')} value={formatNumber(locale, f.decisions.control)} />
            <Figure testId="late" label={t('late')} value={formatNumber(locale, f.decisions.late)} />
            <Figure
              testId="dlq-total"
              label={t('dlqEntries')}
              value={f.dlq ? <a href={href.dlq()}>{formatNumber(locale, f.dlq.total)}</a> : undefined}
              note={
                f.dlq &&
                Object.entries(f.dlq.byStage)
                  .map(([stage, n]) => `${stage} ${formatNumber(locale, n)}`)
                  .join(' · ')
              }
            />
          </dl>
          <TimeChart
            title={t('eventsChart')}
            times={f.series.map((p) => p.atMs)}
            series={[
              {
                label: t('eventsPerSecond'),
                values: f.series.map((p) => p.eventsPerSecond),
                color: '#0b5ed7',
              },
            ]}
          />
          <table data-testid="channels">
            <caption>{t('eventsPerSecondByChannel')}</caption>
            <thead>
              <tr>
                <th scope="col">{t('channel')}</th>
                <th scope="col" className="num">
                  {t('eventsPerSecond')}
                </th>
                <th scope="col" className="num">
                  {t('eventsTotal')}
                </th>
              </tr>
            </thead>
            <tbody>
              {channels.map((c) => (
                <tr key={c}>
                  <th scope="row">{c}</th>
                  <td className="num">{formatNumber(locale, f.eventsPerSecond.byChannel[c] ?? 0, 1)}</td>
                  <td className="num">{formatNumber(locale, f.eventsTotal[c] ?? 0)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      )}
    </>
  );
}
