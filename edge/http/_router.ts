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
  // Templates are parsed once: every request tries them all in turn.
  const compiled = routes.map((route) => ({ route, segments: route.path.split("/").map(parse) }));
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

/** A template segment: text to equal, or the name of the parameter it captures. */
type Segment = { text: string } | { param: string };

function parse(segment: string): Segment {
  const param = /^\{(\w+)\}$/.exec(segment)?.[1];
  return param === undefined ? { text: segment } : { param };
}

function matchSegments(template: Segment[], actual: string[]): Record<string, string> | null {
  if (template.length !== actual.length) return null;
  for (let i = 0; i < template.length; i++) {
    const segment = template[i];
    if ("text" in segment && segment.text !== actual[i]) return null;
  }
  const params: Record<string, string> = {};
  for (let i = 0; i < template.length; i++) {
    const segment = template[i];
    if ("text" in segment) continue;
    const value = decodeSegment(actual[i]);
    if (!value) return null;
    params[segment.param] = value;
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
