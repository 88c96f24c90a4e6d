// jsdom has no ResizeObserver (every browser the app runs in has one): Svelte's size bindings
// need it to mount. Nothing is ever resized here, so one that never calls back is enough.
if (!("ResizeObserver" in globalThis)) {
  class ResizeObserver {
    observe() {}
    unobserve() {}
    disconnect() {}
  }
  Object.assign(globalThis, { ResizeObserver });
}
