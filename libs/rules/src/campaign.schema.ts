import { CAMPAIGN_STATES, TRIGGER_EVENT_TYPES, WEEKDAYS } from './campaign.js';

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
        types: {
          type: 'array',
          minItems: 1,
          uniqueItems: true,
          items: { type: 'string', enum: [...TRIGGER_EVENT_TYPES] },
        },
        channels: {
          type: 'array',
          minItems: 1,
          uniqueItems: true,
          items: { type: 'string', pattern: TOKEN },
        },
        stores: { type: 'array', minItems: 1, uniqueItems: true, items: { type: 'string', pattern: TOKEN } },
      },
    },
    audience: cel('CEL, must be bool: who may get the campaign. Default true.'),
    condition: cel('CEL, must be bool: what the triggering event must look like. Default true.'),
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
        'Analytics: a purchase this many days after a decision (or a customer\'s first exposure) counts as its conversion. Default 7.',
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
