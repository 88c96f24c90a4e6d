import { afterEach, describe, expect, it, vi } from "vitest";
import { cleanup, fireEvent, render, screen } from "@testing-library/svelte";
import SignInSection from "./SignInSection.svelte";
import type { Api } from "./api";
import type { SignInProvider } from "./bindings";

afterEach(cleanup);

const signedOut = { signedIn: false, name: null, email: null, notice: null };

describe("choosing the sign-in provider", () => {
  it("saves another provider's addresses, and shows why one is refused", async () => {
    let refuse = true;
    const chooseSignIn = vi.fn(async (_p: SignInProvider | null) => {
      if (refuse) {
        refuse = false;
        throw { code: "bad_request", message: "This sign-in provider can't be used: a provider with a token URL needs this app's client id too. Nothing was changed." };
      }
      return signedOut;
    });
    const onaccount = vi.fn();
    render(SignInSection, { props: { api: { chooseSignIn } as unknown as Api, current: null, onaccount } });
    expect((screen.getByTestId("sign-in-own") as HTMLInputElement).checked).toBe(true);
    expect(screen.queryByTestId("provider-tokenUrl")).toBeNull();
    await fireEvent.click(screen.getByTestId("sign-in-other"));
    await fireEvent.input(screen.getByTestId("provider-authorizeUrl"), { target: { value: "https://login.example.com/authorize" } });
    await fireEvent.input(screen.getByTestId("provider-tokenUrl"), { target: { value: "https://login.example.com/token" } });
    await fireEvent.click(screen.getByTestId("sign-in-setting-save"));
    expect((await screen.findByTestId("sign-in-setting-error")).textContent).toContain("client id");
    await fireEvent.input(screen.getByTestId("provider-clientId"), { target: { value: "refill-desktop" } });
    await fireEvent.click(screen.getByTestId("sign-in-setting-save"));
    expect((await screen.findByTestId("sign-in-setting-done")).textContent).toContain("signs in with this provider");
    expect(chooseSignIn).toHaveBeenLastCalledWith({
      authorizeUrl: "https://login.example.com/authorize",
      tokenUrl: "https://login.example.com/token",
      revokeUrl: "",
      profileUrl: "",
      clientId: "refill-desktop",
      scopes: "",
    });
    expect(onaccount).toHaveBeenCalledWith(signedOut);
  });

  it("goes back to the service's own sign-in", async () => {
    const chooseSignIn = vi.fn(async () => signedOut);
    const current: SignInProvider = { authorizeUrl: "https://a", tokenUrl: "https://t", revokeUrl: "", profileUrl: "", clientId: "c", scopes: "" };
    render(SignInSection, { props: { api: { chooseSignIn } as unknown as Api, current } });
    expect((screen.getByTestId("provider-clientId") as HTMLInputElement).value).toBe("c");
    await fireEvent.click(screen.getByTestId("sign-in-own"));
    await fireEvent.click(screen.getByTestId("sign-in-setting-save"));
    expect(chooseSignIn).toHaveBeenCalledWith(null);
  });
});
