/** A request the router cannot serve, with the HTTP status that says why. */
export class RouteError extends Error {
  override name = 'RouteError';
  constructor(
    readonly status: 400 | 404 | 413 | 422 | 499 | 502 | 503 | 504,
    message: string,
    readonly type: string = status < 500 ? 'invalid_request_error' : 'service_unavailable',
    readonly code: string | null = null,
  ) {
    super(message);
  }
}

/** The OpenAI error envelope: `{"error": {"message", "type", "code"}}`. */
export function errorBody(message: string, type: string, code: string | number | null) {
  return { error: { message, type, code } };
}
