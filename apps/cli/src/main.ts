#!/usr/bin/env node
import { Command, CommanderError, Option } from 'commander';
import { EXIT_CODES, EXIT_CODES_HELP, integerOption, UsageError } from './options.js';
import type { Actor } from '@nunchi/campaigns-model';
import type { BudgetChecksFile } from './commands/simulate.js';
import type { CampaignOperations } from './commands/campaign-operations.js';
import type { Resources } from './resources.js';
import type { DataStep } from '@nunchi/cassandra';
import { CAMPAIGN_STATUSES } from './campaign-statuses.js';

// Each command loads only what it runs, when it runs (`await import(…)` in its action): `nunchi --help` and
// usage errors load nothing, and `nunchi keys list` neither Nest, NATS nor the campaign engine
// (docs/architecture.md, "Build and modules").

/** `nunchi <command> --help` ends with these examples. */
const examples = (...lines: string[]) => `\nExamples:\n${lines.map((l) => `  $ ${l}`).join('\n')}\n`;

const program = new Command('nunchi')
  .description(
    'Operate Nunchi: import customers, apply campaigns, send events, follow offers, explain decisions.',
  )
  .showHelpAfterError()
  // Every usage error commander finds (unknown option, missing argument, a value an option parser refuses)
  // exits with EXIT_CODES.usage; help and --version exit 0.
  .exitOverride((error: CommanderError) => {
    process.exit(error.exitCode === 0 ? EXIT_CODES.ok : EXIT_CODES.usage);
  })
  .addHelpText(
    'after',
    `${examples(
      'nunchi migrate',
      'nunchi customers import demo/customers.ndjson',
      'nunchi campaigns apply campaigns/examples/bundang-dad-beer.yaml',
      'nunchi events send events.ndjson',
      'nunchi offers tail --limit 5',
      'nunchi decisions list --customer c-000042',
      'nunchi stats --campaign bundang-dad-beer',
    )}${EXIT_CODES_HELP}\n\nEnvironment: NATS_URL, CASSANDRA_CONTACT_POINTS and the rest are listed in the README.\n` +
      'Every command has --help with examples.',
  );

/** Runs a command with connections that are closed afterwards; known errors end with a message, not a stack. */
function action<A extends unknown[]>(fn: (resources: Resources, ...args: A) => Promise<void>) {
  return async (...args: A) => {
    const { ContractError } = await import('@nunchi/contracts/core');
    const { Resources } = await import('./resources.js');
    let resources: Resources | undefined;
    try {
      resources = new Resources();
      await fn(resources, ...args);
    } catch (error) {
      const e = error as Error;
      if (e instanceof UsageError) {
        process.stderr.write(`error: ${e.message}\n(run with --help for usage)\n`);
        process.exitCode = EXIT_CODES.usage;
        return;
      }
      if (e instanceof ContractError) {
        process.stderr.write(
          `${e.code}:\n${e.details.map((d) => `  ${d.path || '(root)'}: ${d.message}`).join('\n')}\n`,
        );
      } else {
        // our errors (ConfigError, CampaignInvalidError, …) carry the whole message; a bare throw says what it is
        process.stderr.write(`${e.name.endsWith('Error') ? e.message : String(e)}\n`);
      }
      process.exitCode = EXIT_CODES.failure;
    } finally {
      await resources?.close().catch(() => undefined);
    }
  };
}

program
  .command('migrate')
  .description(
    'apply cql/NNNN_*.cql migrations in order (idempotent; refuses edited applied files), then the JetStream streams (nunchi streams apply)',
  )
  .option('--no-streams', 'Cassandra only: leave the JetStream streams as they are')
  .addHelpText(
    'after',
    examples(
      'nunchi migrate',
      'CASSANDRA_KEYSPACE=nunchi_staging nunchi migrate',
      'nunchi migrate --no-streams',
    ),
  )
  .action(
    action(async (r, options: { streams: boolean }) => {
      const { migrate } = await import('@nunchi/cassandra');
      const { asMigrator, projectPath } = await import('@nunchi/config');
      const { applyStreamLayout, formatLayout } = await import('./commands/streams.js');
      // The key only hashes identifiers (cql/0018) and seals profiles (cql/0022) an earlier version stored in
      // clear, if there are any.
      // On the local node (its passwords in .nunchi/cassandra-auth), as the migrator rather than the operator.
      const report = await migrate(
        asMigrator(r.config.cassandra),
        projectPath('cql'),
        (line) => console.log(line),
        {
          identityKey: r.config.domain.identityKey,
          previousIdentityKeys: r.config.domain.previousIdentityKeys,
        },
      );
      console.log(`migrations: ${report.applied.length} applied, ${report.skipped.length} already applied`);
      if (!options.streams) return;
      for (const line of formatLayout(await applyStreamLayout(r))) console.log(`stream ${line}`);
    }),
  );

// ---- streams: the JetStream layout, owned by the migration step (apps/cli/src/commands/streams.ts) ----------
const streams = program
  .command('streams')
  .description(
    'the JetStream streams: created and changed only here (and by migrate); services check them at start',
  )
  .addHelpText('after', examples('nunchi streams check', 'NUNCHI_STREAM_REPLICAS=3 nunchi streams apply'));
streams
  .command('apply')
  .description(
    'create missing streams and bring replicas, byte limits and the duplicate window to this configuration',
  )
  .action(
    action(async (r) => {
      const { applyStreamLayout, formatLayout } = await import('./commands/streams.js');
      for (const line of formatLayout(await applyStreamLayout(r))) console.log(line);
    }),
  );
streams
  .command('check')
  .description(
    'check the streams as a service does at start (exist, enough replicas, same partitions); change nothing',
  )
  .action(
    action(async (r) => {
      const { checkStreamLayout, formatLayout } = await import('./commands/streams.js');
      for (const line of formatLayout(await checkStreamLayout(r))) console.log(line);
      console.log('streams ok');
    }),
  );
streams
  .command('replay <stream>')
  .description(
    'have every process consuming a stream (EVENTS, ENRICHED or DECISIONS) replay it by store time, as a consumer does when it finds its history rewound; what each handles again, it handles once',
  )
  .addHelpText(
    'after',
    `${examples('nunchi streams replay EVENTS')}
Each consumer of the stream, in every process that is up, is recreated from 15 minutes before the last
message it handled. For when nunchi_consumer_rewinds_total moved (docs/reliability.md, "Frozen processes"):
a rewound history can leave messages below some consumers' positions, and a consumer that did not see the
rewind itself never reaches them. A hint on NATS, not a job: the services log "… replaying <stream> by time,
as <you> asked". Audited as a replay (permission dlq.replay).`,
  )
  .action(
    action(async (r, stream: string) => {
      const { replayStream } = await import('./commands/streams.js');
      const { audited, cliCaller } = await import('./commands/cli-caller.js');
      const caller = await cliCaller(r);
      const name = await audited(
        r,
        caller,
        { permission: 'dlq.replay', command: 'streams replay', target: stream.toUpperCase() },
        () => replayStream(r, stream, `${caller.name} (${caller.origin})`),
      );
      console.log(
        `asked every process consuming ${name} to replay it by store time, from 15 minutes before the last message each consumer handled`,
      );
    }),
  );

const customers = program
  .command('customers')
  .description('customer profiles')
  .addHelpText(
    'after',
    examples('nunchi customers import customers.ndjson', 'nunchi customers erase c-000042'),
  );
