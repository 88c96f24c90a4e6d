import { afterEach, describe, expect, it, vi } from "vitest";
import { cleanup, fireEvent, render, screen, waitFor } from "@testing-library/svelte";
import App from "./App.svelte";
import type { Api, AppEvents } from "./lib/api";
import type { DeviceView, Inbox, LimitsChange, NewItem, Notice, OrderStep, Settings, SlotInventory, SlotSettings } from "./lib/bindings";
import { aLinkedDevice, anApproval, anOrder, aTile, fridge, wizardApi } from "./lib/fixtures";

afterEach(cleanup);

const signedOut = { signedIn: false, name: null, email: null, notice: null };

const low: Notice = {
  id: 41,
  kind: "lowSupply",
  title: "Coffee beans are low: about 3 days left",
  body: "Reorder now.",
  at: new Date().toISOString(),
  asin: "B0RFBEAN01",
  eventInstanceId: null,
  cancellableUntil: null,
  slot: { model: aLinkedDevice.model, serial: aLinkedDevice.serial, slotId: "brew-beans" },
  device: { model: aLinkedDevice.model, serial: aLinkedDevice.serial },
  approvalId: null,
  confirmPrice: null,
};

function beans(over: Partial<SlotInventory> = {}): SlotInventory {
  const day = 86400_000;
  return {
    slotId: "brew-beans",
    name: "Coffee beans",
    unit: "g",
    capacity: 1000,
    remaining: 300,
    onHand: 0,
    mode: "notify",
    minimum: null,
    target: null,
    low: true,
    version: 1,
    dailyUse: 100,
    runsOut: new Date(Date.now() + 3 * day).toISOString(),
    forecast: {
      demand: "smooth",
      historyDays: 14,
      usualUse: 33.3,
      rate: 100,
      likely: null,
      earliest: new Date(Date.now() + 2 * day).toISOString(),
      latest: new Date(Date.now() + 4 * day).toISOString(),
      ranOut: null,
      silentSince: null,
      lastReport: new Date().toISOString(),
    },
    levels: [
      { at: new Date(Date.now() - 7 * day).toISOString(), remaining: 1000 },
      { at: new Date().toISOString(), remaining: 300 },
    ],
    orders: [
      {
        placed: new Date(Date.now() - 1 * day).toISOString(),
        delivered: null,
        expected: new Date(Date.now() + 1 * day).toISOString(),
        status: "shipped",
        quantity: 1,
      },
    ],
    ...over,
  };
}

function fakeApi(over: Partial<Api> = {}): Api {
  let inbox: Inbox = { notices: [], unread: 0 };
  return {
    listButtons: vi.fn(async () => ({
      tiles: [aTile()],
      service: { kind: "embedded" as const, url: "http://127.0.0.1:1", fixed: false, fingerprint: null },
      offline: null,
    })),
    pressButton: vi.fn(async () => ({
      detailCode: "STANDARD_ORDER_PLACED" as const,
      eventInstanceId: "refill.v1.o.9",
      order: anOrder({ eventInstanceId: "refill.v1.o.9" }),
    })),
    cancelOrder: vi.fn(async (id: string) => anOrder({ eventInstanceId: id, status: "cancelled", cancellableUntil: null })),
    orderStep: vi.fn(async (id: string, step: OrderStep) =>
      anOrder({ eventInstanceId: id, status: step === "bought" ? "shipped" : "delivered", cancellableUntil: null }),
    ),
    account: vi.fn(async () => signedOut),
    startSignIn: vi.fn(async () => ({ authorizeUrl: "x", browserOpened: false })),
    finishSignIn: vi.fn(async () => signedOut),
    cancelSignIn: vi.fn(async () => null),
    signOut: vi.fn(async () => signedOut),
    listOrders: vi.fn(async () => ({
      orders: [anOrder(), anOrder({ eventInstanceId: "refill.v1.o.0", status: "delivered", cancellableUntil: null })],
    })),
    slotInventory: vi.fn(async (_m: string, _s: string, slot: string) =>
      slot === "brew-beans" ? beans() : beans({ slotId: slot, name: "Paper filters", unit: "count", capacity: 100, remaining: null, levels: [], runsOut: null, low: false }),
    ),
    changeSlot: vi.fn(async (_m: string, _s: string, _slot: string, settings) => beans({ mode: settings.mode ?? "notify", minimum: settings.minimum ?? null })),
    removeDevice: vi.fn(async () => null),
    downloadMyData: vi.fn(async () => "Downloads/refill-data-2026-12-04.json"),
    deleteAccount: vi.fn(async () => ({ signedIn: false, name: null, email: null, notice: null })),
    renameDevice: vi.fn(async (model: string, serial: string, name: string) => ({ ...aLinkedDevice, model, serial, name })),
    removeItem: vi.fn(async () => null),
    listProducts: vi.fn(async () => ({ products: [] })),
    addItem: vi.fn(async () => {
      throw { code: "internal", message: "not in this test" };
    }),
    tellItem: vi.fn(async () => {
      throw { code: "internal", message: "not in this test" };
    }),
    inbox: vi.fn(async () => inbox),
    markInboxRead: vi.fn(async () => (inbox = { ...inbox, unread: 0 })),
    settings: vi.fn(async () => ({ startAtLogin: false, closeToTray: true, notifyLowSupply: true, notifyOrders: true, quietDevices: [], serviceUrl: null, serviceCertificate: null, signIn: null, serveNetwork: false })),
    saveSettings: vi.fn(async (settings: Settings) => settings),
    serviceInfo: vi.fn(async () => ({ kind: "embedded" as const, url: "http://127.0.0.1:1", fixed: false, fingerprint: null })),
    checkService: vi.fn(async (url: string) => ({ url, version: "0.1.0", sandbox: false, fingerprint: null })),
    discoverServices: vi.fn(async () => []),
    chooseSignIn: vi.fn(async () => ({ signedIn: false, name: null, email: null, notice: null })),
    chooseService: vi.fn(async (url: string | null) => ({ kind: url ? ("external" as const) : ("embedded" as const), url, fixed: false, fingerprint: null })),
    ...wizardApi(),
    listDevices: vi.fn(async () => ({ devices: [aLinkedDevice] })),
    approvals: vi.fn(async () => []),
    decideApproval: vi.fn(async () => {
      throw { code: "internal", message: "not in this test" };
    }),
    deviceLimits: vi.fn(async () => ({ perOrder: null, perMonth: null, askFirst: false, spentThisMonth: { amountMinor: 0, currency: "USD" } })),
    changeDeviceLimits: vi.fn(async (_m: string, _s: string, change: LimitsChange) => ({
      perOrder: change.perOrderMinor === null ? null : { amountMinor: change.perOrderMinor, currency: "USD" },
      perMonth: change.perMonthMinor === null ? null : { amountMinor: change.perMonthMinor, currency: "USD" },
      askFirst: change.askFirst,
      spentThisMonth: { amountMinor: 4000, currency: "USD" },
    })),
    changeDeviceButtons: vi.fn(async (_m: string, _s: string, asins: string[]) => asins.map((asin) => ({ asin, title: asin }))),
    deviceScreenUrl: vi.fn(async () => null),
    ordersGo: vi.fn(async () => null),
    networkAccess: vi.fn(async () => ({ available: false, on: false, url: null, fingerprint: null, problem: null, movedFrom: null })),
    openDeviceScreen: vi.fn(async () => "http://127.0.0.1:2/"),
    ...over,
    // The app's own inbox: a notice arriving adds to it.
    ...{ _add: (n: Notice) => (inbox = { notices: [n, ...inbox.notices], unread: inbox.unread + 1 }) },
  } as Api;
}

