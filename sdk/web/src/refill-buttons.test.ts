// The component's states, against a scripted button service (the real one is driven in the
// end-to-end test in Chromium).

import { afterEach, describe, expect, it, vi } from "vitest";
import axe from "axe-core";
import { type Button, type Order, RefillButtons, SseFrames } from "./index";

const SERVICE = "http://refill.test";
const DELIVERY = "2026-12-08T12:00:00Z";

function button(asin: string, title: string, extra: Partial<Button> = {}): Button {
  return {
    asin,
    title,
    imageUrl: `/v1/catalog/images/${asin}.svg`,
    price: { amountMinor: 1899, currency: "USD" },
    pack: { value: 1000, unit: "g" },
    openOrder: null,
    needsApproval: false,
    pendingApproval: null,
    ...extra,
  };
}

function order(asin: string, status: Order["status"] = "placed"): Order {
  return {
    eventInstanceId: `order-${asin}`,
    asin,
    title: asin,
    status,
    quantity: 1,
    price: { amountMinor: 1899, currency: "USD" },
    placedAt: "2026-12-04T12:00:00Z",
    expectedDelivery: DELIVERY,
    cancellableUntil: "2999-01-01T00:00:00Z",
  };
}

/** A scripted button service: what each route answers, and what the calls were. */
class FakeService {
  buttons: Button[] = [button("B0RFBEAN01", "Coffee beans"), button("B0RFFILT04", "Water filter")];
  calls: { method: string; path: string; headers: Headers }[] = [];
  press: (asin: string, attempt: number) => Response | "offline" = (asin) =>
    json({ detailCode: "STANDARD_ORDER_PLACED", eventInstanceId: `order-${asin}`, order: order(asin), approval: null });
  reachable = true;
  /** When set, listings wait for it. */
  hold: Promise<void> | null = null;
  tokens = ["token-1"];
  private stream: ReadableStreamDefaultController<Uint8Array> | null = null;
  private presses = 0;

  fetch = async (input: RequestInfo | URL, init?: RequestInit): Promise<Response> => {
    const url = new URL(String(input));
    const method = init?.method ?? "GET";
    const headers = new Headers(init?.headers);
    this.calls.push({ method, path: url.pathname, headers });
    if (!this.reachable) throw new TypeError("Failed to fetch");
    if (!this.tokens.includes((headers.get("Authorization") ?? "").replace("Bearer ", ""))) {
      return json({ message: "The access token is missing, invalid or expired.", code: "invalid_token" }, 401);
    }
    if (url.pathname === "/v1/screen/buttons") {
      const listed = structuredClone(this.buttons);
      if (this.hold) await this.hold;
      return json({ deviceName: "FreshCool smart fridge", buttons: listed, lastEventId: 7 });
    }
    const pressed = /^\/v1\/screen\/buttons\/(\w+)\/press$/.exec(url.pathname);
    if (pressed && method === "POST") {
      const answer = this.press(pressed[1]!, ++this.presses);
      if (answer === "offline") throw new TypeError("Failed to fetch");
      return answer;
    }
    if (url.pathname === "/v1/screen/events/stream") {
      const body = new ReadableStream<Uint8Array>({ start: (c) => void (this.stream = c) });
      return new Response(body, { headers: { "Content-Type": "text/event-stream" } });
    }
    const cancelled = /^\/v1\/screen\/orders\/([\w-]+)\/cancel$/.exec(url.pathname);
    if (cancelled) return json({ ...order("B0RFBEAN01"), status: "cancelled" });
    return json({ message: "There is no such page in the Refill API.", code: "not_found" }, 404);
  };

  /** Sends an event down the open stream. */
  send(id: number, kind: string, body: Record<string, unknown>): void {
    const text = `id:${id}\nevent:${kind}\ndata:${JSON.stringify({ id, kind, at: "2026-12-04T12:00:00Z", body })}\n\n`;
    this.stream!.enqueue(new TextEncoder().encode(text));
  }

