import { Injectable, type CallHandler, type ExecutionContext, type NestInterceptor } from '@nestjs/common';
import { catchError, type Observable } from 'rxjs';
import { LifecycleError } from '@nunchi/campaigns-model';
import { BadInputError, CampaignConflictError, CampaignNotFoundError } from '@nunchi/operations';
import { CampaignInvalidError } from '@nunchi/rules';
import { ApiError } from '@nunchi/telemetry/nest';
import { SimulationBusyError } from './simulation-jobs.js';

/**
 * Domain errors of the campaign use cases as HTTP answers in the contract's error shape, at the edge (the
 * use cases know no HTTP). A campaign's problems keep the CLI's wording: `message` is exactly what
 * `nunchi campaigns apply` prints, `details` the same problems by path.
 */
export function toHttpError(error: unknown): unknown {
  if (error instanceof CampaignInvalidError)
    return new ApiError(422, 'VALIDATION_FAILED', error.message, error.details);
  if (error instanceof LifecycleError)
    return error.refusal === 'not_found'
      ? new ApiError(404, 'NOT_FOUND', error.message, [{ path: 'id', message: error.message }])
      : new ApiError(409, 'CONFLICT', error.message, [{ path: 'id', message: error.message }]);
  if (error instanceof CampaignNotFoundError)
    return new ApiError(404, 'NOT_FOUND', error.message, [{ path: error.path, message: error.message }]);
  if (error instanceof CampaignConflictError) return new ApiError(409, 'CONFLICT', error.message);
  if (error instanceof BadInputError)
    return new ApiError(400, 'VALIDATION_FAILED', error.message, [
      { path: error.path, message: error.message },
    ]);
  if (error instanceof SimulationBusyError) return new ApiError(409, 'CONFLICT', error.message);
  return error;
}

@Injectable()
export class CampaignErrorsInterceptor implements NestInterceptor {
  intercept(_context: ExecutionContext, next: CallHandler): Observable<unknown> {
    return next.handle().pipe(
      catchError((error: unknown) => {
        throw toHttpError(error);
      }),
    );
  }
}
