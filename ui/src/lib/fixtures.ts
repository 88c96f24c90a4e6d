// Test fixtures shared by the UI tests.
import type { ButtonTile, OrderView } from "./bindings";

/** An open order of the beans, placed now unless told otherwise. */
export function anOrder(over: Partial<OrderView> = {}): OrderView {
  const now = Date.now();
  return {
    eventInstanceId: "refill.v1.o.1",
    asin: "B0RFBEAN01",
    title: "Beans",
    status: "placed",
    quantity: 1,
    price: { amountMinor: 1899, currency: "USD" },
    placedAt: new Date(now).toISOString(),
    expectedDelivery: new Date(now + 2 * 86400_000).toISOString(),
    cancellableUntil: new Date(now + 86400_000).toISOString(),
    ...over,
  };
}

/** A tile of the beans, last ordered on Nov 10, with no open order. */
export function aTile(over: Partial<ButtonTile> = {}): ButtonTile {
  return {
    asin: "B0RFBEAN01",
    title: "Beans",
    imageUrl: null,
    price: { amountMinor: 1899, currency: "USD" },
    pack: { value: 1000, unit: "g" },
    lastOrderedAt: "2026-11-10T09:00:00Z",
    openOrder: null,
    ...over,
  };
}
