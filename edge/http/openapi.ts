/**
 * The OpenAPI 3.1 document of the HTTP API, derived from the route table and
 * the input schemas, so it cannot drift from what the router serves.
 *
 * @module
 */
import type * as v from "valibot";
import { toJsonSchema } from "@valibot/to-json-schema";
import type {
  ApiRoute,
  ClusterRoute,
  FieldsSchema,
  OpsRoute,
  PublicRoute,
  Route,
} from "./route_types.ts";
import { maxBodyBytes } from "./_body.ts";
import { errorResponses, type Json, ref, schemas } from "./_response_schemas.ts";
import { idempotencyKeyPattern } from "../ids.ts";

/** The OpenAPI document for `routes`. */
export function openApiDocument(routes: readonly Route[]): Json {
  const paths: Record<string, Json> = {};
  for (const route of routes) {
    paths[route.path] ??= {};
    paths[route.path][route.method.toLowerCase()] = route.kind === "ops"
      ? opsOperation(route)
      : apiOperation(route);
  }
  return {
    openapi: "3.1.0",
    info: {
      title: "Switchboard API",
      version: "1",
      description: [
        "Tickets and live conversations of a helpdesk.",
        "The tenant is always the one named by the caller's token;",
        "public operations (the widget bootstrap, which hands visitors their token) need none.",
        "Every POST honours an `Idempotency-Key` header (1-200 of `A-Za-z0-9._:-`):",
        "a retry with the same key answers the original outcome, and the same key on another",
        "method, path or body answers 422 `idempotency_mismatch`.",
        `Request bodies are JSON objects of at most ${maxBodyBytes} bytes; unknown fields are refused.`,
        'Failures answer `{"error": {"code", "message", "field"?, "details"?}}`;',
        "503 answers carry `Retry-After` and may be retried with the same key.",
      ].join(" "),
    },
    paths,
    components: {
      securitySchemes: {
        bearer: {
          type: "http",
          scheme: "bearer",
          bearerFormat: "JWT",
          description:
            "HS256 JWT with claims sub, tenant, role (visitor|agent|supervisor|admin), exp; a visitor's also vrf (whether sub is a verified identity). The ops credential has role ops and no tenant.",
        },
      },
      schemas,
      responses: errorResponses,
    },
  };
}

function apiOperation(route: ApiRoute | PublicRoute | ClusterRoute): Json {
  if (route.kind === "cluster") {
    return {
      ...apiOperation({ ...route, kind: "api", roles: [], handle: () => Promise.resolve() }),
      description:
        "Ops credential only: a bearer JWT with role ops and no tenant (deno task token --role ops --sub <you>); every tenant's token is 403.",
      "x-roles": ["ops"],
    };
  }
  const authenticated = route.kind === "api";
  const parameters = [
    ...pathParameters(route.path),
    ...(authenticated && route.query ? queryParameters(route.query) : []),
    ...(route.method === "POST" ? [idempotencyKeyParameter] : []),
  ];
  const errors = [
    400,
    401,
    ...(authenticated ? [403] : []),
    404,
    ...(route.method === "POST" ? [409, 413, 415] : []),
    429,
    500,
    503,
  ];
  return {
    operationId: route.operationId,
    summary: route.summary,
    ...(authenticated
      ? {
        description: `Roles: ${route.roles.join(", ")}.`,
        "x-roles": route.roles,
        security: [{ bearer: [] }],
      }
      : { description: "Public: no token.", security: [] }),
    parameters,
    ...(route.body && {
      requestBody: {
        required: route.method === "POST" && hasRequiredFields(route.body),
        content: { "application/json": { schema: jsonSchema(route.body) } },
      },
    }),
    responses: {
      [route.status]: {
        description: "Success.",
        content: { "application/json": { schema: ref(route.response) } },
      },
      ...errorRefs(errors),
    },
  };
}

function opsOperation(route: OpsRoute): Json {
  return {
    operationId: route.operationId,
    summary: route.summary,
    security: [],
    responses: {
      200: { description: "Success.", content: { [route.contentType]: {} } },
      ...errorRefs(route.errors ?? []),
    },
  };
}

function pathParameters(path: string): Json[] {
  return [...path.matchAll(/\{(\w+)\}/g)].map(([, name]) => ({
    name,
    in: "path",
    required: true,
    description: "1-128 letters, digits or `._:-`, starting with a letter or digit.",
    schema: { type: "string", minLength: 1, maxLength: 128 },
  }));
}

function errorRefs(statuses: readonly number[]): Json {
  return Object.fromEntries(
    statuses.map((status) => [status, { $ref: `#/components/responses/${status}` }]),
  );
}

function queryParameters(query: FieldsSchema<unknown>): Json[] {
  return Object.entries(query.entries).map(([name, schema]) => ({
    name,
    in: "query",
    required: schema.type !== "optional",
    schema: jsonSchema(schema),
  }));
}

function hasRequiredFields(body: FieldsSchema<unknown>): boolean {
  return Object.values(body.entries).some((schema) => schema.type !== "optional");
}

const idempotencyKeyParameter = {
  name: "Idempotency-Key",
  in: "header",
  required: false,
  description:
    "Makes the POST safe to retry: the same key (per caller) answers the original result.",
  schema: { type: "string", pattern: idempotencyKeyPattern.source },
};

function jsonSchema(schema: v.GenericSchema): Json {
  // The pipelines' output is what the API takes (query strings become numbers),
  // and `check` predicates carry a description instead.
  const { $schema: _, ...converted } = toJsonSchema(schema, {
    target: "draft-2020-12",
    typeMode: "output",
    ignoreActions: ["check"],
  });
  return converted;
}
