import { campaignsApi, consoleApi, useLive, useLoad } from '../api';
import { Failure, Figure, PageTitle } from '../common';
import { formatNumber, formatPercent } from '../format';
import { useI18n } from '../i18n';
import { LiftChart, LiftText } from '../lift';
import { href } from '../router';
import { daysOf, funnelOf, liftOf, offerLiftOf, offersByAlternative, revenueLiftOf } from '../stats-view';
import { TimeChart } from '../time-chart';

/** One campaign: its figures, time series, offers by alternative, funnel and lift. */
export function CampaignPage({ id }: { id: string }) {
  const { t, locale } = useI18n();
  const detail = useLoad(() => campaignsApi.get(id), `campaign-${id}`);
  // The campaign's own report (per offer, per day): the same figures GET /v1/stats lists, in detail.
  const stats = useLoad(() => consoleApi.campaignStats(id), `stats-${id}`, 5_000);
  const { figures } = useLive();
  const s = stats.data;
  const d = detail.data;
  const name = d?.current?.definition.name ?? d?.campaignId ?? id;
  const series = (figures?.series ?? []).filter((p) => p.campaigns[id]);
  // A chart of days needs two of them; before that the live series (per second) says more.
  const allDays = s && daysOf(s);
  const days = allDays && allDays.length > 1 ? allDays : undefined;
  const byOffer = s && offersByAlternative(s);
  const funnel = s && funnelOf(s);
  const offers = d?.current?.definition.offers ?? [];
  return (
    <>
      <PageTitle>{name}</PageTitle>
      {detail.error && <Failure error={detail.error} />}
      {d && (
        <p>
          <span className={`badge ${d.status}`}>{d.status}</span>{' '}
          {d.current ? `${t('version')} ${d.current.version}` : ''} <a href={href.edit(id)}>{t('edit')}</a>
        </p>
      )}
      <section aria-labelledby="figures">
        <h2 id="figures">{t('figures')}</h2>
        <dl className="cards" data-testid="campaign-figures">
          <Figure testId="decisions" label={t('decisions')} value={s && formatNumber(locale, s.decisions)} />
          <Figure testId="offers" label={t('offers')} value={s && formatNumber(locale, s.offers)} />
          <Figure testId="control" label={t('control')} value={s && formatNumber(locale, s.control)} />
          <Figure testId="late" label={t('late')} value={s && formatNumber(locale, s.late)} />
          <Figure
            label={`${t('treatment')}: ${t('conversionRate')}`}
            value={s?.treatment && formatPercent(locale, s.treatment.rate)}
            note={
              s?.treatment &&
              `${formatNumber(locale, s.treatment.converted)} / ${formatNumber(locale, s.treatment.customers)}`
            }
          />
          <Figure
            label={`${t('holdout')}: ${t('conversionRate')}`}
            value={s?.holdout && formatPercent(locale, s.holdout.rate)}
            note={
              s?.holdout &&
              `${formatNumber(locale, s.holdout.converted)} / ${formatNumber(locale, s.holdout.customers)}`
            }
          />
          <Figure
            label={t('responses')}
            value={
              s?.responses &&
              formatNumber(locale, s.responses.accepted + s.responses.redeemed + s.responses.dismissed)
            }
            note={
              s?.responses &&
              `${t('accepted')} ${s.responses.accepted} · ${t('redeemed')} ${s.responses.redeemed} · ${t('dismissed')} ${s.responses.dismissed}`
            }
          />
          <Figure
            label={t('valueSent')}
            value={s?.valueSent !== undefined ? `₩${formatNumber(locale, s.valueSent)}` : undefined}
          />
        </dl>
      </section>
      <section aria-labelledby="lift" data-testid="lift-card">
        <h2 id="lift">{t('liftChart')}</h2>
        <h3>{t('liftConversion')}</h3>
        <LiftChart lift={s && liftOf(s)} />
        {s?.revenueLift !== undefined && (
          <>
            <h3>{t('liftRevenue')}</h3>
            <p data-testid="revenue-lift">
              <LiftText lift={revenueLiftOf(s)} />
            </p>
          </>
        )}
        {s?.sampleRatio && (
          <p data-testid="sample-ratio" className={s.sampleRatio.mismatch ? 'warning' : 'muted'}>
            {t('sampleRatio')}:{' '}
            {t(s.sampleRatio.mismatch ? 'sampleRatioMismatch' : 'sampleRatioOk', {
              observed:
                s.sampleRatio.observedHoldoutShare === null
                  ? '–'
                  : formatPercent(locale, s.sampleRatio.observedHoldoutShare),
              expected: formatPercent(locale, s.sampleRatio.expectedHoldoutShare),
              p: s.sampleRatio.pValue.toPrecision(2),
            })}
          </p>
        )}
        {s?.warnings && s.warnings.length > 0 && (
          <>
            <h3>{t('warnings')}</h3>
            <ul data-testid="warnings">
              {s.warnings.map((w, i) => (
                <li key={i}>{w.message}</li>
              ))}
            </ul>
          </>
        )}
        <p className="muted">{t('liftAlwaysValid')}</p>
      </section>
      <section aria-labelledby="series">
        <h2 id="series">{days ? t('timeSeriesDays') : t('timeSeries')}</h2>
        {days ? (
          <TimeChart
            title={t('timeSeriesDays')}
            times={days.map((x) => Date.parse(x.day))}
            series={[
              { label: t('offers'), values: days.map((x) => x.offers), color: '#0b5ed7' },
              { label: t('control'), values: days.map((x) => x.control ?? 0), color: '#b35c00' },
            ]}
          />
        ) : series.length ? (
          <TimeChart
            title={t('timeSeries')}
            times={series.map((p) => p.atMs)}
            series={[
              { label: t('offers'), values: series.map((p) => p.campaigns[id].offers), color: '#0b5ed7' },
              { label: t('control'), values: series.map((p) => p.campaigns[id].control), color: '#b35c00' },
              { label: t('late'), values: series.map((p) => p.campaigns[id].late), color: '#a4161a' },
            ]}
          />
        ) : (
          <p className="na">{t('loading')}</p>
        )}
      </section>
      <section aria-labelledby="alternatives">
        <h2 id="alternatives">{t('offersByAlternative')}</h2>
        <table data-testid="alternatives">
          <thead>
            <tr>
              <th scope="col">{t('alternative')}</th>
              <th scope="col">{t('title')}</th>
              <th scope="col" className="num">
                {t('value')}
              </th>
              <th scope="col" className="num">
                {t('offers')}
              </th>
              <th scope="col">{t('liftConversion')}</th>
            </tr>
          </thead>
          <tbody>
            {offers.map((o) => {
              const count = byOffer?.find((b) => b.offerId === o.id)?.offers;
              return (
                <tr key={o.id}>
                  <th scope="row">{o.id}</th>
                  <td>{o.title}</td>
                  <td className="num">₩{formatNumber(locale, o.value)}</td>
                  <td className="num">
                    {count !== undefined ? (
                      formatNumber(locale, count)
                    ) : (
                      <span className="na">{t('notAvailable')}</span>
                    )}
                  </td>
                  <td>{s && <LiftText lift={offerLiftOf(s, o.id)} />}</td>
                </tr>
              );
            })}
          </tbody>
        </table>
      </section>
      <section aria-labelledby="funnel">
        <h2 id="funnel">{t('funnel')}</h2>
        <p className="muted">{t('funnelSteps')}</p>
        {funnel ? (
          <ol className="funnel">
            {funnel.map((f) => (
              <li key={f.step}>
                {f.step}: {formatNumber(locale, f.count)}
              </li>
            ))}
          </ol>
        ) : (
          <p className="na">{t('notAvailable')}</p>
        )}
      </section>
    </>
  );
}
