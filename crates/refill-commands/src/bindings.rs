//! The UI's TypeScript bindings, generated from the Rust declarations.
//!
//! [`typescript`] renders one file (`ui/src/lib/bindings.ts`): the declaration of every type that
//! crosses the IPC boundary (from ts-rs) and one typed function per command. The commands are
//! declared once, in [`commands!`] below, which also writes [`AppCore::invoke`], the one
//! dispatcher the Tauri shell hands every command to; the shell's tests invoke every one of them,
//! so a command cannot be added on one side only.
//! `cargo xtask bindings` writes the file; the test command fails when it is out of date.

use crate::network::NetworkAccess;
use crate::{
    Account, AppCore, AppError, ButtonGrid, DeviceProtocol, DeviceSecret, DeviceTrust, FoundDevice,
    FoundDevices, FoundService, Inbox, JoinedWifi, Notice, NoticeKind, OpenedDevice, ServiceCheck,
    ServiceInfo, ServiceKind, Settings, SignInProvider, SignInStarted, SlotRef, WifiList,
    WifiNetwork,
};
use refill_wire::{
    ApprovalStatus, ApprovalView, ButtonTile, CatalogProduct, DetailCode, DeviceLimits, DeviceList,
    DeviceRef, DeviceView, ErrorBody, ErrorCode, ForecastView, HandoverView, ItemView, LevelPoint,
    LimitsChange, MoneyView, NewItem, OrderList, OrderMark, OrderState, OrderStep, OrderView,
    OrdersGo, OrdersGoChange, OrdersGoView, PressResult, ProductList, QuantityView, SlotInventory,
    SlotMode, SlotProduct, SlotSettings, SlotView,
};
use serde::Serialize;
use serde_json::Value;
use std::future::Future;
use std::pin::Pin;
use ts_rs::{Config, TS};

/// Where the generated file lives, relative to the repository root.
pub const PATH: &str = "ui/src/lib/bindings.ts";

