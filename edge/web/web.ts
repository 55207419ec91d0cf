/**
 * The pages every edge serves next to the API: `/widget.js` (the visitor
 * widget), `/console` (the agent console), `/demo` (a page embedding the
 * widget for the demo tenant) and, only in a standalone process that made
 * its own secret, the console's one-click dev sign-in. Pages are static,
 * under a strict Content-Security-Policy: no inline script, no eval.
 *
 * @module
 */
import { signToken } from "../auth/auth.ts";
import { type Bundle, bundleScripts, type ScriptName } from "./bundle.ts";

/** Options of {@linkcode createWebPages}. */
export interface WebOptions {
  /** The widget key `/demo` embeds; without one `/demo` is 404. */
  demoWidgetKey?: string;
  /**
   * Offer agents of this tenant a sign-in without a token: only for a
   * standalone process whose secret nobody else holds.
   */
  devSignIn?: { tenant: string; secret: string };
}

/** The web pages of an edge. */
export interface WebPages {
  /** A response for the paths it serves, else null. */
  handle(request: Request): Promise<Response> | null;
  /** Bundle the scripts now, so that the first visitor does not wait for it. */
  warm(): void;
}

/** Who the dev sign-in offers, by `sub`. */
export const devAgents: Record<string, "agent" | "supervisor"> = {
  alice: "agent",
  bob: "agent",
  sam: "supervisor",
};

const pages = new URL("./pages/", import.meta.url);

const pageCsp = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  // The console may move to another edge when its own dies.
  "connect-src 'self' http: https: ws: wss:",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join("; ");

const secure = {
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
};

/** Serve the widget, the console and the demo page. */
export function createWebPages(options: WebOptions = {}): WebPages {
  let bundle: Promise<Bundle> | undefined;
  const scripts = () =>
    bundle ??= bundleScripts().catch((error) => {
      bundle = undefined;
      throw error;
    });

  async function script(name: ScriptName, request: Request): Promise<Response> {
    const { hash, scripts: built } = await scripts();
    const etag = `"${hash}"`;
    const headers = {
      ...secure,
      "content-type": "text/javascript; charset=utf-8",
      "cache-control": "no-cache",
      etag,
      // The widget is loaded by the tenant's pages, another origin.
      "cross-origin-resource-policy": "cross-origin",
    };
    if (request.headers.get("if-none-match") === etag) {
      return new Response(null, { status: 304, headers });
    }
    return new Response(built[name], { headers });
  }

  async function page(file: string, fill: Record<string, string> = {}): Promise<Response> {
    let text = await Deno.readTextFile(new URL(file, pages));
    for (const [name, value] of Object.entries(fill)) {
      text = text.replaceAll(`{{${name}}}`, escapeHtml(value));
    }
    return new Response(text, {
      headers: {
        ...secure,
        "content-type": "text/html; charset=utf-8",
        "content-security-policy": pageCsp,
        "cache-control": "no-cache",
      },
    });
  }

  async function stylesheet(file: string): Promise<Response> {
    return new Response(await Deno.readFile(new URL(file, pages)), {
      headers: {
        ...secure,
        "content-type": "text/css; charset=utf-8",
        "cache-control": "no-cache",
      },
    });
  }

  async function devToken(request: Request): Promise<Response> {
    const signIn = options.devSignIn!;
    const body = await request.json().catch(() => ({}));
    const sub = typeof body?.sub === "string" ? body.sub : "";
    const role = devAgents[sub];
    if (!role) {
      return Response.json({
        error: { code: "validation", message: `sub must be one of ${Object.keys(devAgents)}` },
      }, { status: 400 });
    }
    const token = await signToken(signIn.secret, { sub, tenant: signIn.tenant, role }, 12 * 3600);
    return Response.json({ token, sub, role, tenant: signIn.tenant }, { headers: secure });
  }

  function handle(request: Request): Promise<Response> | null {
    const { pathname } = new URL(request.url);
    const get = request.method === "GET" || request.method === "HEAD";
    if (get) {
      switch (pathname) {
        case "/widget.js":
          return script("widget.js", request);
        case "/console/console.js":
          return script("console.js", request);
        case "/console":
        case "/console/":
          return page("console.html");
        case "/console/console.css":
          return stylesheet("console.css");
        case "/console/config.json":
          return Promise.resolve(Response.json({
            devSignIn: options.devSignIn
              ? { tenant: options.devSignIn.tenant, agents: devAgents }
              : null,
          }, { headers: secure }));
        case "/demo":
          if (options.demoWidgetKey) return page("demo.html", { widgetKey: options.demoWidgetKey });
          break;
        case "/demo/demo.css":
          return stylesheet("demo.css");
      }
    }
    if (request.method === "POST" && pathname === "/console/dev-sign-in" && options.devSignIn) {
      return devToken(request);
    }
    return null;
  }

  return { handle, warm: () => void scripts().catch(() => {}) };
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
