import { createRequire } from 'node:module';
import { getMetadataStorage, ValidationTypes, type ValidationArguments } from 'class-validator';
import type { MetadataStorage as TransformerMetadata } from 'class-transformer/types/MetadataStorage.js';

// class-transformer keeps @Type(() => X) in this singleton; class-validator-jsonschema reads it the same way.
const transformerMetadata = (
  createRequire(import.meta.url)('class-transformer/cjs/storage.js') as {
    defaultMetadataStorage: TransformerMetadata;
  }
).defaultMetadataStorage;

type Constructor = abstract new (...args: never[]) => object;
type Check = (value: unknown, parent: Record<string, unknown>) => boolean;

/** A yes/no check of a plain decoded object against a DTO class. */
export type DtoCheck = (plain: unknown) => boolean;

/**
 * Compiles a DTO's class-validator decorators into a yes/no check of the plain, decoded object.
 *
 * Why: class-validator's full run (plainToInstance, then an executor that builds an error tree) costs
 * ~50 µs for a purchase; the ingestion hot path has ~60 µs for everything. This runs the very same
 * constraint functions, read from the same metadata, without building instances or errors (~2 µs). It is
 * only ever used to say "valid": any "no", and any decorator it does not know, sends the caller to the full
 * class-validator run, which stays the authority and produces the error details. So it may be stricter
 * than class-validator, never looser (validate.spec.ts fuzzes both to keep it so).
 */
export function compileDtoCheck(dto: Constructor): DtoCheck {
  const check = compileClass(dto as unknown as new () => object, new Map());
  return (plain) => isPlainObject(plain) && check(plain);
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

const NEVER = () => false;

/**
 * The commonest built-in constraints as plain expressions: each is the class-validator function it
 * replaces, or stricter (maxLength counts UTF-16 units, so a surrogate pair counts twice), never looser.
 * A constraint whose options this table does not recognise returns undefined and is called as is.
 */
const DIRECT: Record<string, (constraints: unknown[]) => ((value: unknown) => boolean) | undefined> = {
  isString: () => (v) => typeof v === 'string',
  isInt: () => (v) => typeof v === 'number' && Number.isInteger(v),
  isNumber: ([options]) => {
    const o = (options ?? {}) as Record<string, unknown>;
    return o['allowNaN'] || o['allowInfinity'] || o['maxDecimalPlaces'] !== undefined
      ? undefined
      : (v) => typeof v === 'number' && Number.isFinite(v);
  },
  min: ([bound]) => (typeof bound === 'number' ? (v) => typeof v === 'number' && v >= bound : undefined),
  max: ([bound]) => (typeof bound === 'number' ? (v) => typeof v === 'number' && v <= bound : undefined),
  maxLength: ([bound]) =>
    typeof bound === 'number' ? (v) => typeof v === 'string' && v.length <= bound : undefined,
  matches: ([pattern, modifiers]) =>
    pattern instanceof RegExp && !pattern.global && !pattern.sticky && modifiers === undefined
      ? (v) => typeof v === 'string' && pattern.test(v)
      : undefined,
  isIn: ([values]) => {
    if (!Array.isArray(values) || !values.every((x) => typeof x === 'string')) return undefined;
    const set = new Set<unknown>(values);
    return (v) => typeof v === 'string' && set.has(v);
  },
  isObject: () => (v) => v !== null && typeof v === 'object' && !Array.isArray(v),
  isArray: () => (v) => Array.isArray(v),
  arrayMinSize: ([n]) => (typeof n === 'number' ? (v) => Array.isArray(v) && v.length >= n : undefined),
  arrayMaxSize: ([n]) => (typeof n === 'number' ? (v) => Array.isArray(v) && v.length <= n : undefined),
};

function compileClass(
  dto: new () => object,
  seen: Map<object, (o: Record<string, unknown>) => boolean>,
): (o: Record<string, unknown>) => boolean {
  const known = seen.get(dto);
  if (known) return known;
  let compiled: (o: Record<string, unknown>) => boolean = NEVER;
  // Placeholder for recursive classes; replaced below.
  seen.set(dto, (o) => compiled(o));

  const storage = getMetadataStorage();
  const metadatas = storage.getTargetValidationMetadatas(dto, '', false, false);
  if (metadatas.length === 0) return NEVER; // forbidUnknownValues: a class without rules is refused
  const byProperty = new Map<string, typeof metadatas>();
  for (const m of metadatas) byProperty.set(m.propertyName, [...(byProperty.get(m.propertyName) ?? []), m]);

  const properties: Array<{ name: string; optional: boolean; checks: Check[] }> = [];
  for (const [name, list] of byProperty) {
    let optional = false;
    const checks: Check[] = [];
    for (const m of list) {
      if (m.groups?.length || m.always !== undefined || m.validateIf || m.context) return NEVER; // not ours: let class-validator decide
      switch (m.type) {
        case ValidationTypes.CONDITIONAL_VALIDATION:
          if (m.name !== 'isOptional') return NEVER;
          optional = true;
          break;
        case ValidationTypes.CUSTOM_VALIDATION: {
          const constraints = storage.getTargetValidatorConstraints(m.constraintCls);
          if (constraints.length !== 1 || constraints[0].async) return NEVER;
          const direct = DIRECT[constraints[0].name]?.(m.constraints as unknown[]);
          if (direct) {
            checks.push(
              m.each ? (value) => (Array.isArray(value) ? value.every(direct) : direct(value)) : direct,
            );
            break;
          }
          const validator = constraints[0].instance as {
            validate(value: unknown, args: ValidationArguments): unknown;
          };
          // Built-in constraints read only args.constraints; the rest is filled in for custom ones.
          const args: ValidationArguments = {
            value: undefined,
            constraints: m.constraints as unknown[],
            targetName: dto.name,
            object: {},
            property: name,
          };
          const one = (value: unknown, parent: object) => {
            args.value = value;
            args.object = parent;
            return validator.validate(value, args) === true;
          };
          checks.push(
            m.each
              ? (value, parent) =>
                  Array.isArray(value) ? value.every((v) => one(v, parent)) : one(value, parent)
              : one,
          );
          break;
        }
        case ValidationTypes.NESTED_VALIDATION: {
          const type = transformerMetadata.findTypeMetadata(dto, name)?.typeFunction() as
            (new () => object) | undefined;
          if (!type) return NEVER;
          const nested = compileClass(type, seen);
          // Stricter than class-validator on purpose: exactly an object, or (each) an array of objects.
          checks.push(
            m.each
              ? (value) => Array.isArray(value) && value.every((v) => isPlainObject(v) && nested(v))
              : (value) => value === undefined || (isPlainObject(value) && nested(value)),
          );
          break;
        }
        default:
          return NEVER;
      }
    }
    properties.push({ name, optional, checks });
  }
  const allowed = new Set(properties.map((p) => p.name));

  compiled = (o) => {
    // whitelist + forbidNonWhitelisted: any other own key is an unknown property.
    const keys = Object.keys(o);
    for (let i = 0; i < keys.length; i++) if (!allowed.has(keys[i])) return false;
    for (let i = 0; i < properties.length; i++) {
      const p = properties[i];
      const value = o[p.name];
      if (p.optional && (value === undefined || value === null)) continue;
      for (let j = 0; j < p.checks.length; j++) if (!p.checks[j](value, o)) return false;
    }
    return true;
  };
  seen.set(dto, compiled);
  return compiled;
}
