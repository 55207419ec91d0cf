/**
 * The demo tenant of a standalone process: `deno task start`, then `/demo`
 * and `/console` in a browser, is the whole tour.
 *
 * @module
 */
import type { Backend } from "../../cluster/protocol.ts";

/** The tenant the demo page and the console's dev sign-in use. */
export const demoTenant = "demo";

const demoWidgetKey = "demo_widget_key_0001";

/** The demo tenant's widget key, giving the tenant a widget first when it has none. */
export async function ensureDemoWidget(
  backend: Pick<Backend, "settings" | "putSettings">,
): Promise<string> {
  const { widget } = await backend.settings(demoTenant);
  if (widget) return widget.key;
  await backend.putSettings(demoTenant, { widget: { key: demoWidgetKey } });
  return demoWidgetKey;
}
