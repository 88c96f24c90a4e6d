/** A modal dialog's keyboard behaviour, as a Svelte action on its element (`role="dialog"`):
 * focus moves into it when it opens, Tab and Shift+Tab stay inside it, Escape closes it, and
 * focus returns to where it was when it closes. */

const FOCUSABLE =
  'a[href], button:not([disabled]), input:not([disabled]), select:not([disabled]), textarea:not([disabled]), [tabindex]:not([tabindex="-1"])';

/** The elements of `root` that Tab reaches, in order. */
export function focusables(root: HTMLElement): HTMLElement[] {
  return Array.from(root.querySelectorAll<HTMLElement>(FOCUSABLE)).filter((el) => !el.hidden);
}

export function modal(node: HTMLElement, options: { onescape: () => void; initial?: string }) {
  let current = options;
  const before = document.activeElement as HTMLElement | null;
  const first = (current.initial && node.querySelector<HTMLElement>(current.initial)) || focusables(node)[0] || node;
  if (first === node && !node.hasAttribute("tabindex")) node.tabIndex = -1;
  first.focus();

  function keydown(event: KeyboardEvent) {
    if (event.key === "Escape") {
      event.preventDefault();
      event.stopPropagation();
      current.onescape();
      return;
    }
    if (event.key !== "Tab") return;
    const items = focusables(node);
    if (items.length === 0) {
      event.preventDefault();
      return;
    }
    const at = items.indexOf(document.activeElement as HTMLElement);
    if (event.shiftKey && at <= 0) {
      event.preventDefault();
      items.at(-1)?.focus();
    } else if (!event.shiftKey && (at === -1 || at === items.length - 1)) {
      event.preventDefault();
      items[0]?.focus();
    }
  }

  node.addEventListener("keydown", keydown);
  return {
    update(next: { onescape: () => void; initial?: string }) {
      current = next;
    },
    destroy() {
      node.removeEventListener("keydown", keydown);
      if (before && document.contains(before)) before.focus();
    },
  };
}