function fakeEvents() {
  let notice: (n: Notice) => void = () => {};
  let open: () => void = () => {};
  const events: AppEvents = {
    onNotice: (h) => (notice = h),
    onOpenInbox: (h) => (open = h),
  };
  return { events, send: (n: Notice) => notice(n), open: () => open() };
}



describe("the inbox", () => {
  it("answers a device that asks first, once", async () => {
    const asked: Notice = {
      ...low,
      id: 44,
      kind: "approvalNeeded",
      title: "FreshCool smart fridge asks to order",
      body: "Coffee beans, $18.99. Approve or decline it here.",
      slot: null,
      device: { model: fridge.model, serial: fridge.serial },
      approvalId: "refill.v1.a.1",
    };
    const answered: Notice = { ...asked, id: 45, approvalId: null };
    const api = fakeApi({
      inbox: vi.fn(async () => ({ notices: [answered, asked], unread: 0 })),
      decideApproval: vi.fn(async (id: string) => anApproval(id, "approved")),
    });
    render(App, { props: { api } });
    await fireEvent.click(await screen.findByTestId("inbox-button"));
    await fireEvent.click(await screen.findByTestId("notice-approve-44"));
    await waitFor(() => expect(screen.getByTestId("notice-message-44").textContent).toBe("Approved: ordered."));
    expect(api.decideApproval).toHaveBeenCalledWith("refill.v1.a.1", true);
    expect(screen.queryByTestId("notice-approve-44")).toBeNull();
    // A request answered elsewhere offers nothing.
    expect(screen.queryByTestId("notice-approve-45")).toBeNull();
    expect(screen.queryByTestId("notice-decline-45")).toBeNull();
  });

  it("counts a new notice, opens (also from a notification click) and reorders from it", async () => {
    const api = fakeApi();
    const { events, send, open } = fakeEvents();
    render(App, { props: { api, events } });
    await screen.findByTestId("grid");
    (api as unknown as { _add: (n: Notice) => void })._add(low);
    send(low);
    expect((await screen.findByTestId("inbox-unread")).textContent).toBe("1");
    open();
    expect((await screen.findByTestId("notice-title-41")).textContent).toBe(low.title);
    await waitFor(() => expect(api.markInboxRead).toHaveBeenCalledWith(41));
    await waitFor(() => expect(screen.queryByTestId("inbox-unread")).toBeNull());
    await fireEvent.click(screen.getByTestId("notice-reorder-41"));
    await waitFor(() => expect(screen.getByTestId("notice-message-41").textContent).toBe("Ordered."));
    expect(api.pressButton).toHaveBeenCalledWith("B0RFBEAN01", null);
    // "Open device" goes to the slot's device page.
    await fireEvent.click(screen.getByTestId("notice-slot-41"));
    expect(await screen.findByTestId("device-page")).toBeTruthy();
  });

  it("offers Cancel on a placed order only while it can be cancelled", async () => {
    const placed: Notice = {
      ...low,
      id: 42,
      kind: "orderPlaced",
      title: "Order placed",
      eventInstanceId: "refill.v1.o.1",
      cancellableUntil: new Date(Date.now() + 3600_000).toISOString(),
    };
    const late: Notice = { ...placed, id: 43, cancellableUntil: new Date(Date.now() - 1000).toISOString() };
    const api = fakeApi({ inbox: vi.fn(async () => ({ notices: [late, placed], unread: 0 })) });
    render(App, { props: { api } });
    await fireEvent.click(await screen.findByTestId("inbox-button"));
    await fireEvent.click(await screen.findByTestId("notice-cancel-42"));
    await waitFor(() => expect(api.cancelOrder).toHaveBeenCalledWith("refill.v1.o.1"));
    expect(screen.queryByTestId("notice-cancel-43")).toBeNull();
  });
});

