// The polls for due timers and outbox leftovers read a table every node
// shares, oldest rows first. Filtering only the first page by ownership
// would have every node read the same oldest rows and let other nodes' rows
// (stuck ones above all) hide this node's own; so they page on past them.

/**
 * Rows from `page` (each call answers at most `pageSize` rows after the row
 * it is given, in one fixed order) that `wanted` keeps, paging on until
 * `limit` are kept or the rows run out.
 */
export async function collectWanted<R>(
  page: (after: R | undefined) => Promise<R[]>,
  wanted: (row: R) => boolean,
  { pageSize, limit }: { pageSize: number; limit: number },
): Promise<R[]> {
  const kept: R[] = [];
  let after: R | undefined;
  for (;;) {
    const rows = await page(after);
    for (const row of rows) {
      if (kept.length < limit && wanted(row)) kept.push(row);
    }
    if (rows.length < pageSize || kept.length >= limit) return kept;
    after = rows.at(-1);
  }
}
