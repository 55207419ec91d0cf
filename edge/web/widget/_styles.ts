/** The widget's CSS, adopted by its shadow root so the host page's CSS cannot reach it. */
export const widgetCss = `
:host { all: initial; }
* { box-sizing: border-box; }
.root { position: fixed; right: 20px; bottom: 20px; z-index: 2147483000;
  font: 15px/1.4 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #1b1f24; }
button { font: inherit; cursor: pointer; }
button:focus-visible, textarea:focus-visible { outline: 3px solid #f5a623; outline-offset: 2px; }
.launcher { position: relative; width: 60px; height: 60px; border-radius: 50%; border: 0;
  background: #1f5fd1; color: #fff; box-shadow: 0 4px 14px rgba(0,0,0,.25);
  display: grid; place-items: center; margin-left: auto; }
.badge { position: absolute; top: -2px; right: -2px; min-width: 22px; height: 22px; padding: 0 6px;
  border-radius: 11px; background: #c62828; color: #fff; font-size: 13px; font-weight: 700;
  display: grid; place-items: center; }
.panel { width: min(380px, calc(100vw - 24px)); height: min(560px, calc(100vh - 110px));
  margin-bottom: 14px; background: #fff; border-radius: 14px; overflow: hidden;
  box-shadow: 0 10px 40px rgba(0,0,0,.25); display: flex; flex-direction: column; }
header { background: #1f5fd1; color: #fff; padding: 14px 16px; }
h2 { margin: 0; font-size: 17px; }
.status { margin: 2px 0 0; font-size: 13px; }
.log { flex: 1; overflow-y: auto; padding: 12px; display: flex; flex-direction: column; gap: 8px;
  background: #f4f6f9; }
.hint { color: #4a5568; margin: auto 0; text-align: center; }
.msg { max-width: 80%; padding: 8px 12px; border-radius: 12px; background: #fff;
  box-shadow: 0 1px 2px rgba(0,0,0,.08); }
.msg p { margin: 0; white-space: pre-wrap; overflow-wrap: anywhere; }
.msg time { display: block; font-size: 11px; color: #4a5568; margin-top: 2px; }
.mine { align-self: flex-end; background: #1f5fd1; color: #fff; }
.mine time { color: #e6ecf7; }
.system { align-self: center; background: #fff8e1; max-width: 95%; }
.seen, .typing { margin: 0; font-size: 12px; color: #4a5568; align-self: flex-end; }
.typing { align-self: flex-start; font-style: italic; }
.notice { margin: 0; padding: 8px 12px; background: #fdecea; color: #8a1c1c; font-size: 13px; }
form { display: flex; gap: 8px; padding: 10px; border-top: 1px solid #dde2e8; }
textarea { flex: 1; resize: none; font: inherit; padding: 8px; border: 1px solid #8a94a3;
  border-radius: 8px; }
form button, .closed button { border: 0; border-radius: 8px; background: #1f5fd1; color: #fff;
  padding: 0 14px; }
form button:disabled { background: #6b7684; cursor: default; }
.closed { padding: 12px; border-top: 1px solid #dde2e8; display: grid; gap: 10px; }
.closed p { margin: 0; }
.closed button { padding: 8px 14px; }
.rating { border: 0; margin: 0; padding: 0; display: flex; gap: 4px; align-items: center;
  flex-wrap: wrap; }
.rating legend { padding: 0; margin-bottom: 4px; }
.closed .star { background: transparent; color: #6b7684; font-size: 26px; padding: 0 4px; }
.closed .star.on { color: #b36b00; }
.visually-hidden { position: absolute; width: 1px; height: 1px; overflow: hidden;
  clip: rect(0 0 0 0); white-space: nowrap; }
@media (max-width: 480px) {
  .root { right: 12px; bottom: 12px; }
  .panel { position: fixed; inset: 0; width: 100vw; height: 100vh; border-radius: 0; margin: 0; }
}
`;
