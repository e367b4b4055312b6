/**
 * Errors of the campaign operations. Domain errors, not HTTP ones: the CLI prints their message, the HTTP
 * API maps them to a status (CampaignNotFound 404, Conflict 409, BadInput 400; CampaignInvalidError of
 * libs/rules 422, LifecycleError of libs/campaigns-model 404 or 409).
 */

/** No campaign, version or draft of that id. */
export class CampaignNotFoundError extends Error {
  override readonly name = 'CampaignNotFoundError';
  constructor(
    message: string,
    /** which input named what is missing ("id", "version", "to") */
    readonly path = 'id',
  ) {
    super(message);
  }
}

/** Someone else changed the campaign or its draft since the caller read it: read again, then retry. */
export class CampaignConflictError extends Error {
  override readonly name = 'CampaignConflictError';
}

/** A malformed request value (a date, a version reference, a percentage): one line, naming the input. */
export class BadInputError extends Error {
  override readonly name = 'BadInputError';
  constructor(
    message: string,
    readonly path = '',
  ) {
    super(message);
  }
}
