import { lazy, Suspense, useEffect, useRef } from 'react';
import { useI18n, type Language, type MessageKey } from './i18n';
import { href, useRoute, type Route } from './router';
import { CampaignPage } from './pages/campaign';
import { CampaignsPage } from './pages/campaigns';
import { CustomersPage } from './pages/customers';
import { DlqPage } from './pages/dlq';
import { OverviewPage } from './pages/overview';
import type { Session } from './session';

// CodeMirror is most of the bundle: it loads with the editor page only.
const EditorPage = lazy(() => import('./pages/editor').then((m) => ({ default: m.EditorPage })));

const NAV: Array<{ key: MessageKey; to: string; pages: Route['page'][]; shortcut: string }> = [
  { key: 'navOverview', to: href.overview(), pages: ['overview'], shortcut: '1' },
  { key: 'navCampaigns', to: href.campaigns(), pages: ['campaigns', 'campaign'], shortcut: '2' },
  { key: 'navCustomers', to: href.customers(), pages: ['customers'], shortcut: '3' },
  { key: 'navDlq', to: href.dlq(), pages: ['dlq'], shortcut: '4' },
  { key: 'navNew', to: href.newCampaign(), pages: ['editor'], shortcut: '5' },
];

export function App({ session, onLogout }: { session: Session; onLogout: () => void }) {
  const { t, language, setLanguage } = useI18n();
  const route = useRoute();
  const main = useRef<HTMLElement>(null);

  // A new page: focus its heading, so keyboard and screen-reader users start there.
  const first = useRef(true);
  useEffect(() => {
    if (first.current) {
      first.current = false;
      return;
    }
    main.current?.querySelector<HTMLElement>('h1')?.focus();
  }, [route]);

  // Keys 1–5 open the pages, when the focus is not in a field or the editor.
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      const target = e.target as HTMLElement;
      if (
        e.altKey ||
        e.ctrlKey ||
        e.metaKey ||
        target.closest('input, textarea, select, [contenteditable="true"]')
      )
        return;
      const item = NAV.find((n) => n.shortcut === e.key);
      if (item) {
        location.hash = item.to;
        e.preventDefault();
      }
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, []);

  return (
    <>
      <a className="skip-link" href="#main" onClick={(e) => (e.preventDefault(), main.current?.focus())}>
        {t('skipToContent')}
      </a>
      <header className="top">
        <a className="brand" href={href.overview()}>
          {t('appName')}
        </a>
        <nav aria-label={t('navigation')}>
          <ul>
            {NAV.map((n) => (
              <li key={n.key}>
                <a
                  href={n.to}
                  aria-current={n.pages.includes(route.page) ? 'page' : undefined}
                  aria-keyshortcuts={n.shortcut}
                >
                  {t(n.key)}
                </a>
              </li>
            ))}
          </ul>
        </nav>
        <label className="language">
          {t('language')}{' '}
          <select value={language} onChange={(e) => setLanguage(e.target.value as Language)}>
            <option value="en">English</option>
            <option value="ko">한국어</option>
          </select>
        </label>
        <span className="session">
          {t('signedInAs', { name: session.name, roles: session.roles.join(', ') })}{' '}
          <button type="button" onClick={onLogout}>
            {t('logout')}
          </button>
        </span>
      </header>
      <main id="main" ref={main} tabIndex={-1}>
        <Suspense fallback={<p>{t('loading')}</p>}>
          <Page route={route} />
        </Suspense>
      </main>
      <footer className="bottom">{t('shortcuts')}</footer>
    </>
  );
}

function Page({ route }: { route: Route }) {
  switch (route.page) {
    case 'overview':
      return <OverviewPage />;
    case 'campaigns':
      return <CampaignsPage />;
    case 'campaign':
      return <CampaignPage id={route.id} key={route.id} />;
    case 'editor':
      return <EditorPage id={route.id} key={route.id ?? 'new'} />;
    case 'customers':
      return <CustomersPage id={route.id} key={route.id ?? ''} />;
    case 'dlq':
      return <DlqPage stage={route.stage} key={route.stage ?? ''} />;
  }
}