/// One command: its name as Tauri knows it, its arguments and its result, as TypeScript.
#[derive(Debug, Clone)]
pub struct Command {
    /// The Rust (and IPC) name, `snake_case`.
    pub name: &'static str,
    /// What it does.
    pub doc: &'static str,
    /// Argument names (`snake_case`) and TypeScript types.
    pub args: Vec<(&'static str, String)>,
    /// The TypeScript type it resolves to.
    pub result: String,
}

/// A command's answer as the UI receives it (JSON), or its error.
pub type Answer = Pin<Box<dyn Future<Output = Result<Value, AppError>> + Send>>;

/// What a command's method gives, made into the UI's JSON.
trait Outcome {
    fn into_json(self) -> Result<Value, AppError>;
}

fn to_json(value: impl Serialize) -> Result<Value, AppError> {
    serde_json::to_value(value).map_err(|e| {
        AppError::new(
            ErrorCode::Internal,
            format!("the answer could not be written: {e}"),
        )
    })
}

impl<T: Serialize> Outcome for Result<T, AppError> {
    fn into_json(self) -> Result<Value, AppError> {
        self.and_then(to_json)
    }
}

impl Outcome for () {
    fn into_json(self) -> Result<Value, AppError> {
        Ok(Value::Null)
    }
}

impl Outcome for ServiceInfo {
    fn into_json(self) -> Result<Value, AppError> {
        to_json(self)
    }
}

impl Outcome for Settings {
    fn into_json(self) -> Result<Value, AppError> {
        to_json(self)
    }
}

impl Outcome for Option<String> {
    fn into_json(self) -> Result<Value, AppError> {
        to_json(self)
    }
}

impl Outcome for Inbox {
    fn into_json(self) -> Result<Value, AppError> {
        to_json(self)
    }
}

/// The argument `name` of `command`, from the object the UI sent (keys in camelCase, as Tauri's
/// `invoke` sends them; a missing key reads as `null`, so optional arguments may be left out).
fn argument<T: serde::de::DeserializeOwned>(
    command: &str,
    args: &Value,
    name: &str,
) -> Result<T, AppError> {
    let value = args.get(camel(name)).cloned().unwrap_or(Value::Null);
    serde_json::from_value(value).map_err(|e| {
        AppError::new(
            ErrorCode::BadRequest,
            format!("the {command} command was given a wrong {name}: {e}"),
        )
    })
}

macro_rules! call {
    (async, $core:expr, $name:ident, $($arg:ident),*) => {{
        let core = $core.clone();
        Box::pin(async move { core.$name($($arg),*).await.into_json() })
    }};
    (sync, $core:expr, $name:ident, $($arg:ident),*) => {
        Box::pin(std::future::ready($core.$name($($arg),*).into_json()))
    };
}

macro_rules! commands {
    ($( #[doc = $doc:literal] $kind:ident $name:ident ( $($arg:ident : $argty:ty),* ) -> $ret:ty; )*) => {
        /// The name of every command, as the Tauri shell must register it.
        pub const COMMAND_NAMES: &[&str] = &[$(stringify!($name)),*];

        impl AppCore {
            /// Runs the command `name` with the arguments the UI sent (a JSON object); `None` for a
            /// name that is not a command. Synchronous commands run before this returns; the others
            /// run when the answer is awaited. Every command goes through this one function, so
            /// the shell holds one IPC path instead of one per command (the app's binary has a
            /// size budget).
            pub fn invoke(&self, name: &str, args: &Value) -> Option<Answer> {
                match name {
                    $(stringify!($name) => {
                        $(let $arg: $argty = match argument(stringify!($name), args, stringify!($arg)) {
                            Ok(value) => value,
                            Err(e) => return Some(Box::pin(std::future::ready(Err(e)))),
                        };)*
                        Some(call!($kind, self, $name, $($arg),*))
                    })*
                    _ => None,
                }
            }
        }

        /// Every command with its TypeScript signature.
        pub fn commands(cfg: &Config) -> Vec<Command> {
            vec![$(Command {
                name: stringify!($name),
                doc: $doc.trim(),
                args: vec![$((stringify!($arg), <$argty as TS>::name(cfg))),*],
                result: <$ret as TS>::name(cfg),
            }),*]
        }
    };
}

commands! {
    /// The virtual Dash buttons (or the last ones seen, marked offline, when the service is out of reach).
    async list_buttons() -> ButtonGrid;
    /// One tap: orders the item again, or returns the order for it that is still open (ORDER_INPROGRESS); price_rose until a risen price is confirmed (confirm_price, minor units).
    async press_button(asin: String, confirm_price: Option<i64>) -> PressResult;
    /// Cancels an order while it can still be cancelled.
    async cancel_order(event_instance_id: String) -> OrderView;
    /// What the customer says of an order they buy themselves: bought (on its way) or arrived (its packs join the home's stock).
    async order_step(event_instance_id: String, step: OrderStep) -> OrderView;
    /// The service the app talks to.
    sync service_info() -> ServiceInfo;
    /// Called once at the UI's first animation frame (start-up measurement).
    sync ui_ready() -> ();
    /// Who is signed in.
    async account() -> Account;
    /// Opens the browser at the sign-in page; returns its address (shown if no browser opened).
    async start_sign_in() -> SignInStarted;
    /// Waits for the browser to come back from the sign-in page (at most 5 minutes).
    async finish_sign_in() -> Account;
    /// Stops the sign-in under way; nothing is saved.
    sync cancel_sign_in() -> ();
    /// Signs out: revokes the sign-in and forgets it.
    async sign_out() -> Account;
    /// Looks for devices waiting to be set up, strongest first (call again to refresh): over Bluetooth, and the sandbox's while it is in use (then also why Bluetooth was not used).
    async onboarding_scan() -> FoundDevices;
    /// Whether devices on the home network reach the sandbox on this computer; `on` turns it on or off first.
    async network_access(on: Option<bool>) -> NetworkAccess;
    /// Connects to a found device; says what it needs before it talks.
    async onboarding_open(device_id: String) -> OpenedDevice;
    /// Connects to a device through the Wi-Fi network it made (SoftAP) at the address it shows (null: 192.168.4.1).
    async onboarding_open_softap(address: Option<String>) -> OpenedDevice;
    /// Asks the device being set up (Improv) to blink or beep.
    async onboarding_identify() -> ();
    /// Sandbox only: presses the simulated device's button (Improv).
    async onboarding_press_button() -> ();
    /// Opens the secure session with the device's code (or QR payload); returns the strongest Wi-Fi networks it sees.
    async onboarding_secure(secret: DeviceSecret) -> WifiList;
    /// Reads the rest of the device's Wi-Fi networks.
    async onboarding_more_networks() -> WifiList;
    /// Puts the device on a network (password null: the remembered one) and waits until it is on it.
    async onboarding_join(ssid: String, password: Option<String>, remember: bool) -> JoinedWifi;
    /// Opens the browser at the consent page that links the device to the account.
    async onboarding_link() -> SignInStarted;
    /// Waits for the consent page, hands the code to the device; returns the linked device.
    async onboarding_finish_link() -> DeviceView;
    /// Stops the device setup under way.
    async onboarding_cancel() -> ();
    /// The devices linked to the account, with their slots.
    async list_devices() -> DeviceList;
    /// A device slot's supply, settings, level history and run-out forecast.
    async slot_inventory(model: String, serial: String, slot_id: String) -> SlotInventory;
    /// Changes a slot: notify or reorder, its low and target levels, the stock on hand.
    async change_slot(model: String, serial: String, slot_id: String, settings: SlotSettings) -> SlotInventory;
    /// The catalog, for adding an item without a device.
    async list_products() -> ProductList;
    /// Tracks an item without a device ("At home"): a product of the catalog, or a name, pack size and unit.
    async add_item(item: NewItem) -> ItemView;
    /// Says of an item without a device that a new pack was opened (true) or that it ran out (false).
    async tell_item(slot_id: String, opened: bool) -> SlotInventory;
    /// Stops tracking an item without a device; its orders stay in the order list.
    async remove_item(slot_id: String) -> ();
    /// Removes a device from the account as its own deregistration would (someone else can then set it up), cancelling its open orders first if asked; its history stays.
    async remove_device(model: String, serial: String, cancel_orders: bool) -> ();
    /// Renames a device.
    async rename_device(model: String, serial: String, name: String) -> DeviceView;
    /// Saves everything the service keeps about the account as JSON in the downloads folder; the file's path.
    async download_my_data() -> String;
    /// Deletes the signed-in account (its email typed again to confirm), then signs out.
    async delete_account(confirm_email: String) -> Account;
    /// The latest orders, newest first.
    async list_orders() -> OrderList;
    /// The in-app inbox: the latest notices, newest first.
    sync inbox() -> Inbox;
    /// Marks the inbox's notices up to this id as read.
    sync mark_inbox_read(up_to: i64) -> Inbox;
    /// The settings page's settings.
    sync settings() -> Settings;
    /// Saves and applies the settings (all or nothing; not the service: choose_service); returns them as saved.
    sync save_settings(settings: Settings) -> Settings;
    /// Checks that an address is a Refill service that answers: its version, or why not.
    async check_service(url: String) -> ServiceCheck;
    /// The Refill services that announce themselves on the local network (mDNS), by name.
    async discover_services() -> Vec<FoundService>;
    /// Uses the Refill service at an address (checked first; a service with its own certificate needs the fingerprint the person compared and trusted) or, with null, the sandbox on this computer; applied at once.
    async choose_service(url: Option<String>, fingerprint: Option<String>) -> ServiceInfo;
    /// Signs in with another OAuth 2.0 provider (checked first) or, with null, the service's own sign-in; applied at once.
    async choose_sign_in(provider: Option<SignInProvider>) -> Account;
    /// The presses of screened devices waiting for an answer (oldest first), then the latest answered.
    async approvals() -> Vec<ApprovalView>;
    /// Approves (orders) or declines a press that waits for an answer.
    async decide_approval(id: String, approve: bool) -> ApprovalView;
    /// A screened device's limits, and what its orders cost this month.
    async device_limits(model: String, serial: String) -> DeviceLimits;
    /// Sets a screened device's spending limits and whether it asks first.
    async change_device_limits(model: String, serial: String, change: LimitsChange) -> DeviceLimits;
    /// Chooses what a screened device shows (and so may order): 1 to 12 products, in order.
    async change_device_buttons(model: String, serial: String, asins: Vec<String>) -> Vec<SlotProduct>;
    /// Where orders go on a service that does not fulfil them itself, after choosing (change: manual, a webhook whose new secret is in this answer only, or email) if given; null where the service fulfils them (the sandbox on this computer).
    async orders_go(change: Option<OrdersGoChange>) -> Option<OrdersGoView>;
    /// The address of a device's screen the app can open (the sandbox fridge's), or null.
    sync device_screen_url(model: String, serial: String) -> Option<String>;
    /// Opens a device's screen in the browser (the sandbox fridge's); its address.
    async open_device_screen(model: String, serial: String) -> String;
}

fn camel(snake: &str) -> String {
    let mut out = String::with_capacity(snake.len());
    let mut upper = false;
    for c in snake.chars() {
        if c == '_' {
            upper = true;
        } else if upper {
            out.extend(c.to_uppercase());
            upper = false;
        } else {
            out.push(c);
        }
    }
    out
}

/// The whole bindings file.
pub fn typescript() -> String {
    let cfg = Config::new().with_large_int("number");
    let decls = [
        ErrorCode::decl(&cfg),
        ErrorBody::decl(&cfg),
        AppError::decl(&cfg),
        DetailCode::decl(&cfg),
        MoneyView::decl(&cfg),
        QuantityView::decl(&cfg),
        OrderState::decl(&cfg),
        OrderStep::decl(&cfg),
        HandoverView::decl(&cfg),
        OrdersGo::decl(&cfg),
        OrdersGoView::decl(&cfg),
        OrdersGoChange::decl(&cfg),
        OrderView::decl(&cfg),
        ButtonTile::decl(&cfg),
        PressResult::decl(&cfg),
        ServiceKind::decl(&cfg),
        ServiceInfo::decl(&cfg),
        ButtonGrid::decl(&cfg),
        Account::decl(&cfg),
        SignInStarted::decl(&cfg),
        SlotProduct::decl(&cfg),
        SlotView::decl(&cfg),
        DeviceView::decl(&cfg),
        DeviceList::decl(&cfg),
        DeviceProtocol::decl(&cfg),
        FoundDevice::decl(&cfg),
        FoundDevices::decl(&cfg),
        NetworkAccess::decl(&cfg),
        DeviceTrust::decl(&cfg),
        OpenedDevice::decl(&cfg),
        DeviceSecret::decl(&cfg),
        WifiNetwork::decl(&cfg),
        WifiList::decl(&cfg),
        JoinedWifi::decl(&cfg),
        OrderList::decl(&cfg),
        SlotMode::decl(&cfg),
        LevelPoint::decl(&cfg),
        OrderMark::decl(&cfg),
        ForecastView::decl(&cfg),
        SlotInventory::decl(&cfg),
        SlotSettings::decl(&cfg),
        NewItem::decl(&cfg),
        ItemView::decl(&cfg),
        CatalogProduct::decl(&cfg),
        ProductList::decl(&cfg),
        NoticeKind::decl(&cfg),
        SlotRef::decl(&cfg),
        DeviceRef::decl(&cfg),
        Notice::decl(&cfg),
        Inbox::decl(&cfg),
        SignInProvider::decl(&cfg),
        Settings::decl(&cfg),
        ServiceCheck::decl(&cfg),
        FoundService::decl(&cfg),
        ApprovalStatus::decl(&cfg),
        ApprovalView::decl(&cfg),
        DeviceLimits::decl(&cfg),
        LimitsChange::decl(&cfg),
    ];
    let mut out = String::from(
        "// Generated by `cargo xtask bindings` from the Rust declarations in crates/refill-wire and\n\
         // crates/refill-commands. Do not edit: the test command fails when this file is out of date.\n\n\
         import { invoke } from \"@tauri-apps/api/core\";\n\n",
    );
    for decl in decls {
        out.push_str("export ");
        out.push_str(decl.trim());
        out.push_str("\n\n");
    }
    out.push_str("/** The names of all commands. */\nexport type CommandName =");
    for name in COMMAND_NAMES {
        out.push_str(&format!("\n  | \"{name}\""));
    }
    out.push_str(";\n\n");
    out.push_str(
        "/** Every command of the Refill app. Each rejects with an `AppError`. */\nexport const commands = {\n",
    );
    for cmd in commands(&cfg) {
        let params: Vec<String> = cmd
            .args
            .iter()
            .map(|(name, ty)| format!("{}: {ty}", camel(name)))
            .collect();
        let payload = if cmd.args.is_empty() {
            String::new()
        } else {
            let keys: Vec<String> = cmd.args.iter().map(|(name, _)| camel(name)).collect();
            format!(", {{ {} }}", keys.join(", "))
        };
        out.push_str(&format!(
            "  /** {} */\n  {}: ({}): Promise<{}> => invoke(\"{}\"{}),\n",
            cmd.doc,
            camel(cmd.name),
            params.join(", "),
            cmd.result,
            cmd.name,
            payload
        ));
    }
    out.push_str("};\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_camel_cased_for_javascript() {
        assert_eq!(camel("event_instance_id"), "eventInstanceId");
        assert_eq!(camel("list_buttons"), "listButtons");
        assert_eq!(camel("asin"), "asin");
    }

    #[test]
    fn every_command_has_a_typed_wrapper() {
        let ts = typescript();
        assert!(ts.contains(
            "cancelOrder: (eventInstanceId: string): Promise<OrderView> => invoke(\"cancel_order\", { eventInstanceId }),"
        ), "{ts}");
        assert!(ts.contains("listButtons: (): Promise<ButtonGrid> => invoke(\"list_buttons\"),"));
        for name in COMMAND_NAMES {
            assert!(ts.contains(&format!("invoke(\"{name}\"")), "{name} missing");
        }
    }
}
