import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Worker } from 'node:worker_threads';
import type { AcceptedEvent, ContextSnapshot, CustomerProfile } from '@nunchi/contracts';
import { CampaignInvalidError } from './campaign-invalid.error.js';
import { CampaignSet } from './campaign-set.js';
import { CEL_LIMITS } from './cel-budget.js';
import { CelContext, CelCustomer, CelEvent, CelNow } from './cel-environment.js';
import { compileExpression, isCelProblem, type CelProblem } from './cel-expression.js';
import { parseCampaign } from './parse-campaign.js';
import { campaign, compiled, context, event, input, purchase, windows } from './testing/fixtures.js';

/**
 * Hostile campaign code. Each case must fail fast — refused at compile time, or stopped at run time —
 * never hang. A hang cannot be caught inside the thread that hangs (the test runner's timeout never
 * gets the event loop back), so every evaluation of hostile code runs in a worker thread that is
 * terminated after LIMIT_MS: a regression fails the test instead of freezing the suite.
 */
const LIMIT_MS = 2_000;

interface Outcome {
  value?: unknown;
  error?: { name: string; message: string };
  /** wall time of the evaluation alone */
  ms: number;
}

/** Compile `source` and evaluate it once on the data, in a worker killed after LIMIT_MS. */
async function evaluateBounded(
  source: string,
  data: { event: AcceptedEvent; ctx?: ContextSnapshot; customer?: CustomerProfile | null },
  limitMs = LIMIT_MS,
): Promise<Outcome> {
  const code = `
    const { parentPort, workerData } = require('node:worker_threads');
    (async () => {
      const { compileExpression } = await import(workerData.expressions);
      const { CelContext, CelCustomer, CelEvent, CelNow } = await import(workerData.environment);
      const compiled = compileExpression(workerData.source);
      if (compiled.kind !== undefined) return parentPort.postMessage({ error: { name: 'CelProblem', message: compiled.message }, ms: 0 });
      const e = workerData.event;
      const vars = {
        event: new CelEvent(e),
        customer: new CelCustomer(workerData.customer, e.customerId),
        ctx: new CelContext(workerData.ctx),
        now: new CelNow(19, 5, 2, '2026-11-24', e.occurredAtMs, 'Asia/Seoul'),
      };
      parentPort.postMessage('ready');
      const started = performance.now();
      try {
        const value = compiled.run(vars);
        parentPort.postMessage({ value, ms: performance.now() - started });
      } catch (err) {
        parentPort.postMessage({ error: { name: err.name, message: err.message }, ms: performance.now() - started });
      }
    })();`;
  return runWorker(
    code,
    {
      expressions: new URL('./cel-expression.js', import.meta.url).href,
      environment: new URL('./cel-environment.js', import.meta.url).href,
      source,
      event: data.event,
      ctx: data.ctx ?? context(data.event.customerId),
      customer: data.customer ?? null,
    },
    limitMs,
  );
}

/**
 * Run `code` in a worker; it posts 'ready' when the work to be timed starts (loading modules on a busy
 * machine is not the evaluation), then its outcome. More than `limitMs` after 'ready' is a hang.
 */
function runWorker(code: string, workerData: unknown, limitMs: number): Promise<Outcome> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(code, { eval: true, workerData });
    let timer: NodeJS.Timeout | undefined;
    const hang = () => {
      void worker.terminate();
      reject(new Error(`still running after ${limitMs} ms: the evaluation hangs`));
    };
    worker.on('message', (m: Outcome | 'ready') => {
      if (m === 'ready') return void (timer = setTimeout(hang, limitMs));
      clearTimeout(timer);
      void worker.terminate();
      resolve(m);
    });
    worker.once('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
  });
}

function refused(source: string): CelProblem {
  const c = compileExpression(source);
  assert.ok(isCelProblem(c), `expected ${source.slice(0, 80)}… to be refused`);
  return c;
}

const list = (n: number) => `[${Array.from({ length: n }, (_, i) => `${i}.0`).join(', ')}]`;

/** A note of `n` a's and a '!': the classic input on which ^(a+)+$ backtracks for ever. */
const catastrophic = (n: number) =>
  event({
    type: 'page_view',
    storeName: 'a'.repeat(40) + '!',
    payload: { url: '/', note: 'a'.repeat(n) + '!' },
  });

void describe('CEL budget: the guard in these tests works', () => {
  void it('a worker that never returns is reported as hanging, not waited for', async () => {
    const started = Date.now();
    const code = "require('node:worker_threads').parentPort.postMessage('ready'); for (;;) {}";
    await assert.rejects(runWorker(code, {}, 300), /hangs/);
    assert.ok(Date.now() - started < LIMIT_MS);
  });
});

