#!/usr/bin/env node
import 'reflect-metadata';
import { Command } from 'commander';
import { migrate } from '@nunchi/cassandra';
import { ConfigError, projectPath } from '@nunchi/config';
import { ContractError } from '@nunchi/contracts';
import { CampaignInvalidError } from '@nunchi/rules';
import { Resources } from './resources.js';
import { applyCampaign, listCampaigns, setCampaignState, testCampaign } from './commands/campaigns.js';
import { formatReport, formatTimings, simulateCampaign } from './commands/simulate.js';
import { importCustomers } from './commands/customers.js';
import { eraseCustomer, formatReceipt } from './commands/erase.js';
import { explainDecisionById } from './commands/decisions.js';
import { sendEventsFile } from './commands/events.js';
import { tailOffers } from './commands/offers.js';
import { listDlq, preview, replayDlq } from './commands/dlq.js';

const program = new Command('nunchi')
  .description('Operate Nunchi: import customers, apply campaigns, send events, follow offers, explain decisions.')
  .showHelpAfterError()
  .addHelpText('after', '\nEnvironment: NATS_URL, CASSANDRA_CONTACT_POINTS and the rest are listed in the README.');

/** Runs a command with connections that are closed afterwards; known errors end with a message, not a stack. */
function action<A extends unknown[]>(fn: (resources: Resources, ...args: A) => Promise<void>) {
  return async (...args: A) => {
    let resources: Resources | undefined;
    try {
      resources = new Resources();
      await fn(resources, ...args);
    } catch (error) {
      const e = error as Error;
      if (e instanceof CampaignInvalidError || e instanceof ContractError) {
        process.stderr.write(`${e.message.split(':')[0]}:\n${e.details.map((d) => `  ${d.path || '(root)'}: ${d.message}`).join('\n')}\n`);
      } else {
        process.stderr.write(`${e instanceof ConfigError || e.name.endsWith('Error') ? e.message : String(e)}\n`);
      }
      process.exitCode = 1;
    } finally {
      await resources?.close().catch(() => undefined);
    }
  };
}

program
  .command('migrate')
  .description('apply cql/NNNN_*.cql migrations in order (idempotent; refuses edited applied files)')
  .action(
    action(async (r) => {
      const report = await migrate(r.config.cassandra, projectPath('cql'), (line) => console.log(line));
      console.log(`migrations: ${report.applied.length} applied, ${report.skipped.length} already applied`);
    }),
  );

const customers = program.command('customers').description('customer profiles');
customers
  .command('import <file>')
  .description('import profiles from NDJSON: id, age, gender, region, creditTier, attributes{}, loyaltyCard?, phone?, email?')
  .option('--move-identifiers', 'an identifier that belongs to another customer moves to the imported one (default: the line is rejected as a conflict)')
  .action(
    action(async (r, file: string, options: { moveIdentifiers?: boolean }) => {
      const report = await importCustomers(r, file, { moveIdentifiers: options.moveIdentifiers });
      console.log(
        `imported ${report.imported} customers in ${report.seconds.toFixed(1)} s (${report.rate}/s), ${report.rejected.length} rejected` +
          ` (${report.conflicts.length} identifier conflicts), ${report.moved.length} identifiers moved`,
      );
      for (const bad of report.rejected.slice(0, 20)) console.log(`  line ${bad.line}: ${bad.problems}`);
      for (const m of report.moved.slice(0, 20)) console.log(`  line ${m.line}: ${m.type} moved from customer ${m.owner}`);
      if (report.rejected.length) process.exitCode = 2;
    }),
  );

// ── customers erase ─────────────────────────────────────────────────────────────────────────────────────────
// Right to erasure: the same as DELETE /v1/customers/:id on the context service (docs/context-model.md, Erasure).
customers
  .command('erase <customerId>')
  .description('erase a customer everywhere (profile, identities, events, rollups, decisions, seen ids, hot tiers); prints rows removed per table; safe to repeat')
  .option('--json', 'print the receipt as JSON')
  .action(
    action(async (r, customerId: string, options: { json?: boolean }) => {
      const receipt = await eraseCustomer(r, customerId);
      console.log(options.json ? JSON.stringify(receipt) : formatReceipt(receipt).join('\n'));
    }),
  );