describe("the order list", () => {
  it("lists orders with their status and cancels an open one", async () => {
    const api = fakeApi();
    render(App, { props: { api } });
    await fireEvent.click(await screen.findByTestId("nav-orders"));
    expect((await screen.findByTestId("order-status-refill.v1.o.1")).textContent).toBe("Placed");
    expect(screen.getByTestId("order-status-refill.v1.o.0").textContent).toBe("Delivered");
    expect(screen.queryByTestId("order-cancel-refill.v1.o.0")).toBeNull();
    await fireEvent.click(screen.getByTestId("order-cancel-refill.v1.o.1"));
    await waitFor(() => expect(api.cancelOrder).toHaveBeenCalledWith("refill.v1.o.1"));
    await waitFor(() => expect(api.listOrders).toHaveBeenCalledTimes(2));
    // The sandbox ships its orders itself: nothing to say of them.
    expect(screen.queryByTestId("order-bought-refill.v1.o.1")).toBeNull();
  });

  it("on a service that does not ship orders, says when one was bought and when it arrived", async () => {
    const arrivedAt = new Date().toISOString();
    const manual = { method: "manual" as const, to: null, sentAt: null, problem: null };
    let orders = [
      anOrder({ handover: manual }),
      anOrder({ eventInstanceId: "refill.v1.o.2", status: "shipped", cancellableUntil: null, handover: manual }),
    ];
    const api = fakeApi({
      listButtons: vi.fn(async () => ({
        tiles: [aTile()],
        service: { kind: "external" as const, url: "https://home.example:8750", fixed: false, fingerprint: null },
        offline: null,
      })),
      listOrders: vi.fn(async () => ({ orders })),
      orderStep: vi.fn(async (id: string, step: OrderStep) => {
        if (step === "bought") {
          orders = orders.map((o) => (o.eventInstanceId === id ? { ...o, status: "shipped" as const, cancellableUntil: null } : o));
        } else {
          if (id === "refill.v1.o.2") throw { code: "conflict", message: "This order has already arrived." };
          orders = orders.map((o) => (o.eventInstanceId === id ? { ...o, status: "delivered" as const, deliveredAt: arrivedAt } : o));
        }
        return orders.find((o) => o.eventInstanceId === id) ?? anOrder();
      }),
    });
    render(App, { props: { api } });
    await fireEvent.click(await screen.findByTestId("nav-orders"));
    await waitFor(async () => expect((await screen.findByTestId("order-status-refill.v1.o.1")).textContent).toBe("To buy"));
    expect(screen.getByTestId("order-status-refill.v1.o.2").textContent).toBe("Bought");
    // Bought: only "It arrived" is left for it.
    expect(screen.queryByTestId("order-bought-refill.v1.o.2")).toBeNull();
    await fireEvent.click(screen.getByTestId("order-bought-refill.v1.o.1"));
    await waitFor(() => expect(api.orderStep).toHaveBeenCalledWith("refill.v1.o.1", "bought"));
    await waitFor(() => expect(screen.getByTestId("order-status-refill.v1.o.1").textContent).toBe("Bought"));
    // A refusal is said beside the order.
    await fireEvent.click(screen.getByTestId("order-arrived-refill.v1.o.2"));
    expect((await screen.findByRole("alert")).textContent).toContain("already arrived");
    await fireEvent.click(screen.getByTestId("order-arrived-refill.v1.o.1"));
    await waitFor(() => expect(screen.getByTestId("order-arrives-refill.v1.o.1").textContent).toContain("Arrived"));
    expect(screen.getByTestId("order-status-refill.v1.o.1").textContent).toBe("Delivered");
    expect(screen.queryByTestId("order-arrived-refill.v1.o.1")).toBeNull();
  });

  it("says which orders went to the customer's automation, and which could not be sent and why", async () => {
    const hook = "http://ha.home:8123/api/webhook/refill";
    const problem = `Could not send this order to ${hook}: it answered 500 Internal Server Error.`;
    const api = fakeApi({
      listOrders: vi.fn(async () => ({
        orders: [
          anOrder({ cancellableUntil: null, handover: { method: "webhook", to: hook, sentAt: new Date().toISOString(), problem: null } }),
          anOrder({ eventInstanceId: "refill.v1.o.2", handover: { method: "webhook", to: hook, sentAt: null, problem } }),
        ],
      })),
    });
    render(App, { props: { api } });
    await fireEvent.click(await screen.findByTestId("nav-orders"));
    expect((await screen.findByTestId("order-status-refill.v1.o.1")).textContent).toBe("Sent");
    expect(screen.queryByTestId("order-problem-refill.v1.o.1")).toBeNull();
    expect(screen.getByTestId("order-status-refill.v1.o.2").textContent).toBe("Not sent");
    expect(screen.getByTestId("order-problem-refill.v1.o.2").textContent).toBe(problem);
    // Not sent: the customer can still cancel it, or buy it themselves.
    expect(screen.getByTestId("order-cancel-refill.v1.o.2")).toBeTruthy();
    expect(screen.getByTestId("order-bought-refill.v1.o.2")).toBeTruthy();
  });
});

