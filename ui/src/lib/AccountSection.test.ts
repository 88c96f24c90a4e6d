import { afterEach, describe, expect, it, vi } from "vitest";
import { cleanup, fireEvent, render, screen, waitFor } from "@testing-library/svelte";
import AccountSection from "./AccountSection.svelte";
import type { Api } from "./api";
import type { Account } from "./bindings";

afterEach(cleanup);

const signedIn: Account = { signedIn: true, name: "Sam", email: "sam@example.test", notice: null };
const signedOut: Account = { signedIn: false, name: null, email: null, notice: null };

function api(over: Partial<Api> = {}): Api {
  return {
    downloadMyData: vi.fn(async () => "Downloads/refill-data-2026-12-04.json"),
    deleteAccount: vi.fn(async () => signedOut),
    ...over,
  } as unknown as Api;
}

describe("the account section", () => {
  it("saves my data and says where", async () => {
    const a = api();
    render(AccountSection, { props: { api: a, account: signedOut, onaccount: () => {} } });
    await fireEvent.click(screen.getByTestId("download-my-data"));
    expect((await screen.findByTestId("download-my-data-done")).textContent).toContain(
      "Downloads/refill-data-2026-12-04.json",
    );
    // Deleting needs a sign-in: not offered without one.
    expect(screen.queryByTestId("delete-account")).toBeNull();
    expect(screen.getByTestId("delete-account-sign-in")).toBeTruthy();
  });

  it("deletes only once the account's email is typed, and signs out", async () => {
    const onaccount = vi.fn();
    const a = api();
    render(AccountSection, { props: { api: a, account: signedIn, onaccount } });
    await fireEvent.click(screen.getByTestId("delete-account"));
    const dialog = screen.getByRole("dialog", { name: "Delete your Refill account?" });
    expect(dialog.getAttribute("aria-modal")).toBe("true");
    const email = screen.getByTestId("delete-account-email") as HTMLInputElement;
    expect(document.activeElement).toBe(email);
    const confirm = screen.getByTestId("delete-account-confirm") as HTMLButtonElement;
    expect(confirm.disabled).toBe(true);
    await fireEvent.input(email, { target: { value: "someone@example.test" } });
    expect(confirm.disabled).toBe(true);
    await fireEvent.input(email, { target: { value: " Sam@Example.test " } });
    expect(confirm.disabled).toBe(false);
    await fireEvent.click(confirm);
    await waitFor(() => expect(onaccount).toHaveBeenCalled());
    expect(a.deleteAccount).toHaveBeenCalledWith("Sam@Example.test");
    expect(onaccount.mock.calls[0]![0].signedIn).toBe(false);
    expect(screen.queryByRole("dialog")).toBeNull();
  });

  it("keeps the dialog open with the reason when the service refuses", async () => {
    const a = api({
      deleteAccount: vi.fn(async () => {
        throw { code: "service_unreachable", message: "Can't reach the Refill service at x, so your account was not deleted." };
      }),
    });
    render(AccountSection, { props: { api: a, account: signedIn, onaccount: () => {} } });
    await fireEvent.click(screen.getByTestId("delete-account"));
    await fireEvent.input(screen.getByTestId("delete-account-email"), { target: { value: "sam@example.test" } });
    await fireEvent.click(screen.getByTestId("delete-account-confirm"));
    expect((await screen.findByTestId("delete-account-error")).textContent).toContain("was not deleted");
    expect(screen.getByRole("dialog")).toBeTruthy();
  });

  it("traps focus, closes with Escape and gives focus back", async () => {
    render(AccountSection, { props: { api: api(), account: signedIn, onaccount: () => {} } });
    const opener = screen.getByTestId("delete-account");
    opener.focus();
    await fireEvent.click(opener);
    const dialog = screen.getByRole("dialog");
    const keep = screen.getByTestId("delete-account-keep");
    // Tab from the last control comes back to the first; Shift+Tab from the first goes last.
    keep.focus();
    await fireEvent.keyDown(dialog, { key: "Tab" });
    expect(document.activeElement).toBe(screen.getByTestId("delete-account-download"));
    await fireEvent.keyDown(dialog, { key: "Tab", shiftKey: true });
    expect(document.activeElement).toBe(keep);
    await fireEvent.keyDown(dialog, { key: "Escape" });
    await waitFor(() => expect(screen.queryByRole("dialog")).toBeNull());
    await waitFor(() => expect(document.activeElement).toBe(opener));
  });
});
