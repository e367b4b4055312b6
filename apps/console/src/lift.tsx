import { useI18n } from './i18n';
import { formatLift } from './format';
import type { LiftView } from './stats-view';

/** The lift as text: the estimate, and its interval when there is one. */
export function LiftText({ lift }: { lift: LiftView | undefined }) {
  const { t, locale } = useI18n();
  if (!lift) return <span className="na">{t('notAvailable')}</span>;
  if (lift.relative === null) return <span className="na">{t('liftNotYet')}</span>;
  return (
    <span className="lift">
      <strong>{formatLift(locale, lift.relative)}</strong>{' '}
      {lift.interval ? (
        <span className="interval" data-testid="lift-interval">
          [{formatLift(locale, lift.interval.lower)}, {formatLift(locale, lift.interval.upper)}]
          {lift.interval.level !== undefined
            ? ` ${t('liftInterval', { level: Math.round(lift.interval.level * 100) })}`
            : ''}
        </span>
      ) : (
        <span className="na">({t('liftNoInterval')})</span>
      )}
    </span>
  );
}

/**
 * The lift chart: the estimate on a number line with its interval as a bar and zero ("no effect") marked,
 * so whether the interval excludes zero is seen at a glance. SVG, labelled for screen readers by its text.
 */
export function LiftChart({ lift }: { lift: LiftView | undefined }) {
  const { t, locale } = useI18n();
  if (!lift || lift.relative === null)
    return <p className="na">{lift ? t('liftNotYet') : t('notAvailable')}</p>;
  const low = Math.min(0, lift.interval?.lower ?? lift.relative, lift.relative);
  const high = Math.max(0, lift.interval?.upper ?? lift.relative, lift.relative);
  const pad = (high - low || 1) * 0.15;
  const [min, max] = [low - pad, high + pad];
  const x = (v: number) => 20 + ((v - min) / (max - min)) * 460;
  const label = `${t('relativeLift')} ${formatLift(locale, lift.relative)}${lift.interval ? ` [${formatLift(locale, lift.interval.lower)}, ${formatLift(locale, lift.interval.upper)}]` : ''}`;
  return (
    <figure className="chart">
      <svg viewBox="0 0 500 70" role="img" aria-label={label} className="lift-chart">
        <line x1="20" x2="480" y1="35" y2="35" stroke="#888" />
        <line x1={x(0)} x2={x(0)} y1="10" y2="60" stroke="#555" strokeDasharray="4 3" />
        <text x={x(0)} y="68" textAnchor="middle" fontSize="10" fill="#333">
          {t('zeroLine')}
        </text>
        {lift.interval && (
          <rect
            x={x(lift.interval.lower)}
            width={Math.max(2, x(lift.interval.upper) - x(lift.interval.lower))}
            y="27"
            height="16"
            fill="#9ec5fe"
            stroke="#0b5ed7"
          />
        )}
        <circle cx={x(lift.relative)} cy="35" r="6" fill="#0b5ed7" />
        <text x={x(lift.relative)} y="18" textAnchor="middle" fontSize="12" fill="#111">
          {formatLift(locale, lift.relative)}
        </text>
      </svg>
      <figcaption>
        <LiftText lift={lift} />
      </figcaption>
    </figure>
  );
}
