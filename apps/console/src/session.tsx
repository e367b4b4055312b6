import { useEffect, useState, type FormEvent } from 'react';
import { ApiFailure, call } from './api';
import { App } from './app';
import { useI18n } from './i18n';

/** Who the console is logged in as (GET /v1/console/session). */
export interface Session {
  kind: 'key' | 'token';
  id: string;
  name: string;
  roles: string[];
}

export const sessionApi = {
  current: () => call<Session>('GET', '/console/session'),
  login: (credential: string) => call<Session>('POST', '/console/session', { credential }),
  logout: () => call<void>('DELETE', '/console/session'),
};

/**
 * Every API of the console needs a caller: the console asks who it is logged in as, and shows the login
 * form until it is someone. The credential lives in an HttpOnly cookie the service sets; the page never
 * keeps it.
 */
export function SessionGate() {
  const [session, setSession] = useState<Session | null>();
  useEffect(() => {
    sessionApi.current().then(setSession, () => setSession(null));
  }, []);
  if (session === undefined) return null;
  if (session === null) return <LoginPage onLogin={setSession} />;
  return <App session={session} onLogout={() => void sessionApi.logout().finally(() => setSession(null))} />;
}

function LoginPage({ onLogin }: { onLogin: (session: Session) => void }) {
  const { t } = useI18n();
  const [credential, setCredential] = useState('');
  const [error, setError] = useState<string>();
  const submit = (e: FormEvent) => {
    e.preventDefault();
    setError(undefined);
    sessionApi
      .login(credential)
      .then(onLogin, (failure: Error) =>
        setError(failure instanceof ApiFailure ? failure.message : String(failure)),
      );
  };
  return (
    <main id="main" className="login">
      <h1>{t('loginTitle')}</h1>
      <form onSubmit={submit}>
        <label htmlFor="credential">{t('loginCredential')}</label>
        <input
          id="credential"
          type="password"
          autoComplete="off"
          value={credential}
          onChange={(e) => setCredential(e.target.value)}
          aria-describedby="login-help"
          required
        />
        <p id="login-help">{t('loginHelp')}</p>
        {error && (
          <p role="alert" className="error">
            {error}
          </p>
        )}
        <button type="submit">{t('loginSubmit')}</button>
      </form>
    </main>
  );
}