  keys(): (string | null)[] {
    return this.calls.filter((c) => c.path.endsWith("/press")).map((c) => c.headers.get("Idempotency-Key"));
  }
}

function json(body: unknown, status = 200): Response {
  return new Response(JSON.stringify(body), { status, headers: { "Content-Type": "application/json" } });
}

let mounted: RefillButtons[] = [];

/** The component on a page, against `service`, with its buttons shown. */
async function mount(service: FakeService, ready = true): Promise<RefillButtons> {
  vi.stubGlobal("fetch", service.fetch);
  const element = document.createElement("refill-buttons") as RefillButtons;
  element.tokenProvider = async (renew) => (renew ? service.tokens.at(-1)! : "token-1");
  element.setAttribute("service", SERVICE);
  document.body.append(element);
  mounted.push(element);
  if (ready) await vi.waitFor(() => expect(element.status).toBe("ready"));
  return element;
}

function tile(element: RefillButtons, asin: string) {
  const item = [...element.shadowRoot!.querySelectorAll("li")].find((li) =>
    li.querySelector(".press")!.getAttribute("aria-describedby")!.endsWith(asin),
  )!;
  return {
    item,
    press: item.querySelector<HTMLButtonElement>(".press")!,
    status: () => item.querySelector(".status")!.textContent,
    cancel: item.querySelector<HTMLButtonElement>(".cancel")!,
  };
}

afterEach(() => {
  for (const element of mounted) element.remove();
  mounted = [];
  vi.unstubAllGlobals();
});

