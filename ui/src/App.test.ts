import { afterEach, describe, expect, it, vi } from "vitest";
import { cleanup, fireEvent, render, screen, waitFor } from "@testing-library/svelte";
import App from "./App.svelte";
import type { Api } from "./lib/api";
import type { ButtonGrid, OrderStep, PressResult, Settings } from "./lib/bindings";
import { aTile, anApproval, anOrder, fridge, wizardApi } from "./lib/fixtures";

afterEach(cleanup);

const order = anOrder();
const signedOut = { signedIn: false, name: null, email: null, notice: null };
const alex = { signedIn: true, name: "Alex Sandbox", email: "alex@sandbox.refill.test", notice: null };

function grid(over: Partial<ButtonGrid> = {}): ButtonGrid {
  return {
    tiles: [
      aTile({ imageUrl: "http://127.0.0.1:1/beans.svg" }),
      aTile({
        asin: "B0RFWATR02",
        title: "Water filter",
        price: { amountMinor: 1299, currency: "USD" },
        pack: { value: 2, unit: "count" },
        lastOrderedAt: "2026-09-10T09:00:00Z",
      }),
    ],
    service: { kind: "embedded", url: "http://127.0.0.1:1", fixed: false, fingerprint: null },
    offline: null,
    ...over,
  };
}

function fakeApi(over: Partial<Api> = {}): Api {
  return {
    listButtons: vi.fn(async () => grid()),
    pressButton: vi.fn(async (): Promise<PressResult> => ({
      detailCode: "STANDARD_ORDER_PLACED",
      eventInstanceId: order.eventInstanceId,
      order,
    })),
    cancelOrder: vi.fn(async () => ({ ...order, status: "cancelled" as const, cancellableUntil: null })),
    orderStep: vi.fn(async (_id: string, step: OrderStep) => ({
      ...order,
      status: step === "bought" ? ("shipped" as const) : ("delivered" as const),
      cancellableUntil: null,
    })),
    account: vi.fn(async () => signedOut),
    startSignIn: vi.fn(async () => ({ authorizeUrl: "http://127.0.0.1:1/ap/oa?x", browserOpened: false })),
    finishSignIn: vi.fn(async () => alex),
    cancelSignIn: vi.fn(async () => null),
    signOut: vi.fn(async () => signedOut),
    listOrders: vi.fn(async () => ({ orders: [order] })),
    slotInventory: vi.fn(async () => {
      throw { code: "not_found", message: "no such slot" };
    }),
    changeSlot: vi.fn(async () => {
      throw { code: "not_found", message: "no such slot" };
    }),
    removeDevice: vi.fn(async () => null),
    downloadMyData: vi.fn(async () => "Downloads/refill-data-2026-12-04.json"),
    deleteAccount: vi.fn(async () => ({ signedIn: false, name: null, email: null, notice: null })),
    renameDevice: vi.fn(async () => {
      throw new Error("not expected");
    }),
    removeItem: vi.fn(async () => null),
    listProducts: vi.fn(async () => ({ products: [] })),
    addItem: vi.fn(async () => {
      throw { code: "internal", message: "not in this test" };
    }),
    tellItem: vi.fn(async () => {
      throw { code: "internal", message: "not in this test" };
    }),
    inbox: vi.fn(async () => ({ notices: [], unread: 0 })),
    markInboxRead: vi.fn(async () => ({ notices: [], unread: 0 })),
    settings: vi.fn(async () => ({ startAtLogin: false, closeToTray: true, notifyLowSupply: true, notifyOrders: true, quietDevices: [], serviceUrl: null, serviceCertificate: null, signIn: null, serveNetwork: false })),
    saveSettings: vi.fn(async (settings: Settings) => settings),
    serviceInfo: vi.fn(async () => ({ kind: "embedded" as const, url: "http://127.0.0.1:1", fixed: false, fingerprint: null })),
    checkService: vi.fn(async (url: string) => ({ url, version: "0.1.0", sandbox: false, fingerprint: null })),
    discoverServices: vi.fn(async () => []),
    chooseSignIn: vi.fn(async () => ({ signedIn: false, name: null, email: null, notice: null })),
    chooseService: vi.fn(async (url: string | null) => ({ kind: url ? ("external" as const) : ("embedded" as const), url, fixed: false, fingerprint: null })),
    approvals: vi.fn(async () => []),
    decideApproval: vi.fn(async () => {
      throw { code: "internal", message: "not in this test" };
    }),
    deviceLimits: vi.fn(async () => ({ perOrder: null, perMonth: null, askFirst: false, spentThisMonth: { amountMinor: 0, currency: "USD" } })),
    changeDeviceLimits: vi.fn(async (_m: string, _s: string, change) => ({
      perOrder: change.perOrderMinor === null ? null : { amountMinor: change.perOrderMinor, currency: "USD" },
      perMonth: change.perMonthMinor === null ? null : { amountMinor: change.perMonthMinor, currency: "USD" },
      askFirst: change.askFirst,
      spentThisMonth: { amountMinor: 0, currency: "USD" },
    })),
    changeDeviceButtons: vi.fn(async (_m: string, _s: string, asins: string[]) => asins.map((asin) => ({ asin, title: asin }))),
    deviceScreenUrl: vi.fn(async () => null),
    ordersGo: vi.fn(async () => null),
    networkAccess: vi.fn(async () => ({ available: false, on: false, url: null, fingerprint: null, problem: null, movedFrom: null })),
    openDeviceScreen: vi.fn(async () => "http://127.0.0.1:2/"),
    ...wizardApi(),
    ...over,
  };
}

