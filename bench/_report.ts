// What every scenario returns, and the one way results are shown: markdown
// tables on stdout, JSON files under bench/results/.

/** One table cell. */
export type Cell = string | number | null;

/** One table row, keyed by column; columns appear in first-seen order. */
export type Row = Record<string, Cell>;

/** A titled table of rows. */
export interface Table {
  title: string;
  rows: Row[];
}

/** What a scenario measured. */
export interface ScenarioResult {
  scenario: string;
  tables: Table[];
  /** Everything else worth keeping in the JSON report. */
  details: Record<string, unknown>;
}

/** How a scenario is asked to run. */
export interface ScenarioOptions {
  /** Smaller sizes, for a smoke run. */
  quick: boolean;
  /** Aborted on Ctrl-C: stop early and clean up. */
  signal: AbortSignal;
  /** The checkout whose `main.ts` the scenario's cluster runs, if not this one. */
  target?: string;
}

/** A benchmark scenario, one module `bench/<scenario>.ts`. */
export type Scenario = (options: ScenarioOptions) => Promise<ScenarioResult>;

/** A scenario's tables as markdown. */
export function markdown(result: ScenarioResult): string {
  return result.tables.map((table) => {
    const columns = [...new Set(table.rows.flatMap((row) => Object.keys(row)))];
    const lines = [
      `### ${result.scenario}: ${table.title}`,
      "",
      `| ${columns.join(" | ")} |`,
      `| ${columns.map(() => "---").join(" | ")} |`,
      ...table.rows.map((row) => `| ${columns.map((c) => formatCell(row[c])).join(" | ")} |`),
    ];
    return lines.join("\n") + "\n";
  }).join("\n");
}

/**
 * Write `<timestamp>-<scenario>.json` per scenario and `latest.json` with the
 * whole run; returns the paths written. Scenarios of the previous
 * `latest.json` that this run left out stay in it, each with the `run` it
 * came from, so running one scenario does not drop the others' figures.
 */
export async function writeReports(
  results: ScenarioResult[],
  run: Record<string, unknown>,
  directory = new URL("./results/", import.meta.url),
): Promise<string[]> {
  await Deno.mkdir(directory, { recursive: true });
  const stamp = new Date().toISOString().replaceAll(":", "-").replace(/\.\d+Z$/, "Z");
  const written: string[] = [];
  const write = async (name: string, value: unknown) => {
    const file = new URL(name, directory);
    await Deno.writeTextFile(file, JSON.stringify(value, null, 2) + "\n");
    written.push(file.pathname);
  };
  for (const result of results) await write(`${stamp}-${result.scenario}.json`, { run, result });
  const rerun = new Set(results.map((result) => result.scenario));
  const kept = (await previousResults(new URL("latest.json", directory)))
    .filter((result) => !rerun.has(result.scenario));
  await write("latest.json", { run, results: [...kept, ...results] });
  return written;
}

// The previous latest.json's results, each tagged with its run.
async function previousResults(file: URL): Promise<(ScenarioResult & { run?: unknown })[]> {
  let previous: { run?: unknown; results?: (ScenarioResult & { run?: unknown })[] };
  try {
    previous = JSON.parse(await Deno.readTextFile(file));
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return [];
    throw error;
  }
  return (previous.results ?? []).map((result) => ({ run: previous.run, ...result }));
}

function formatCell(value: Cell | undefined): string {
  if (value === null || value === undefined) return "–";
  if (typeof value === "string") return value.replaceAll("|", "\\|");
  if (Number.isInteger(value)) return String(value);
  return value >= 100 ? value.toFixed(0) : value >= 10 ? value.toFixed(1) : value.toFixed(2);
}
