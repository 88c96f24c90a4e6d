import { afterEach, describe, expect, it, vi } from "vitest";
import { cleanup, fireEvent, render, screen, waitFor } from "@testing-library/svelte";
import OrdersGoSection from "./OrdersGoSection.svelte";
import type { Api } from "./api";
import type { OrdersGoChange, OrdersGoView } from "./bindings";

afterEach(cleanup);

const manual: OrdersGoView = {
  method: "manual",
  chosen: false,
  offered: ["manual", "webhook", "email"],
  webhookUrl: null,
  webhookSecret: null,
  email: "sam@example.test",
};

/** A service that answers `view`, and takes each change (unless `refusal` is given). */
function api(view: OrdersGoView | null, refusal?: string): Api {
  return {
    ordersGo: vi.fn(async (change: OrdersGoChange | null) => {
      if (!change) return view;
      if (refusal) throw { code: "bad_request", message: refusal };
      return {
        ...manual,
        method: change.method,
        chosen: true,
        webhookUrl: change.webhookUrl,
        webhookSecret: change.method === "webhook" ? "s3cret" : null,
        email: change.email ?? manual.email,
      };
    }),
  } as unknown as Api;
}

describe("where orders go", () => {
  it("is not shown where the service has no such choice (the sandbox on this computer)", async () => {
    const a = api(null);
    render(OrdersGoSection, { props: { api: a } });
    await waitFor(() => expect(a.ordersGo).toHaveBeenCalledWith(null));
    expect(screen.queryByTestId("orders-go")).toBeNull();
  });

  it("offers only what the service offers, and emails orders to the address given", async () => {
    const a = api({ ...manual, offered: ["manual", "webhook"] });
    render(OrdersGoSection, { props: { api: a } });
    expect(((await screen.findByTestId("orders-go-manual")) as HTMLInputElement).checked).toBe(true);
    expect(screen.queryByTestId("orders-go-email")).toBeNull();
    cleanup();

    const b = api(manual);
    render(OrdersGoSection, { props: { api: b } });
    await fireEvent.click(await screen.findByTestId("orders-go-email"));
    const address = (await screen.findByTestId("orders-go-email-address")) as HTMLInputElement;
    expect(address.value).toBe("sam@example.test");
    await fireEvent.input(address, { target: { value: " shopping@example.test " } });
    await fireEvent.click(screen.getByTestId("orders-go-save"));
    await waitFor(() =>
      expect(b.ordersGo).toHaveBeenCalledWith({
        method: "email",
        webhookUrl: null,
        email: "shopping@example.test",
        newSecret: false,
      }),
    );
    expect((await screen.findByTestId("orders-go-said")).textContent).toContain("Saved");
    expect(screen.queryByTestId("orders-go-secret")).toBeNull();
  });

  it("shows a new webhook secret once, and a refusal in the service's words", async () => {
    const refusing = api(manual, "'ftp://x' is not a webhook address.");
    render(OrdersGoSection, { props: { api: refusing } });
    await fireEvent.click(await screen.findByTestId("orders-go-webhook"));
    await fireEvent.input(screen.getByTestId("orders-go-webhook-address"), { target: { value: "ftp://x" } });
    await fireEvent.click(screen.getByTestId("orders-go-save"));
    const said = await screen.findByTestId("orders-go-said");
    expect(said.getAttribute("role")).toBe("alert");
    expect(said.textContent).toContain("is not a webhook address");
    cleanup();

    const a = api(manual);
    render(OrdersGoSection, { props: { api: a } });
    await fireEvent.click(await screen.findByTestId("orders-go-webhook"));
    await fireEvent.input(screen.getByTestId("orders-go-webhook-address"), {
      target: { value: "http://ha.local:8123/api/webhook/refill" },
    });
    await fireEvent.click(screen.getByTestId("orders-go-save"));
    expect((await screen.findByTestId("orders-go-secret")).textContent).toContain("s3cret");
    expect(a.ordersGo).toHaveBeenCalledWith({
      method: "webhook",
      webhookUrl: "http://ha.local:8123/api/webhook/refill",
      email: null,
      newSecret: false,
    });
  });
});