describe("starting", () => {
  it("paints before it asks for data, and loads even in a window that paints no frames", async () => {
    const frames: FrameRequestCallback[] = [];
    const raf = vi.spyOn(window, "requestAnimationFrame").mockImplementation((callback) => {
      frames.push(callback);
      return frames.length;
    });
    try {
      const api = fakeApi();
      render(App, { props: { api } });
      // No frame yet: nothing asked for, so the first paint does not wait on answers.
      expect(frames.length).toBeGreaterThan(0);
      expect(api.listButtons).not.toHaveBeenCalled();
      // No frame ever comes (a hidden or minimized window): the data still arrives.
      expect(await screen.findByTestId("title-B0RFBEAN01")).toHaveProperty("textContent", "Beans");
      expect(api.account).toHaveBeenCalledTimes(1);
      // A frame after that starts nothing twice.
      frames.forEach((frame) => frame(0));
      await new Promise((resolve) => setTimeout(resolve, 0));
      expect(api.listButtons).toHaveBeenCalledTimes(1);
    } finally {
      raf.mockRestore();
    }
  });
});

describe("the button grid", () => {
  it("shows one tile per recent item, with a placeholder where there is no picture", async () => {
    render(App, { props: { api: fakeApi() } });
    expect(await screen.findByTestId("title-B0RFBEAN01")).toHaveProperty("textContent", "Beans");
    expect(screen.getByTestId("title-B0RFWATR02").textContent).toBe("Water filter");
    expect(screen.queryByTestId("placeholder-B0RFBEAN01")).toBeNull();
    expect(screen.getByTestId("placeholder-B0RFWATR02")).toBeTruthy();
    expect(screen.getByTestId("service").textContent).toBe("Sandbox");
  });

  it("says how soon an item runs out until it is ordered", async () => {
    const soon = new Date(Date.now() + 2.2 * 86_400_000).toISOString();
    const api = fakeApi({ listButtons: vi.fn(async () => grid({ tiles: [aTile({ runsOut: soon, daysLeft: 2.2 })] })) });
    render(App, { props: { api } });
    expect((await screen.findByTestId("need-B0RFBEAN01")).textContent).toBe("About 2 days left");
    await fireEvent.click(screen.getByTestId("tap-B0RFBEAN01"));
    await waitFor(() => expect(screen.getByTestId("status-B0RFBEAN01").textContent).toMatch(/^Ordered, arrives /));
    expect(screen.queryByTestId("need-B0RFBEAN01")).toBeNull();
  });

  it("orders with one tap, ignores taps while ordering, and offers Cancel", async () => {
    let answer: (r: PressResult) => void = () => {};
    const api = fakeApi({ pressButton: vi.fn(() => new Promise<PressResult>((resolve) => (answer = resolve))) });
    render(App, { props: { api } });
    const tap = await screen.findByTestId("tap-B0RFBEAN01");
    await fireEvent.click(tap);
    await fireEvent.click(tap);
    expect(screen.getByTestId("status-B0RFBEAN01").textContent).toBe("Ordering…");
    answer({ detailCode: "STANDARD_ORDER_PLACED", eventInstanceId: order.eventInstanceId, order });
    await waitFor(() => expect(screen.getByTestId("status-B0RFBEAN01").textContent).toMatch(/^Ordered, arrives /));
    expect(api.pressButton).toHaveBeenCalledTimes(1);
    expect(api.pressButton).toHaveBeenCalledWith("B0RFBEAN01", null);

    await fireEvent.click(screen.getByTestId("cancel-B0RFBEAN01"));
    await waitFor(() => expect(screen.getByTestId("status-B0RFBEAN01").textContent).toBe("Order cancelled"));
    expect(api.cancelOrder).toHaveBeenCalledWith(order.eventInstanceId);
    expect(screen.queryByTestId("cancel-B0RFBEAN01")).toBeNull();
  });

  it("asks before ordering at a price that rose, showing both, and orders at the price confirmed", async () => {
    const message = "Refill Roasters costs $18.99 now, 16 % more than the $16.40 you paid last time. Order it at this price? (Nothing was ordered yet.)";
    const pressButton = vi.fn(async (_asin: string, confirm: number | null): Promise<PressResult> => {
      if (confirm === null) throw { code: "price_rose", message };
      return { detailCode: "STANDARD_ORDER_PLACED", eventInstanceId: order.eventInstanceId, order };
    });
    render(App, { props: { api: fakeApi({ pressButton }) } });
    await fireEvent.click(await screen.findByTestId("tap-B0RFBEAN01"));
    await waitFor(() => expect(screen.getByTestId("status-B0RFBEAN01").textContent).toBe(message));
    const confirm = screen.getByTestId("confirm-B0RFBEAN01");
    expect(confirm.textContent).toBe("Order at $18.99");
    await fireEvent.click(confirm);
    await waitFor(() => expect(screen.getByTestId("status-B0RFBEAN01").textContent).toMatch(/^Ordered, arrives /));
    expect(pressButton).toHaveBeenLastCalledWith("B0RFBEAN01", 1899);
    expect(screen.queryByTestId("confirm-B0RFBEAN01")).toBeNull();
  });

  it("shows the open order when the service answers ORDER_INPROGRESS", async () => {
    const api = fakeApi({
      pressButton: vi.fn(async (): Promise<PressResult> => ({
        detailCode: "ORDER_INPROGRESS",
        eventInstanceId: order.eventInstanceId,
        order,
      })),
    });
    render(App, { props: { api } });
    await fireEvent.click(await screen.findByTestId("tap-B0RFBEAN01"));
    await waitFor(() =>
      expect(screen.getByTestId("status-B0RFBEAN01").textContent).toMatch(/^Already ordered, arrives /),
    );
  });

  it("says so on the tile when the service can't be reached", async () => {
    const message = "Can't reach the Refill service at http://x, so nothing was ordered.";
    const api = fakeApi({ pressButton: vi.fn(async () => Promise.reject({ code: "service_unreachable", message })) });
    render(App, { props: { api } });
    await fireEvent.click(await screen.findByTestId("tap-B0RFWATR02"));
    await waitFor(() => expect(screen.getByTestId("status-B0RFWATR02").textContent).toBe(message));
    expect(screen.queryByTestId("cancel-B0RFWATR02")).toBeNull();
    expect(screen.getByTestId("status-B0RFBEAN01").textContent).toMatch(/^Last ordered /);
  });

  it("shows the last grid with a banner when offline, and an error when there is none", async () => {
    const offline = { code: "service_unreachable" as const, message: "Can't reach the Refill service at http://x." };
    render(App, { props: { api: fakeApi({ listButtons: vi.fn(async () => grid({ offline })) }) } });
    expect((await screen.findByTestId("offline")).textContent).toContain(offline.message);
    cleanup();
    render(App, { props: { api: fakeApi({ listButtons: vi.fn(async () => Promise.reject(offline)) }) } });
    expect((await screen.findByTestId("load-error")).textContent).toContain(offline.message);
  });
});

