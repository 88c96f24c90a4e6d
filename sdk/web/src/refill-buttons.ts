// <refill-buttons>: the customer's one-tap reorder buttons on a device's own screen.

import {
  type Approval,
  type Button,
  ButtonService,
  RefillError,
  type ServiceEvent,
  type TokenProvider,
} from "./api";

/** What a button shows, besides its product. */
export type TileState =
  | "idle"
  | "pressing"
  | "pending"
  | "ordered"
  | "shipped"
  | "declined"
  | "expired"
  | "refused"
  | "delivered"
  | "cancelled"
  | "failed";

/** What the whole component shows. */
export type Status = "idle" | "loading" | "ready" | "offline" | "unlinked";

/** What happened to a button on this screen lately (until the service says more). */
interface Local {
  state: Exclude<TileState, "idle" | "pending" | "ordered" | "shipped">;
  message?: string;
}

interface Tile {
  item: HTMLLIElement;
  press: HTMLButtonElement;
  status: HTMLElement;
  cancel: HTMLButtonElement;
}

/** How many times a press is sent when the service does not answer (with the same key). */
const PRESS_TRIES = 3;

const STYLE = `
:host{display:block;font-family:var(--refill-font,system-ui,sans-serif);font-size:var(--refill-font-size,1.125rem);
color:var(--refill-fg,#1b1f24);background:var(--refill-bg,transparent);line-height:1.35}
[hidden]{display:none!important}
.banner{margin:0 0 var(--refill-gap,.75rem);padding:.75rem 1rem;border-radius:var(--refill-radius,.75rem);
background:var(--refill-warn-bg,#fff4d6);color:var(--refill-warn-fg,#5c3d00);font-weight:600}
ul{list-style:none;margin:0;padding:0;display:grid;gap:var(--refill-gap,.75rem);
grid-template-columns:repeat(auto-fill,minmax(var(--refill-tile-min,9.5rem),1fr))}
li{display:flex;flex-direction:column;gap:.4rem;padding:.6rem;border-radius:var(--refill-radius,.75rem);
background:var(--refill-tile-bg,#f3f5f7);border:2px solid transparent}
li[data-state=pending]{border-color:var(--refill-pending,#b76e00)}
li[data-state=ordered],li[data-state=shipped]{border-color:var(--refill-ok,#1f7a3a)}
li[data-state=declined],li[data-state=expired],li[data-state=refused],li[data-state=failed]{border-color:var(--refill-error,#b3261e)}
button{font:inherit;color:inherit;min-height:44px;min-width:44px;border-radius:calc(var(--refill-radius,.75rem) - .25rem);cursor:pointer}
button:focus-visible{outline:3px solid var(--refill-focus,#0b57d0);outline-offset:2px}
.press{display:flex;flex-direction:column;align-items:center;gap:.35rem;padding:.6rem;border:0;
background:var(--refill-accent,#0b57d0);color:var(--refill-accent-fg,#fff);text-align:center}
.press[aria-disabled=true]{background:var(--refill-muted,#d9dde1);color:var(--refill-fg,#1b1f24);cursor:default}
.press img{width:3.5rem;height:3.5rem;object-fit:contain;background:#fff;border-radius:.5rem}
.title{font-weight:700}
.price{font-size:.95em}
.status{margin:0;min-height:1.35em;font-size:.95em}
.cancel{border:2px solid currentColor;background:transparent;padding:.25rem .75rem}
@media (prefers-reduced-motion:no-preference){li[data-state=pressing] .press{animation:refill-pulse 1s ease-in-out infinite alternate}}
@keyframes refill-pulse{to{opacity:.6}}
`;

