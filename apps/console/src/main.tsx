import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { SessionGate } from './session';
import { I18nProvider } from './i18n';
import './styles.css';

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <I18nProvider>
      <SessionGate />
    </I18nProvider>
  </StrictMode>,
);