void describe('CEL budget: refused at compile time', () => {
  void it('three nested all() over 100 elements (≈ 19 s per event with plain cel-js) is refused for nesting', () => {
    const src = `${list(100)}.all(a, ${list(100)}.all(b, ${list(100)}.all(c, a + b + c >= 0.0)))`;
    const p = refused(src);
    assert.equal(p.kind, 'cost');
    assert.match(p.summary, /all\(\) is inside 2 other comprehensions; at most 2 levels/);
    assert.equal(p.column, src.lastIndexOf(list(100)) + 1, 'points at the innermost comprehension');
  });

  void it('two nested comprehensions over event data are refused for their worst case, naming the range', () => {
    const p = refused('event.categories.all(a, event.categories.exists(b, a == b))');
    assert.equal(p.kind, 'cost');
    assert.match(p.summary, /costs up to [\d,]+ units per evaluation, over the budget of 100,000/);
    assert.match(
      p.summary,
      /all\(\) runs its predicate up to 500 times \(event\.categories holds up to 500 elements\)/,
    );
    assert.equal(p.column, 1);
  });

  void it('a list doubled by cel.bind until it is huge is refused', () => {
    let src = 'size(x9) > 0';
    for (let i = 9; i > 0; i--) src = `cel.bind(x${i}, x${i - 1} + x${i - 1}, ${src})`;
    src = `cel.bind(x0, event.skus, ${src.replace('size(x9) > 0', "x9.exists(s, s == 'a')")})`;
    assert.match(refused(src).summary, /exists\(\) runs its predicate up to 256,000 times/);
  });

  void it('matches() with back-references or look-around is refused: RE2 has neither', () => {
    for (const [src, what] of [
      ["event.storeName.matches('(a)\\\\1')", /invalid escape sequence/],
      ["event.storeName.matches('(?=a)b')", /unsupported Perl syntax: `\(\?=`/],
      ["event.storeName.matches('(?<!a)b')", /error parsing regexp/],
    ] as const) {
      const p = refused(src);
      assert.equal(p.kind, 'regex', src);
      assert.match(p.summary, /^matches\(\) takes an RE2 regular expression: /);
      assert.match(p.summary, what);
      assert.equal(p.column, src.indexOf("'(") + 1, 'points at the pattern');
    }
  });

  void it('matches() on a pattern built from a large field is refused for its worst case', () => {
    const p = refused('event.storeName.matches(event.payload.pattern)');
    assert.match(p.summary, /matches\(\) on up to 4096 characters costs up to/);
  });

  void it('an expression too deep or too large is refused, saying why', () => {
    const deep = `${'('.repeat(CEL_LIMITS.maxDepth + 2)}true${')'.repeat(CEL_LIMITS.maxDepth + 2)}`;
    assert.match(
      refused(deep).summary,
      /Exceeded maxDepth \(32\): the expression is too large or too deeply nested/,
    );
    const large = Array.from({ length: CEL_LIMITS.maxAstNodes }, () => 'event.amount > 1.0').join(' || ');
    assert.match(refused(large).summary, /Exceeded maxAstNodes \(1000\)/);
  });

  void it('ordinary campaign rules stay well inside the budget', () => {
    for (const src of [
      "customer.age >= 30 && customer.region == 'Bundang'",
      "'분유' in event.categories && event.categories.exists(c, c.contains('맥주')) && event.amount >= 50000",
      "size(event.categories) >= 3 && event.categories.exists(c, c in ['fruit', 'vegetables', 'fish'])",
      "ctx.recent.exists(e, e.type == 'purchase' && now.epochMs - e.occurredAtMs < 3600000.0)",
      'ctx.recent.exists(a, ctx.recent.exists(b, a.id != b.id && a.storeId == b.storeId))',
      "event.categories.exists(c, c.matches('^(수입 )?맥주$'))",
      "has(event.payload.receiptId) && event.payload.receiptId.startsWith('R-')",
      "ctx.category.exists(k, k.startsWith('beer') && ctx.category[k].d30.spend > 0.0)",
    ]) {
      const c = compileExpression(src);
      assert.ok(!isCelProblem(c), isCelProblem(c) ? c.message : '');
      assert.ok(c.cost <= CEL_LIMITS.maxCost / 4, `${src}: ${c.cost}`);
    }
  });

  void it('a hostile campaign is refused as a whole, the problem addressed by its path', () => {
    const hostile = campaign({
      id: 'hostile',
      audience: 'customer.age > 18.0',
      condition: 'event.skus.all(a, event.skus.all(b, a != b || a == b))',
      offers: [{ id: 'o1', title: 'x', value: 1, when: "event.storeName.matches('(x+x+)+y\\\\1')" }],
    });
    assert.throws(
      () => parseCampaign(hostile),
      (e: unknown) => {
        assert.ok(e instanceof CampaignInvalidError);
        assert.deepEqual(
          e.details.map((d) => d.path),
          ['condition', 'offers[0].when'],
        );
        assert.match(e.details[0].message, /^CEL cost error at line 1, column 1: costs up to/);
        assert.match(e.details[1].message, /^CEL regex error at line 1, column 25: matches\(\) takes an RE2/);
        return true;
      },
    );
  });
});