customers
  .command('import <file>')
  .description(
    'import profiles (and identities) from NDJSON, one customer per line; bad lines are reported, the rest imported',
  )
  .option(
    '--move-identifiers',
    'an identifier that belongs to another customer moves to the imported one (default: the line is rejected as a conflict)',
  )
  .addHelpText(
    'after',
    `
Fields of an import line (a JSON object; only id is required):
  id                string, 1-64 of [A-Za-z0-9_-]: the customer id
  age               integer 0-130, years
  gender            "M" | "F" | "X"
  region            string, at most 64 characters
  creditTier        string, at most 8 characters
  marketingConsent  boolean: consent to marketing on every channel not named in channelConsent
  channelConsent    object of channel to boolean, e.g. {"app": false}: at most 20 channels
  attributes        object of string values: at most 50, keys <= 64 and values <= 256 characters
  loyaltyCard       identity: printable ASCII without spaces, 1-64 characters
  phone             identity: 6-24 digits
  email             identity: an address, at most 254 characters
  deviceId          identity: printable ASCII without spaces, 1-128 characters
Events may name the customer by any of the identities instead of the id. Identities are stored only as
HMAC under the identity key (NUNCHI_IDENTITY_SECRET), never as given.
${examples(
  'nunchi customers import demo/customers.ndjson',
  `echo '{"id":"c-000042","age":34,"gender":"M","region":"Bundang","loyaltyCard":"LC-1"}' > one.ndjson && nunchi customers import one.ndjson`,
)}
Exit code 3 when some lines were rejected (they are listed with line number and problem).`,
  )
  .action(
    action(async (r, file: string, options: { moveIdentifiers?: boolean }) => {
      const { importCustomers } = await import('./commands/customers.js');
      const report = await importCustomers(r, file, { moveIdentifiers: options.moveIdentifiers });
      console.log(
        `imported ${report.imported} customers in ${report.seconds.toFixed(1)} s (${report.rate}/s), ${report.rejected.length} rejected` +
          ` (${report.conflicts.length} identifier conflicts), ${report.moved.length} identifiers moved`,
      );
      for (const bad of report.rejected.slice(0, 20)) console.log(`  line ${bad.line}: ${bad.problems}`);
      for (const m of report.moved.slice(0, 20))
        console.log(`  line ${m.line}: ${m.type} moved from customer ${m.owner}`);
      if (report.rejected.length) process.exitCode = EXIT_CODES.rejected;
    }),
  );

// ── customers erase ─────────────────────────────────────────────────────────────────────────────────────────
// Right to erasure: the same as DELETE /v1/customers/:id on the context service (docs/context-model.md, Erasure).
customers
  .command('erase <customerId>')
  .description(
    'erase a customer everywhere (profile, identities, events, rollups, decisions, seen ids, hot tiers); prints rows removed per table; safe to repeat',
  )
  .option('--json', 'print the receipt as JSON')
  .option(
    '--force',
    'erase even an id with no profile, no events and no earlier erasure (leaves a tombstone that refuses its events)',
  )
  .addHelpText(
    'after',
    `${examples('nunchi customers erase c-000042', 'nunchi customers erase c-000042 --json', 'nunchi customers erase known-only-to-crm-7 --force')}
An unknown id is refused (exit code 1) unless --force is given: the tombstone is permanent.`,
  )
  .action(
    action(async (r, customerId: string, options: { json?: boolean; force?: boolean }) => {
      const { eraseCustomer, formatReceipt } = await import('./commands/erase.js');
      const { audited, cliCaller } = await import('./commands/cli-caller.js');
      const receipt = await audited(
        r,
        await cliCaller(r),
        { permission: 'customers.erase', command: 'customers erase', target: customerId },
        () => eraseCustomer(r, customerId, { force: options.force }),
      );
      console.log(options.json ? JSON.stringify(receipt) : formatReceipt(receipt).join('\n'));
    }),
  );

/**
 * A migration's data step again, as `nunchi customers <name>`: after an upgrade during which replicas of the
 * previous version still wrote the old way. Prints the line the migration logs for the step.
 */
function dataStepCommand(name: string, step: DataStep, description: string, reads: string): void {
  customers
    .command(name)
    .description(
      `${description} (nunchi migrate does it once; run this if replicas of that version wrote after the migration); safe to repeat`,
    )
    .addHelpText(
      'after',
      `${examples(`nunchi customers ${name}`)}
Needs the identity key the services use (NUNCHI_IDENTITY_SECRET, NUNCHI_IDENTITY_KEY_ID; previous keys in
NUNCHI_IDENTITY_PREVIOUS_KEYS). Reads ${reads} once; prints what it did.`,
    )
    .action(
      action(async (r) => {
        const { runDataStep } = await import('@nunchi/cassandra');
        const { identityKey, previousIdentityKeys } = r.config.domain;
        console.log(
          await runDataStep(step, await r.cassandra(), { identityKey, previousIdentityKeys }, (line) =>
            console.log(line),
          ),
        );
      }),
    );
}

// Migration 0018's data step (docs/security.md, "Upgrading from identifiers stored in clear").
dataStepCommand(
  'hash-identifiers',
  'keyed_identifiers',
  'hash loyalty cards and device ids an earlier version stored in clear',
  'the whole identities table',
);
// Migration 0022's data step (docs/security.md, "Cassandra's rows").
dataStepCommand(
  'seal-profiles',
  'sealed_profiles',
  "seal profiles an earlier version stored in clear under their customers' data keys",
  'the whole customers table',
);
// Migration 0023's data step (docs/security.md, "Analytics' rows").
dataStepCommand(
  'pseudonymise-analytics',
  'analytics_pseudonyms',
  "move analytics rows an earlier version stored under customer ids under the customers' pseudonyms",
  'the four analytics tables',
);

// ── customers rewrap-keys ───────────────────────────────────────────────────────────────────────────────────
// The last step of an identity-key rotation (docs/security.md, "Rotating the identity key").
customers
  .command('rewrap-keys')
  .description(
    "wrap every customer's data key still under a previous identity key again under the current one, so the previous key can be dropped; safe under traffic and to repeat",
  )
  .option('--dry-run', 'count what would be re-wrapped; write nothing')
  .option('--json', 'print the report as JSON')
  .addHelpText(
    'after',
    `${examples('nunchi customers rewrap-keys --dry-run', 'nunchi customers rewrap-keys')}
Needs the new identity key as the current one (NUNCHI_IDENTITY_SECRET, NUNCHI_IDENTITY_KEY_ID) and the old
ones in NUNCHI_IDENTITY_PREVIOUS_KEYS. Reads the whole customer_keys table once; the data keys themselves do
not change, so everything sealed under them still opens. Exit code 3 when some keys are wrapped under an
identity key it was not given (they are left as they are, and listed by key id).`,
  )
  .action(
    action(async (r, options: { dryRun?: boolean; json?: boolean }) => {
      const { rewrapDataKeys } = await import('@nunchi/cassandra');
      const { identityKeys } = await import('@nunchi/config');
      const report = await rewrapDataKeys(await r.cassandra(), identityKeys(r.config), {
        dryRun: options.dryRun,
        log: (line) => console.error(line),
      });
      const unopenable = Object.entries(report.unopenable);
      if (options.json) console.log(JSON.stringify(report));
      else {
        console.log(
          `${report.scanned} data keys: ${report.current} under ${report.kekId} already, ${report.rewrapped} ${report.dryRun ? `to re-wrap under ${report.kekId} (dry run: nothing written)` : `re-wrapped under ${report.kekId}`}` +
            (report.changedMeanwhile ? `, ${report.changedMeanwhile} erased or re-wrapped meanwhile` : ''),
        );
        for (const [kekId, n] of unopenable)
          console.log(
            `  ${n} under identity key "${kekId}", which was not given (NUNCHI_IDENTITY_PREVIOUS_KEYS) or does not open them: left as they are`,
          );
      }
      if (unopenable.length) process.exitCode = EXIT_CODES.rejected;
    }),
  );
// ────────────────────────────────────────────────────────────────────────────────────────────────────────────

