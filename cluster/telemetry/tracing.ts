/**
 * The one OpenTelemetry tracer every Switchboard span comes from, so spans of
 * the edge, the runtime and the committer share an instrumentation scope.
 *
 * @module
 */
import { trace } from "@opentelemetry/api";

/** Switchboard's tracer; exported by Deno when `OTEL_DENO=true`. */
export const tracer = trace.getTracer("switchboard");