describe("items without a device", () => {
  const home: DeviceView = {
    model: "home-1",
    modelName: "At home",
    serial: "home",
    name: "At home",
    isTest: false,
    home: true,
    slots: [{ slotId: "item-1", name: "Dishwasher salt", product: null }],
    screen: false,
    buttons: [],
  };
  const salt = (over: Partial<SlotInventory> = {}) =>
    beans({ slotId: "item-1", name: "Dishwasher salt", capacity: 2000, remaining: null, levels: [], runsOut: null, low: false, ...over });

  it("adds one from the catalog or by name, size and unit, saying what is missing", async () => {
    let devices: DeviceView[] = [aLinkedDevice];
    const api = fakeApi({
      listDevices: vi.fn(async () => ({ devices })),
      listProducts: vi.fn(async () => ({
        products: [{ asin: "B0RFBEAN02", title: "Dark Roast, 500 g", pack: { value: 500, unit: "g" as const }, price: { amountMinor: 1149, currency: "USD" } }],
      })),
      addItem: vi.fn(async (item: NewItem) => {
        devices = [aLinkedDevice, home];
        return { model: "home-1", serial: "home", created: true, item: salt({ name: item.name ?? "Dark Roast, 500 g" }) };
      }),
    });
    render(App, { props: { api } });
    await fireEvent.click(await screen.findByTestId("add-item"));
    const product = (await screen.findByTestId("add-item-product")) as HTMLSelectElement;
    await waitFor(() => expect(product.value).toBe("B0RFBEAN02"));
    await fireEvent.change(product, { target: { value: "" } });
    await fireEvent.click(screen.getByTestId("add-item-confirm"));
    expect((await screen.findByTestId("add-item-error")).textContent).toContain("Say what it is");
    await fireEvent.input(screen.getByTestId("add-item-name"), { target: { value: "Dishwasher salt" } });
    await fireEvent.input(screen.getByTestId("add-item-size"), { target: { value: "0" } });
    await fireEvent.click(screen.getByTestId("add-item-confirm"));
    expect((await screen.findByTestId("add-item-error")).textContent).toContain("how much one pack holds");
    expect(api.addItem).not.toHaveBeenCalled();
    await fireEvent.input(screen.getByTestId("add-item-size"), { target: { value: "2000" } });
    await fireEvent.click(screen.getByTestId("add-item-confirm"));
    await waitFor(() => expect(api.addItem).toHaveBeenCalledWith({ name: "Dishwasher salt", size: 2000, unit: "g" }));
    expect((await screen.findByTestId("add-item-done")).textContent).toContain("Dishwasher salt is now tracked under At home");
    // The list comes again, with "At home".
    expect((await screen.findByTestId("device-home")).textContent).toContain("items without a device");
  });

  it("says a new pack was opened or it ran out, and has no device wording", async () => {
    const api = fakeApi({
      listDevices: vi.fn(async () => ({ devices: [home] })),
      slotInventory: vi.fn(async () => salt()),
      tellItem: vi.fn(async (_slot: string, opened: boolean) => salt({ remaining: opened ? 2000 : 0 })),
    });
    render(App, { props: { api } });
    await fireEvent.click(await screen.findByTestId("open-device-home"));
    expect((await screen.findByTestId("level-item-1")).textContent).toContain("No pack opened yet");
    await fireEvent.click(screen.getByTestId("opened-item-1"));
    await waitFor(() => expect(api.tellItem).toHaveBeenCalledWith("item-1", true));
    await waitFor(() => expect(screen.getByTestId("level-item-1").textContent).toMatch(/2.?000 g left/));
    await fireEvent.click(screen.getByTestId("ran-out-item-1"));
    await waitFor(() => expect(screen.getByTestId("level-item-1").textContent).toContain("0 g left"));
    expect(screen.queryByTestId("remove-device")).toBeNull();
  });

  it("stops tracking an item only after asking, and leaves the list when it was the last", async () => {
    let listed = [home];
    const api = fakeApi({
      listDevices: vi.fn(async () => ({ devices: listed })),
      slotInventory: vi.fn(async () => salt()),
      removeItem: vi.fn(async () => {
        listed = [];
        return null;
      }),
    });
    render(App, { props: { api } });
    await fireEvent.click(await screen.findByTestId("open-device-home"));
    await fireEvent.click(await screen.findByTestId("remove-item-item-1"));
    expect(screen.getByTestId("remove-item-ask-item-1").textContent).toContain("Stop tracking Dishwasher salt?");
    await fireEvent.click(screen.getByTestId("remove-item-keep-item-1"));
    expect(screen.queryByTestId("remove-item-ask-item-1")).toBeNull();
    expect(api.removeItem).not.toHaveBeenCalled();
    await fireEvent.click(screen.getByTestId("remove-item-item-1"));
    await fireEvent.click(screen.getByTestId("remove-item-confirm-item-1"));
    await waitFor(() => expect(api.removeItem).toHaveBeenCalledWith("item-1"));
    // Nothing left at home: back to the grid, and "At home" is gone from the devices.
    await waitFor(() => expect(screen.queryByTestId("device-page")).toBeNull());
    expect(screen.queryByTestId("open-device-home")).toBeNull();
  });

  it("says why an item could not be removed, and keeps it", async () => {
    const api = fakeApi({
      listDevices: vi.fn(async () => ({ devices: [home] })),
      slotInventory: vi.fn(async () => salt()),
      removeItem: vi.fn(async () => {
        throw { code: "service_unreachable", message: "Can't reach the Refill service at x, so nothing was changed." };
      }),
    });
    render(App, { props: { api } });
    await fireEvent.click(await screen.findByTestId("open-device-home"));
    await fireEvent.click(await screen.findByTestId("remove-item-item-1"));
    await fireEvent.click(screen.getByTestId("remove-item-confirm-item-1"));
    expect((await screen.findByTestId("slot-error-item-1")).textContent).toContain("nothing was changed");
    expect(screen.getByTestId("device-page")).toBeTruthy();
  });
});

