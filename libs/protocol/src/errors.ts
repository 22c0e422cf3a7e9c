/** A canonical message that does not decode or validate. */
export class ProtocolError extends Error {
  override name = 'ProtocolError';
  constructor(
    readonly field: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(`${field}: ${message}`, options);
  }
}
