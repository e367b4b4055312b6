/** Reads typed values from an environment map, collecting every problem instead of stopping at the first. */
export class EnvReader {
  readonly problems: string[] = [];
  constructor(private readonly env: Record<string, string | undefined>) {}

  string(key: string, fallback: string): string {
    const raw = this.env[key];
    return raw === undefined || raw === '' ? fallback : raw;
  }

  optional(key: string): string | undefined {
    const raw = this.env[key];
    return raw === undefined || raw === '' ? undefined : raw;
  }

  int(key: string, fallback: number, min = Number.MIN_SAFE_INTEGER, max = Number.MAX_SAFE_INTEGER): number {
    const raw = this.env[key];
    if (raw === undefined || raw === '') return fallback;
    const value = Number(raw);
    if (!Number.isInteger(value) || value < min || value > max) {
      this.problems.push(`${key}="${raw}" must be an integer from ${min} to ${max}`);
      return fallback;
    }
    return value;
  }

  oneOf<T extends string>(key: string, fallback: T, allowed: readonly T[]): T {
    const raw = this.string(key, fallback);
    if (!allowed.includes(raw as T)) {
      this.problems.push(`${key}="${raw}" must be one of ${allowed.join(', ')}`);
      return fallback;
    }
    return raw as T;
  }

  bool(key: string, fallback: boolean): boolean {
    const raw = this.env[key];
    if (raw === undefined || raw === '') return fallback;
    if (['1', 'true', 'yes', 'on'].includes(raw.toLowerCase())) return true;
    if (['0', 'false', 'no', 'off'].includes(raw.toLowerCase())) return false;
    this.problems.push(`${key}="${raw}" must be true or false`);
    return fallback;
  }

  url(key: string, fallback: string, protocols: string[]): string {
    return this.optionalUrl(key, protocols) ?? fallback;
  }

  /** A URL of one of the protocols; unset, or malformed (a problem noted): undefined. */
  optionalUrl(key: string, protocols: string[]): string | undefined {
    const raw = this.optional(key);
    if (raw === undefined) return undefined;
    try {
      if (protocols.includes(new URL(raw).protocol)) return raw;
    } catch {
      // not a URL at all: the same problem as a wrong protocol
    }
    this.problems.push(`${key}="${raw}" must be a ${protocols.join(' or ')} URL`);
    return undefined;
  }

  check(key: string, ok: boolean, message: string): void {
    if (!ok) this.problems.push(`${key} ${message}`);
  }
}