describe("<refill-buttons>", () => {
  it("shows the device's buttons with their price and pack, named for a screen reader", async () => {
    const element = await mount(new FakeService());
    expect(element.shadowRoot!.querySelector("h2")!.textContent).toBe("Reorder for your FreshCool smart fridge");
    const beans = tile(element, "B0RFBEAN01");
    expect(beans.press.textContent).toContain("Coffee beans");
    expect(beans.press.textContent).toContain("$18.99 · 1 kg");
    expect(beans.press.getAttribute("aria-label")).toBe("Order Coffee beans, $18.99");
    expect(beans.press.getAttribute("aria-disabled")).toBe("false");
    expect(beans.press.querySelector("img")!.getAttribute("src")).toBe(`${SERVICE}/v1/catalog/images/B0RFBEAN01.svg`);
    expect(beans.press.querySelector("img")!.alt).toBe("");
    expect(beans.cancel.hidden).toBe(true);
    const results = await axe.run(element as unknown as Element, { rules: { "color-contrast": { enabled: false } } });
    expect(results.violations.map((v) => v.id)).toEqual([]);
  });

  it("presses with one tap and shows the order and when it arrives", async () => {
    const service = new FakeService();
    const element = await mount(service);
    const beans = tile(element, "B0RFBEAN01");
    beans.press.click();
    expect(element.stateOf("B0RFBEAN01")).toBe("pressing");
    expect(beans.status()).toBe("Ordering…");
    await vi.waitFor(() => expect(element.stateOf("B0RFBEAN01")).toBe("ordered"));
    expect(beans.status()).toBe("Ordered, arrives Tue, Dec 8.");
    expect(beans.press.getAttribute("aria-disabled")).toBe("true");
    expect(beans.cancel.hidden).toBe(false);
    // Pressed again while ordered: nothing is sent.
    beans.press.click();
    expect(service.keys()).toHaveLength(1);
    // Cancelled from the screen.
    beans.cancel.click();
    await vi.waitFor(() => expect(beans.status()).toBe("Order cancelled."));
    expect(beans.press.getAttribute("aria-disabled")).toBe("false");
  });

  it("keeps showing an order when a listing read before it arrives after it", async () => {
    const service = new FakeService();
    const ordered = service.press;
    service.press = (asin, attempt) => {
      service.buttons = service.buttons.map((b) => (b.asin === asin ? { ...b, openOrder: order(asin) } : b));
      return ordered(asin, attempt);
    };
    const element = await mount(service);
    await vi.waitFor(() => expect(service.calls.some((c) => c.path.endsWith("/stream"))).toBe(true));
    // Something elsewhere makes the screen list its buttons again, slowly.
    let release = () => {};
    service.hold = new Promise((resolve) => (release = resolve));
    service.send(8, "OrderCancelled", { asin: "B0RFFILT04" });
    await vi.waitFor(() => expect(service.calls.filter((c) => c.path === "/v1/screen/buttons")).toHaveLength(2));
    tile(element, "B0RFBEAN01").press.click();
    await vi.waitFor(() => expect(element.stateOf("B0RFBEAN01")).toBe("ordered"));
    service.hold = null;
    release();
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(element.stateOf("B0RFBEAN01")).toBe("ordered");
    expect(tile(element, "B0RFBEAN01").status()).toBe("Ordered, arrives Tue, Dec 8.");
  });

  it("sends a press that got no answer again with the same key, so it orders once", async () => {
    const service = new FakeService();
    const element = await mount(service);
    const ordered = service.press;
    service.press = (asin, attempt) => (attempt < 3 ? "offline" : ordered(asin, attempt));
    tile(element, "B0RFBEAN01").press.click();
    await vi.waitFor(() => expect(element.stateOf("B0RFBEAN01")).toBe("ordered"), { timeout: 3000 });
    const keys = service.keys();
    expect(keys).toHaveLength(3);
    expect(new Set(keys).size).toBe(1);
    expect(keys[0]).toMatch(/.{16,}/);
  });

  it("waits for approval, then shows the order once it is approved in the app", async () => {
    const service = new FakeService();
    service.buttons = [button("B0RFBEAN01", "Coffee beans", { needsApproval: true })];
    const approval = {
      id: "refill.v1.a.1",
      asin: "B0RFBEAN01",
      title: "Coffee beans",
      status: "pending",
      price: { amountMinor: 1899, currency: "USD" },
      deviceName: "FreshCool smart fridge",
      expiresAt: "2026-12-05T12:00:00Z",
      order: null,
    };
    service.press = () =>
      json({ detailCode: "APPROVAL_REQUIRED", eventInstanceId: null, order: null, approval });
    const element = await mount(service);
    const beans = tile(element, "B0RFBEAN01");
    expect(beans.press.getAttribute("aria-label")).toBe("Ask for Coffee beans, $18.99");
    expect(beans.status()).toBe("Asks first in the Refill app.");
    beans.press.click();
    await vi.waitFor(() => expect(element.stateOf("B0RFBEAN01")).toBe("pending"));
    expect(beans.status()).toBe("Approval needed: waiting for an answer in the Refill app.");
    expect(beans.item.dataset["state"]).toBe("pending");

    // Approved in the app: the stream says so, the buttons say the order.
    service.buttons = [button("B0RFBEAN01", "Coffee beans", { needsApproval: true, openOrder: order("B0RFBEAN01") })];
    await vi.waitFor(() => expect(service.calls.some((c) => c.path.endsWith("/stream"))).toBe(true));
    service.send(8, "ApprovalDecided", { asin: "B0RFBEAN01", status: "approved", eventInstanceId: "order-B0RFBEAN01" });
    await vi.waitFor(() => expect(beans.status()).toBe("Ordered, arrives Tue, Dec 8."));
    // The stream started after the listing's newest event.
    expect(service.calls.find((c) => c.path.endsWith("/stream"))).toBeDefined();
  });

  it("says when the app declined a press or it was not answered in time", async () => {
    const service = new FakeService();
    service.buttons = [
      button("B0RFBEAN01", "Coffee beans", { needsApproval: true }),
      button("B0RFFILT04", "Water filter", { needsApproval: true }),
    ];
    const element = await mount(service);
    await vi.waitFor(() => expect(service.calls.some((c) => c.path.endsWith("/stream"))).toBe(true));
    service.send(9, "ApprovalDecided", { asin: "B0RFBEAN01", status: "declined" });
    service.send(10, "ApprovalDecided", { asin: "B0RFFILT04", status: "expired" });
    await vi.waitFor(() => expect(tile(element, "B0RFBEAN01").status()).toBe("Declined in the Refill app: nothing was ordered."));
    expect(tile(element, "B0RFFILT04").status()).toBe("Not approved in time: nothing was ordered.");
    expect(tile(element, "B0RFBEAN01").press.getAttribute("aria-disabled")).toBe("false");
  });

  it("shows a refused press's words, such as a limit that would be passed", async () => {
    const service = new FakeService();
    const message = "Over the monthly limit set for this fridge: $40.00 of $50.00 used, and this costs $18.99.";
    service.press = () => json({ message, code: "over_limit" }, 409);
    const element = await mount(service);
    tile(element, "B0RFBEAN01").press.click();
    await vi.waitFor(() => expect(element.stateOf("B0RFBEAN01")).toBe("refused"));
    expect(tile(element, "B0RFBEAN01").status()).toBe(message);
  });

  it("is offline while the service cannot be reached, and comes back by itself", async () => {
    const service = new FakeService();
    service.reachable = false;
    const element = await mount(service, false);
    await vi.waitFor(() => expect(element.status).toBe("offline"));
    const banner = element.shadowRoot!.querySelector(".banner")!;
    expect(banner.hasAttribute("hidden")).toBe(false);
    expect(banner.getAttribute("role")).toBe("alert");
    expect(banner.textContent).toContain("Offline");
    service.reachable = true;
    await vi.waitFor(() => expect(element.status).toBe("ready"), { timeout: 3000 });
    expect(banner.hasAttribute("hidden")).toBe(true);
    expect(tile(element, "B0RFBEAN01").press.getAttribute("aria-disabled")).toBe("false");
  });

  it("renews a refused token once, and says so when the device is no longer linked", async () => {
    const service = new FakeService();
    service.tokens = ["token-2"];
    const element = await mount(service);
    const sent = service.calls.map((c) => c.headers.get("Authorization"));
    expect(sent.slice(0, 2)).toEqual(["Bearer token-1", "Bearer token-2"]);

    service.tokens = [];
    const unlinked = await mount(service, false);
    await vi.waitFor(() => expect(unlinked.status).toBe("unlinked"));
    expect(unlinked.shadowRoot!.querySelector(".banner")!.textContent).toContain("not linked to Refill");
    expect(element.status).toBe("ready");
  });

  it("keeps touch targets at least 44 px and moves only when motion is welcome", async () => {
    const element = await mount(new FakeService());
    const css = element.shadowRoot!.querySelector("style")!.textContent!;
    expect(css).toMatch(/button\{[^}]*min-height:44px/);
    expect(css).toMatch(/button:focus-visible\{outline:3px/);
    const animated = css.indexOf("animation:");
    expect(animated).toBeGreaterThan(css.indexOf("@media (prefers-reduced-motion:no-preference)"));
    expect(css.indexOf("animation:", animated + 1)).toBe(-1);
  });
});

describe("SseFrames", () => {
  it("reads events across pieces, skipping comments and keep-alives", () => {
    const frames = new SseFrames();
    expect(frames.push(":keep-alive\n\nid: 4\r\nevent: OrderPlaced\r\nda")).toEqual([]);
    const events = frames.push('ta: {"id":4,"body":{"asin":"B0RFBEAN01"}}\r\n\r\nid:5\nevent:X\ndata:{oops\n\n');
    expect(events).toEqual([{ id: 4, kind: "OrderPlaced", body: { asin: "B0RFBEAN01" } }]);
  });
});
