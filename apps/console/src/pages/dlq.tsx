import { consoleApi, useLoad } from '../api';
import { Failure, PageTitle } from '../common';
import { formatDateTime, formatNumber } from '../format';
import { useI18n } from '../i18n';
import { href } from '../router';

const STAGES = ['ingestion', 'context', 'decision', 'analytics'];

/** Rejected input, newest first, with the reason; by stage. Replay stays a deliberate CLI act (`nunchi dlq replay`). */
export function DlqPage({ stage }: { stage?: string }) {
  const { t, locale } = useI18n();
  const dlq = useLoad(() => consoleApi.dlq(stage), `dlq-${stage ?? ''}`, 5_000);
  return (
    <>
      <PageTitle>{t('dlqTitle')}</PageTitle>
      <label>
        {t('stage')}{' '}
        <select value={stage ?? ''} onChange={(e) => (location.hash = href.dlq(e.target.value || undefined))}>
          <option value="">{t('allStages')}</option>
          {STAGES.map((s) => (
            <option key={s} value={s}>
              {s} {dlq.data?.counts[s] !== undefined ? `(${formatNumber(locale, dlq.data.counts[s])})` : ''}
            </option>
          ))}
        </select>
      </label>
      {dlq.error && <Failure error={dlq.error} />}
      {dlq.data &&
        (dlq.data.entries.length === 0 ? (
          <p>{t('noEntries')}</p>
        ) : (
          <table data-testid="dlq">
            <thead>
              <tr>
                <th scope="col" className="num">
                  {t('seq')}
                </th>
                <th scope="col">{t('at')}</th>
                <th scope="col">{t('stage')}</th>
                <th scope="col">{t('subject')}</th>
                <th scope="col">{t('reason')}</th>
                <th scope="col">{t('bytes')}</th>
              </tr>
            </thead>
            <tbody>
              {dlq.data.entries.map((e) => (
                <tr key={e.seq}>
                  <th scope="row" className="num">
                    {e.seq}
                  </th>
                  <td>{formatDateTime(locale, e.at)}</td>
                  <td>{e.stage}</td>
                  <td>
                    <code>{e.subject}</code>
                  </td>
                  <td className="reason">
                    {e.reason}
                    {e.replayOf !== undefined && (
                      <div className="muted">{t('replayOf', { n: e.replayOf })}</div>
                    )}
                  </td>
                  <td>
                    <details>
                      <summary>{formatNumber(locale, e.size)}</summary>
                      <pre>{e.preview}</pre>
                    </details>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        ))}
    </>
  );
}
