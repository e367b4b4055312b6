import { plainToInstance } from 'class-transformer';
import { validateSync, type ValidationError } from 'class-validator';
import { ContractError, type ProblemDetail } from '@nunchi/contracts/core';

/**
 * The body as an instance of `dto`, or a ContractError (400 VALIDATION_FAILED) listing every problem by
 * path; unknown fields are problems too (as in every other contract of Nunchi).
 */
export function checkBody<T extends object>(dto: new () => T, body: unknown): T {
  const plain = body === undefined || body === null || body === '' ? {} : body;
  if (typeof plain !== 'object' || Array.isArray(plain))
    throw new ContractError('VALIDATION_FAILED', [{ path: '', message: 'the body must be a JSON object' }]);
  const instance = plainToInstance(dto, plain);
  const errors = validateSync(instance, { whitelist: true, forbidNonWhitelisted: true });
  if (errors.length)
    throw new ContractError(
      'VALIDATION_FAILED',
      errors.flatMap((e) => problemsOf(e, '')),
    );
  return instance;
}

function problemsOf(error: ValidationError, prefix: string): ProblemDetail[] {
  const path = prefix ? `${prefix}.${error.property}` : error.property;
  const own = Object.values(error.constraints ?? {}).map((message) => ({
    path,
    message: message.startsWith(`${error.property} `) ? message.slice(error.property.length + 1) : message,
  }));
  return [...own, ...(error.children ?? []).flatMap((c) => problemsOf(c, path))];
}
