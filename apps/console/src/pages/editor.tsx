import { useEffect, useRef, useState } from 'react';
import { defaultKeymap, history, historyKeymap } from '@codemirror/commands';
import { yaml } from '@codemirror/lang-yaml';
import { defaultHighlightStyle, syntaxHighlighting } from '@codemirror/language';
import { lintGutter, setDiagnostics, type Diagnostic } from '@codemirror/lint';
import { EditorState } from '@codemirror/state';
import { EditorView, highlightActiveLine, keymap, lineNumbers } from '@codemirror/view';
import { ApiFailure, campaignsApi, type ProblemDetail, type SimulationJob } from '../api';
import { PageTitle } from '../common';
import { useI18n } from '../i18n';
import { problemPosition, type ProblemPosition } from '../problem-position';
import { href } from '../router';

const TEMPLATE = `id: my-campaign
name: My campaign
trigger: { types: [purchase], channels: [pos] }
audience: "customer.age >= 30"
condition: "event.amount >= 50000"
offers:
  - { id: thanks, title: Thank you, value: 1000 }
holdoutPercent: 10
`;

const SAMPLE_EVENT = JSON.stringify(
  {
    id: 'console-test-1',
    type: 'purchase',
    channel: 'pos',
    occurredAt: new Date().toISOString(),
    customer: { id: 'c-000042' },
    storeId: 'bundang-01',
    payload: {
      amount: 60000,
      currency: 'KRW',
      items: [{ sku: '1', category: 'snacks', quantity: 1, unitPrice: 60000 }],
    },
  },
  null,
  2,
);

interface Located extends ProblemDetail {
  at?: ProblemPosition;
}