const campaigns = program
  .command('campaigns')
  .description('campaigns as code: drafts, versions, lifecycle, dry runs and simulation on history')
  .addOption(
    new Option(
      '--actor <name>',
      'who makes the change, for the audit log (unverified; default: the OS user). With NUNCHI_API_KEY set, the key names the caller instead, verified',
    ).env('NUNCHI_ACTOR'),
  )
  .addHelpText(
    'after',
    `${examples(
      'nunchi campaigns apply campaigns/examples/bundang-dad-beer.yaml',
      'nunchi campaigns draft my-campaign.yaml && nunchi campaigns activate my-campaign',
      'nunchi campaigns list',
      'nunchi campaigns history bundang-dad-beer',
    )}
Lifecycle (docs/campaigns.md, "Lifecycle"): draft → active (scheduled until its schedule begins) ⇄ paused → ended → archived.
Every change is written to the audit log (\`nunchi audit\`) and the campaign's trail: by the holder of
NUNCHI_API_KEY when it is set (verified against the key store; its role must allow the change, as over HTTP),
else by --actor (or NUNCHI_ACTOR, else the OS user), marked unverified. With NUNCHI_API_URL set too, list,
show, history, diff, draft, discard, validate, activate, pause, resume, end, archive and rollback go over the HTTP API
instead of the database (docs/security.md, "API keys"); apply is refused there (draft, then activate).`,
  );
/** Who makes a campaign change: NUNCHI_API_KEY's holder, verified, else --actor (before or after the subcommand). */
const campaignCaller = async (r: Resources) =>
  (await import('./commands/cli-caller.js')).cliCaller(r, campaigns.opts<{ actor?: string }>().actor);

/**
 * A campaign change, checked against the caller's role and written to the audit log (cli-caller.ts) — or,
 * with NUNCHI_API_URL set, sent to the campaigns HTTP API, which checks NUNCHI_API_KEY's role and audits it.
 */
async function campaignChange<T>(
  r: Resources,
  change: {
    permission: 'campaigns.draft' | 'campaigns.activate';
    command: string;
    target?: string;
    targetOf?: (result: NoInfer<T>) => string;
    detailOf?: (result: NoInfer<T>) => string | undefined;
  },
  run: (ops: CampaignOperations, actor: Actor) => Promise<T>,
): Promise<T> {
  const ops = await campaignOps(r);
  if (ops.remote) {
    // the service names the verified caller; the actor is not sent
    const { cliActor } = await import('./commands/campaigns.js');
    return run(ops, cliActor(campaigns.opts<{ actor?: string }>().actor));
  }
  const { actorOf, audited } = await import('./commands/cli-caller.js');
  const caller = await campaignCaller(r);
  return audited(r, caller, change, () => run(ops, actorOf(caller)));
}

/** Campaigns over the database, or over the HTTP API with NUNCHI_API_URL (commands/campaign-operations.ts). */
const campaignOps = async (r: Resources): Promise<CampaignOperations> =>
  (await import('./commands/campaign-operations.js')).campaignOperations(r);

campaigns
  .command('apply <file>')
  .description(
    'validate, compile and store a campaign YAML as its next version at once (campaigns as code); decision replicas reload within a second',
  )
  .addHelpText(
    'after',
    `${examples('nunchi campaigns apply campaigns/examples/bundang-dad-beer.yaml', 'nunchi campaigns --actor kim apply my-campaign.yaml')}
A file without \`state\` keeps the campaign's stored state (a paused campaign stays paused); a new campaign
starts active. An ended campaign stays ended (ending is final): use a new id. A draft of the campaign, if
any, is left alone (activating it later is refused until --force, since this version is newer than its base).`,
  )
  .action(
    action(async (r, file: string) => {
      if (r.config.auth.cliApiUrl !== undefined)
        throw new UsageError(
          'campaigns apply stores a version at once, which the HTTP API (NUNCHI_API_URL) does not: there a version is a draft activated — nunchi campaigns draft <file>, then nunchi campaigns activate <id>',
        );
      const { applyCampaign } = await import('./commands/campaigns.js');
      const result = await campaignChange(
        r,
        {
          permission: 'campaigns.activate',
          command: 'campaigns apply',
          target: file,
          targetOf: (x) => x.id,
          detailOf: (x) => (x.changed ? `version ${x.version} (${x.state}) from ${file}` : 'unchanged'),
        },
        (_ops: CampaignOperations, actor: Actor) => applyCampaign(r, file, actor),
      );
      console.log(
        result.changed
          ? `${result.id}: applied as version ${result.version} (${result.state})`
          : `${result.id}: unchanged (version ${result.version}, ${result.state})`,
      );
    }),
  );
campaigns
  .command('draft <file>')
  .description(
    'save a campaign YAML as the draft of its campaign (created or replaced): checked and reported, never seen by a decision replica',
  )
  .option(
    '--revision <n>',
    'the draft revision this edit was made from: refused if the draft changed since',
    integerOption(1),
  )
  .addHelpText(
    'after',
    `${examples(
      'nunchi campaigns draft my-campaign.yaml',
      'nunchi campaigns show bundang-dad-beer > dad.yaml && $EDITOR dad.yaml && nunchi campaigns draft dad.yaml',
    )}
A draft with problems is saved all the same (work in progress) and its problems printed (exit code 3);
activation refuses it until they are fixed. Then: validate, test, simulate <id>@draft, activate.`,
  )
  .action(
    action(async (r, file: string, options: { revision?: number }) => {
      const { problemsText } = await import('@nunchi/campaigns-model/definitions');
      const { readText } = await import('./commands/campaigns.js');
      const source = await readText(file);
      const saved = await campaignChange(
        r,
        {
          permission: 'campaigns.draft',
          command: 'campaigns draft',
          target: file,
          targetOf: (x) => x.campaignId,
          detailOf: (x) => `draft revision ${x.revision}`,
        },
        (ops: CampaignOperations, actor: Actor) =>
          ops.saveDraft(source, { revision: options.revision }, actor),
      );
      console.log(
        `${saved.campaignId}: draft saved as revision ${saved.revision}${saved.baseVersion ? ` (started from v${saved.baseVersion})` : ' (a new campaign)'}`,
      );
      if (saved.problems.length) {
        process.stderr.write(`${problemsText(saved.campaignId, saved.problems)}\n`);
        process.exitCode = EXIT_CODES.rejected;
      }
    }),
  );
campaigns
  .command('discard <id>')
  .description("throw a campaign's draft away (its versions are untouched)")
  .option('--revision <n>', 'only if the draft is still at this revision', integerOption(1))
  .addHelpText('after', examples('nunchi campaigns discard bundang-dad-beer'))
  .action(
    action(async (r, id: string, options: { revision?: number }) => {
      const result = await campaignChange(
        r,
        {
          permission: 'campaigns.draft',
          command: 'campaigns discard',
          target: id,
          detailOf: (x) => `draft revision ${x.revision}`,
        },
        (ops: CampaignOperations, actor: Actor) =>
          ops.discardDraft(id, { revision: options.revision }, actor),
      );
      console.log(`${id}: draft revision ${result.revision} discarded`);
    }),
  );
campaigns
  .command('validate <target>')
  .description("check a file, or a campaign's draft (<id>), as activation would: every problem by path")
  .addHelpText(
    'after',
    `${examples('nunchi campaigns validate my-campaign.yaml', 'nunchi campaigns validate bundang-dad-beer')}\nExit code 1 when there are problems.`,
  )
  .action(
    action(async (r, target: string) => {
      const { looksLikeFile, readText } = await import('./commands/campaigns.js');
      const { validateCampaignSource } = await import('@nunchi/operations');
      // A file needs no database; a stored draft is read from Cassandra, or asked of the campaigns API.
      const result = looksLikeFile(target)
        ? validateCampaignSource(await readText(target), r.config.domain.timeZone)
        : await (await campaignOps(r)).validateDraft(target);
      if (result.valid) console.log(`${result.campaignId}: valid`);
      else {
        process.stderr.write(`${result.text}\n`);
        process.exitCode = EXIT_CODES.failure;
      }
    }),
  );
