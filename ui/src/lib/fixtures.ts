// Test fixtures shared by the UI tests.
import { vi } from "vitest";
import type { Api, DeviceCommand } from "./api";
import type { AppError, ApprovalView, ButtonTile, DeviceView, OrderView, WifiList } from "./bindings";

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
    shippedAt: null,
    deliveredAt: null,
    handover: null,
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
    runsOut: null,
    daysLeft: null,
    ranOut: false,
    ...over,
  };
}

/** A device the wizard links: the sandbox coffee maker. */
export const aLinkedDevice: DeviceView = {
  model: "RefillBrew-200",
  modelName: "Brewmaster 200 coffee maker",
  serial: "SIM-BREW-1",
  name: "Brewmaster 200 coffee maker",
  isTest: true,
  home: false,
  slots: [
    { slotId: "brew-beans", name: "Coffee beans", product: { asin: "B0RFBEAN01", title: "Beans" } },
    { slotId: "brew-filters", name: "Paper filters", product: null },
  ],
  screen: false,
  buttons: [],
};

/** What a device near the app sees. */
export const someNetworks: WifiList = {
  networks: [
    { ssid: "Refill Home", rssi: -42, secured: true, remembered: false },
    { ssid: "Guest", rssi: -80, secured: false, remembered: false },
  ],
  more: true,
};

/** An error as a command rejects with it. */
export function anError(code: AppError["code"], message: string): AppError {
  return { code, message };
}

/** The wizard's commands, answering as a cooperative device does. */
export function wizardApi(): Pick<Api, DeviceCommand> {
  return {
    onboardingScan: vi.fn(async () => ({
      devices: [
        { id: "PROV_A", name: "PROV_A", rssi: -48, protocol: "esp" as const, sandbox: false, sandboxLabel: null },
        { id: "PROV_B", name: "PROV_B", rssi: -70, protocol: "improv" as const, sandbox: false, sandboxLabel: null },
      ],
      bluetooth: null,
    })),
    onboardingOpen: vi.fn(async () => ({
      name: "PROV_A",
      trust: "proofOfPossession" as const,
      canIdentify: false,
      sandbox: false,
    })),
    onboardingOpenSoftap: vi.fn(async (address: string | null) => ({
      name: `The device at ${address ?? "192.168.4.1"}`,
      trust: "proofOfPossession" as const,
      canIdentify: false,
      sandbox: false,
    })),
    onboardingIdentify: vi.fn(async () => null),
    onboardingPressButton: vi.fn(async () => null),
    onboardingSecure: vi.fn(async () => someNetworks),
    onboardingMoreNetworks: vi.fn(async () => ({ ...someNetworks, more: false })),
    onboardingJoin: vi.fn(async (ssid: string) => ({ ssid, ip: "192.168.1.20" })),
    onboardingLink: vi.fn(async () => ({ authorizeUrl: "http://127.0.0.1:1/ap/oa?x", browserOpened: true })),
    onboardingFinishLink: vi.fn(async () => aLinkedDevice),
    onboardingCancel: vi.fn(async () => null),
    listDevices: vi.fn(async () => ({ devices: [] })),
  };
}

/** The sandbox's smart fridge, a screened device. */
export const fridge: DeviceView = {
  model: "RefillFridge-1",
  modelName: "FreshCool smart fridge",
  serial: "SANDBOX-FRIDGE",
  name: "FreshCool smart fridge",
  isTest: false,
  home: false,
  slots: [],
  screen: true,
  buttons: [{ asin: "B0RFBEAN01", title: "Coffee beans" }],
};

/** A press of the fridge waiting for (or given) an answer. */
export function anApproval(id: string, status: ApprovalView["status"] = "pending"): ApprovalView {
  return {
    id,
    asin: "B0RFBEAN01",
    title: "Coffee beans",
    quantity: 1,
    price: { amountMinor: 1899, currency: "USD" },
    previousPrice: null,
    device: { model: fridge.model, serial: fridge.serial },
    deviceName: fridge.name,
    status,
    createdAt: "2026-12-04T10:00:00Z",
    expiresAt: "2026-12-05T10:00:00Z",
    decidedAt: null,
    order: status === "approved" ? anOrder() : null,
  };
}
