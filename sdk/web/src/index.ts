// @refill/buttons: the `<refill-buttons>` element and the button service's client.

import { RefillButtons } from "./refill-buttons";

export { RefillButtons, type Status, type TileState } from "./refill-buttons";
export {
  ButtonService,
  RefillError,
  SseFrames,
  type Approval,
  type Button,
  type Buttons,
  type Money,
  type Order,
  type PressResult,
  type ServiceEvent,
  type TokenProvider,
} from "./api";

if (typeof customElements !== "undefined" && !customElements.get("refill-buttons")) {
  customElements.define("refill-buttons", RefillButtons);
}