campaigns
  .command('activate <id>')
  .description(
    "make the campaign's draft its next version, active (or scheduled until its schedule begins); decision replicas load it within a second",
  )
  .option('--revision <n>', 'only if the draft is still at this revision', integerOption(1))
  .option(
    '--force',
    'activate even though the campaign got a version since the draft was started (that change is replaced)',
  )
  .addHelpText(
    'after',
    examples(
      'nunchi campaigns activate bundang-dad-beer',
      'nunchi campaigns diff bundang-dad-beer current draft && nunchi campaigns activate bundang-dad-beer --force',
    ),
  )
  .action(
    action(async (r, id: string, options: { revision?: number; force?: boolean }) => {
      const result = await campaignChange(
        r,
        {
          permission: 'campaigns.activate',
          command: 'campaigns activate',
          target: id,
          detailOf: (x) => `draft revision ${x.draftRevision} as version ${x.version} (${x.status})`,
        },
        (ops: CampaignOperations, actor: Actor) => ops.activate(id, options, actor),
      );
      console.log(
        `${id}: draft revision ${result.draftRevision} activated as version ${result.version} (${result.status})`,
      );
    }),
  );
campaigns
  .command('rollback <id> <version>')
  .description('activate an earlier version again, as the next version (history is never rewritten)')
  .addHelpText('after', examples('nunchi campaigns rollback bundang-dad-beer 2'))
  .action(
    action(async (r, id: string, versionText: string) => {
      const { parseVersionRef } = await import('@nunchi/operations');
      const version = parseVersionRef(versionText, 'version');
      if (typeof version !== 'number') throw new UsageError(`version: a number, not ${versionText}`);
      const result = await campaignChange(
        r,
        {
          permission: 'campaigns.activate',
          command: 'campaigns rollback',
          target: id,
          detailOf: (x) =>
            x.changed ? `version ${version} again as version ${x.version} (${x.status})` : 'unchanged',
        },
        (ops: CampaignOperations, actor: Actor) => ops.rollback(id, version, actor),
      );
      console.log(
        result.changed
          ? `${id}: version ${version} activated again as version ${result.version} (${result.status})`
          : `${id}: already version ${version}'s definition, active (version ${result.version})`,
      );
    }),
  );
campaigns
  .command('history <id>')
  .description(
    'every version (state, when, by whom) and every audited change: who (unverified), when, what, from where',
  )
  .option('--json', 'the history as JSON')
  .addHelpText(
    'after',
    examples('nunchi campaigns history bundang-dad-beer', 'nunchi campaigns history bundang-dad-beer --json'),
  )
  .action(
    action(async (r, id: string, options: { json?: boolean }) => {
      const { formatHistory } = await import('./commands/campaigns.js');
      const history = await (await campaignOps(r)).history(id);
      console.log(options.json ? JSON.stringify(history, null, 2) : formatHistory(history).join('\n'));
    }),
  );
campaigns
  .command('diff <id> <from> <to>')
  .description(
    'what changed between two versions, as a unified diff of their YAML; a version is a number, current or draft',
  )
  .option('--json', 'both sides and the diff as JSON')
  .addHelpText(
    'after',
    examples(
      'nunchi campaigns diff bundang-dad-beer 1 2',
      'nunchi campaigns diff bundang-dad-beer current draft',
    ),
  )
  .action(
    action(async (r, id: string, from: string, to: string, options: { json?: boolean }) => {
      const { parseVersionRef } = await import('@nunchi/operations');
      const result = await (
        await campaignOps(r)
      ).diff(id, parseVersionRef(from, 'from'), parseVersionRef(to, 'to'));
      if (options.json) return console.log(JSON.stringify(result, null, 2));
      process.stdout.write(result.diff.endsWith('\n') ? result.diff : `${result.diff}\n`);
      if (result.identical) console.log('(no differences)');
    }),
  );
campaigns
  .command('show <id> [version]')
  .description('a version (default: current) or the draft as YAML, ready to edit and save as a draft')
  .addHelpText(
    'after',
    examples(
      'nunchi campaigns show bundang-dad-beer',
      'nunchi campaigns show bundang-dad-beer 2',
      'nunchi campaigns show bundang-dad-beer draft',
    ),
  )
  .action(
    action(async (r, id: string, version: string | undefined) => {
      const { parseVersionRef } = await import('@nunchi/operations');
      const shown = await (
        await campaignOps(r)
      ).show(id, version === undefined ? 'current' : parseVersionRef(version, 'version'));
      process.stdout.write(shown.yaml.endsWith('\n') ? shown.yaml : `${shown.yaml}\n`);
    }),
  );
campaigns
  .command('list')
  .description(
    'every campaign: name, status, version (and pending draft), budget used against its limits; ended and archived ones only with --all',
  )
  .option('--state <state>', `only campaigns in this state: ${CAMPAIGN_STATUSES.join(' | ')}`)
  .option('--all', 'include ended and archived campaigns')
  .option('--json', 'one JSON object per line')
  .addHelpText(
    'after',
    examples(
      'nunchi campaigns list',
      'nunchi campaigns list --state paused',
      'nunchi campaigns list --state draft',
      'nunchi campaigns list --all --json',
    ),
  )
  .action(
    action(async (r, options: { state?: string; all?: boolean; json?: boolean }) => {
      const { formatCampaigns } = await import('./commands/campaigns.js');
      if (options.state !== undefined && !(CAMPAIGN_STATUSES as readonly string[]).includes(options.state))
        throw new UsageError(
          `--state must be one of ${CAMPAIGN_STATUSES.join(', ')}, got "${options.state}"`,
        );
      const list = await (
        await campaignOps(r)
      ).list({
        status: options.state as (typeof CAMPAIGN_STATUSES)[number] | undefined,
        all: options.all,
      });
      if (options.json) for (const c of list) console.log(JSON.stringify(c));
      else if (!list.length) console.log(options.state ? `no ${options.state} campaigns` : 'no campaigns');
      else for (const line of formatCampaigns(list)) console.log(line);
    }),
  );
campaigns
  .command('test <target>')
  .description(
    'dry run: decide one event for one customer on their stored profile, context and caps, and explain every campaign; sends and writes nothing. <target>: a file, <id> (its draft, else its current version), <id>@draft or <id>@<version>',
  )
  .requiredOption(
    '--event <file>',
    'the event as JSON, as an adapter sends it (its customer reference is replaced by --customer)',
  )
  .requiredOption('--customer <id>', 'customer id')
  .option(
    '--with-live',
    'arbitrate against the live campaigns too (the tested campaign replaces its stored version)',
  )
  .option('--json', 'the evaluation as JSON')
  .addHelpText(
    'after',
    examples(
      'nunchi campaigns test campaigns/examples/bundang-dad-beer.yaml --event purchase.json --customer c-000042',
      'nunchi campaigns test bundang-dad-beer@draft --event purchase.json --customer c-000042 --with-live --json',
    ),
  )
  .action(
    action(
      async (
        r,
        target: string,
        options: { event: string; customer: string; withLive?: boolean; json?: boolean },
      ) => {
        const { testCampaign } = await import('./commands/campaigns.js');
        const report = await testCampaign(r, target, {
          eventFile: options.event,
          customerId: options.customer,
          withLive: options.withLive,
        });
        console.log(options.json ? JSON.stringify(report.evaluation, null, 2) : report.lines.join('\n'));
      },
    ),
  );
