/**
 * JSON Schemas of the public event contract, generated from the DTOs in libs/contracts/src/events.ts
 * (class-validator decorators → class-validator-jsonschema, plus the `@Describe` texts). The DTOs are the
 * source of truth; these files are what adapter authors read and validate against.
 *
 *   npm run schemas      writes docs/schemas/event.schema.json, docs/schemas/payloads/<type>.schema.json,
 *                        docs/schemas/customer-import.schema.json
 *
 * event-schemas.spec.ts fails while the committed files differ from what this produces.
 * Rules across fields (purchase amount vs items, one or two identifiers, occurredAt not in the future)
 * are stated in descriptions where JSON Schema cannot say them.
 */
import 'reflect-metadata';
import { createRequire } from 'node:module';
import { getMetadataStorage, IS_ISO8601 } from 'class-validator';
import type { MetadataStorage as TransformerMetadata } from 'class-transformer/types/MetadataStorage.js';
import { validationMetadatasToSchemas } from 'class-validator-jsonschema';
import {
  CustomerImportDto,
  descriptionOf,
  EVENT_TYPES,
  EventEnvelopeDto,
  IS_STRING_MAP,
  IS_CONSENT_MAP,
  CONSENT_MAP_MAX_ENTRIES,
  IS_TEXT,
  MAX_FUTURE_SKEW_MS,
  MAX_IDENTIFIERS,
  PAYLOAD_DTOS,
  TEXT_PATTERN,
  type StringMapBounds,
  type TextBounds,
} from '@nunchi/contracts';

const transformerMetadata = (
  createRequire(import.meta.url)('class-transformer/cjs/storage.js') as {
    defaultMetadataStorage: TransformerMetadata;
  }
).defaultMetadataStorage;

type Json = Record<string, unknown>;
type Dto = new () => object;

type Converters = NonNullable<Parameters<typeof validationMetadatasToSchemas>[0]>['additionalConverters'];
const converters = {
  // The DTO also demands an offset (a pattern); JSON Schema's date-time is exactly that.
  [IS_ISO8601]: { type: 'string', format: 'date-time' },
  [IS_STRING_MAP]: (meta: { constraints: unknown[] }) => {
    const bounds = (meta.constraints as [StringMapBounds])[0];
    return {
      type: 'object',
      maxProperties: bounds.maxEntries,
      propertyNames: { maxLength: bounds.maxKeyLength },
      additionalProperties: { type: 'string', maxLength: bounds.maxValueLength },
    };
  },
  [IS_CONSENT_MAP]: {
    type: 'object',
    maxProperties: CONSENT_MAP_MAX_ENTRIES,
    propertyNames: { pattern: '^[A-Za-z0-9_-]{1,64}$' },
    additionalProperties: { type: 'boolean' },
  },
  // JSON Schema counts characters (code points), as the DTO does; the pattern refuses control characters.
  [IS_TEXT]: (meta: { constraints: unknown[] }) => {
    const bounds = (meta.constraints as [TextBounds])[0];
    return {
      type: 'string',
      minLength: bounds.minLength,
      maxLength: bounds.maxLength,
      pattern: TEXT_PATTERN,
    };
  },
} as unknown as Converters;

/** Repository-relative path → schema, in a stable order. */
export function buildEventSchemas(): Map<string, Json> {
  const generated = validationMetadatasToSchemas({
    classValidatorMetadataStorage: getMetadataStorage(),
    classTransformerMetadataStorage: transformerMetadata,
    refPointerPrefix: '#/definitions/',
    additionalConverters: converters,
  }) as Record<string, Json>;

  const out = new Map<string, Json>();
  const envelope = schemaOf(EventEnvelopeDto, generated, {
    title: 'Nunchi event',
    extra: {
      allOf: EVENT_TYPES.map((type) => ({
        if: { properties: { type: { const: type } }, required: ['type'] },
        then: { properties: { payload: { $ref: `payloads/${type}.schema.json` } } },
      })),
    },
  });
  const properties = envelope['properties'] as Record<string, Json>;
  properties['occurredAt']['description'] =
    `ISO-8601 date-time with a UTC offset; at most ${MAX_FUTURE_SKEW_MS / 60_000} minutes in the future of the receiving clock.`;
  const customer = (envelope['definitions'] as Record<string, Json>)['CustomerRef'];
  // One identifier, or two that the event links: with every property optional and no others allowed, that is
  // one or two properties.
  Object.assign(customer, { minProperties: 1, maxProperties: MAX_IDENTIFIERS });
  out.set('docs/schemas/event.schema.json', envelope);

  for (const type of EVENT_TYPES) {
    out.set(
      `docs/schemas/payloads/${type}.schema.json`,
      schemaOf(PAYLOAD_DTOS[type], generated, { title: `Nunchi ${type} payload` }),
    );
  }
  out.set(
    'docs/schemas/customer-import.schema.json',
    schemaOf(CustomerImportDto, generated, { title: 'Nunchi customer import line' }),
  );
  return out;
}

