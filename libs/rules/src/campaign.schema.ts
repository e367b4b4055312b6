import { CAMPAIGN_STATES, TRIGGER_EVENT_TYPES, WEEKDAYS } from './campaign.js';
import {
  DURATION_PATTERN,
  MAX_COUNT_NTH,
  MAX_SEQUENCE_STEPS,
  THRESHOLD_MEASURES,
  THRESHOLD_WINDOWS,
} from './patterns/pattern.js';

/**
 * JSON Schema (draft-07) of a campaign file. The source of truth: docs/schemas/campaign.schema.json is
 * written from this object (libs/rules/tools/write-schema.ts) and a spec test fails when they differ.
 *
 * The schema checks shape; parseCampaign adds what a schema cannot say: CEL syntax and types, real
 * calendar dates, from <= to, known time zones, unique offer ids, non-empty hour windows.
 */
const TOKEN = '^[A-Za-z0-9_-]{1,64}$';
const DATE = '^\\d{4}-\\d{2}-\\d{2}$';
const HOUR_WINDOW = '(?:[01]\\d|2[0-3]):[0-5]\\d-(?:[01]\\d|2[0-3]|24):[0-5]\\d';

const cel = (description: string) => ({ type: 'string', minLength: 1, maxLength: 4096, description });

/** A non-empty list of distinct event types a trigger or a pattern step takes. */
const EVENT_TYPE_LIST = {
  type: 'array',
  minItems: 1,
  uniqueItems: true,
  items: { type: 'string', enum: [...TRIGGER_EVENT_TYPES] },
};
/** A non-empty list of distinct subject tokens (channels, store ids). */
const TOKEN_LIST = {
  type: 'array',
  minItems: 1,
  uniqueItems: true,
  items: { type: 'string', pattern: TOKEN },
};

const duration = (description: string) => ({ type: 'string', pattern: DURATION_PATTERN, description });

/** One step of a pattern: event types, optional channels, optional CEL over `event`. */
const step = (description: string) => ({
  type: 'object',
  additionalProperties: false,
  required: ['types'],
  description,
  properties: {
    types: EVENT_TYPE_LIST,
    channels: TOKEN_LIST,
    where: cel("CEL over `event` only, must be bool: what the step's event must look like. Default true."),
  },
});

/** `pattern`: exactly one of its kinds (docs/patterns.md). */
const patternSchema = {
  type: 'object',
  additionalProperties: false,
  minProperties: 1,
  maxProperties: 1,
  description:
    "What the customer's events over time must show besides this event: exactly one of sequence, absence, threshold, count. docs/patterns.md.",
  properties: {
    sequence: {
      type: 'object',
      additionalProperties: false,
      required: ['steps', 'within'],
      description:
        'A then B (then C…) within a duration of event time; the last step is the event decided on.',
      properties: {
        steps: {
          type: 'array',
          minItems: 2,
          maxItems: MAX_SEQUENCE_STEPS,
          items: step('One step, in order.'),
        },
        within: duration("From the first step's event to the last step's: 90m, 2h, 7d (s, m, h, d)."),
        unless: step('An event that cancels every partial match (Esper "and not", Flink notFollowedBy).'),
      },
    },
    absence: {
      type: 'object',
      additionalProperties: false,
      required: ['after', 'expect', 'within'],
      description:
        'No `expect` event within `within` after the latest `after` event: a durable timer fires the synthetic `absence` event (trigger types must be [absence]).',
      properties: {
        after: step('The anchor: each such event (re)starts the wait.'),
        expect: step('The event that should have come: it cancels the wait.'),
        within: duration('How long to wait after the anchor, e.g. 1h, 30d.'),
      },
    },
    threshold: {
      type: 'object',
      additionalProperties: false,
      required: ['measure', 'window', 'crosses'],
      description: "This event makes the customer's total over a context window cross a value.",
      properties: {
        measure: { type: 'string', enum: [...THRESHOLD_MEASURES], description: 'A total of ctx.all.' },
        window: {
          type: 'string',
          enum: [...THRESHOLD_WINDOWS],
          description: 'The context window (local days).',
        },
        crosses: {
          type: 'number',
          exclusiveMinimum: 0,
          description: "In the measure's unit (spend: major currency unit).",
        },
      },
    },
    count: {
      type: 'object',
      additionalProperties: false,
      required: ['of', 'within', 'nth'],
      description:
        'This event is exactly the n-th of its kind within a sliding window of event time ending at it.',
      properties: {
        of: step('Which events count.'),
        within: duration('The sliding window, e.g. 7d.'),
        nth: { type: 'integer', minimum: 1, maximum: MAX_COUNT_NTH },
      },
    },
  },
};