campaigns
  .command('simulate <target>')
  .description(
    'replay stored events of a period through the live context fold and decision rules for a campaign (a YAML file or <id>@draft as a new version, <id> as it ran, <id>@<version>); reads only: nothing is sent, written or claimed',
  )
  .option(
    '--from <date>',
    'YYYY-MM-DD (local day, from its start) or an ISO-8601 instant (default: 30 days before --to)',
  )
  .option('--to <date>', 'YYYY-MM-DD (local day, inclusive) or an ISO-8601 instant, exclusive (default: now)')
  .option(
    '--with-live',
    'compete with the campaigns live at each event, in their versions of that time (shows cannibalisation)',
  )
  .option(
    '--sample <percent>',
    'only this percentage of customers, 1-100 (stable by customer id)',
    integerOption(1, 100),
  )
  .option(
    '--out <file>',
    'one NDJSON line per decision: eventId, customerId, occurredAt, campaignId, campaignVersion, offerId, outcome, reason',
  )
  .option('--json', 'the report as JSON')
  .option(
    '--workers <n>',
    'split the customers in n shards (token ranges of the ring), one worker process each, and merge them exactly',
    integerOption(1, 64),
  )
  .option(
    '--shard <i/N>',
    'simulate only shard i (0-based) of N: the customers in 1/N of the token ring (a Kubernetes Indexed Job: i = completion index)',
  )
  .option(
    '--shard-out <file>',
    "write this shard's result for `nunchi campaigns merge` (JSON) instead of printing a report",
  )
  .option(
    '--budget-checks <file>',
    "a later round of a shard: the other shards' budget checks, as `nunchi campaigns merge --next` wrote them",
  )
  .addHelpText(
    'after',
    `${examples(
      'nunchi campaigns simulate campaigns/examples/bundang-dad-beer.yaml --from 2026-11-01 --to 2026-11-30',
      'nunchi campaigns simulate bundang-dad-beer@draft --with-live',
      'nunchi campaigns simulate bundang-dad-beer@2 --with-live --out decisions.ndjson',
      'nunchi campaigns simulate bundang-dad-beer --from 2026-11-01 --to 2026-11-30 --workers 4',
      'nunchi campaigns simulate bundang-dad-beer --from 2026-11-01 --to 2026-11-30 --shard 0/4 --shard-out shard-0.json',
    )}
Sharding (docs/campaigns.md, "Sharding"): each shard reads and replays only its customers; budgets, shared by
all customers, are merged exactly — another round runs while a budget ran out and the shards' checks changed.
With --shard, give --from and --to as instants or days: every shard must simulate the same period.
Live traffic first: it pauses while a context or decision consumer is behind by more than
NUNCHI_SIMULATION_YIELD_LAG_MS (100 ms; 0: never), from the lag reports on NATS: up to 5 s at a time,
then by one step (a customer's read, 1,000 events replayed) every 5 s, and holds for as long as the lag stays past half of NUNCHI_ADMISSION_MAX_LAG_MS or of NUNCHI_SLA_MS.`,
  )
  .action(
    action(
      async (
        r,
        target: string,
        options: {
          from?: string;
          to?: string;
          withLive?: boolean;
          sample?: number;
          out?: string;
          json?: boolean;
          workers?: number;
          shard?: string;
          shardOut?: string;
          budgetChecks?: string;
        },
      ) => {
        const {
          formatReport,
          formatTimings,
          othersFromFile,
          parseShard,
          simulateCampaign,
          simulateWithWorkers,
          writeJsonFile,
          yieldToLiveTraffic,
        } = await import('./commands/simulate.js');
        if (options.workers !== undefined && (options.shard || options.shardOut || options.budgetChecks))
          throw new UsageError(
            '--workers runs the shards itself: not with --shard, --shard-out or --budget-checks',
          );
        if ((options.budgetChecks || options.shardOut) && !options.shard)
          throw new UsageError('--shard-out and --budget-checks are for one shard: give --shard i/N');
        if (options.workers !== undefined) {
          const result = await simulateWithWorkers(r, target, {
            ...options,
            workers: options.workers,
            log: (line) => process.stderr.write(`${line}\n`),
          });
          const written = options.out ? { count: result.written, path: options.out } : undefined;
          process.stderr.write(
            `${result.report.events.replayed} events by ${result.workers} workers in ${result.seconds.toFixed(1)} s (${Math.round(result.report.events.replayed / result.seconds)} events/s), ${result.rounds} round(s)\n`,
          );
          console.log(
            options.json
              ? JSON.stringify(result.report, null, 2)
              : formatReport(result.report, written).join('\n'),
          );
          return;
        }
        const shard = options.shard !== undefined ? parseShard(options.shard) : undefined;
        const others =
          options.budgetChecks && shard ? await othersFromFile(options.budgetChecks, shard) : undefined;
        const live = await yieldToLiveTraffic(r);
        const result = await simulateCampaign(r, target, {
          ...options,
          shard,
          others,
          pace: live.pace,
          progress: options.shardOut ? undefined : process.stderr,
        }).finally(live.stop);
        process.stderr.write(`${formatTimings(result.timings)}\n`);
        if (options.shardOut && shard) {
          writeJsonFile(options.shardOut, result.shard);
          console.log(
            `shard ${shard.index}/${shard.count}: ${result.timings.events} events of ${result.timings.customers} customers, ${result.shard.checks.world.length + result.shard.checks.baseline.length} budget checks; written to ${options.shardOut}`,
          );
          return;
        }
        const written = options.out ? { count: result.written, path: options.out } : undefined;
        console.log(
          options.json
            ? JSON.stringify(result.report, null, 2)
            : formatReport(result.report, written).join('\n'),
        );
      },
    ),
  );
campaigns
  .command('compare <a> <b>')
  .description(
    'simulate two campaigns on the same history (read once) and print them side by side: reach, offers, value, cost, budget burn, overlap. <a>, <b>: a file, <id> (as it ran), <id>@<version> or <id>@draft',
  )
  .option(
    '--from <date>',
    'YYYY-MM-DD (local day, from its start) or an ISO-8601 instant (default: 30 days before --to)',
  )
  .option('--to <date>', 'YYYY-MM-DD (local day, inclusive) or an ISO-8601 instant, exclusive (default: now)')
  .option('--with-live', 'each competes with the campaigns live at each event (not with the other one)')
  .option(
    '--sample <percent>',
    'only this percentage of customers, 1-100 (stable by customer id)',
    integerOption(1, 100),
  )
  .option('--json', '{ a, b, overlap, timings } as JSON (a and b: the reports `simulate --json` prints)')
  .addHelpText(
    'after',
    examples(
      'nunchi campaigns compare bundang-dad-beer campaigns/examples/bundang-dad-beer.yaml --from 2026-11-01 --to 2026-11-30',
      'nunchi campaigns compare bundang-dad-beer@1 bundang-dad-beer@2 --with-live',
      'nunchi campaigns compare autumn-wine@draft autumn-wine --json',
    ),
  )
  .action(
    action(
      async (
        r,
        a: string,
        b: string,
        options: { from?: string; to?: string; withLive?: boolean; sample?: number; json?: boolean },
      ) => {
        const { compareCampaigns, formatComparison, formatTimings, yieldToLiveTraffic } =
          await import('./commands/simulate.js');
        const live = await yieldToLiveTraffic(r);
        const result = await compareCampaigns(r, [a, b], {
          ...options,
          pace: live.pace,
          progress: process.stderr,
        }).finally(live.stop);
        process.stderr.write(`${formatTimings(result.timings)}\n`);
        console.log(
          options.json ? JSON.stringify(result, null, 2) : formatComparison(result, [a, b]).join('\n'),
        );
      },
    ),
  );
