/**
 * Structured logs: one JSON object per line on stderr, with the process's
 * fixed fields (node id, role) and the active trace id when there is one.
 *
 * @module
 */
import { trace } from "@opentelemetry/api";

/** Log severities. */
export type Level = "debug" | "info" | "warn" | "error";

/** Writes structured log lines. */
export interface Logger {
  log(level: Level, message: string, fields?: Record<string, unknown>): void;
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
}

/** A logger that stamps every line with `base` (e.g. `{ node: "n1" }`). */
export function createLogger(
  base: Record<string, unknown>,
  write: (line: string) => void = (line) => console.error(line),
): Logger {
  const log = (level: Level, message: string, fields: Record<string, unknown> = {}) => {
    const traceId = trace.getActiveSpan()?.spanContext().traceId;
    write(JSON.stringify({
      time: new Date().toISOString(),
      level,
      message,
      ...base,
      ...(traceId && { trace_id: traceId }),
      ...fields,
    }));
  };
  return {
    log,
    info: (message, fields) => log("info", message, fields),
    warn: (message, fields) => log("warn", message, fields),
    error: (message, fields) => log("error", message, fields),
  };
}