describe("a screened device's page", () => {
  it("shows its buttons and month's spend, sets its limits, answers its presses and opens its screen", async () => {
    let pending = [anApproval("refill.v1.a.7")];
    const api = fakeApi({
      listDevices: vi.fn(async () => ({ devices: [fridge] })),
      approvals: vi.fn(async () => pending),
      decideApproval: vi.fn(async (id: string) => {
        pending = [];
        return anApproval(id, "declined");
      }),
      deviceLimits: vi.fn(async () => ({
        perOrder: null,
        perMonth: { amountMinor: 5000, currency: "USD" },
        askFirst: true,
        spentThisMonth: { amountMinor: 4000, currency: "USD" },
      })),
      deviceScreenUrl: vi.fn(async () => "http://127.0.0.1:2/"),
      listProducts: vi.fn(async () => ({
        products: [
          { asin: "B0RFBEAN01", title: "Coffee beans", pack: { value: 1000, unit: "g" as const }, price: { amountMinor: 1899, currency: "USD" } },
          { asin: "B0RFFILT04", title: "Water filter", pack: { value: 1, unit: "count" as const }, price: { amountMinor: 2499, currency: "USD" } },
        ],
      })),
    });
    render(App, { props: { api } });
    await fireEvent.click(await screen.findByTestId("open-device-SANDBOX-FRIDGE"));
    expect((await screen.findByTestId("screen-buttons")).textContent).toContain("Coffee beans");
    expect((await screen.findByTestId("device-spent")).textContent).toContain("This month: $40.00 of $50.00");
    expect((screen.getByTestId("limit-per-month") as HTMLInputElement).value).toBe("50");
    expect((screen.getByTestId("limit-ask-first") as HTMLInputElement).checked).toBe(true);

    // Limits: a wrong amount is refused in words; a right one is saved in cents.
    await fireEvent.input(screen.getByTestId("limit-per-order"), { target: { value: "-3" } });
    await fireEvent.click(screen.getByTestId("save-limits"));
    expect((await screen.findByTestId("limits-error")).textContent).toBe(
      "The most per order must be an amount above 0, or empty for no limit.",
    );
    expect(api.changeDeviceLimits).not.toHaveBeenCalled();
    await fireEvent.input(screen.getByTestId("limit-per-order"), { target: { value: "20" } });
    await fireEvent.click(screen.getByTestId("save-limits"));
    await waitFor(() =>
      expect(api.changeDeviceLimits).toHaveBeenCalledWith("RefillFridge-1", "SANDBOX-FRIDGE", {
        perOrderMinor: 2000,
        perMonthMinor: 5000,
        askFirst: true,
      }),
    );

    // What it shows: the catalog to choose from, at least one.
    await fireEvent.click(screen.getByTestId("screen-choose-open"));
    await fireEvent.click(await screen.findByTestId("screen-choose-B0RFBEAN01"));
    await fireEvent.click(screen.getByTestId("screen-choose-save"));
    expect((await screen.findByTestId("screen-choose-error")).textContent).toBe("Choose 1 to 12 products for its screen.");
    await fireEvent.click(screen.getByTestId("screen-choose-B0RFFILT04"));
    await fireEvent.click(screen.getByTestId("screen-choose-save"));
    await waitFor(() => expect(api.changeDeviceButtons).toHaveBeenCalledWith("RefillFridge-1", "SANDBOX-FRIDGE", ["B0RFFILT04"]));
    await waitFor(() => expect(screen.getByTestId("screen-buttons").textContent).toContain("B0RFFILT04"));
    expect(screen.queryByTestId("screen-choose")).toBeNull();

    // Its press waiting for an answer, declined here.
    expect((await screen.findByTestId("approval-refill.v1.a.7")).textContent).toContain("Coffee beans, $18.99");
    await fireEvent.click(screen.getByTestId("decline-refill.v1.a.7"));
    await waitFor(() => expect(screen.queryByTestId("device-approvals")).toBeNull());
    expect(api.decideApproval).toHaveBeenCalledWith("refill.v1.a.7", false);

    // The sandbox fridge's screen opens in the browser.
    await fireEvent.click(await screen.findByTestId("open-device-screen"));
    expect(await screen.findByTestId("open-device-screen-message")).toBeTruthy();
    expect(api.openDeviceScreen).toHaveBeenCalledWith("RefillFridge-1", "SANDBOX-FRIDGE");

    // Stopping it says what happens.
    await fireEvent.click(screen.getByTestId("remove-device"));
    expect(screen.getByTestId("remove-device-section").textContent).toContain("Its screen stops showing your buttons at once");
    await fireEvent.click(screen.getByTestId("remove-device-confirm"));
    await waitFor(() => expect(api.removeDevice).toHaveBeenCalledWith("RefillFridge-1", "SANDBOX-FRIDGE", false));
  });
});