// ────────────────────────────────────────────────────────────────────────────────────────────────────────────

const campaigns = program.command('campaigns').description('campaigns as code');
campaigns
  .command('apply <file>')
  .description('validate, compile and store a campaign YAML as a new version; decision replicas reload within a second')
  .action(
    action(async (r, file: string) => {
      const result = await applyCampaign(r, file);
      console.log(result.changed ? `${result.id}: applied as version ${result.version}` : `${result.id}: unchanged (version ${result.version})`);
    }),
  );
campaigns
  .command('list')
  .description('current version and state of every campaign')
  .action(
    action(async (r) => {
      const list = await listCampaigns(r);
      if (!list.length) return console.log('no campaigns');
      for (const c of list) console.log(`${c.campaignId.padEnd(32)} v${String(c.version).padEnd(4)} ${c.state.padEnd(7)} applied ${c.appliedAt.toISOString()}`);
    }),
  );
campaigns
  .command('test <file>')
  .description('dry run: validate and compile the campaign, decide one event for one customer on their stored profile, context and caps, and explain every campaign; sends and writes nothing')
  .requiredOption('--event <file>', 'the event as JSON, as an adapter sends it (its customer reference is replaced by --customer)')
  .requiredOption('--customer <id>', 'customer id')
  .option('--with-live', 'arbitrate against the live campaigns too (the file replaces its stored version)')
  .option('--json', 'the evaluation as JSON')
  .action(
    action(async (r, file: string, options: { event: string; customer: string; withLive?: boolean; json?: boolean }) => {
      const report = await testCampaign(r, file, { eventFile: options.event, customerId: options.customer, withLive: options.withLive });
      console.log(options.json ? JSON.stringify(report.evaluation, null, 2) : report.lines.join('\n'));
    }),
  );
campaigns
  .command('simulate <target>')
  .description('replay stored events of a period through the live context fold and decision rules for a campaign (a YAML file as a draft, <id> as it ran, <id>@<version>); reads only: nothing is sent, written or claimed')
  .option('--from <date>', 'YYYY-MM-DD (local day, from its start) or an ISO-8601 instant (default: 30 days before --to)')
  .option('--to <date>', 'YYYY-MM-DD (local day, inclusive) or an ISO-8601 instant, exclusive (default: now)')
  .option('--with-live', 'compete with the campaigns live at each event, in their versions of that time (shows cannibalisation)')
  .option('--sample <percent>', 'only this percentage of customers (stable by customer id)', Number)
  .option('--out <file>', 'one NDJSON line per decision: eventId, customerId, occurredAt, campaignId, campaignVersion, offerId, outcome, reason')
  .option('--json', 'the report as JSON')
  .action(
    action(async (r, target: string, options: { from?: string; to?: string; withLive?: boolean; sample?: number; out?: string; json?: boolean }) => {
      const result = await simulateCampaign(r, target, { ...options, progress: process.stderr });
      const written = options.out ? { count: result.written, path: options.out } : undefined;
      process.stderr.write(`${formatTimings(result.timings)}\n`);
      console.log(options.json ? JSON.stringify(result.report, null, 2) : formatReport(result.report, written).join('\n'));
    }),
  );
for (const [verb, state] of [['pause', 'paused'], ['resume', 'active'], ['end', 'ended']] as const) {
  campaigns
    .command(`${verb} <id>`)
    .description(`${verb} a campaign (stored as a new version)`)
    .action(
      action(async (r, id: string) => {
        const result = await setCampaignState(r, id, state);
        console.log(`${id}: ${state} (version ${result.version})`);
      }),
    );
}

