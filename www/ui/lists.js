// The streaming lists (the console, the events, the AOF buffer): how they change and how they
// follow their newest line.
//
// A move through the past redraws them at once, mostly with the same items shifted by a few:
// `reconcile` moves, adds and removes only what differs (re-inserting every item re-laid-out
// every item, each frame of a scrub). They follow their end while the reader is there. Whether the reader is there is kept from the list's own scroll events,
// and the scrolls wait until every view of the frame has drawn (`scrollAll`): a frame that
// draws many views then lays the page out once, where reading each list's scrollHeight between
// one view's writes and the next forced a layout per view (BENCHMARKS.md, "The page").

const following = new WeakMap(); // list -> at its end
const due = new Set(); // lists to scroll to their end at scrollAll()

/** `list` follows its end from now on (it is there at first). */
export function follow(list) {
  if (following.has(list)) return;
  following.set(list, true);
  // Read after the browser laid out and scrolled: no layout forced.
  list.addEventListener('scroll', () => following.set(list, list.scrollHeight - list.scrollTop - list.clientHeight < 40), { passive: true });
}

/** The list drew new lines: it scrolls to its end (at scrollAll) if the reader is there, or `force`. */
export function keepAtEnd(list, force = false) {
  if (force || following.get(list) !== false) due.add(list);
}

/** Scrolls the lists drawn this frame to their end: called once every view has drawn. */
export function scrollAll() {
  for (const list of due) {
    list.scrollTop = list.scrollHeight;
    following.set(list, true);
  }
  due.clear();
}

/**
 * Makes `parent`'s children exactly `nodes` (elements, each at most once) with the fewest
 * moves: items already in place stay untouched, so the browser styles and lays out only what
 * changed.
 */
export function reconcile(parent, nodes) {
  const wanted = new Set(nodes);
  for (const child of [...parent.children]) if (!wanted.has(child)) child.remove();
  let at = parent.firstElementChild;
  for (const node of nodes) {
    if (node === at) at = at.nextElementSibling;
    else parent.insertBefore(node, at);
  }
}