/** A new idempotency key for one press. */
function newKey(): string {
  if (typeof crypto !== "undefined" && "randomUUID" in crypto) return crypto.randomUUID();
  return `${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}`;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * `<refill-buttons service="https://refill.example" token-url="/refill/token">`: shows the
 * buttons the customer chose for this device, orders with one tap, and follows the orders as
 * they move. The token comes from `tokenProvider` (a property) or, failing that, `token-url`
 * on the device's own server (`POST {"renew": bool}` answering `{"accessToken": "…"}`).
 */
export class RefillButtons extends HTMLElement {
  static observedAttributes = ["service", "token-url", "heading"];

  /** Gives the device's buttons token; set it before the service address, or use `token-url`. */
  tokenProvider: TokenProvider | null = null;

  /** What the component shows now (for the page and for tests). */
  status: Status = "idle";

  private readonly root: ShadowRoot;
  private readonly banner: HTMLParagraphElement;
  private readonly heading: HTMLHeadingElement;
  private readonly list: HTMLUListElement;
  private api: ButtonService | null = null;
  private buttons: Button[] = [];
  private readonly tiles = new Map<string, Tile>();
  private readonly local = new Map<string, Local>();
  private readonly mine = new Set<string>();
  private lastEventId = 0;
  private running: AbortController | null = null;
  private reloading: ReturnType<typeof setTimeout> | null = null;
  private scheduled = false;
  private deviceName = "";
  private marked = false;
  /** Counts the answers to presses and cancels (a listing read across one is stale). */
  private changes = 0;

  constructor() {
    super();
    this.root = this.attachShadow({ mode: "open" });
    const style = document.createElement("style");
    style.textContent = STYLE;
    this.heading = document.createElement("h2");
    this.heading.setAttribute("part", "heading");
    this.banner = document.createElement("p");
    this.banner.className = "banner";
    this.banner.setAttribute("part", "banner");
    this.banner.setAttribute("role", "alert");
    this.banner.hidden = true;
    this.list = document.createElement("ul");
    this.list.setAttribute("part", "grid");
    this.root.append(style, this.heading, this.banner, this.list);
  }

  connectedCallback(): void {
    this.schedule();
  }

  disconnectedCallback(): void {
    this.stop();
  }

  attributeChangedCallback(name: string): void {
    if (name === "heading") this.drawHeading(this.deviceName);
    else this.schedule();
  }

  /** Starts again (after the token provider or the service changed). */
  refresh(): void {
    this.schedule();
  }

  /** Starts once after the changes made together (attributes set one by one, then attached). */
  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    queueMicrotask(() => {
      this.scheduled = false;
      if (this.isConnected) this.start();
    });
  }

  private start(): void {
    this.stop();
    const service = this.getAttribute("service");
    const provider = this.tokenProvider ?? this.tokenFromUrl();
    if (!service || !provider) return;
    this.api = new ButtonService(service, provider);
    const run = new AbortController();
    this.running = run;
    this.setStatus("loading", "");
    void this.run(run.signal);
  }

  private stop(): void {
    this.running?.abort();
    this.running = null;
    if (this.reloading) clearTimeout(this.reloading);
    this.reloading = null;
  }

  private tokenFromUrl(): TokenProvider | null {
    const url = this.getAttribute("token-url");
    if (!url) return null;
    return async (renew) => {
      const answer = await fetch(url, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ renew }),
      });
      if (!answer.ok) throw new Error(`the device's token page answered ${answer.status}`);
      const body = (await answer.json()) as { accessToken?: string };
      if (!body.accessToken) throw new Error("the device is not linked to Refill");
      return body.accessToken;
    };
  }

  /** Loads the buttons, then follows the events; after a break, the same again, more slowly. */
  private async run(signal: AbortSignal): Promise<void> {
    let failures = 0;
    while (!signal.aborted) {
      try {
        await this.load();
        failures = 0;
        this.lastEventId = await this.api!.follow(this.lastEventId, (e) => this.seen(e), signal);
      } catch (e) {
        if (signal.aborted) return;
        if (!this.failed(e)) return;
        failures += 1;
      }
      if (signal.aborted) return;
      await sleep(Math.min(30_000, 500 * 2 ** Math.min(failures, 6)));
    }
  }

  /** Says what went wrong; false when trying again cannot help (the device is unlinked). */
  private failed(e: unknown): boolean {
    const error = e instanceof RefillError ? e : new RefillError(String(e), 0);
    if (error.unlinked) {
      this.setStatus("unlinked", "This device is not linked to Refill any more. Link it again in the Refill app.");
      return false;
    }
    if (error.offline) {
      this.setStatus("offline", "Offline: Refill cannot be reached. The buttons work again when the connection is back.");
    } else {
      this.setStatus("offline", error.message);
    }
    return true;
  }

  private async load(): Promise<void> {
    const before = this.changes;
    const shown = await this.api!.buttons();
    if (this.changes !== before) {
      // A press or a cancel was answered meanwhile: this listing may not show it yet.
      this.reload();
      return;
    }
    this.buttons = shown.buttons;
    this.lastEventId = Math.max(this.lastEventId, shown.lastEventId);
    this.drawHeading(shown.deviceName);
    this.setStatus("ready", "");
    this.draw();
    // For the page's own measurements: when the buttons were first usable.
    if (!this.marked && typeof performance !== "undefined" && performance.mark) {
      this.marked = true;
      performance.mark("refill-buttons:ready");
    }
  }

  /** Loads the buttons again soon (several events at once: once). */
  private reload(): void {
    if (this.reloading) return;
    this.reloading = setTimeout(() => {
      this.reloading = null;
      this.load().catch((e) => this.failed(e));
    }, 50);
  }

  private seen(event: ServiceEvent): void {
    const asin = typeof event.body["asin"] === "string" ? event.body["asin"] : null;
    const order = event.body["eventInstanceId"];
    if (asin && this.local.get(asin)?.state !== "pressing") {
      switch (event.kind) {
        case "ApprovalDecided": {
          const status = event.body["status"] as Approval["status"];
          if (status === "declined" || status === "expired") this.local.set(asin, { state: status });
          else this.local.delete(asin);
          if (status === "approved" && typeof order === "string") this.mine.add(order);
          break;
        }
        case "ItemDelivered":
          this.local.set(asin, { state: "delivered" });
          break;
        case "OrderCancelled":
          this.local.set(asin, { state: "cancelled" });
          break;
        case "OrderPlaced":
        case "ApprovalRequested":
          this.local.delete(asin);
          break;
      }
    }
    this.reload();
  }

  /** A tap on `asin`'s button: one press, sent again with the same key if no answer came. */
  async press(asin: string): Promise<void> {
    const pressed = this.buttons.find((b) => b.asin === asin);
    if (!pressed || !this.api || this.status !== "ready" || this.busy(pressed)) return;
    this.local.set(asin, { state: "pressing" });
    this.draw();
    const key = newKey();
    for (let attempt = 1; ; attempt++) {
      try {
        const result = await this.api.press(asin, key);
        this.changes += 1;
        // The buttons may have been listed again meanwhile: this one as it is now.
        const button = this.buttons.find((b) => b.asin === asin) ?? pressed;
        this.local.delete(asin);
        if (result.approval && result.approval.status === "pending") button.pendingApproval = result.approval;
        if (result.order) {
          button.openOrder = result.order;
          if (result.detailCode !== "ORDER_INPROGRESS") this.mine.add(result.order.eventInstanceId);
        }
        break;
      } catch (e) {
        const error = e instanceof RefillError ? e : new RefillError(String(e), 0);
        if (error.offline && attempt < PRESS_TRIES) {
          await sleep(300 * attempt);
          continue;
        }
        if (error.unlinked) this.failed(error);
        this.local.set(asin, {
          state: error.code === "over_limit" ? "refused" : "failed",
          message: error.offline ? "Not ordered: Refill cannot be reached. Try again." : error.message,
        });
        break;
      }
    }
    this.draw();
  }

  /** Cancels the order this screen placed for `asin`. */
  async cancel(asin: string): Promise<void> {
    const order = this.buttons.find((b) => b.asin === asin)?.openOrder;
    if (!order || !this.api) return;
    try {
      await this.api.cancel(order.eventInstanceId);
      this.changes += 1;
      this.local.set(asin, { state: "cancelled" });
      const button = this.buttons.find((b) => b.asin === asin);
      if (button) button.openOrder = null;
    } catch (e) {
      const error = e instanceof RefillError ? e : new RefillError(String(e), 0);
      this.local.set(asin, { state: "failed", message: `Not cancelled: ${error.message}` });
    }
    this.draw();
  }

  /** What `asin`'s button shows now. */
  stateOf(asin: string): TileState {
    const button = this.buttons.find((b) => b.asin === asin);
    return button ? this.tileState(button) : "idle";
  }

  private busy(button: Button): boolean {
    return ["pressing", "pending", "ordered", "shipped"].includes(this.tileState(button));
  }

  private tileState(button: Button): TileState {
    const local = this.local.get(button.asin);
    if (local?.state === "pressing") return "pressing";
    if (button.pendingApproval) return "pending";
    if (button.openOrder?.status === "placed") return "ordered";
    if (button.openOrder?.status === "shipped") return "shipped";
    return local?.state ?? "idle";
  }

  private setStatus(status: Status, message: string): void {
    this.status = status;
    this.banner.textContent = message;
    this.banner.hidden = !message;
    this.setAttribute("status", status);
    if (status !== "loading") this.draw();
  }

  private drawHeading(deviceName: string): void {
    this.deviceName = deviceName;
    const text = this.getAttribute("heading") ?? (deviceName ? `Reorder for your ${deviceName}` : "Reorder");
    this.heading.textContent = text;
    this.heading.hidden = text === "";
  }

  private draw(): void {
    const asins = this.buttons.map((b) => b.asin);
    if (asins.join() !== [...this.tiles.keys()].join()) {
      this.tiles.clear();
      this.list.replaceChildren(...this.buttons.map((b) => this.tile(b).item));
    }
    for (const button of this.buttons) this.drawTile(button);
  }

  private tile(button: Button): Tile {
    const item = document.createElement("li");
    item.setAttribute("part", "tile");
    const press = document.createElement("button");
    press.type = "button";
    press.className = "press";
    press.setAttribute("part", "press");
    if (button.imageUrl && this.api) {
      const img = document.createElement("img");
      img.src = this.api.url(button.imageUrl);
      img.alt = "";
      img.loading = "lazy";
      press.append(img);
    }
    const title = document.createElement("span");
    title.className = "title";
    title.textContent = button.title;
    const price = document.createElement("span");
    price.className = "price";
    press.append(title, price);
    const status = document.createElement("p");
    status.className = "status";
    status.setAttribute("part", "status");
    status.id = `refill-status-${button.asin}`;
    status.setAttribute("role", "status");
    press.setAttribute("aria-describedby", status.id);
    const cancel = document.createElement("button");
    cancel.type = "button";
    cancel.className = "cancel";
    cancel.setAttribute("part", "cancel");
    cancel.textContent = "Cancel order";
    cancel.setAttribute("aria-label", `Cancel the order of ${button.title}`);
    press.addEventListener("click", () => void this.press(button.asin));
    cancel.addEventListener("click", () => void this.cancel(button.asin));
    item.append(press, status, cancel);
    const tile = { item, press, status, cancel };
    this.tiles.set(button.asin, tile);
    return tile;
  }

  private drawTile(button: Button): void {
    const tile = this.tiles.get(button.asin);
    if (!tile) return;
    const state = this.tileState(button);
    const price = this.money(button.price.amountMinor, button.price.currency);
    tile.item.dataset["state"] = state;
    (tile.press.querySelector(".price") as HTMLElement).textContent = `${price} · ${this.pack(button)}`;
    const unusable = this.status !== "ready" || this.busy(button);
    tile.press.setAttribute("aria-disabled", String(unusable));
    tile.press.setAttribute(
      "aria-label",
      `${button.needsApproval ? "Ask for" : "Order"} ${button.title}, ${price}`,
    );
    const text = this.statusText(button, state);
    if (tile.status.textContent !== text) tile.status.textContent = text;
    const order = button.openOrder;
    tile.cancel.hidden = !(
      order &&
      state === "ordered" &&
      this.mine.has(order.eventInstanceId) &&
      order.cancellableUntil !== null &&
      Date.parse(order.cancellableUntil) > Date.now()
    );
  }

  private statusText(button: Button, state: TileState): string {
    const local = this.local.get(button.asin);
    const arrives = button.openOrder ? `arrives ${this.day(button.openOrder.expectedDelivery)}` : "";
    switch (state) {
      case "pressing":
        return button.needsApproval ? "Asking…" : "Ordering…";
      case "pending":
        return "Approval needed: waiting for an answer in the Refill app.";
      case "ordered":
        return `Ordered, ${arrives}.`;
      case "shipped":
        return `On its way, ${arrives}.`;
      case "declined":
        return "Declined in the Refill app: nothing was ordered.";
      case "expired":
        return "Not approved in time: nothing was ordered.";
      case "delivered":
        return "Arrived.";
      case "cancelled":
        return "Order cancelled.";
      case "refused":
      case "failed":
        return local?.message ?? "Not ordered.";
      case "idle":
        return button.needsApproval ? "Asks first in the Refill app." : "";
    }
  }

  private locale(): string | undefined {
    return this.closest("[lang]")?.getAttribute("lang") || undefined;
  }

  private money(minor: number, currency: string): string {
    try {
      const format = new Intl.NumberFormat(this.locale(), { style: "currency", currency });
      const digits = format.resolvedOptions().maximumFractionDigits ?? 2;
      return format.format(minor / 10 ** digits);
    } catch {
      return `${(minor / 100).toFixed(2)} ${currency}`;
    }
  }

  private pack(button: Button): string {
    const { value, unit } = button.pack;
    if (unit === "count") return `${value} ${value === 1 ? "piece" : "pieces"}`;
    if (unit === "g") return value >= 1000 ? `${value / 1000} kg` : `${value} g`;
    return value >= 1000 ? `${value / 1000} l` : `${value} ml`;
  }

  private day(iso: string): string {
    return new Intl.DateTimeFormat(this.locale(), { weekday: "short", month: "short", day: "numeric" }).format(
      new Date(iso),
    );
  }
}