campaigns
  .command('merge <files...>')
  .description(
    'merge the results of the shards of one simulation (--shard i/N --shard-out FILE, one file per shard) into one report, exactly',
  )
  .option(
    '--next <file>',
    "when the shards must run again (a budget ran out and their checks changed): write the next round's budget checks here",
  )
  .option('--json', 'the report as JSON')
  .addHelpText(
    'after',
    `${examples(
      'nunchi campaigns merge shard-0.json shard-1.json shard-2.json shard-3.json --next checks.json',
      'nunchi campaigns merge results/shard-*.json --json',
    )}
Exit code 4 when another round is needed: run every shard again with --budget-checks <next file>, then merge
again (docs/campaigns.md, "Sharding"; k8s/components/simulation-job).`,
  )
  .action(
    action(async (_r, files: string[], options: { next?: string; json?: boolean }) => {
      const { formatReport, mergeShardsOrFail, readShardResults, writeJsonFile } =
        await import('./commands/simulate.js');
      const merged = mergeShardsOrFail(await readShardResults(files));
      if (!merged.exact) {
        if (!options.next)
          throw new Error(
            "not exact yet: a budget ran out and the shards' budget checks changed; merge with --next FILE, then run every shard again with --budget-checks FILE",
          );
        writeJsonFile(options.next, { count: files.length, others: merged.next! } satisfies BudgetChecksFile);
        process.stderr.write(
          `not exact yet: run every shard again with --budget-checks ${options.next}, then merge again\n`,
        );
        process.exitCode = EXIT_CODES.again;
        return;
      }
      console.log(
        options.json ? JSON.stringify(merged.report, null, 2) : formatReport(merged.report).join('\n'),
      );
    }),
  );
for (const [verb, state, note] of [
  ['pause', 'paused', 'A paused campaign decides nothing until resumed; its caps and budget are kept.'],
  ['resume', 'active', 'An ended campaign cannot be resumed: ending is final.'],
  ['end', 'ended', 'Final: an ended campaign cannot be resumed, paused or applied again (use a new id).'],
  [
    'archive',
    'archived',
    'Only an ended campaign can be archived: it leaves every listing but --all, for good.',
  ],
] as const) {
  campaigns
    .command(`${verb} <id>`)
    .description(`${verb} a campaign (stored as a new version)`)
    .addHelpText('after', `${examples(`nunchi campaigns ${verb} bundang-dad-beer`)}\n${note}`)
    .action(
      action(async (r, id: string) => {
        const result = await campaignChange(
          r,
          {
            permission: 'campaigns.activate',
            command: `campaigns ${verb}`,
            target: id,
            detailOf: (x) => (x.changed ? `version ${x.version} (${x.state})` : `already ${x.state}`),
          },
          (ops: CampaignOperations, actor: Actor) => ops.setState(id, verb, actor),
        );
        console.log(
          result.changed
            ? `${id}: ${state} (version ${result.version})`
            : `${id}: already ${state} (version ${result.version})`,
        );
      }),
    );
}

// ── history pack ────────────────────────────────────────────────────────────────────────────────────────────
// Packed weeks for simulation on history (docs/campaigns.md, "Packed weeks"); k8s/ runs it nightly.
program
  .command('history')
  .description("customers' stored history")
  .addHelpText('after', examples('nunchi history pack', 'nunchi history pack --weeks 2'))
  .command('pack')
  .description(
    "pack each customer's events of every closed week into one sealed cell, which simulations read in place of the week's rows; safe under traffic and to repeat",
  )
  .option(
    '--weeks <n>',
    'closed weeks to pack, counted back from last week (default: every week events are kept, NUNCHI_EVENT_TTL_DAYS)',
    integerOption(1),
  )
  .option('--json', 'print the counts as JSON')
  .addHelpText(
    'after',
    `${examples('nunchi history pack', 'nunchi history pack --weeks 2 --json')}
A week is Monday to Sunday, local days (NUNCHI_TIMEZONE); the current week is never packed. A week whose pack
is current is left as it is, so a nightly run with --weeks 2 writes only what closed or changed since. A pack
records the customer_days rows it was made from: a late event, a merge or an unlink since makes it stale, and
simulations read that week row by row until the next run packs it again. Nothing live reads packs. Exit code 3
when some customers' history does not open here (a data key under an identity key not given): the others are
packed, and the first reason is printed.`,
  )
  .action(
    action(async (r, options: { weeks?: number; json?: boolean }) => {
      const { packHistory } = await import('@nunchi/operations');
      const { portsOf } = await import('./commands/campaigns.js');
      const { progress } = await import('./progress.js');
      let bar: ReturnType<typeof progress> | undefined;
      let reported = 0;
      const result = await packHistory(await portsOf(r), {
        weeks: options.weeks,
        report: (done, total) => {
          bar ??= progress('customers', total);
          bar.tick(done - reported);
          reported = done;
        },
      });
      bar?.stop();
      if (options.json) console.log(JSON.stringify(result));
      else
        console.log(
          `weeks ${result.fromWeek} to ${result.toWeek}, ${result.customers} customers: ${result.packed} weeks packed (${result.events} events), ${result.current} current already` +
            (result.skipped
              ? `, ${result.skipped} skipped (being written to, or no data key): the next run tries again`
              : ''),
        );
      if (result.unreadable.customers > 0) {
        process.stderr.write(
          `${result.unreadable.customers} customers left as they are: their history does not open here (${result.unreadable.reason})\n`,
        );
        process.exitCode = EXIT_CODES.rejected;
      }
    }),
  );
// ────────────────────────────────────────────────────────────────────────────────────────────────────────────

program
  .command('events')
  .description('events')
  .addHelpText('after', examples('nunchi events send events.ndjson'))
  .command('send <file>')
  .description(
    'send NDJSON events through the NATS door (request on mkt.in.<channel>.<type>); reports accepted and rejected',
  )
  .addHelpText(
    'after',
    `${examples('nunchi events send events.ndjson')}
One event envelope per line (docs/schemas/ has the JSON Schema of each type). Exit code 3 when some were rejected.`,
  )
  .action(
    action(async (r, file: string) => {
      const { sendEventsFile } = await import('./commands/events.js');
      const report = await sendEventsFile(r, file);
      console.log(
        `accepted ${report.accepted} (${report.duplicates} duplicates), rejected ${report.rejected.length}, in ${report.seconds.toFixed(1)} s`,
      );
      for (const bad of report.rejected.slice(0, 20))
        console.log(`  line ${bad.line}${bad.id ? ` (${bad.id})` : ''}: ${bad.code} ${bad.details}`);
      if (report.rejected.length) process.exitCode = EXIT_CODES.rejected;
    }),
  );

program
  .command('offers')
  .description('offers')
  .addHelpText('after', examples('nunchi offers tail'))
  .command('tail')
  .description('print offers as adapters receive them, until Ctrl-C (or --limit)')
  .option('--channel <channel>', 'only this channel')
  .option('--store <storeId>', 'only this store')
  .option('--limit <n>', 'stop after n offers (a whole number, at least 1)', integerOption(1))
  .option('--json', 'one JSON object per line')
  .addHelpText(
    'after',
    examples(
      'nunchi offers tail',
      'nunchi offers tail --channel pos --store bundang-01 --limit 10',
      'nunchi offers tail --json',
    ),
  )
  .action(
    action(async (r, options: { channel?: string; store?: string; limit?: number; json?: boolean }) => {
      const { tailOffers } = await import('./commands/offers.js');
      await tailOffers(r, options, (offer, subject) =>
        console.log(
          options.json
            ? JSON.stringify(offer)
            : `${offer.decidedAt} ${subject} ${offer.customerId} ← ${offer.campaignId}/${offer.offerId} "${offer.title}" (${offer.latencyMs} ms, decision ${offer.decisionId}, trace ${offer.traceId})`,
        ),
      );
    }),
  );

