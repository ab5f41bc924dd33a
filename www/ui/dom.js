// The DOM helpers every view uses: one copy of each.

/** A new `tag` element with class `cls` and text `text` (both optional). */
export function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
}

/**
 * Sets `node`'s text only when it differs. Assigning the same string still replaces the text
 * node, which re-lays it out and repaints it: views redraw every frame while traffic streams,
 * and most of their texts stay the same from one frame to the next.
 */
export function setText(node, text) {
  if (node.textContent !== text) node.textContent = text;
}