describe("the device page", () => {
  it("shows each slot's level and run-out, switches to smart reorder, and refuses a bad level", async () => {
    const api = fakeApi();
    render(App, { props: { api } });
    await fireEvent.click(await screen.findByTestId(`open-device-${aLinkedDevice.serial}`));
    expect((await screen.findByTestId("level-brew-beans")).textContent).toContain("300 g left");
    // What it may spend: for its own orders and smart reorders too (no screen part).
    expect((await screen.findByTestId("device-spent")).textContent).toContain("This month: $0.00");
    expect(screen.queryByTestId("screen-device")).toBeNull();
    expect(screen.getByTestId("level-brew-beans").textContent).toContain("low");
    expect(screen.getByTestId("forecast-brew-beans").textContent).toMatch(/^Runs out between .* and .*about 100 g a day/);
    // The chart has dates along the bottom, amounts up the side, the run-out range and the order on its way.
    const chart = screen.getByTestId("chart-brew-beans");
    expect(screen.getAllByTestId("chart-day-brew-beans").length).toBeGreaterThanOrEqual(5);
    expect(chart.textContent).toContain("1,000 g");
    expect(chart.querySelector("polygon.band")).not.toBeNull();
    expect(screen.getByTestId("chart-placed-brew-beans").textContent).toMatch(/^Ordered 1 pack on /);
    expect(screen.getByTestId("chart-due-brew-beans").textContent).toMatch(/^Due on /);
    // Each field says its unit; "Low at" left empty means in time for a delivery.
    const lowAt = screen.getByTestId("minimum-brew-beans") as HTMLInputElement;
    expect(lowAt.closest("label")?.textContent).toContain("Low at (g)");
    expect(lowAt.placeholder).toBe("empty: in time for delivery");
    expect((await screen.findByTestId("level-brew-filters")).textContent).toContain("No report yet");
    // No product chosen: no smart reorder.
    expect((screen.getByTestId("mode-reorder-brew-filters") as HTMLInputElement).disabled).toBe(true);

    await fireEvent.click(screen.getByTestId("mode-reorder-brew-beans"));
    await waitFor(() =>
      expect(api.changeSlot).toHaveBeenCalledWith(aLinkedDevice.model, aLinkedDevice.serial, "brew-beans", { mode: "reorder", version: 1 }),
    );

    await fireEvent.input(screen.getByTestId("minimum-brew-beans"), { target: { value: "lots" } });
    await fireEvent.click(screen.getByTestId("save-brew-beans"));
    expect((await screen.findByTestId("slot-error-brew-beans")).textContent).toBe("The low level must be a number of 0 or more.");
    expect(api.changeSlot).toHaveBeenCalledTimes(1);
    await fireEvent.input(screen.getByTestId("minimum-brew-beans"), { target: { value: "200" } });
    await fireEvent.click(screen.getByTestId("save-brew-beans"));
    await waitFor(() =>
      // Only what was changed, against the version the page showed.
      expect(api.changeSlot).toHaveBeenLastCalledWith(aLinkedDevice.model, aLinkedDevice.serial, "brew-beans", {
        minimum: 200,
        version: 1,
      }),
    );
  });

  it("removes the device only after asking, says why when it can't, and lists the devices again", async () => {
    let removed = false;
    let failOnce = true;
    const api = fakeApi({
      removeDevice: vi.fn(async () => {
        if (failOnce) {
          failOnce = false;
          throw { code: "service_unreachable", message: "Can't reach the Refill service at x, so the device was not removed." };
        }
        removed = true;
        return null;
      }),
      listDevices: vi.fn(async () => ({ devices: removed ? [] : [aLinkedDevice] })),
    });
    render(App, { props: { api } });
    await fireEvent.click(await screen.findByTestId(`open-device-${aLinkedDevice.serial}`));
    await fireEvent.click(await screen.findByTestId("remove-device"));
    // Asked first; "Keep it" changes nothing.
    await fireEvent.click(await screen.findByTestId("remove-device-keep"));
    expect(api.removeDevice).not.toHaveBeenCalled();
    await fireEvent.click(screen.getByTestId("remove-device"));
    await fireEvent.click(await screen.findByTestId("remove-device-confirm"));
    expect((await screen.findByTestId("remove-device-error")).textContent).toContain("was not removed");
    expect(screen.getByTestId("device-page")).toBeTruthy();
    await fireEvent.click(screen.getByTestId("remove-device-confirm"));
    await waitFor(() => expect(screen.queryByTestId("device-page")).toBeNull());
    expect(api.removeDevice).toHaveBeenLastCalledWith(aLinkedDevice.model, aLinkedDevice.serial, false);
    await waitFor(() => expect(screen.queryByTestId(`open-device-${aLinkedDevice.serial}`)).toBeNull());
  });

  it("changes what a slot reorders among the catalog's products of its unit", async () => {
    const product = (asin: string, title: string, unit: "g" | "ml") => ({
      asin,
      title,
      pack: { value: 500, unit },
      price: { amountMinor: 1149, currency: "USD" },
    });
    let refuse = true;
    const api = fakeApi({
      listDevices: vi.fn(async () => ({ devices: [aLinkedDevice] })),
      listProducts: vi.fn(async () => ({
        products: [product("B0RFBEAN01", "Beans", "g"), product("B0RFBEAN02", "Dark Roast, 500 g", "g"), product("B0RFINKBK1", "Black ink", "ml")],
      })),
      changeSlot: vi.fn(async (_m: string, _s: string, _slot: string, settings: SlotSettings) => {
        if (settings.asin && refuse) {
          refuse = false;
          throw { code: "service_unreachable", message: "Can't reach the Refill service at x, so nothing was changed." };
        }
        return beans();
      }),
    });
    render(App, { props: { api } });
    await fireEvent.click(await screen.findByTestId(`open-device-${aLinkedDevice.serial}`));
    const select = (await screen.findByTestId("product-brew-beans")) as HTMLSelectElement;
    await waitFor(() => expect(select.value).toBe("B0RFBEAN01"));
    // Grams only: the ink is not offered for the beans.
    expect(Array.from(select.options).map((o) => o.value)).toEqual(["B0RFBEAN01", "B0RFBEAN02"]);
    await fireEvent.change(select, { target: { value: "B0RFBEAN02" } });
    expect((await screen.findByTestId("slot-error-brew-beans")).textContent).toContain("nothing was changed");
    await waitFor(() => expect(select.value).toBe("B0RFBEAN01"));
    await fireEvent.change(select, { target: { value: "B0RFBEAN02" } });
    await waitFor(() =>
      expect(api.changeSlot).toHaveBeenLastCalledWith(aLinkedDevice.model, aLinkedDevice.serial, "brew-beans", { asin: "B0RFBEAN02", version: 1 }),
    );
    await waitFor(() => expect(select.value).toBe("B0RFBEAN02"));
  });

  it("cancels the device's open orders on removal only when asked to", async () => {
    const api = fakeApi({ listDevices: vi.fn(async () => ({ devices: [aLinkedDevice] })) });
    render(App, { props: { api } });
    await fireEvent.click(await screen.findByTestId(`open-device-${aLinkedDevice.serial}`));
    await fireEvent.click(await screen.findByTestId("remove-device"));
    await fireEvent.click(await screen.findByTestId("remove-device-cancel-orders"));
    await fireEvent.click(screen.getByTestId("remove-device-confirm"));
    await waitFor(() => expect(api.removeDevice).toHaveBeenLastCalledWith(aLinkedDevice.model, aLinkedDevice.serial, true));
  });

  it("renames a device and says why when the service refuses the name", async () => {
    let refuse = true;
    const api = fakeApi({
      listDevices: vi.fn(async () => ({ devices: [aLinkedDevice] })),
      renameDevice: vi.fn(async (model: string, serial: string, name: string) => {
        if (refuse) {
          refuse = false;
          throw { code: "bad_request", message: "A device's name can't hold line breaks or control characters." };
        }
        return { ...aLinkedDevice, model, serial, name };
      }),
    });
    render(App, { props: { api } });
    await fireEvent.click(await screen.findByTestId(`open-device-${aLinkedDevice.serial}`));
    const field = (await screen.findByTestId("device-name")) as HTMLInputElement;
    expect(field.value).toBe(aLinkedDevice.name);
    await fireEvent.input(field, { target: { value: "  Kitchen  " } });
    await fireEvent.click(screen.getByTestId("rename-device"));
    expect((await screen.findByTestId("rename-device-error")).textContent).toContain("line breaks");
    await fireEvent.click(screen.getByTestId("rename-device"));
    await waitFor(() => expect(screen.queryByTestId("rename-device-error")).toBeNull());
    expect(api.renameDevice).toHaveBeenLastCalledWith(aLinkedDevice.model, aLinkedDevice.serial, "Kitchen");
    expect(field.value).toBe("Kitchen");
  });

  it("lets untouched fields follow new values, and shows what changed when a save comes too late", async () => {
    let stock = 1521.065046007;
    const api = fakeApi({
      slotInventory: vi.fn(async (_m: string, _s: string, slotId: string) =>
        beans({ slotId, onHand: stock, version: stock > 2000 ? 2 : 1 }),
      ),
      changeSlot: vi.fn(async () => {
        throw { code: "slot_changed", message: "This slot changed since you opened it, so nothing was saved." };
      }),
    });
    render(App, { props: { api } });
    await fireEvent.click(await screen.findByTestId(`open-device-${aLinkedDevice.serial}`));
    const onHand = (await screen.findByTestId("on-hand-brew-beans")) as HTMLInputElement;
    // No more decimals than grams need.
    expect(onHand.value).toBe("1521.1");
    // A delivery elsewhere: the untouched field follows.
    stock = 2564.9;
    await waitFor(() => expect(onHand.value).toBe("2564.9"), { timeout: 6000 });
    // A save against a slot that changed again in between: refused in words, new values shown.
    stock = 3564.9;
    await fireEvent.input(screen.getByTestId("minimum-brew-beans"), { target: { value: "150" } });
    await fireEvent.click(screen.getByTestId("save-brew-beans"));
    expect((await screen.findByTestId("slot-error-brew-beans")).textContent).toContain("nothing was saved");
    expect(api.changeSlot).toHaveBeenLastCalledWith(aLinkedDevice.model, aLinkedDevice.serial, "brew-beans", {
      minimum: 150,
      version: 2,
    });
    await waitFor(() => expect(onHand.value).toBe("3564.9"));
    expect((screen.getByTestId("minimum-brew-beans") as HTMLInputElement).value).toBe("");
  }, 10_000);

  it("reads its slots again while open, keeping what the customer typed", async () => {
    let reads = 0;
    const api = fakeApi({
      slotInventory: vi.fn(async (_model: string, _serial: string, slotId: string) => {
        reads += 1;
        // The device's first report arrives while the page is open.
        return slotId === "brew-beans" && reads > 2
          ? beans({ remaining: 640, low: false })
          : beans({ slotId, remaining: null, levels: [], runsOut: null, dailyUse: null, low: false });
      }),
    });
    render(App, { props: { api } });
    await fireEvent.click(await screen.findByTestId(`open-device-${aLinkedDevice.serial}`));
    expect((await screen.findByTestId("level-brew-beans")).textContent).toContain("No report yet");
    await fireEvent.input(screen.getByTestId("minimum-brew-beans"), { target: { value: "150" } });
    await waitFor(() => expect(screen.getByTestId("level-brew-beans").textContent).toContain("640 g left"), {
      timeout: 6000,
    });
    expect((screen.getByTestId("minimum-brew-beans") as HTMLInputElement).value).toBe("150");
  }, 10_000);
});

