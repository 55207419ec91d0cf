/**
 * Splits a text stream into lines, like std's `TextLineStream` (JSR is out
 * of reach here, so this keeps its name and behaviour).
 *
 * @module
 */

/** A stream of text chunks in, one line (without its line break) per chunk out. */
export class TextLineStream extends TransformStream<string, string> {
  constructor() {
    let buffer = "";
    super({
      transform(chunk, controller) {
        buffer += chunk;
        const lines = buffer.split(/\r?\n/);
        buffer = lines.pop()!;
        for (const line of lines) controller.enqueue(line);
      },
      flush(controller) {
        if (buffer) controller.enqueue(buffer);
      },
    });
  }
}