/** One self-contained file: the class, the classes it nests under `definitions`, closed to unknown properties. */
function schemaOf(dto: Dto, generated: Record<string, Json>, options: { title: string; extra?: Json }): Json {
  const definitions: Record<string, Json> = {};
  const visit = (name: string): Json => {
    const cls = dtoClass(name);
    const raw = generated[name];
    if (!raw || !cls) throw new Error(`no schema generated for ${name}`);
    const schema = close(cls, raw);
    for (const ref of refsIn(schema)) {
      const nested = ref.replace('#/definitions/', '');
      if (!definitions[shortName(nested)]) definitions[shortName(nested)] = visit(nested);
    }
    return schema;
  };
  const root = visit(dto.name);
  const description = root['description'];
  delete root['description'];
  return renameRefs({
    $schema: 'http://json-schema.org/draft-07/schema#',
    title: options.title,
    ...(description ? { description } : {}),
    ...root,
    ...(options.extra ?? {}),
    ...(Object.keys(definitions).length ? { definitions } : {}),
  }) as Json;
}

/** Unknown properties are rejected (forbidNonWhitelisted), descriptions come from @Describe, $ref stands alone. */
function close(cls: Dto, raw: Json): Json {
  const properties: Record<string, Json> = {};
  for (const [name, property] of Object.entries(raw['properties'] as Record<string, Json>)) {
    const p: Json = property['$ref'] ? { $ref: property['$ref'] } : { ...property };
    const text = descriptionOf(cls, name);
    if (text) p['description'] = text;
    properties[name] = sortKeys(p);
  }
  const text = descriptionOf(cls);
  return {
    ...(text ? { description: text } : {}),
    type: 'object',
    additionalProperties: false,
    ...(raw['required'] ? { required: raw['required'] } : {}),
    properties,
  };
}

const DTOS: Dto[] = [EventEnvelopeDto, CustomerImportDto, ...Object.values(PAYLOAD_DTOS)];
function dtoClass(name: string): Dto | undefined {
  const known = DTOS.find((d) => d.name === name);
  if (known) return known;
  // Nested classes (CustomerRefDto, LineItemDto) are reached through @Type metadata.
  for (const parent of DTOS) {
    for (const key of Object.keys(new parent())) {
      const type = transformerMetadata.findTypeMetadata(parent, key)?.typeFunction() as Dto | undefined;
      if (type?.name === name) return type;
    }
  }
  return undefined;
}

const shortName = (name: string) => name.replace(/Dto$/, '');

function refsIn(value: unknown, out: string[] = []): string[] {
  if (Array.isArray(value)) for (const v of value) refsIn(v, out);
  else if (value && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      if (k === '$ref' && typeof v === 'string' && v.startsWith('#/definitions/')) out.push(v);
      else refsIn(v, out);
    }
  }
  return out;
}

function renameRefs(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(renameRefs);
  if (value && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value).map(([k, v]) => [
        k,
        k === '$ref' && typeof v === 'string' && v.startsWith('#/definitions/')
          ? `#/definitions/${shortName(v.slice(14))}`
          : renameRefs(v),
      ]),
    );
  }
  return value;
}

/** A stable, readable key order inside a property: type first, description last. */
function sortKeys(p: Json): Json {
  const order = (k: string) => (k === '$ref' ? 0 : k === 'type' ? 1 : k === 'description' ? 3 : 2);
  return Object.fromEntries(
    Object.entries(p).sort(([a], [b]) => order(a) - order(b) || (order(a) === 2 ? a.localeCompare(b) : 0)),
  );
}

/** The text a file holds: two-space JSON with a final newline. */
export const schemaFileText = (schema: Json) => `${JSON.stringify(schema, null, 2)}\n`;
