/** A modal dialog's keyboard behaviour, as a Svelte action on its element (`role="dialog"`):
 * focus moves into it when it opens, Tab and Shift+Tab stay inside it, Escape closes it, and
 * focus returns to where it was when it closes. */

const FOCUSABLE =
  'a[href], button:not([disabled]), input:not([disabled]), select:not([disabled]), textarea:not([disabled]), [tabindex]:not([tabindex="-1"])';

/** The elements of `root` that Tab reaches, in order. */
export function focusables(root: HTMLElement): HTMLElement[] {
  return Array.from(root.querySelectorAll<HTMLElement>(FOCUSABLE)).filter((el) => !el.hidden);
}

/** What a dialog needs: what Escape does; optionally the selector of the control to focus first,
 * and of the one to give the focus back to (when the opener lost it before the dialog opened,
 * as a button disabled while its dialog is open does). */
export interface ModalOptions {
  onescape: () => void;
  initial?: string;
  returnTo?: string;
}

export function modal(node: HTMLElement, options: ModalOptions) {
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
    update(next: ModalOptions) {
      current = next;
    },
    destroy() {
      node.removeEventListener("keydown", keydown);
      // After the page has updated: the opener may be re-enabled by the same change that closed
      // the dialog (a disabled button cannot take the focus).
      const returnTo = current.returnTo;
      setTimeout(() => {
        const target = returnTo ? document.querySelector<HTMLElement>(returnTo) : before;
        if (target && document.contains(target)) target.focus();
      }, 0);
    },
  };
}