/** The campaign editor on the campaigns API: edit a draft, validate, test, simulate, activate. */
export function EditorPage({ id }: { id?: string }) {
  const { t } = useI18n();
  const host = useRef<HTMLDivElement>(null);
  const view = useRef<EditorView>(undefined);
  const [revision, setRevision] = useState<number>();
  const [problems, setProblems] = useState<Located[]>();
  const [message, setMessage] = useState<{ text: string; error?: boolean }>();
  const [report, setReport] = useState<string[]>();
  const [job, setJob] = useState<SimulationJob>();
  const [busy, setBusy] = useState(false);
  const [customerId, setCustomerId] = useState('c-000042');
  const [event, setEvent] = useState(SAMPLE_EVENT);
  const [from, setFrom] = useState('');
  const [to, setTo] = useState('');

  useEffect(() => {
    const editor = new EditorView({
      parent: host.current!,
      state: EditorState.create({
        doc: '',
        extensions: [
          lineNumbers(),
          history(),
          highlightActiveLine(),
          keymap.of([...defaultKeymap, ...historyKeymap]),
          syntaxHighlighting(defaultHighlightStyle),
          yaml(),
          lintGutter(),
          EditorView.contentAttributes.of({ 'aria-label': t('source'), 'aria-describedby': 'editor-help' }),
        ],
      }),
    });
    view.current = editor;
    let cancelled = false;
    if (id)
      campaignsApi.get(id).then(
        (detail) => {
          if (cancelled) return;
          const text = detail.draft?.source ?? detail.current?.yaml ?? '';
          editor.dispatch({ changes: { from: 0, to: editor.state.doc.length, insert: text } });
          setRevision(detail.draft?.revision);
          if (detail.draft) show(detail.draft.problems);
        },
        (error: Error) => setMessage({ text: error.message, error: true }),
      );
    else editor.dispatch({ changes: { from: 0, insert: TEMPLATE } });
    return () => {
      cancelled = true;
      editor.destroy();
    };
    // the editor is made once per page (the page is keyed by campaign id)
  }, []);

  const source = () => view.current!.state.doc.toString();

  /** Problems as a list and as marks in the editor, each at its position. */
  function show(list: ProblemDetail[]) {
    const text = source();
    const located = list.map((p) => ({ ...p, at: problemPosition(text, p) }));
    setProblems(located);
    const diagnostics: Diagnostic[] = located.map((p) => ({
      from: p.at?.from ?? 0,
      to: p.at?.to ?? 0,
      severity: 'error',
      message: `${p.path}: ${p.message}`,
    }));
    view.current!.dispatch(setDiagnostics(view.current!.state, diagnostics));
  }

  function goTo(at: ProblemPosition) {
    view.current!.dispatch({ selection: { anchor: at.from, head: at.to }, scrollIntoView: true });
    view.current!.focus();
  }

  /** Runs one action; an API refusal's problems are shown like validation problems. */
  async function act(action: () => Promise<void>) {
    setBusy(true);
    setMessage(undefined);
    try {
      await action();
    } catch (error) {
      if (error instanceof ApiFailure && error.details.length) show(error.details);
      setMessage({ text: error instanceof Error ? error.message : String(error), error: true });
    } finally {
      setBusy(false);
    }
  }

  /** Saves the text as the draft (a new campaign: creates it), and answers the campaign id. */
  async function save(): Promise<string> {
    if (!id) {
      const saved = await campaignsApi.create(source());
      show(saved.problems);
      location.hash = href.edit(saved.campaignId);
      return saved.campaignId;
    }
    const saved = await campaignsApi.saveDraft(id, source(), revision);
    setRevision(saved.revision);
    show(saved.problems);
    setMessage({ text: t('saved', { n: saved.revision }) });
    return id;
  }

  const onValidate = () =>
    act(async () => {
      const result = await campaignsApi.validate(source());
      show(result.problems);
      setMessage(result.valid ? { text: t('valid') } : undefined);
    });

  const onTest = () =>
    act(async () => {
      const campaignId = await save();
      const result = await campaignsApi.test(
        campaignId,
        JSON.parse(event) as Record<string, unknown>,
        customerId,
      );
      setReport(result.lines);
    });

  const onSimulate = () =>
    act(async () => {
      const campaignId = await save();
      let current = await campaignsApi.simulate(campaignId, from, to);
      setJob(current);
      while (current.status === 'running') {
        await new Promise((r) => setTimeout(r, 1_000));
        current = await campaignsApi.simulation(current.id);
        setJob(current);
      }
    });

  const onActivate = () =>
    act(async () => {
      const campaignId = await save();
      const result = await campaignsApi.activate(campaignId, campaignId === id ? revision : undefined);
      setMessage({ text: t('activated', { n: result.version, status: result.status }) });
      setRevision(undefined);
    });

  return (
    <>
      <PageTitle>{id ? `${t('editorTitle')}: ${id}` : t('newCampaign')}</PageTitle>
      <p id="editor-help" className="muted">
        {t('editorHelp')}
      </p>
      <div className="editor" ref={host} data-testid="editor" />
      <div className="toolbar" role="toolbar" aria-label={t('editorTitle')}>
        <button type="button" onClick={() => void act(async () => void (await save()))} disabled={busy}>
          {t('save')}
        </button>
        <button type="button" onClick={() => void onValidate()} disabled={busy}>
          {t('validate')}
        </button>
        <button type="button" onClick={() => void onActivate()} disabled={busy}>
          {t('activate')}
        </button>
        {revision !== undefined && <span className="muted">{t('revision', { n: revision })}</span>}
      </div>
      <div aria-live="polite" data-testid="editor-status">
        {message && <p className={message.error ? 'error' : 'ok'}>{message.text}</p>}
      </div>
      {problems && problems.length > 0 && (
        <section aria-labelledby="problems" data-testid="problems">
          <h2 id="problems">{t('problems')}</h2>
          <ul className="problems">
            {problems.map((p, i) => (
              <li key={i}>
                {p.at ? (
                  <button
                    type="button"
                    className="link"
                    onClick={() => goTo(p.at!)}
                    data-line={p.at.line}
                    data-column={p.at.column}
                  >
                    {p.path} — {t('problemAt', { line: p.at.line, column: p.at.column })}
                  </button>
                ) : (
                  <strong>{p.path || '(root)'}</strong>
                )}
                <pre>{p.message}</pre>
              </li>
            ))}
          </ul>
        </section>
      )}
      <section aria-labelledby="test">
        <h2 id="test">{t('test')}</h2>
        <label>
          {t('testCustomer')} <input value={customerId} onChange={(e) => setCustomerId(e.target.value)} />
        </label>
        <label className="block">
          {t('testEvent')}
          <textarea rows={8} value={event} onChange={(e) => setEvent(e.target.value)} spellCheck={false} />
        </label>
        <button type="button" onClick={() => void onTest()} disabled={busy}>
          {t('test')}
        </button>
        {report && <pre data-testid="test-report">{report.join('\n')}</pre>}
      </section>
      <section aria-labelledby="simulate">
        <h2 id="simulate">{t('simulate')}</h2>
        <label>
          {t('from')} <input type="date" value={from} onChange={(e) => setFrom(e.target.value)} />
        </label>{' '}
        <label>
          {t('to')} <input type="date" value={to} onChange={(e) => setTo(e.target.value)} />
        </label>{' '}
        <button type="button" onClick={() => void onSimulate()} disabled={busy}>
          {t('simulate')}
        </button>
        {job && (
          <div aria-live="polite" data-testid="simulation">
            {job.status === 'running' ? (
              <p>
                {t('simulationRunning', {
                  phase: job.progress?.phase ?? '',
                  done: job.progress?.done ?? 0,
                  total: job.progress?.total ?? 0,
                })}
                {job.progress?.waitingForLiveTraffic && <> — {t('simulationWaiting')}</>}
              </p>
            ) : job.status === 'done' ? (
              <>
                <p>{t('simulationDone')}</p>
                <pre>{JSON.stringify(job.result?.report, null, 2)}</pre>
              </>
            ) : (
              <p className="error">
                {job.status}: {job.error}
              </p>
            )}
          </div>
        )}
      </section>
    </>
  );
}