program
  .command('events')
  .description('events')
  .command('send <file>')
  .description('send NDJSON events through the NATS door (request on mkt.in.<channel>.<type>); reports accepted and rejected')
  .action(
    action(async (r, file: string) => {
      const report = await sendEventsFile(r, file);
      console.log(`accepted ${report.accepted} (${report.duplicates} duplicates), rejected ${report.rejected.length}, in ${report.seconds.toFixed(1)} s`);
      for (const bad of report.rejected.slice(0, 20)) console.log(`  line ${bad.line}${bad.id ? ` (${bad.id})` : ''}: ${bad.code} ${bad.details}`);
      if (report.rejected.length) process.exitCode = 2;
    }),
  );

program
  .command('offers')
  .description('offers')
  .command('tail')
  .description('print offers as adapters receive them, until Ctrl-C')
  .option('--channel <channel>', 'only this channel')
  .option('--store <storeId>', 'only this store')
  .option('--limit <n>', 'stop after n offers', (v) => Number.parseInt(v, 10))
  .option('--json', 'one JSON object per line')
  .action(
    action(async (r, options: { channel?: string; store?: string; limit?: number; json?: boolean }) => {
      await tailOffers(r, options, (offer, subject) =>
        console.log(options.json ? JSON.stringify(offer) : `${offer.decidedAt} ${subject} ${offer.customerId} ← ${offer.campaignId}/${offer.offerId} "${offer.title}" (${offer.latencyMs} ms, trace ${offer.traceId})`),
      );
    }),
  );

program
  .command('decisions')
  .description('decisions')
  .command('explain <decisionId>')
  .description('why a decision came out as it did: versions, inputs, the chosen offer and why every other candidate lost')
  .action(
    action(async (r, id: string) => {
      for (const line of await explainDecisionById(r, id)) console.log(line);
    }),
  );

// ---- dlq: rejected input kept in the DLQ stream (apps/cli/src/commands/dlq.ts) -------------------------
const dlq = program.command('dlq').description('rejected input, kept in the DLQ stream with its bytes, subject, reason and time');
dlq
  .command('list')
  .description('the newest rejected inputs, oldest first, with whether a replay got them accepted')
  .option('--stage <stage>', 'ingestion | context | decision | analytics (default: all)')
  .option('--limit <n>', 'at most n entries (default 20)', (v) => Number.parseInt(v, 10))
  .option('--json', 'one JSON object per line (bytes as base64)')
  .action(
    action(async (r, options: { stage?: string; limit?: number; json?: boolean }) => {
      const entries = await listDlq(r, options);
      if (!entries.length) return console.log('the DLQ is empty');
      for (const e of entries) {
        if (options.json) {
          console.log(JSON.stringify({ ...e, data: Buffer.from(e.data).toString('base64') }));
          continue;
        }
        const status = e.replayed ? ` [replayed: accepted as ${e.replayed.id}]` : e.replayOf !== undefined ? ` [failed replay of #${e.replayOf}]` : '';
        console.log(`#${e.seq} ${e.at} ${e.stage} ${e.subject}${status}\n    reason: ${e.reason}\n    ${e.data.length} bytes: ${preview(e.data)}`);
      }
    }),
  );
dlq
  .command('replay')
  .description('send ingestion-stage entries through the NATS door again (after a fix) and report each outcome; an accepted entry is never replayed twice')
  .option('--stage <stage>', 'only ingestion entries can be replayed (default: ingestion)')
  .option('--seq <n>', 'only the entry with this DLQ sequence', (v) => Number.parseInt(v, 10))
  .action(
    action(async (r, options: { stage?: string; seq?: number }) => {
      const results = await replayDlq(r, options);
      if (!results.length) return console.log('nothing to replay');
      for (const x of results) console.log(`#${x.seq} ${x.subject}: ${x.outcome} — ${x.detail}`);
      const count = (o: string) => results.filter((x) => x.outcome === o).length;
      console.log(`accepted ${count('accepted')}, rejected again ${count('rejected')}, skipped ${count('skipped')}, no answer ${count('no-answer')}`);
      if (count('rejected') || count('no-answer')) process.exitCode = 2;
    }),
  );
// ---- end dlq ---------------------------------------------------------------------------------------------

await program.parseAsync(process.argv);
