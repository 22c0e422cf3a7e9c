/** A policy configuration that cannot be used; `field` names the bad key (e.g. `scorers[1].weight`). */
export class PolicyConfigError extends Error {
  override readonly name = 'PolicyConfigError';
  constructor(
    readonly field: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(`${field}: ${message}`, options);
  }
}

/**
 * `pick` was given no candidate that may take a request: none at all, or only
 * decode-only pods. A RangeError, as the empty-candidates case always was.
 */
export class NoCandidateError extends RangeError {
  override readonly name = 'NoCandidateError';
}
