import { useState } from 'react';
import { consoleApi, useLoad } from '../api';
import { Failure, PageTitle } from '../common';
import { formatDateTime, formatNumber } from '../format';
import { useI18n } from '../i18n';
import { href } from '../router';

/** A customer: the context snapshot, recent decisions with why and why not, a link to each trace. */
export function CustomersPage({ id }: { id?: string }) {
  const { t } = useI18n();
  const [typed, setTyped] = useState(id ?? '');
  return (
    <>
      <PageTitle>{id ? `${t('customersTitle')}: ${id}` : t('customersTitle')}</PageTitle>
      <form
        className="inline"
        role="search"
        onSubmit={(e) => {
          e.preventDefault();
          if (typed.trim()) location.hash = href.customer(typed.trim());
        }}
      >
        <label>
          {t('customerId')}{' '}
          <input
            value={typed}
            onChange={(e) => setTyped(e.target.value)}
            name="customer"
            pattern="[A-Za-z0-9_-]{1,64}"
          />
        </label>{' '}
        <button type="submit">{t('open')}</button>
      </form>
      {id && <Customer id={id} />}
    </>
  );
}

function Customer({ id }: { id: string }) {
  const { t, locale } = useI18n();
  const page = useLoad(() => consoleApi.customer(id), `customer-${id}`, 5_000);
  if (page.error) return <Failure error={page.error} />;
  if (!page.data) return <p>{t('loading')}</p>;
  const { context, decisions } = page.data;
  const body = context.body;
  return (
    <>
      <section aria-labelledby="context">
        <h2 id="context">{t('context')}</h2>
        {context.status === 404 ? (
          <p>{t('customerNotFound')}</p>
        ) : context.status !== 200 || !body ? (
          <p role="alert" className="error">
            {t('error')}: {body?.error?.message ?? context.status}
          </p>
        ) : (
          <>
            <h3>{t('profile')}</h3>
            {body.profile ? (
              <dl className="pairs" data-testid="profile">
                {Object.entries(body.profile).map(([k, v]) => (
                  <div key={k}>
                    <dt>{k}</dt>
                    <dd>{typeof v === 'string' ? v : JSON.stringify(v)}</dd>
                  </div>
                ))}
              </dl>
            ) : (
              <p className="na">{t('noProfile')}</p>
            )}
            <h3>{t('recentEvents')}</h3>
            <ul>
              {(body.ctx?.recent ?? []).map((e) => (
                <li key={e.id}>
                  {formatDateTime(locale, e.occurredAt)} · {e.type} · {e.channel}
                  {e.amount !== undefined ? ` · ₩${formatNumber(locale, e.amount)}` : ''}{' '}
                  <span className="muted">{e.id}</span>
                </li>
              ))}
            </ul>
            <details>
              <summary>{t('context')} (JSON)</summary>
              <pre>{JSON.stringify(body.ctx, null, 2)}</pre>
            </details>
          </>
        )}
      </section>
      <section aria-labelledby="decisions">
        <h2 id="decisions">{t('recentDecisions')}</h2>
        {decisions.length === 0 ? (
          <p>{t('noDecisions')}</p>
        ) : (
          <table data-testid="decisions">
            <thead>
              <tr>
                <th scope="col">{t('at')}</th>
                <th scope="col">{t('outcome')}</th>
                <th scope="col">{t('why')}</th>
                <th scope="col">{t('trace')}</th>
              </tr>
            </thead>
            <tbody>
              {decisions.map((d) => (
                <tr key={d.decisionId} data-decision={d.decisionId}>
                  <th scope="row">
                    {formatDateTime(locale, d.decidedAt)}
                    <div className="muted">
                      {d.channel} · {d.latencyMs} ms
                    </div>
                  </th>
                  <td>
                    <span className={`badge ${d.outcome}`}>{d.outcome}</span>
                    {d.campaignId && (
                      <div>
                        <a href={href.campaign(d.campaignId)}>{d.campaignId}</a> v{d.campaignVersion}
                        {d.offerId ? ` · ${d.offerId}` : ''}
                      </div>
                    )}
                  </td>
                  <td>
                    <ul className="why">
                      {d.explanation.slice(3).map((line, i) => (
                        <li key={i}>{line}</li>
                      ))}
                    </ul>
                  </td>
                  <td>
                    {d.traceUrl ? (
                      <a href={d.traceUrl} target="_blank" rel="noreferrer" data-testid="trace-link">
                        {t('openTrace')}
                      </a>
                    ) : (
                      <span className="na">{t('notAvailable')}</span>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>
    </>
  );
}