program
  .command('slo')
  .description('service level objectives (slo/slo.yaml): compliance and latency per hop')
  .addHelpText('after', examples('nunchi slo report --from 1h'))
  .command('report')
  .description(
    'SLA compliance and per-hop latency p50/p95/p99 from the traces in Zipkin (and Prometheus), slowest traces with links',
  )
  .option(
    '--from <when>',
    'start: a duration back from now (30m, 12h, 7d), a local day (YYYY-MM-DD) or an ISO-8601 instant (default: 1h)',
  )
  .option('--to <when>', 'end, in the same forms (default: now)')
  .option('--limit <n>', 'read at most n traces, the newest (default 1000)', integerOption(1, 100_000), 1000)
  .option('--slowest <n>', 'list the n slowest traces (default 5)', integerOption(0, 1000), 5)
  .option('--zipkin <url>', 'Zipkin base URL (default: from OTEL_EXPORTER_ZIPKIN_ENDPOINT)')
  .option(
    '--service <name>',
    "the decision service's name on spans (default: nunchi-decision)",
    'nunchi-decision',
  )
  .option(
    '--prometheus <url>',
    'also compute compliance from every event counted by Prometheus (e.g. http://prometheus:9090)',
  )
  .option('--json', 'the report as one JSON object')
  .addHelpText(
    'after',
    `${examples(
      'nunchi slo report',
      'nunchi slo report --from 24h --slowest 10',
      'nunchi slo report --from 2026-11-24 --to 2026-11-25 --json',
      'nunchi slo report --from 1h --prometheus http://prometheus:9090',
    )}
Traces are a sample when OTEL_TRACES_SAMPLER samples; Prometheus (nunchi_event_to_offer_ms) counts every event.
Objectives and alerts: slo/slo.yaml; what to do when one is missed: docs/runbook.md.`,
  )
  .action(
    action(
      async (
        r,
        options: {
          from?: string;
          to?: string;
          limit: number;
          slowest: number;
          zipkin?: string;
          service: string;
          prometheus?: string;
          json?: boolean;
        },
      ) => {
        const { formatSloReport, sloReport, ZipkinTraceReader } = await import('./commands/slo.js');
        const { parseSince } = await import('./since.js');
        const nowMs = Date.now();
        const timeZone = r.config.domain.timeZone;
        const fromMs = parseSince(options.from ?? '1h', nowMs, timeZone);
        const toMs = options.to ? parseSince(options.to, nowMs, timeZone) : nowMs;
        if (fromMs >= toMs) throw new UsageError('--from must be before --to');
        const reader = new ZipkinTraceReader(
          options.zipkin ?? r.config.telemetry.zipkinEndpoint,
          options.service,
        );
        const report = await sloReport(reader, {
          fromMs,
          toMs,
          limit: options.limit,
          slowest: options.slowest,
          ...(options.prometheus ? { prometheusUrl: options.prometheus } : {}),
        });
        if (options.json) console.log(JSON.stringify(report, null, 2));
        else for (const line of formatSloReport(report)) console.log(line);
      },
    ),
  );

program
  .command('stats')
  .description(
    'campaign results: decisions, offers, control, conversions, revenue, responses; lift vs holdout with its always-valid interval',
  )
  .option('--campaign <id>', 'one campaign in detail: per offer and per day, sample-ratio check and warnings')
  .option(
    '--json',
    "the analytics API's JSON (GET /v1/stats/campaigns/<id>; without --campaign: {campaigns} as GET /v1/stats)",
  )
  .addHelpText(
    'after',
    `${examples('nunchi stats', 'nunchi stats --campaign bundang-dad-beer', 'nunchi stats --campaign bundang-dad-beer --json')}
The figures are computed from Cassandra by the same code as the analytics service's: every figure is explained in
docs/analytics.md. Days are local days in the business time zone (NUNCHI_TIMEZONE). With NUNCHI_API_URL set, they
are asked of the analytics service instead (GET /v1/stats), as NUNCHI_API_KEY: no database credentials needed.`,
  )
  .action(
    action(async (r, options: { campaign?: string; json?: boolean }) => {
      const { campaignReport, campaignSummaries, formatCampaignReport, formatSummaries } =
        await import('./commands/stats.js');
      if (options.campaign !== undefined) {
        const report = await campaignReport(r, options.campaign);
        if (options.json) console.log(JSON.stringify(report, null, 2));
        else for (const line of formatCampaignReport(report)) console.log(line);
        return;
      }
      const campaigns = await campaignSummaries(r);
      if (options.json) console.log(JSON.stringify({ campaigns }, null, 2));
      else for (const line of formatSummaries(campaigns)) console.log(line);
    }),
  );

const decisions = program
  .command('decisions')
  .description('decisions: find them, explain them')
  .addHelpText(
    'after',
    examples(
      'nunchi decisions list --customer c-000042',
      'nunchi decisions explain --event pos-000123 --channel pos',
    ),
  );
decisions
  .command('explain [decisionId]')
  .description(
    'why a decision came out as it did: versions, inputs, the chosen offer and why every other candidate lost',
  )
  .option(
    '--event <eventId>',
    'the decision of this event (every event has one, whatever its outcome: offer, control, late or none)',
  )
  .option('--channel <channel>', "the event's channel, with --event (event ids are scoped per channel)")
  .addHelpText(
    'after',
    `${examples('nunchi decisions explain --event pos-000123 --channel pos', 'nunchi decisions explain d-4f2a9c0e51b7d3a8e6c1f092')}
Decision ids are shown by \`offers tail\` and \`decisions list\`; the id of the event is enough (decisions without
an offer have no other trace).`,
  )
  .action(
    action(async (r, id: string | undefined, options: { event?: string; channel?: string }) => {
      const { explainDecision } = await import('./commands/decisions.js');
      if ((id === undefined) === (options.event === undefined))
        throw new UsageError('give either a decision id or --event <eventId> --channel <channel>');
      if ((options.event === undefined) !== (options.channel === undefined))
        throw new UsageError(
          '--event and --channel go together: event ids are scoped per channel (--event pos-000123 --channel pos)',
        );
      const event =
        options.event !== undefined ? { id: options.event, channel: options.channel! } : undefined;
      for (const line of await explainDecision(r, { decisionId: id, event })) console.log(line);
    }),
  );
decisions
  .command('list')
  .description("a customer's or a campaign's decisions with a campaign (offer, control, late), newest first")
  .option('--customer <id>', "this customer's decisions")
  .option('--campaign <id>', "this campaign's decisions")
  .option(
    '--since <when>',
    'only from then on: a duration back from now (30m, 12h, 7d, 2w), a local day (YYYY-MM-DD) or an ISO-8601 instant (default: 30d)',
  )
  .option('--limit <n>', 'at most n decisions (default 20)', integerOption(1, 10_000), 20)
  .option('--json', 'one JSON object per line')
  .addHelpText(
    'after',
    `${examples(
      'nunchi decisions list --customer c-000042',
      'nunchi decisions list --campaign bundang-dad-beer --since 2d --limit 100',
      'nunchi decisions list --campaign bundang-dad-beer --since 2026-11-24 --json',
    )}
Decisions without any campaign (outcome none) are not listed: \`decisions explain --event <id>\` finds them.
Days are local days in the business time zone (NUNCHI_TIMEZONE).`,
  )
  .action(
    action(
      async (
        r,
        options: { customer?: string; campaign?: string; since?: string; limit: number; json?: boolean },
      ) => {
        const { formatDecisions, listDecisions } = await import('./commands/decisions.js');
        const { parseSince } = await import('./since.js');
        if ((options.customer === undefined) === (options.campaign === undefined))
          throw new UsageError('give either --customer <id> or --campaign <id>');
        const nowMs = Date.now();
        let sinceMs: number;
        try {
          sinceMs = parseSince(options.since ?? '30d', nowMs, r.config.domain.timeZone);
        } catch (error) {
          throw new UsageError(
            `option '--since <when>' argument '${options.since}' is invalid. ${(error as Error).message}`,
          );
        }
        const list = await listDecisions(r, {
          customerId: options.customer,
          campaignId: options.campaign,
          sinceMs,
          limit: options.limit,
          nowMs,
        });
        if (options.json) for (const d of list) console.log(JSON.stringify(d));
        else if (!list.length) console.log(`no decisions since ${new Date(sinceMs).toISOString()}`);
        else
          for (const line of formatDecisions(list, options.customer !== undefined ? 'customer' : 'campaign'))
            console.log(line);
      },
    ),
  );

