import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CampaignSet, contextKeysReadBy, contextPartsReadBy } from './campaign-set.js';
import { compileExpression, isCelProblem } from './cel-expression.js';
import { compiled, context, input, profile, purchase } from './testing/fixtures.js';

const keysOf = (source: string) => {
  const e = compileExpression(source);
  assert.ok(!isCelProblem(e), source);
  return Object.fromEntries([...e.contextKeys].map(([part, names]) => [part, [...names].sort()]));
};

const fields = (source: string) => {
  const e = compileExpression(source);
  assert.ok(!isCelProblem(e), source);
  return [...e.contextFields].sort();
};

void describe('the context parts campaigns read (what ENRICHED carries)', () => {
  void it('finds the fields of ctx an expression reads, and `*` for ctx used otherwise', () => {
    assert.deepEqual(fields('ctx.category.beer.d30.spend > 0 && ctx.all.d7.visits > 1'), ['all', 'category']);
    assert.deepEqual(fields("ctx['recent'].size() > 0"), ['recent']);
    assert.deepEqual(fields('ctx.recent.exists(e, e.type == "purchase")'), ['recent']);
    assert.deepEqual(fields("'ctx.recent' == event.type"), [], 'a string is not a read');
    assert.deepEqual(fields("ctx[event.type == 'purchase' ? 'store' : 'channel'].size() > 0"), ['*']);
    assert.deepEqual(fields("customer.region == 'Bundang'"), []);
  });

  void it('collects the omittable parts over audience, condition, offers and suppressAfterDismissDays', () => {
    assert.deepEqual(
      [
        ...contextPartsReadBy([
          compiled({ id: 'a', audience: 'ctx.category.beer.d30.purchases > 0' }),
          compiled({
            id: 'b',
            condition: 'ctx.all.d7.purchases > 0',
            offers: [{ id: 'x', title: 'x', value: 1, when: 'ctx.store.s1.d30.visits > 2' }],
          }),
          compiled({ id: 'c', caps: { suppressAfterDismissDays: 7 } }),
        ]),
      ].sort(),
      ['category', 'responses', 'store'],
      'all is always carried; channel and recent are read by nobody',
    );
    assert.equal(
      contextPartsReadBy([compiled({ id: 'd', audience: 'ctx[customer.region].size() >= 0' })]).size,
      5,
      'a computed key may be any part: all of them',
    );
    const set = new CampaignSet([
      compiled({ id: 'paused', audience: 'ctx.recent.size() > 0', state: 'paused' }),
    ]);
    assert.equal(set.contextPartsRead.size, 0, 'only active campaigns count');
  });

  void it('finds the maps by name read only by literal names, with the names', () => {
    assert.deepEqual(keysOf("ctx.category.beer.d30.spend > ctx.category['wine'].d7.spend"), {
      category: ['beer', 'wine'],
    });
    assert.deepEqual(keysOf("ctx['store']['s1'].d7.visits > 0 && has(ctx.channel.app)"), {
      store: ['s1'],
      channel: ['app'],
    });
    assert.deepEqual(keysOf("ctx.category['맥주'].d7.items > 0"), { category: ['맥주'] });
    for (const whole of [
      'size(ctx.category) > 2 && ctx.category.beer.d7.spend > 0',
      "'beer' in ctx.category",
      'ctx.category.exists(k, k == "beer")',
      'ctx.store[event.storeId].d30.visits > 1',
      'ctx[customer.region].size() > 0 && ctx.category.beer.d7.spend > 0',
    ])
      assert.deepEqual(keysOf(whole), {}, `${whole}: read whole`);
    assert.deepEqual(fields('ctx.store[event.storeId].d30.visits > 1'), ['store']);
  });

  void it('collects the names over campaigns; a map any campaign reads whole is carried whole', () => {
    const names = (...audiences: string[]) =>
      Object.fromEntries(
        [...contextKeysReadBy(audiences.map((audience, i) => compiled({ id: `c${i}`, audience })))].map(
          ([part, n]) => [part, [...n].sort()],
        ),
      );
    assert.deepEqual(names('ctx.category.beer.d7.items > 0', "ctx.category['wine'].d7.items > 0"), {
      category: ['beer', 'wine'],
    });
    assert.deepEqual(names('ctx.category.beer.d7.items > 0', 'size(ctx.category) > 3'), {});
    assert.deepEqual(
      names('ctx.category.beer.d7.items > 0', 'ctx.store.s1.d7.visits > 0', 'ctx[customer.region] == ctx'),
      {},
    );
    const set = new CampaignSet([compiled({ id: 'a', audience: 'ctx.category.beer.d7.items > 0' })]);
    assert.deepEqual([...set.contextPartsRead], ['category'], 'the map is carried, in part');
    assert.deepEqual([...(set.contextKeysRead.get('category') ?? [])], ['beer']);
  });

  void it('a map carried for some names: those read as usual, zero when the customer has none; any other use is an error loss', () => {
    const set = new CampaignSet([
      compiled({ id: 'reads-beer', audience: 'ctx.category.beer.d30.purchases == 0' }),
      compiled({ id: 'reads-wine', audience: 'ctx.category.wine.d30.purchases == 0' }),
      compiled({ id: 'counts-categories', audience: 'size(ctx.category) >= 0' }),
      compiled({ id: 'iterates-categories', audience: 'ctx.category.all(k, ctx.category[k].d7.spend >= 0)' }),
      compiled({ id: 'tests-wine', audience: "!('wine' in ctx.category)" }),
    ]);
    const e = purchase([{ category: 'beer', quantity: 1, unitPrice: 1_000 }]);
    const partial = context(e.customerId, { category: {}, carriedKeys: { category: ['beer'] } });
    const ev = set.evaluate(input(e, profile(e.customerId), { ctx: partial }));
    assert.deepEqual(
      ev.candidates.map((c) => c.campaignId),
      ['reads-beer'],
      'beer carried, none bought: a zero',
    );
    const lost = new Map(ev.losses.map((l) => [l.campaignId, l]));
    assert.match(lost.get('reads-wine')?.detail ?? '', /ctx\.category\['wine'\] was not carried/);
    for (const id of ['counts-categories', 'iterates-categories'])
      assert.match(lost.get(id)?.detail ?? '', /ctx\.category was carried only for 'beer'/, id);
    assert.match(lost.get('tests-wine')?.detail ?? '', /ctx\.category\['wine'\] was not carried/);
    for (const l of ev.losses) assert.equal(l.reason, 'error', l.campaignId);
  });

  void it('a part left out is an error loss naming it, never a zero — in CEL and for dismissals', () => {
    const set = new CampaignSet([
      compiled({ id: 'reads-recent', audience: 'ctx.recent.size() == 0' }),
      compiled({ id: 'reads-category', audience: 'ctx.category.beer.d30.purchases == 0' }),
      compiled({ id: 'rests-after-dismissal', caps: { suppressAfterDismissDays: 7 } }),
      compiled({ id: 'reads-all', audience: 'ctx.all.d30.purchases == 0' }),
    ]);
    const e = purchase([{ category: 'beer', quantity: 1, unitPrice: 1_000 }]);
    const left = context(e.customerId, {
      recent: [],
      category: {},
      responses: {},
      omitted: ['store', 'category', 'channel', 'recent', 'responses'],
    });
    const ev = set.evaluate(input(e, profile(e.customerId), { ctx: left }));
    const lost = new Map(ev.losses.map((l) => [l.campaignId, l]));
    for (const [id, part] of [
      ['reads-recent', 'recent'],
      ['reads-category', 'category'],
      ['rests-after-dismissal', 'responses'],
    ]) {
      assert.equal(lost.get(id)?.reason, 'error', id);
      assert.match(lost.get(id)?.detail ?? '', new RegExp(`ctx\\.${part} was not carried`), id);
    }
    assert.deepEqual(
      ev.candidates.map((c) => c.campaignId),
      ['reads-all'],
      'a campaign reading only what is carried is decided as usual',
    );
    // the same parts carried: the same campaigns decided on them
    const carried = set.evaluate(
      input(e, profile(e.customerId), {
        ctx: context(e.customerId, {
          recent: [{ id: 'r1', type: 'purchase', channel: 'pos', occurredAt: '2026-11-20T10:00:00+09:00' }],
        }),
      }),
    );
    assert.deepEqual(carried.candidates.map((c) => c.campaignId).sort(), [
      'reads-all',
      'reads-category',
      'rests-after-dismissal',
    ]);
  });
});
