/**
 * Matching a request line against route templates such as
 * `/v1/tickets/{id}/claim`, whose `{name}` segments capture one path segment.
 *
 * @module
 */

/** What a router needs of a route. */
export interface RouteShape {
  method: string;
  /** The template; it also labels the route in metrics and traces. */
  path: string;
}

/** The outcome of matching one request line. */
export type RouteMatch<R> =
  | { kind: "found"; route: R; params: Record<string, string> }
  | { kind: "no_route" }
  | { kind: "wrong_method"; allow: string[] };

/** A matcher over `routes`, tried in order. */
export function createRouter<R extends RouteShape>(
  routes: readonly R[],
): (method: string, pathname: string) => RouteMatch<R> {
  const compiled = routes.map((route) => ({ route, segments: route.path.split("/") }));
  return (method, pathname) => {
    const segments = pathname.split("/");
    const allow: string[] = [];
    for (const { route, segments: template } of compiled) {
      const params = matchSegments(template, segments);
      if (!params) continue;
      if (route.method === method) return { kind: "found", route, params };
      allow.push(route.method);
    }
    return allow.length ? { kind: "wrong_method", allow } : { kind: "no_route" };
  };
}

function matchSegments(template: string[], actual: string[]): Record<string, string> | null {
  if (template.length !== actual.length) return null;
  const params: Record<string, string> = {};
  for (let i = 0; i < template.length; i++) {
    const name = /^\{(\w+)\}$/.exec(template[i])?.[1];
    if (name === undefined) {
      if (template[i] !== actual[i]) return null;
      continue;
    }
    const value = decodeSegment(actual[i]);
    if (!value) return null;
    params[name] = value;
  }
  return params;
}

function decodeSegment(segment: string): string | null {
  try {
    return decodeURIComponent(segment);
  } catch {
    return null;
  }
}