// ---- keys and audit: who may call the HTTP APIs, and what changed (docs/security.md) ----------------------
const keys = program
  .command('keys')
  .description('API keys for the HTTP APIs: one role each, stored hashed; shown once when created')
  .addHelpText(
    'after',
    examples(
      'nunchi keys create --role adapter --name till-gateway --channel pos',
      'nunchi keys list',
      'nunchi keys revoke 0123456789ab',
    ) +
      "\nWith NUNCHI_API_URL set (the analytics service) they go over its HTTP API as NUNCHI_API_KEY, an admin's\nkey: no database credentials needed. Without it they use Cassandra directly.\n",
  );
keys
  .command('create')
  .description('create an API key and print it (the only time it is shown)')
  .requiredOption(
    '--role <role>',
    'adapter | marketer | approver | analyst | operator | privacy-officer | admin',
  )
  .requiredOption('--name <name>', 'who or what holds it (shown in the audit log)')
  .option(
    '--rate <n>',
    'requests per second per service replica (default: 2000 for adapters, 100 for admin, else 50)',
    integerOption(1, 1_000_000),
  )
  .option(
    '--expires-in-days <n>',
    'expire after this many days (default: never; revoke instead)',
    integerOption(1, 3650),
  )
  .option(
    '--channel <channel>',
    'adapter keys: a channel it may send events for (repeatable; required); an event of another channel is refused',
    (value: string, previous: string[] = []) => [...previous, value],
  )
  .option('--json', 'print {key, keyId, role, ...} as JSON')
  .action(
    action(
      async (
        r,
        options: {
          role: string;
          name: string;
          rate?: number;
          expiresInDays?: number;
          channel?: string[];
          json?: boolean;
        },
      ) => {
        const { createKey } = await import('./commands/keys.js');
        const { key, record } = await createKey(r, { ...options, channels: options.channel });
        if (options.json) return console.log(JSON.stringify({ key, ...record }));
        console.log(
          `${key}\n(key ${record.keyId}, role ${record.role}${record.channels ? ` for ${record.channels.join(', ')}` : ''}, ${record.ratePerSecond} requests/s: send it as "Authorization: Bearer <key>"; it is not shown again)`,
        );
      },
    ),
  );
keys
  .command('list')
  .description('every API key with its role, rate and state (never the secrets)')
  .option('--json', 'print JSON')
  .action(
    action(async (r, options: { json?: boolean }) => {
      const { formatKeys, listKeys } = await import('./commands/keys.js');
      const all = await listKeys(r);
      console.log(options.json ? JSON.stringify(all) : formatKeys(all, Date.now()).join('\n'));
    }),
  );
keys
  .command('revoke <keyId>')
  .description('revoke a key: every service refuses it within NUNCHI_AUTH_CACHE_TTL_MS (30 s)')
  .action(
    action(async (r, keyId: string) => {
      const { revokeKey } = await import('./commands/keys.js');
      await revokeKey(r, keyId);
      console.log(`revoked ${keyId}`);
    }),
  );
program
  .command('audit')
  .description(
    'the audit log, newest first: every change made over HTTP (campaigns, erasures) or by the CLI (keys, erasures, replays)',
  )
  .option('--day <YYYY-MM-DD>', 'the last UTC day shown (default: today)')
  .option('--days <n>', 'how many days back from --day', integerOption(1, 366), 1)
  .option('--json', 'print JSON, one object per change')
  .addHelpText(
    'after',
    examples('nunchi audit', 'nunchi audit --days 7', 'nunchi audit --day 2026-12-01 --json') +
      "\nWith NUNCHI_API_URL set (the analytics service) it reads GET /v1/audit as NUNCHI_API_KEY (a privacy\nofficer's or an admin's key): no database credentials needed.\n",
  )
  .action(
    action(async (r, options: { day?: string; days: number; json?: boolean }) => {
      const { formatAudit, readAudit } = await import('./commands/keys.js');
      const rows = await readAudit(r, options.day ?? new Date().toISOString().slice(0, 10), options.days);
      console.log(
        options.json ? rows.map((row) => JSON.stringify(row)).join('\n') : formatAudit(rows).join('\n'),
      );
    }),
  );

// ---- dlq: rejected input kept in the DLQ stream (apps/cli/src/commands/dlq.ts) -------------------------
const dlq = program
  .command('dlq')
  .description('rejected input, kept in the DLQ stream with its bytes, subject, reason and time')
  .addHelpText('after', examples('nunchi dlq list', 'nunchi dlq replay'));
dlq
  .command('list')
  .description('the newest rejected inputs, oldest first, with whether a replay got them accepted')
  .option('--stage <stage>', 'ingestion | context | decision | analytics (default: all)')
  .option('--limit <n>', 'at most n entries (default 20)', integerOption(1))
  .option('--json', 'one JSON object per line (bytes as base64)')
  .addHelpText(
    'after',
    examples('nunchi dlq list', 'nunchi dlq list --stage ingestion --limit 5', 'nunchi dlq list --json'),
  )
  .action(
    action(async (r, options: { stage?: string; limit?: number; json?: boolean }) => {
      const { listDlq, preview } = await import('./commands/dlq.js');
      const entries = await listDlq(r, options);
      if (!entries.length) return console.log('the DLQ is empty');
      for (const e of entries) {
        if (options.json) {
          console.log(JSON.stringify({ ...e, data: Buffer.from(e.data).toString('base64') }));
          continue;
        }
        const status = e.replayed
          ? ` [replayed: accepted as ${e.replayed.id}]`
          : e.replayOf !== undefined
            ? ` [failed replay of #${e.replayOf}]`
            : '';
        const sealed = e.sealed ? `\n    sealed (personal data): ${e.sealed.join(', ')}` : '';
        console.log(
          `#${e.seq} ${e.at} ${e.stage} ${e.subject}${status}\n    reason: ${e.reason}${sealed}\n    ${e.data.length} bytes: ${preview(e.data)}`,
        );
      }
    }),
  );
dlq
  .command('replay')
  .description(
    "replay a stage's entries after a fix — ingestion: through the NATS door again; context, decision: back onto EVENTS or ENRICHED — and report each outcome; an accepted entry is never replayed twice",
  )
  .option('--stage <stage>', 'ingestion | context | decision (default: ingestion)')
  .option('--seq <n>', 'only the entry with this DLQ sequence', integerOption(1))
  .addHelpText(
    'after',
    `${examples('nunchi dlq replay', 'nunchi dlq replay --seq 42', 'nunchi dlq replay --stage context')}
Exit code 3 when an entry was rejected again or got no answer.`,
  )
  .action(
    action(async (r, options: { stage?: string; seq?: number }) => {
      const { replayDlq } = await import('./commands/dlq.js');
      const { audited, cliCaller } = await import('./commands/cli-caller.js');
      const results = await audited(
        r,
        await cliCaller(r),
        {
          permission: 'dlq.replay',
          command: 'dlq replay',
          target: options.seq !== undefined ? String(options.seq) : (options.stage ?? 'ingestion'),
          detailOf: (x) => `${x.length} entries`,
        },
        () => replayDlq(r, options),
      );
      if (!results.length) return console.log('nothing to replay');
      for (const x of results) console.log(`#${x.seq} ${x.subject}: ${x.outcome} — ${x.detail}`);
      const count = (o: string) => results.filter((x) => x.outcome === o).length;
      console.log(
        `accepted ${count('accepted')}, rejected again ${count('rejected')}, skipped ${count('skipped')}, no answer ${count('no-answer')}`,
      );
      if (count('rejected') || count('no-answer')) process.exitCode = EXIT_CODES.rejected;
    }),
  );
// ---- end dlq ---------------------------------------------------------------------------------------------

await program.parseAsync(process.argv);
