import { campaignsApi, consoleApi, useLoad, type CampaignListing, type CampaignStats } from '../api';
import { Failure, PageTitle } from '../common';
import { formatNumber, formatPercent } from '../format';
import { useI18n } from '../i18n';
import { LiftText } from '../lift';
import { href } from '../router';
import { liftOf } from '../stats-view';

/** Every campaign: status, version, its draft, offers, budget burn and lift; refreshed every 5 s. */
export function CampaignsPage() {
  const { t, locale } = useI18n();
  const campaigns = useLoad(() => campaignsApi.list(), 'campaigns', 5_000);
  const stats = useLoad(() => consoleApi.stats(), 'stats', 5_000);
  const statsOf = new Map((stats.data?.campaigns ?? []).map((c) => [c.campaignId, c]));
  return (
    <>
      <PageTitle>{t('campaignsTitle')}</PageTitle>
      <p>
        <a className="button" href={href.newCampaign()}>
          {t('navNew')}
        </a>
      </p>
      {campaigns.error && <Failure error={campaigns.error} />}
      {stats.error && <Failure error={stats.error} />}
      {campaigns.data &&
        (campaigns.data.campaigns.length === 0 ? (
          <p>{t('noCampaigns')}</p>
        ) : (
          <table data-testid="campaigns">
            <thead>
              <tr>
                <th scope="col">{t('campaign')}</th>
                <th scope="col">{t('status')}</th>
                <th scope="col" className="num">
                  {t('version')}
                </th>
                <th scope="col" className="num">
                  {t('decisions')}
                </th>
                <th scope="col" className="num">
                  {t('offers')}
                </th>
                <th scope="col">{t('budget')}</th>
                <th scope="col">{t('lift')}</th>
                <th scope="col">{t('draft')}</th>
              </tr>
            </thead>
            <tbody>
              {campaigns.data.campaigns.map((c) => (
                <Row key={c.campaignId} c={c} s={statsOf.get(c.campaignId)} />
              ))}
            </tbody>
          </table>
        ))}
    </>
  );

  function Row({ c, s }: { c: CampaignListing; s: CampaignStats | undefined }) {
    return (
      <tr data-campaign={c.campaignId}>
        <th scope="row">
          <a href={href.campaign(c.campaignId)}>{c.name || c.campaignId}</a>
          <div className="muted">{c.campaignId}</div>
        </th>
        <td>
          <span className={`badge ${c.status}`}>{c.status}</span>
        </td>
        <td className="num">{c.version ?? '–'}</td>
        <td className="num">{s ? formatNumber(locale, s.decisions) : '0'}</td>
        <td className="num" data-testid="offers">
          {s ? formatNumber(locale, s.offers) : '0'}
        </td>
        <td>
          <Burn used={c.budget.offers} max={c.budget.maxOffers} unit={t('offers')} />
          {c.budget.maxCost !== undefined && <Burn used={c.budget.cost} max={c.budget.maxCost} unit="₩" />}
        </td>
        <td data-testid="lift">
          {s ? <LiftText lift={liftOf(s)} /> : <span className="na">{t('notAvailable')}</span>}
        </td>
        <td>
          {c.draft ? (
            <a href={href.edit(c.campaignId)}>{t('revision', { n: c.draft.revision })}</a>
          ) : (
            <a href={href.edit(c.campaignId)}>{t('edit')}</a>
          )}
        </td>
      </tr>
    );
  }

  function Burn({ used, max, unit }: { used: number; max?: number; unit: string }) {
    if (max === undefined)
      return (
        <div>
          {formatNumber(locale, used)} {unit} <span className="muted">({t('noLimit')})</span>
        </div>
      );
    const ratio = max > 0 ? used / max : 1;
    return (
      <div className="burn">
        <meter min={0} max={1} value={Math.min(1, ratio)} aria-label={`${t('budget')} ${unit}`} />{' '}
        {formatNumber(locale, used)} / {formatNumber(locale, max)} {unit} ({formatPercent(locale, ratio, 0)})
      </div>
    );
  }
}