describe("signing in", () => {
  it("shows the address when no browser opened, then the name; sign out forgets it", async () => {
    let finish: (a: typeof alex) => void = () => {};
    const api = fakeApi({ finishSignIn: vi.fn(() => new Promise<typeof alex>((resolve) => (finish = resolve))) });
    render(App, { props: { api } });
    await fireEvent.click(await screen.findByTestId("sign-in"));
    expect((await screen.findByTestId("authorize-url")).textContent).toBe("http://127.0.0.1:1/ap/oa?x");
    expect(screen.getByTestId("sign-in-panel").textContent).toContain("Your browser did not open");
    finish(alex);
    expect((await screen.findByTestId("account-name")).textContent).toBe("Alex Sandbox");
    expect(screen.queryByTestId("sign-in-panel")).toBeNull();
    expect(api.listButtons).toHaveBeenCalledTimes(2);

    await fireEvent.click(screen.getByTestId("sign-out"));
    await screen.findByTestId("sign-in");
    expect(api.signOut).toHaveBeenCalledTimes(1);
  });

  it("cancels, and shows why a sign-in did not work", async () => {
    const message = "Sign-in was cancelled. Nothing was saved.";
    let fail: (e: unknown) => void = () => {};
    const api = fakeApi({ finishSignIn: vi.fn(() => new Promise<typeof alex>((_, reject) => (fail = reject))) });
    render(App, { props: { api } });
    await fireEvent.click(await screen.findByTestId("sign-in"));
    await fireEvent.click(await screen.findByTestId("cancel-sign-in"));
    expect(api.cancelSignIn).toHaveBeenCalledTimes(1);
    fail({ code: "sign_in_failed", message });
    expect((await screen.findByTestId("account-message")).textContent).toContain(message);
    expect(screen.queryByTestId("sign-in-panel")).toBeNull();
  });

  it("shows the header signed out, with the reason, when the sign-in was revoked", async () => {
    const gone = {
      code: "sign_in_required" as const,
      message: "You were signed out because the sign-in service no longer accepts your sign-in.",
    };
    const api = fakeApi({
      account: vi.fn(async () => alex),
      pressButton: vi.fn(async () => Promise.reject(gone)),
    });
    render(App, { props: { api } });
    await screen.findByTestId("account-name");
    await fireEvent.click(await screen.findByTestId("tap-B0RFBEAN01"));
    expect((await screen.findByTestId("account-message")).textContent).toContain(gone.message);
    expect(screen.queryByTestId("account-name")).toBeNull();
    expect(screen.getByTestId("sign-in")).toBeTruthy();
  });

  it("asks for sign-in when the service requires it", async () => {
    const required = { code: "sign_in_required" as const, message: "This Refill service needs you to sign in." };
    const api = fakeApi({ listButtons: vi.fn(async () => Promise.reject(required)) });
    render(App, { props: { api } });
    expect((await screen.findByTestId("load-error")).textContent).toContain(required.message);
    await fireEvent.click(screen.getByTestId("grid-sign-in"));
    expect(api.startSignIn).toHaveBeenCalledTimes(1);
  });
});

