import type { AppError, commands, Notice } from "./bindings";

/** The commands of the device setup wizard and the device list. */
export type DeviceCommand =
  | "onboardingScan"
  | "onboardingOpen"
  | "onboardingOpenSoftap"
  | "onboardingIdentify"
  | "onboardingPressButton"
  | "onboardingSecure"
  | "onboardingMoreNetworks"
  | "onboardingJoin"
  | "onboardingLink"
  | "onboardingFinishLink"
  | "onboardingCancel"
  | "listDevices";

/** What the UI needs from the app: the generated commands (tests pass a fake). */
export type Api = Pick<
  typeof commands,
  | "listButtons"
  | "pressButton"
  | "cancelOrder"
  | "account"
  | "startSignIn"
  | "finishSignIn"
  | "cancelSignIn"
  | "signOut"
  | "listOrders"
  | "orderStep"
  | "slotInventory"
  | "changeSlot"
  | "removeDevice"
  | "renameDevice"
  | "downloadMyData"
  | "deleteAccount"
  | "listProducts"
  | "addItem"
  | "tellItem"
  | "removeItem"
  | "inbox"
  | "markInboxRead"
  | "settings"
  | "saveSettings"
  | "serviceInfo"
  | "checkService"
  | "discoverServices"
  | "chooseService"
  | "chooseSignIn"
  | "approvals"
  | "decideApproval"
  | "deviceLimits"
  | "changeDeviceLimits"
  | "changeDeviceButtons"
  | "ordersGo"
  | "networkAccess"
  | "deviceScreenUrl"
  | "openDeviceScreen"
  | DeviceCommand
>;

/** What the app tells the UI on its own: a new notice, or "open the inbox" (a notification was clicked). */
export interface AppEvents {
  onNotice(handler: (notice: Notice) => void): void;
  onOpenInbox(handler: () => void): void;
}

/** The error a command rejected with, whatever shape it came in. */
export function asAppError(e: unknown): AppError {
  if (typeof e === "object" && e !== null && "code" in e && "message" in e) {
    return e as AppError;
  }
  return {
    code: "internal",
    message: `Something went wrong inside Refill: ${String(e)}`,
  };
}
