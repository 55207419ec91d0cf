/// <reference lib="dom" />
/**
 * The agent console's script (`/console`). The token is kept in
 * sessionStorage (this tab only), never in a URL.
 *
 * @module
 */
import { h, render } from "preact";
import { useState } from "preact/hooks";
import { html } from "htm/preact";
import { Desk } from "./_desk.ts";
import { DeskPage, SignIn } from "./_app.ts";

const sessionKey = "switchboard-console:session";

function notify(title: string, body: string): void {
  if (document.visibilityState === "visible" || !("Notification" in globalThis)) return;
  if (Notification.permission === "granted") new Notification(title, { body });
}

function deskFor(token: string, edges: string[]): Desk {
  const desk = new Desk({ token, edges, storage: localStorage, notify });
  desk.start();
  return desk;
}

function Console() {
  const [desk, setDesk] = useState<Desk | null>(() => {
    const saved = sessionStorage.getItem(sessionKey);
    if (!saved) return null;
    const { token, edges } = JSON.parse(saved);
    return deskFor(token, edges);
  });
  if (!desk) {
    return html`<${SignIn} onSignIn=${(token: string, edges: string[]) => {
      sessionStorage.setItem(sessionKey, JSON.stringify({ token, edges }));
      if ("Notification" in globalThis && Notification.permission === "default") {
        Notification.requestPermission().catch(() => {});
      }
      setDesk(deskFor(token, edges));
    }} />`;
  }
  return html`<${DeskPage} desk=${desk} onSignOut=${() => {
    sessionStorage.removeItem(sessionKey);
    desk.stop();
    setDesk(null);
  }} />`;
}

render(h(Console, {}), document.getElementById("app")!);
