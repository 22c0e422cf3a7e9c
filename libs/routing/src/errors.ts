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
