import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { after, before, describe, it } from 'node:test';
import { chromium, type Browser, type Page } from 'playwright-core';
import { projectPath } from '@nunchi/config';
import { Subjects } from '@nunchi/contracts/core';
import { encodeJson } from '@nunchi/messaging';
import { purchase, sendAll, waitLoaded } from './support/decision.js';
import { runId, startHarness, waitFor, type Harness } from './support/harness.js';

/** Debian's Chromium (`apt-get install chromium`; .ci/run installs it when missing). */
const CHROMIUM = process.env.NUNCHI_CHROMIUM ?? '/usr/bin/chromium';
/** Screenshots of every page, as test output (gitignored). */
const SCREENSHOTS = projectPath('test-output', 'console');
const AXE_SOURCE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  nodes: unknown[];
}

/**
 * The web console in a real browser (Chromium driven by playwright-core) against the four services: it
 * logs in, loads, its live figures move when events are sent, a campaign shows its figures and lift, a customer's
 * decisions link to their traces, the DLQ shows reasons, the editor puts a CEL error at its position, it
 * speaks Korean, it works from the keyboard, and axe-core finds no serious accessibility violation.
 */
describe('web console (Chromium)', () => {
  let h: Harness;
  let browser: Browser;
  let page: Page;
  let base: string;
  const run = runId();
  const id = `t${run}-console`;
  const store = `t${run}-store`;
  const customers = Array.from({ length: 12 }, (_, i) => `t${run}-c${i}`);

  const api = async <T>(method: string, path: string, body?: unknown): Promise<T> => {
    const response = await fetch(`${h.services.urls.analytics}/v1${path}`, {
      method,
      headers: { 'content-type': 'application/json', 'x-nunchi-actor': 'console-e2e' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    assert.ok(response.ok, `${method} ${path}: ${response.status} ${await response.clone().text()}`);
    return (await response.json()) as T;
  };
  /** An expression evaluated in the page (this file is compiled without the DOM's types). */
  const inPage = <T>(expression: string) => page.evaluate<T>(expression);
  const text = async (selector: string) =>
    ((await page.locator(selector).first().textContent()) ?? '').trim();
  const shot = (name: string) => page.screenshot({ path: `${SCREENSHOTS}/${name}.png`, fullPage: true });
  const open = async (hash: string, heading: RegExp) => {
    await page.goto(`${base}${hash}`);
    await page.locator('h1', { hasText: heading }).waitFor({ timeout: 30_000 });
  };
  /** axe-core on the page as it is: every violation of serious or critical impact fails. */
  const axe = async (name: string) => {
    if (!(await inPage<boolean>(`'axe' in window`))) await page.addScriptTag({ content: AXE_SOURCE });
    const violations = await inPage<AxeViolation[]>(
      'axe.run(document).then((r) => r.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map((n) => n.target) })))',
    );
    const serious = violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
    assert.deepEqual(serious, [], `${name}: ${JSON.stringify(serious, null, 2)}`);
  };

  before(async () => {
    assert.ok(
      existsSync(CHROMIUM),
      `${CHROMIUM} is missing: apt-get install -y chromium (or set NUNCHI_CHROMIUM)`,
    );
    assert.ok(
      existsSync(projectPath('dist', 'console', 'index.html')),
      'no console build: npm run build makes it',
    );
    mkdirSync(SCREENSHOTS, { recursive: true });
    // A loaded machine must not turn this test's decisions late (nothing sent, no lift): the deadline is not its subject.
    h = await startHarness({ NUNCHI_SLA_MS: '30000' });
    base = `${h.services.urls.analytics}/console/`;
    // A campaign with a holdout, made and activated through the campaigns API as a marketer would.
    const source = [
      `id: ${id}`,
      `name: Console test — 콘솔 테스트`,
      `trigger: { types: [purchase], channels: [pos], stores: [${store}] }`,
      `offers:`,
      `  - { id: coupon, title: A coupon, value: 2000 }`,
      `  - { id: points, title: Double points, value: 1000, when: "event.amount > 1000000" }`,
      `budget: { maxOffers: 1000 }`,
      `holdoutPercent: 50`,
      `schedule: { timezone: Asia/Seoul }`,
    ].join('\n');
    await api('POST', '/campaigns', { source });
    const activated = await api<{ version: number }>('POST', `/campaigns/${id}/activate`, {});
    await waitLoaded([h.services.urls.decision], id, activated.version, 30_000);
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--no-sandbox', '--disable-dev-shm-usage'],
    });
    page = await browser.newPage({ viewport: { width: 1280, height: 900 }, locale: 'en-GB' });
  });

  after(async () => {
    await browser?.close();
    await h?.close();
  });

  it('asks who you are, refuses a wrong key, and logs in with an API key (kept in an HttpOnly cookie)', async () => {
    await page.goto(base);
    await page.locator('h1', { hasText: /Log in/ }).waitFor({ timeout: 30_000 });
    await axe('login');
    const field = page.getByLabel('API key or token');
    await field.fill('nk_wrong');
    await page.getByRole('button', { name: 'Log in', exact: true }).click();
    await page.locator('[role=alert]', { hasText: /malformed API key/ }).waitFor();
    assert.ok(h.services.adminKey, 'the harness made a local admin key');
    await field.fill(h.services.adminKey);
    await page.getByRole('button', { name: 'Log in', exact: true }).click();
    await page.locator('h1', { hasText: /Overview/ }).waitFor({ timeout: 30_000 });
    assert.match(await text('.session'), /Signed in as local admin/);
    assert.equal(await inPage<string>('document.cookie'), '', 'the page script cannot read the credential');
  });

  it('loads offline-ready (every asset from the service itself) and connects to the live feed', async () => {
    const foreign: string[] = [];
    page.on('request', (r) => {
      if (!r.url().startsWith(h.services.urls.analytics)) foreign.push(r.url());
    });
    await open('', /Overview/);
    await page.locator('[data-testid=live-status]', { hasText: 'live' }).waitFor({ timeout: 30_000 });
    assert.deepEqual(foreign, [], 'the console fetched something from elsewhere');
    await axe('overview');
  });

  it('its live figures change when events are sent', async () => {
    await open('', /Overview/);
    await page.locator('[data-testid=offers] .value').waitFor();
    const decided = async () => {
      let n = 0;
      for (const card of ['offers', 'control', 'late'])
        n += Number((await text(`[data-testid=${card}] .value`)).replace(/\D/g, ''));
      return n;
    };
    const before = await decided();
    // Two purchases per customer: the first decided (offer or control), the second a conversion of both groups.
    await sendAll(
      h.nc,
      customers.map((c, i) => purchase(`t${run}-a${i}`, c, store, 12_000)),
    );
    // each figure must move at some moment (the rate is a 10 s average: it falls back once the burst is over)
    const seen = { decisions: false, rate: false };
    await waitFor(
      'the overview to count new decisions and show a rate of events',
      async () => {
        seen.decisions ||= (await decided()) > before;
        seen.rate ||=
          Number((await text('[data-testid=events-per-second] .value')).replace(/[^\d.]/g, '')) > 0;
        return seen.decisions && seen.rate ? true : undefined;
      },
      60_000,
    );
    assert.match(await text('[data-testid=channels]'), /pos/);
    await shot('overview');
  });

  it("a campaign shows status, version, its figures, and a lift card with the lift's always-valid interval", async () => {
    await new Promise((r) => setTimeout(r, 1_100)); // conversions must come after their decisions
    await sendAll(
      h.nc,
      customers.map((c, i) => purchase(`t${run}-b${i}`, c, store, 15_000)),
    );
    type Stat = {
      campaignId: string;
      decisions: number;
      offers: number;
      control: number;
      treatment: { converted: number };
      holdout: { converted: number };
      lift: { relative: number | null; relativeInterval: { lower: number; upper: number } | null } | null;
    };
    const stats = await waitFor(
      'analytics to count 24 decisions',
      async () => {
        const s = (await api<{ campaigns: Stat[] }>('GET', '/stats')).campaigns.find(
          (c) => c.campaignId === id,
        );
        // every customer bought twice: both groups convert, so the relative lift and its interval exist
        return s && s.decisions >= 24 && s.treatment.converted > 0 && s.holdout.converted > 0 ? s : undefined;
      },
      60_000,
    );

    await open('#/campaigns', /Campaigns/);
    const row = page.locator(`tr[data-campaign="${id}"]`);
    await row.waitFor();
    assert.match((await row.textContent()) ?? '', /active/);
    assert.match((await row.textContent()) ?? '', /\/ 1,000 Offers/);
    // the campaigns page: the lift with its interval
    await row.locator('[data-testid=lift-interval]').waitFor({ timeout: 30_000 });
    assert.match(await row.locator('[data-testid=lift-interval]').innerText(), /\[.+, .+\]/);
    await axe('campaigns');
    await shot('campaigns');

    await open(`#/campaigns/${id}`, /Console test/);
    await waitFor(
      'the campaign figures',
      async () =>
        (await text('[data-testid=decisions] .value')) === String(stats.decisions) ? true : undefined,
      30_000,
    );
    assert.equal(await text('[data-testid=offers] .value'), String(stats.offers));
    assert.equal(await text('[data-testid=control] .value'), String(stats.control));
    assert.match(await text('[data-testid=alternatives]'), /coupon.*A coupon/s);
    // The lift card: the estimate and its always-valid interval, drawn and stated; the split checked.
    assert.ok(stats.lift?.relativeInterval, JSON.stringify(stats));
    await page
      .locator('[data-testid=lift-card] [data-testid=lift-interval]')
      .first()
      .waitFor({ timeout: 30_000 });
    assert.match(await text('[data-testid=lift-card] [data-testid=lift-interval]'), /\[.+, .+\]/);
    assert.equal(await page.locator('[data-testid=lift-card] svg[role=img]').count(), 1);
    assert.match(await text('[data-testid=sample-ratio]'), /Holdout split: /);
    await axe('campaign');
    await shot('campaign');
  });

  it("a customer's page: context, recent decisions with why, each linked to its trace", async () => {
    await open(`#/customers/${customers[0]}`, new RegExp(customers[0]));
    await page.locator('[data-testid=decisions] tbody tr').first().waitFor({ timeout: 30_000 });
    const link = await page.locator('[data-testid=trace-link]').first().getAttribute('href');
    assert.match(link ?? '', /^http:\/\/127\.0\.0\.1:9411\/zipkin\/traces\/[0-9a-f]{32}$/);
    assert.match(await text('[data-testid=decisions]'), new RegExp(id));
    await axe('customer');
    await shot('customer');
  });

  it('the DLQ page lists rejected input with its reason', async () => {
    h.nc.publish(
      Subjects.inbound('pos', 'purchase'),
      encodeJson({ id: `t${run}-bad`, type: 'purchase', channel: 'pos' }),
    );
    await open('#/dlq?stage=ingestion', /DLQ/);
    // the page refreshes itself every 5 s
    const row = page.locator('[data-testid=dlq] tbody tr', { hasText: `t${run}-bad` });
    await row.waitFor({ timeout: 30_000 });
    assert.match((await row.locator('.reason').textContent()) ?? '', /\w/);
    assert.match((await row.textContent()) ?? '', /mkt\.in\.pos\.purchase/);
    await axe('dlq');
    await shot('dlq');
  });

  it('the editor shows a CEL error at its position in the text', async () => {
    const source = [
      `id: t${run}-draft`,
      `name: A draft with a typo`,
      `trigger: { types: [purchase] }`,
      `audience: "customer.age >= 30"`,
      `condition: "event.amount >= 100000 && customer.regoin == 'Bundang'"`,
      `offers:`,
      `  - { id: a, title: A, value: 1000 }`,
    ].join('\n');
    // Where the service says the error is, inside the expression; the console must put it in the text.
    const checked = await api<{ problems: Array<{ path: string; message: string }> }>(
      'POST',
      '/campaigns/validate',
      { source },
    );
    const problem = checked.problems.find((p) => p.path === 'condition');
    assert.ok(problem, JSON.stringify(checked));
    const [, column] = /column (\d+)/.exec(problem.message)!.map(Number);
    const line5 = source.split('\n')[4];
    const expected = { line: 5, column: line5.indexOf('"') + 1 + column };

    await open('#/campaigns/new', /New campaign/);
    const editor = page.locator('[data-testid=editor] .cm-content');
    await editor.waitFor();
    await editor.click();
    await page.keyboard.press('Control+A');
    await page.keyboard.press('Delete');
    await page.keyboard.insertText(source); // as pasted: no auto-indentation
    await page.getByRole('button', { name: 'Validate' }).click();
    const button = page.locator('[data-testid=problems] button', { hasText: 'condition' });
    await button.waitFor({ timeout: 30_000 });
    assert.deepEqual(
      {
        line: Number(await button.getAttribute('data-line')),
        column: Number(await button.getAttribute('data-column')),
      },
      expected,
      `${problem.message}`,
    );
    assert.match(
      (await button.textContent()) ?? '',
      new RegExp(`line ${expected.line}, column ${expected.column}`),
    );
    // marked in the editor, on the misspelt name
    const mark = page.locator('[data-testid=editor] .cm-lintRange-error');
    await mark.first().waitFor();
    assert.match((await mark.allTextContents()).join(''), /regoin|customer/);
    // the problem's button moves the cursor there
    await button.click();
    // where the browser's selection is, in lines and columns of the editor's text
    const cursor = await inPage<{ line: number; column: number }>(`(() => {
      const selection = document.getSelection();
      const node = selection.anchorNode;
      const line = (node.nodeType === 1 ? node : node.parentElement).closest('.cm-line');
      const range = document.createRange();
      range.setStart(line, 0);
      range.setEnd(node, selection.anchorOffset);
      const lines = [...document.querySelectorAll('[data-testid=editor] .cm-line')];
      return { line: lines.indexOf(line) + 1, column: range.toString().length + 1 };
    })()`);
    assert.deepEqual(cursor, expected);
    await axe('editor');
    await shot('editor');
  });

  it('speaks Korean, and works from the keyboard', async () => {
    await open('', /Overview/);
    await page.keyboard.press('Tab');
    assert.equal(await inPage<string>('document.activeElement?.className'), 'skip-link');
    await page.keyboard.press('2');
    await page.locator('h1', { hasText: 'Campaigns' }).waitFor();
    assert.equal(await inPage<string>('document.activeElement?.tagName'), 'H1');
    await page.locator('select').first().selectOption('ko');
    await page.locator('h1', { hasText: '캠페인' }).waitFor();
    assert.equal(await inPage<string>('document.documentElement.lang'), 'ko');
    await page.keyboard.press('1');
    await page.locator('h1', { hasText: '개요' }).waitFor();
    await page.locator('[data-testid=live-status]', { hasText: '실시간' }).waitFor({ timeout: 30_000 });
    await axe('overview (ko)');
    await shot('overview-ko');
    await page.locator('select').first().selectOption('en');
  });
});
