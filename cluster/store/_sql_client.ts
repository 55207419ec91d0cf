// The little the SQL event store needs from a driver, so Postgres and PGlite
// share every query.

/** Runs one parameterised statement and returns its rows. */
export type Query = <T = Record<string, unknown>>(text: string, params?: unknown[]) => Promise<T[]>;

export interface SqlClient {
  query: Query;
  /** Run `work` in one transaction. */
  transaction<T>(work: (query: Query) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}
