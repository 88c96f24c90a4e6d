/** Arrow keys in the grid of buttons: Left/Right go to the previous/next tile, Up/Down to the
 * tile above/below (the nearest in the row above or below, as laid out), Home/End to the first
 * and last. */

/** Where a tile's button is on screen: its left edge and top. */
export interface Spot {
  x: number;
  y: number;
}

/** The tile to move to from `from` with `key`, or null to stay (or for a key that is not ours). */
export function nextTile(spots: Spot[], from: number, key: string): number | null {
  if (from < 0 || from >= spots.length) return null;
  switch (key) {
    case "ArrowLeft":
      return from > 0 ? from - 1 : null;
    case "ArrowRight":
      return from < spots.length - 1 ? from + 1 : null;
    case "Home":
      return 0;
    case "End":
      return spots.length - 1;
    case "ArrowUp":
    case "ArrowDown": {
      const here = spots[from]!;
      const down = key === "ArrowDown";
      // The nearest row in that direction, then the tile in it nearest across.
      const rows = spots
        .map((s) => s.y)
        .filter((y) => (down ? y > here.y + 1 : y < here.y - 1));
      if (rows.length === 0) return null;
      const row = down ? Math.min(...rows) : Math.max(...rows);
      let best: number | null = null;
      spots.forEach((s, i) => {
        if (Math.abs(s.y - row) > 1) return;
        if (best === null || Math.abs(s.x - here.x) < Math.abs(spots[best]!.x - here.x)) best = i;
      });
      return best;
    }
    default:
      return null;
  }
}

/** The Svelte action on the grid's list: moves focus between its tiles' order buttons. */
export function gridKeys(node: HTMLElement) {
  function keydown(event: KeyboardEvent) {
    const buttons = Array.from(node.querySelectorAll<HTMLElement>("button.tap"));
    const from = buttons.indexOf(document.activeElement as HTMLElement);
    if (from === -1) return;
    const spots = buttons.map((b) => {
      const r = b.getBoundingClientRect();
      return { x: r.left, y: r.top };
    });
    const to = nextTile(spots, from, event.key);
    if (to === null) return;
    event.preventDefault();
    buttons[to]?.focus();
  }
  node.addEventListener("keydown", keydown);
  return {
    destroy() {
      node.removeEventListener("keydown", keydown);
    },
  };
}