describe("devices", () => {
  it("shows what a screened device shows, with a badge for its presses waiting for an answer", async () => {
    const screened = { ...fridge, buttons: [...fridge.buttons, { asin: "B0RFFILT04", title: "Water filter" }] };
    const api = fakeApi({
      listDevices: vi.fn(async () => ({ devices: [screened] })),
      approvals: vi.fn(async () => [anApproval("a1"), anApproval("a2"), anApproval("a0", "declined")]),
    });
    render(App, { props: { api } });
    expect((await screen.findByTestId("device-SANDBOX-FRIDGE")).textContent).toContain("On its screen: Coffee beans, Water filter");
    const badge = await screen.findByTestId("device-asks-SANDBOX-FRIDGE");
    expect(badge.textContent).toBe("2");
    expect(badge.getAttribute("aria-label")).toBe("2 waiting for your approval");
  });


  it("opens the setup wizard from the header and lists linked devices", async () => {
    const api = fakeApi({
      listDevices: vi.fn(async () => ({
        devices: [
          {
            model: "RefillBrew-200",
            modelName: "Brewmaster 200 coffee maker",
            serial: "SIM-1",
            name: "Brewmaster 200 coffee maker",
            isTest: true,
            home: false,
            slots: [{ slotId: "brew-beans", name: "Coffee beans", product: { asin: "B0RFBEAN01", title: "Beans" } }],
            screen: false,
            buttons: [],
          },
        ],
      })),
    });
    render(App, { props: { api } });
    expect((await screen.findByTestId("device-SIM-1")).textContent).toContain("Coffee beans: Beans");
    await fireEvent.click(screen.getByTestId("add-device"));
    expect((await screen.findByTestId("why-bluetooth")).textContent).toContain("Bluetooth");
    await fireEvent.click(screen.getByTestId("setup-close"));
    await waitFor(() => expect(screen.queryByTestId("setup")).toBeNull());
    expect(api.onboardingCancel).toHaveBeenCalled();
  });
});
