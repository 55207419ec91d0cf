/**
 * The console's REST calls: the bearer token in a header (never in a URL),
 * on the edge the socket uses, moving to the next edge when one does not answer.
 *
 * @module
 */

/** A refusal of the API, with its error code. */
export class ApiError extends Error {
  readonly code: string;
  readonly status: number;
  constructor(status: number, code: string, message: string) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

/** The REST API of the edges, as one signed-in user calls it. */
export class Api {
  #edges: string[];
  #token: string;
  #current: () => string;

  /** `current` names the edge the socket uses now; it is asked first. */
  constructor(edges: string[], token: string, current: () => string) {
    this.#edges = edges;
    this.#token = token;
    this.#current = current;
  }

  get<T>(path: string): Promise<T> {
    return this.#call("GET", path);
  }

  post<T>(path: string, body: unknown = {}): Promise<T> {
    return this.#call("POST", path, body);
  }

  async #call<T>(method: string, path: string, body?: unknown): Promise<T> {
    const first = this.#current();
    const order = [first, ...this.#edges.filter((edge) => edge !== first)];
    const idempotencyKey = crypto.randomUUID();
    let failure: unknown;
    for (const edge of order) {
      let response: Response;
      try {
        response = await fetch(`${edge}${path}`, {
          method,
          headers: {
            authorization: `Bearer ${this.#token}`,
            ...(body !== undefined && {
              "content-type": "application/json",
              "idempotency-key": idempotencyKey,
            }),
          },
          ...(body !== undefined && { body: JSON.stringify(body) }),
        });
      } catch (error) {
        failure = error;
        continue;
      }
      const answer = await response.json().catch(() => ({}));
      if (response.ok) return answer as T;
      throw new ApiError(
        response.status,
        answer.error?.code ?? "error",
        answer.error?.message ?? response.statusText,
      );
    }
    throw failure;
  }
}