void describe('CEL budget: stopped at run time', () => {
  void it("matches() runs in linear time: ^(a+)+$ on 4,096 a's and a '!' answers at once", async () => {
    const out = await evaluateBounded("event.payload.note.matches('^(a+)+$')", {
      event: catastrophic(4_095),
    });
    assert.equal(out.value, false);
    assert.ok(out.ms < 500, `${out.ms} ms`);
  });

  void it('matches() keeps CEL semantics: a match anywhere, code points, Korean', () => {
    const e = event({ type: 'page_view', storeName: '분당 😀 점', payload: { url: '/' } });
    const vars = {
      event: new CelEvent(e),
      customer: new CelCustomer(null, e.customerId),
      ctx: new CelContext(context(e.customerId)),
      now: new CelNow(19, 5, 2, '2026-11-24', e.occurredAtMs, 'Asia/Seoul'),
    };
    for (const [src, expected] of [
      ["event.storeName.matches('당')", true],
      ["event.storeName.matches('^분당')", true],
      ["event.storeName.matches('^당')", false],
      ["event.storeName.matches('^분당 . 점$')", true],
      ["event.storeName.matches('(?i)^분당')", true],
      ["event.storeName.matches('^[가-힣]+ \\\\S+')", true],
    ] as const) {
      const c = compileExpression(src);
      assert.ok(!isCelProblem(c), src);
      assert.equal(c.run(vars), expected, src);
    }
  });

  void it('a pattern read from the profile runs on RE2 too, and an invalid one is an evaluation error', async () => {
    const e = catastrophic(0);
    const src = 'event.storeName.matches(customer.attributes.re)';
    const slow = await evaluateBounded(src, {
      event: e,
      customer: { id: 'c', attributes: { re: '^(a+)+$' } },
    });
    assert.equal(slow.value, false);
    const invalid = await evaluateBounded(src, {
      event: e,
      customer: { id: 'c', attributes: { re: '(?=a)' } },
    });
    assert.equal(invalid.error?.name, 'InvalidRegexError');
    assert.match(invalid.error?.message ?? '', /invalid regular expression: .*unsupported Perl syntax/);
  });

  void it('a comprehension over more data than the estimate assumed is stopped at the budget, nested loops too', async () => {
    const category: ContextSnapshot['category'] = {};
    for (let i = 0; i < 20_000; i++) category[`c${i}`] = windows();
    const recent = Array.from({ length: 20 }, (_, i) => ({
      id: `r${i}`,
      type: 'purchase',
      channel: 'pos',
      occurredAt: '2026-11-24T10:00:00Z',
      occurredAtMs: Date.parse('2026-11-24T10:00:00Z'),
      amount: i,
    }));
    const e = event({ type: 'visit' });
    const ctx = context(e.customerId, { category, recent });
    for (const src of [
      'ctx.category.exists(k, ctx.category[k].d30.spend > 100.0)',
      // exists() captures an error in its predicate and goes on: the meter must stop the outer loop as well
      'ctx.category.exists(k, [1.0, 2.0, 3.0].exists(x, x > 5.0))',
      'ctx.category.all(k, ctx.recent.size() == 0 || [1.0, 2.0].all(x, x > 0.0))',
    ]) {
      const compiled = compileExpression(src);
      assert.ok(!isCelProblem(compiled), 'accepted: the estimate assumes at most 1,000 categories');
      const out = await evaluateBounded(src, { event: e, ctx });
      assert.equal(out.error?.name, 'CelBudgetExceededError', src);
      assert.match(out.error?.message ?? '', /exceeded its budget of 100000 cost units/);
      assert.ok(out.ms < 1_000, `${src}: ${out.ms} ms`);
    }
  });

  void it('within the data the estimate assumed, the same rule runs to its answer', async () => {
    const category: ContextSnapshot['category'] = {};
    for (let i = 0; i < 1_000; i++) category[`c${i}`] = windows({ d30: { spend: i } });
    const e = event({ type: 'visit' });
    const out = await evaluateBounded('ctx.category.exists(k, ctx.category[k].d30.spend > 998.0)', {
      event: e,
      ctx: context(e.customerId, { category }),
    });
    assert.equal(out.value, true);
  });

  void it('in the engine, a campaign stopped by the meter loses with reason error; the others still decide', () => {
    const category: ContextSnapshot['category'] = {};
    for (let i = 0; i < 20_000; i++) category[`c${i}`] = windows();
    const e = purchase([{ category: 'beer', unitPrice: 1_000 }]);
    const set = new CampaignSet([
      compiled({
        id: 'runaway',
        priority: 90,
        condition: 'ctx.category.exists(k, ctx.category[k].d7.visits > 5.0)',
      }),
      compiled({ id: 'plain', priority: 10, condition: "'beer' in event.categories" }),
    ]);
    const started = performance.now();
    const ev = set.evaluate(input(e, null, { ctx: context(e.customerId, { category }) }));
    assert.deepEqual(
      ev.candidates.map((c) => c.campaignId),
      ['plain'],
    );
    const runaway = ev.losses.find((l) => l.campaignId === 'runaway');
    assert.equal(runaway?.reason, 'error');
    assert.match(
      runaway?.detail ?? '',
      /condition failed: CEL evaluation stopped: it exceeded its budget of 100000 cost units/,
    );
    assert.ok(performance.now() - started < LIMIT_MS);
  });
});