describe("the settings page", () => {
  it("saves each switch as it is changed, and puts it back with the reason when it cannot", async () => {
    const api = fakeApi({
      saveSettings: vi.fn(async (settings: Settings) => {
        if (settings.startAtLogin) {
          throw {
            code: "settings_not_saved",
            message: "Refill could not turn on starting at login: permission denied. Nothing was changed.",
          };
        }
        return settings;
      }),
    });
    render(App, { props: { api } });
    await fireEvent.click(await screen.findByTestId("nav-settings"));
    const tray = (await screen.findByTestId("setting-closeToTray")) as HTMLInputElement;
    const login = screen.getByTestId("setting-startAtLogin") as HTMLInputElement;
    expect(tray.checked).toBe(true);
    expect(login.checked).toBe(false);

    await fireEvent.click(tray);
    await waitFor(() => expect(screen.getByTestId("setting-said-closeToTray").textContent).toContain("Saved."));
    expect(api.saveSettings).toHaveBeenLastCalledWith({
      startAtLogin: false,
      closeToTray: false,
      notifyLowSupply: true,
      notifyOrders: true,
      quietDevices: [],
      serviceUrl: null,
      serviceCertificate: null,
      signIn: null,
      serveNetwork: false,
    });
    expect(tray.checked).toBe(false);

    await fireEvent.click(login);
    const said = await screen.findByTestId("setting-said-startAtLogin");
    await waitFor(() => expect(said.textContent).toContain("permission denied. Nothing was changed."));
    expect(said.getAttribute("role")).toBe("alert");
    await waitFor(() => expect(login.checked).toBe(false));
    // The earlier change stays saved.
    expect((screen.getByTestId("setting-closeToTray") as HTMLInputElement).checked).toBe(false);
  });

  it("turns one device's notifications off and on again", async () => {
    let settings: Settings = { startAtLogin: false, closeToTray: true, notifyLowSupply: true, notifyOrders: true, quietDevices: [], serviceUrl: null, serviceCertificate: null, signIn: null, serveNetwork: false };
    const api = fakeApi({
      listDevices: vi.fn(async () => ({ devices: [aLinkedDevice] })),
      settings: vi.fn(async () => settings),
      saveSettings: vi.fn(async (next: Settings) => (settings = next)),
    });
    render(App, { props: { api } });
    await fireEvent.click(await screen.findByTestId("nav-settings"));
    const brewer = (await screen.findByTestId(`device-notifications-${aLinkedDevice.serial}`)) as HTMLInputElement;
    expect(brewer.checked).toBe(true);
    await fireEvent.click(brewer);
    await waitFor(() => expect(screen.getByTestId(`device-said-${aLinkedDevice.serial}`).textContent).toContain("Saved."));
    expect(settings.quietDevices).toEqual([{ model: aLinkedDevice.model, serial: aLinkedDevice.serial }]);
    expect(brewer.checked).toBe(false);
    await fireEvent.click(brewer);
    await waitFor(() => expect(settings.quietDevices).toEqual([]));
    expect(brewer.checked).toBe(true);
  });
});