export const campaignSchema = {
  $schema: 'http://json-schema.org/draft-07/schema#',
  title: 'Nunchi campaign',
  description:
    'One campaign: who, on which event, when, which offer. docs/campaigns.md explains every field.',
  type: 'object',
  additionalProperties: false,
  required: ['id', 'name', 'trigger', 'offers'],
  properties: {
    id: {
      type: 'string',
      pattern: TOKEN,
      description: 'Stable id, 1-64 of [A-Za-z0-9_-] (it is a NATS subject token).',
    },
    name: { type: 'string', minLength: 1, maxLength: 200, description: 'Human name.' },
    description: { type: 'string', maxLength: 2000 },
    version: {
      type: 'integer',
      minimum: 1,
      description: 'Assigned by the campaign store when the campaign is applied; a file may omit it.',
    },
    trigger: {
      type: 'object',
      additionalProperties: false,
      required: ['types'],
      description: 'Which events can fire the campaign. Absent channels/stores mean all.',
      properties: {
        types: EVENT_TYPE_LIST,
        channels: TOKEN_LIST,
        stores: TOKEN_LIST,
      },
    },
    audience: cel('CEL, must be bool: who may get the campaign. Default true.'),
    condition: cel('CEL, must be bool: what the triggering event must look like. Default true.'),
    pattern: patternSchema,
    schedule: {
      type: 'object',
      additionalProperties: false,
      description:
        'When the campaign runs, in local time of `timezone`. Absent: always, in the business time zone (NUNCHI_TIMEZONE).',
      properties: {
        from: { type: 'string', pattern: DATE, description: 'First local day, inclusive (YYYY-MM-DD).' },
        to: { type: 'string', pattern: DATE, description: 'Last local day, inclusive (YYYY-MM-DD).' },
        weekdays: {
          type: 'array',
          minItems: 1,
          uniqueItems: true,
          items: { type: 'string', enum: [...WEEKDAYS] },
        },
        hours: {
          type: 'string',
          pattern: `^${HOUR_WINDOW}(?:,\\s*${HOUR_WINDOW})*$`,
          description:
            'HH:MM-HH:MM, start inclusive, end exclusive; comma-separated for several; end < start runs over midnight.',
        },
        timezone: {
          type: 'string',
          minLength: 1,
          description: 'IANA time zone, e.g. Asia/Seoul. Default: the business time zone (NUNCHI_TIMEZONE).',
        },
      },
    },
    offers: {
      type: 'array',
      minItems: 1,
      maxItems: 20,
      description: 'Alternatives in order of preference: the first whose `when` holds is offered.',
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['id', 'title', 'value'],
        properties: {
          id: { type: 'string', pattern: TOKEN },
          title: { type: 'string', minLength: 1, maxLength: 200 },
          value: { type: 'number', minimum: 0, description: 'Worth to the customer, major currency unit.' },
          cost: {
            type: 'number',
            minimum: 0,
            description: 'Cost to the retailer, major currency unit. Default: value.',
          },
          propensity: {
            type: 'number',
            minimum: 0,
            maximum: 1,
            description: 'Probability of take-up, 0..1. Default 1.',
          },
          when: cel('CEL, must be bool: extra eligibility of this alternative.'),
        },
      },
    },
    caps: {
      type: 'object',
      additionalProperties: false,
      description: 'Per-customer frequency caps of this campaign.',
      properties: {
        perCustomerPerDay: { type: 'integer', minimum: 1 },
        perCustomerLifetime: { type: 'integer', minimum: 1 },
        perChannelPerDay: { type: 'integer', minimum: 1 },
        suppressAfterDismissDays: {
          type: 'integer',
          minimum: 1,
          maximum: 365,
          description:
            'Local days without an offer of this campaign after the customer dismissed one, the dismissal day included.',
        },
      },
    },
    budget: {
      type: 'object',
      additionalProperties: false,
      description: 'Campaign-wide limits, enforced exactly by the decision service.',
      properties: {
        maxOffers: { type: 'integer', minimum: 0 },
        maxCost: { type: 'number', minimum: 0 },
      },
    },
    holdoutPercent: {
      type: 'number',
      minimum: 0,
      maximum: 100,
      description: 'Control-group share, 0-100. Default 0.',
    },
    attributionWindowDays: {
      type: 'integer',
      minimum: 1,
      maximum: 30,
      description:
        "Analytics: a purchase this many days after a decision (or a customer's first exposure) counts as its conversion. Default 7.",
    },
    priority: {
      type: 'integer',
      minimum: -1000000,
      maximum: 1000000,
      description: 'Higher wins. Default 0.',
    },
    state: {
      type: 'string',
      enum: [...CAMPAIGN_STATES],
      description: 'Only active campaigns decide. Default active.',
    },
  },
} as const;
