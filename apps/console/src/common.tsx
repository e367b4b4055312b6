import type { ReactNode } from 'react';
import { useI18n } from './i18n';

/** A failed load, said plainly. */
export function Failure({ error }: { error: Error }) {
  const { t } = useI18n();
  return (
    <p role="alert" className="error">
      {t('error')}: {error.message}
    </p>
  );
}

/** A page's heading: focusable, so that a new page can move the focus to it. */
export function PageTitle({ children }: { children: ReactNode }) {
  return <h1 tabIndex={-1}>{children}</h1>;
}

/** A figure on a card: its name, its value (or "not available yet"), and a note under it. */
export function Figure({
  label,
  value,
  note,
  testId,
}: {
  label: string;
  value: ReactNode | undefined;
  note?: ReactNode;
  testId?: string;
}) {
  const { t } = useI18n();
  return (
    <div className="figure" data-testid={testId}>
      <dt>{label}</dt>
      <dd>
        <span className="value">{value ?? <span className="na">{t('notAvailable')}</span>}</span>
        {note && <span className="note">{note}</span>}
      </dd>
    </div>
  );
}
