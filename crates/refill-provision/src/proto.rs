//! The protobuf messages of ESP-IDF protocomm and Wi-Fi provisioning, field for field as in
//! `components/protocomm/proto/*.proto` and `components/wifi_provisioning/proto/*.proto`
//! (plus `network_provisioning`'s scan schema), written out with prost's derives so that no
//! `protoc` is needed.
//!
//! Devices dispatch on the `msg` field and answer `msg + 1`.

#![allow(missing_docs)]

use prost::{Enumeration, Message};

/// Status codes (`constants.proto`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Enumeration)]
#[repr(i32)]
pub enum Status {
    Success = 0,
    InvalidSecScheme = 1,
    InvalidProto = 2,
    TooManySessions = 3,
    InvalidArgument = 4,
    InternalError = 5,
    CryptoError = 6,
    InvalidSession = 7,
}

// ---- session.proto, sec0/1/2.proto ----

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Enumeration)]
#[repr(i32)]
pub enum SecSchemeVersion {
    SecScheme0 = 0,
    SecScheme1 = 1,
    SecScheme2 = 2,
}

#[derive(Clone, PartialEq, Message)]
pub struct SessionData {
    #[prost(enumeration = "SecSchemeVersion", tag = "2")]
    pub sec_ver: i32,
    #[prost(oneof = "session_data::Proto", tags = "10, 11, 12")]
    pub proto: Option<session_data::Proto>,
}

pub mod session_data {
    use prost::Oneof;

    #[derive(Clone, PartialEq, Oneof)]
    pub enum Proto {
        #[prost(message, tag = "10")]
        Sec0(super::Sec0Payload),
        #[prost(message, tag = "11")]
        Sec1(super::Sec1Payload),
        #[prost(message, tag = "12")]
        Sec2(super::Sec2Payload),
    }
}

#[derive(Clone, PartialEq, Message)]
pub struct S0SessionCmd {}

#[derive(Clone, PartialEq, Message)]
pub struct S0SessionResp {
    #[prost(enumeration = "Status", tag = "1")]
    pub status: i32,
}

#[derive(Clone, PartialEq, Message)]
pub struct Sec0Payload {
    #[prost(int32, tag = "1")]
    pub msg: i32,
    #[prost(oneof = "sec0_payload::Payload", tags = "20, 21")]
    pub payload: Option<sec0_payload::Payload>,
}

pub mod sec0_payload {
    use prost::Oneof;

    #[derive(Clone, PartialEq, Oneof)]
    pub enum Payload {
        #[prost(message, tag = "20")]
        Sc(super::S0SessionCmd),
        #[prost(message, tag = "21")]
        Sr(super::S0SessionResp),
    }
}

#[derive(Clone, PartialEq, Message)]
pub struct SessionCmd0 {
    #[prost(bytes = "vec", tag = "1")]
    pub client_pubkey: Vec<u8>,
}

#[derive(Clone, PartialEq, Message)]
pub struct SessionResp0 {
    #[prost(enumeration = "Status", tag = "1")]
    pub status: i32,
    #[prost(bytes = "vec", tag = "2")]
    pub device_pubkey: Vec<u8>,
    #[prost(bytes = "vec", tag = "3")]
    pub device_random: Vec<u8>,
}

#[derive(Clone, PartialEq, Message)]
pub struct SessionCmd1 {
    #[prost(bytes = "vec", tag = "2")]
    pub client_verify_data: Vec<u8>,
}

#[derive(Clone, PartialEq, Message)]
pub struct SessionResp1 {
    #[prost(enumeration = "Status", tag = "1")]
    pub status: i32,
    #[prost(bytes = "vec", tag = "3")]
    pub device_verify_data: Vec<u8>,
}

#[derive(Clone, PartialEq, Message)]
pub struct Sec1Payload {
    #[prost(int32, tag = "1")]
    pub msg: i32,
    #[prost(oneof = "sec1_payload::Payload", tags = "20, 21, 22, 23")]
    pub payload: Option<sec1_payload::Payload>,
}

pub mod sec1_payload {
    use prost::Oneof;

    #[derive(Clone, PartialEq, Oneof)]
    pub enum Payload {
        #[prost(message, tag = "20")]
        Sc0(super::SessionCmd0),
        #[prost(message, tag = "21")]
        Sr0(super::SessionResp0),
        #[prost(message, tag = "22")]
        Sc1(super::SessionCmd1),
        #[prost(message, tag = "23")]
        Sr1(super::SessionResp1),
    }
}

#[derive(Clone, PartialEq, Message)]
pub struct S2SessionCmd0 {
    #[prost(bytes = "vec", tag = "1")]
    pub client_username: Vec<u8>,
    #[prost(bytes = "vec", tag = "2")]
    pub client_pubkey: Vec<u8>,
}

#[derive(Clone, PartialEq, Message)]
pub struct S2SessionResp0 {
    #[prost(enumeration = "Status", tag = "1")]
    pub status: i32,
    #[prost(bytes = "vec", tag = "2")]
    pub device_pubkey: Vec<u8>,
    #[prost(bytes = "vec", tag = "3")]
    pub device_salt: Vec<u8>,
}

#[derive(Clone, PartialEq, Message)]
pub struct S2SessionCmd1 {
    #[prost(bytes = "vec", tag = "1")]
    pub client_proof: Vec<u8>,
}

#[derive(Clone, PartialEq, Message)]
pub struct S2SessionResp1 {
    #[prost(enumeration = "Status", tag = "1")]
    pub status: i32,
    #[prost(bytes = "vec", tag = "2")]
    pub device_proof: Vec<u8>,
    #[prost(bytes = "vec", tag = "3")]
    pub device_nonce: Vec<u8>,
}

#[derive(Clone, PartialEq, Message)]
pub struct Sec2Payload {
    #[prost(int32, tag = "1")]
    pub msg: i32,
    #[prost(oneof = "sec2_payload::Payload", tags = "20, 21, 22, 23")]
    pub payload: Option<sec2_payload::Payload>,
}

pub mod sec2_payload {
    use prost::Oneof;

    #[derive(Clone, PartialEq, Oneof)]
    pub enum Payload {
        #[prost(message, tag = "20")]
        Sc0(super::S2SessionCmd0),
        #[prost(message, tag = "21")]
        Sr0(super::S2SessionResp0),
        #[prost(message, tag = "22")]
        Sc1(super::S2SessionCmd1),
        #[prost(message, tag = "23")]
        Sr1(super::S2SessionResp1),
    }
}

// ---- wifi_constants.proto ----

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Enumeration)]
#[repr(i32)]
pub enum WifiStationState {
    Connected = 0,
    Connecting = 1,
    Disconnected = 2,
    ConnectionFailed = 3,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Enumeration)]
#[repr(i32)]
pub enum WifiConnectFailedReason {
    AuthError = 0,
    NetworkNotFound = 1,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Enumeration)]
#[repr(i32)]
pub enum WifiAuthMode {
    Open = 0,
    Wep = 1,
    WpaPsk = 2,
    Wpa2Psk = 3,
    WpaWpa2Psk = 4,
    Wpa2Enterprise = 5,
    Wpa3Psk = 6,
    Wpa2Wpa3Psk = 7,
}

#[derive(Clone, PartialEq, Message)]
pub struct WifiAttemptFailed {
    #[prost(uint32, tag = "1")]
    pub attempts_remaining: u32,
}

#[derive(Clone, PartialEq, Message)]
pub struct WifiConnectedState {
    #[prost(string, tag = "1")]
    pub ip4_addr: String,
    #[prost(enumeration = "WifiAuthMode", tag = "2")]
    pub auth_mode: i32,
    #[prost(bytes = "vec", tag = "3")]
    pub ssid: Vec<u8>,
    #[prost(bytes = "vec", tag = "4")]
    pub bssid: Vec<u8>,
    #[prost(int32, tag = "5")]
    pub channel: i32,
}

// ---- wifi_config.proto ----

#[derive(Clone, PartialEq, Message)]
pub struct CmdGetStatus {}

#[derive(Clone, PartialEq, Message)]
pub struct RespGetStatus {
    #[prost(enumeration = "Status", tag = "1")]
    pub status: i32,
    #[prost(enumeration = "WifiStationState", tag = "2")]
    pub sta_state: i32,
    #[prost(oneof = "resp_get_status::State", tags = "10, 11, 12")]
    pub state: Option<resp_get_status::State>,
}

pub mod resp_get_status {
    use prost::Oneof;

    #[derive(Clone, PartialEq, Oneof)]
    pub enum State {
        #[prost(enumeration = "super::WifiConnectFailedReason", tag = "10")]
        FailReason(i32),
        #[prost(message, tag = "11")]
        Connected(super::WifiConnectedState),
        #[prost(message, tag = "12")]
        AttemptFailed(super::WifiAttemptFailed),
    }
}

#[derive(Clone, PartialEq, Message)]
pub struct CmdSetConfig {
    #[prost(bytes = "vec", tag = "1")]
    pub ssid: Vec<u8>,
    #[prost(bytes = "vec", tag = "2")]
    pub passphrase: Vec<u8>,
    #[prost(bytes = "vec", tag = "3")]
    pub bssid: Vec<u8>,
    #[prost(int32, tag = "4")]
    pub channel: i32,
}

#[derive(Clone, PartialEq, Message)]
pub struct RespSetConfig {
    #[prost(enumeration = "Status", tag = "1")]
    pub status: i32,
}

#[derive(Clone, PartialEq, Message)]
pub struct CmdApplyConfig {}

#[derive(Clone, PartialEq, Message)]
pub struct RespApplyConfig {
    #[prost(enumeration = "Status", tag = "1")]
    pub status: i32,
}

/// `WiFiConfigMsgType`.
pub mod config_msg {
    pub const CMD_GET_STATUS: i32 = 0;
    pub const RESP_GET_STATUS: i32 = 1;
    pub const CMD_SET_CONFIG: i32 = 2;
    pub const RESP_SET_CONFIG: i32 = 3;
    pub const CMD_APPLY_CONFIG: i32 = 4;
    pub const RESP_APPLY_CONFIG: i32 = 5;
}

#[derive(Clone, PartialEq, Message)]
pub struct WiFiConfigPayload {
    #[prost(int32, tag = "1")]
    pub msg: i32,
    #[prost(
        oneof = "wi_fi_config_payload::Payload",
        tags = "10, 11, 12, 13, 14, 15"
    )]
    pub payload: Option<wi_fi_config_payload::Payload>,
}

pub mod wi_fi_config_payload {
    use prost::Oneof;

    #[derive(Clone, PartialEq, Oneof)]
    pub enum Payload {
        #[prost(message, tag = "10")]
        CmdGetStatus(super::CmdGetStatus),
        #[prost(message, tag = "11")]
        RespGetStatus(super::RespGetStatus),
        #[prost(message, tag = "12")]
        CmdSetConfig(super::CmdSetConfig),
        #[prost(message, tag = "13")]
        RespSetConfig(super::RespSetConfig),
        #[prost(message, tag = "14")]
        CmdApplyConfig(super::CmdApplyConfig),
        #[prost(message, tag = "15")]
        RespApplyConfig(super::RespApplyConfig),
    }
}

// ---- wifi_scan.proto (wifi_provisioning, prov.ver v1.x) ----

#[derive(Clone, PartialEq, Message)]
pub struct CmdScanStart {
    #[prost(bool, tag = "1")]
    pub blocking: bool,
    #[prost(bool, tag = "2")]
    pub passive: bool,
    #[prost(uint32, tag = "3")]
    pub group_channels: u32,
    #[prost(uint32, tag = "4")]
    pub period_ms: u32,
}

#[derive(Clone, PartialEq, Message)]
pub struct RespScanStart {}

#[derive(Clone, PartialEq, Message)]
pub struct CmdScanStatus {}

#[derive(Clone, PartialEq, Message)]
pub struct RespScanStatus {
    #[prost(bool, tag = "1")]
    pub scan_finished: bool,
    #[prost(uint32, tag = "2")]
    pub result_count: u32,
}

#[derive(Clone, PartialEq, Message)]
pub struct CmdScanResult {
    #[prost(uint32, tag = "1")]
    pub start_index: u32,
    #[prost(uint32, tag = "2")]
    pub count: u32,
}

#[derive(Clone, PartialEq, Message)]
pub struct WiFiScanResult {
    #[prost(bytes = "vec", tag = "1")]
    pub ssid: Vec<u8>,
    #[prost(uint32, tag = "2")]
    pub channel: u32,
    #[prost(int32, tag = "3")]
    pub rssi: i32,
    #[prost(bytes = "vec", tag = "4")]
    pub bssid: Vec<u8>,
    #[prost(enumeration = "WifiAuthMode", tag = "5")]
    pub auth: i32,
}

#[derive(Clone, PartialEq, Message)]
pub struct RespScanResult {
    #[prost(message, repeated, tag = "1")]
    pub entries: Vec<WiFiScanResult>,
}

/// `WiFiScanMsgType` (the same numbers in `network_provisioning`'s `NetworkScanMsgType`).
pub mod scan_msg {
    pub const CMD_SCAN_START: i32 = 0;
    pub const RESP_SCAN_START: i32 = 1;
    pub const CMD_SCAN_STATUS: i32 = 2;
    pub const RESP_SCAN_STATUS: i32 = 3;
    pub const CMD_SCAN_RESULT: i32 = 4;
    pub const RESP_SCAN_RESULT: i32 = 5;
}

#[derive(Clone, PartialEq, Message)]
pub struct WiFiScanPayload {
    #[prost(int32, tag = "1")]
    pub msg: i32,
    #[prost(enumeration = "Status", tag = "2")]
    pub status: i32,
    #[prost(oneof = "wi_fi_scan_payload::Payload", tags = "10, 11, 12, 13, 14, 15")]
    pub payload: Option<wi_fi_scan_payload::Payload>,
}

pub mod wi_fi_scan_payload {
    use prost::Oneof;

    #[derive(Clone, PartialEq, Oneof)]
    pub enum Payload {
        #[prost(message, tag = "10")]
        CmdScanStart(super::CmdScanStart),
        #[prost(message, tag = "11")]
        RespScanStart(super::RespScanStart),
        #[prost(message, tag = "12")]
        CmdScanStatus(super::CmdScanStatus),
        #[prost(message, tag = "13")]
        RespScanStatus(super::RespScanStatus),
        #[prost(message, tag = "14")]
        CmdScanResult(super::CmdScanResult),
        #[prost(message, tag = "15")]
        RespScanResult(super::RespScanResult),
    }
}

// ---- network_scan.proto (network_provisioning, prov.ver netprov-v1.x) ----

#[derive(Clone, PartialEq, Message)]
pub struct NetCmdScanStart {
    #[prost(int32, tag = "1")]
    pub net_type: i32,
    #[prost(oneof = "net_cmd_scan_start::Start", tags = "10, 11")]
    pub start: Option<net_cmd_scan_start::Start>,
}

pub mod net_cmd_scan_start {
    use prost::Oneof;

    #[derive(Clone, PartialEq, Oneof)]
    pub enum Start {
        #[prost(message, tag = "10")]
        WifiScanStart(super::CmdScanStart),
        #[prost(message, tag = "11")]
        ThreadScanStart(super::CmdScanStart),
    }
}

#[derive(Clone, PartialEq, Message)]
pub struct NetRespScanStatus {
    #[prost(int32, tag = "1")]
    pub net_type: i32,
    #[prost(bool, tag = "2")]
    pub scan_finished: bool,
    #[prost(uint32, tag = "3")]
    pub result_count: u32,
}

#[derive(Clone, PartialEq, Message)]
pub struct NetCmdScanResult {
    #[prost(int32, tag = "1")]
    pub net_type: i32,
    #[prost(uint32, tag = "2")]
    pub start_index: u32,
    #[prost(uint32, tag = "3")]
    pub count: u32,
}

#[derive(Clone, PartialEq, Message)]
pub struct NetScanResult {
    #[prost(oneof = "net_scan_result::Result", tags = "10")]
    pub result: Option<net_scan_result::Result>,
}

pub mod net_scan_result {
    use prost::Oneof;

    #[derive(Clone, PartialEq, Oneof)]
    pub enum Result {
        #[prost(message, tag = "10")]
        WifiResult(super::WiFiScanResult),
    }
}

#[derive(Clone, PartialEq, Message)]
pub struct NetRespScanResult {
    #[prost(int32, tag = "1")]
    pub net_type: i32,
    #[prost(message, repeated, tag = "2")]
    pub entries: Vec<NetScanResult>,
}

#[derive(Clone, PartialEq, Message)]
pub struct NetworkScanPayload {
    #[prost(int32, tag = "1")]
    pub msg: i32,
    #[prost(enumeration = "Status", tag = "2")]
    pub status: i32,
    #[prost(
        oneof = "network_scan_payload::Payload",
        tags = "10, 11, 12, 13, 14, 15"
    )]
    pub payload: Option<network_scan_payload::Payload>,
}

pub mod network_scan_payload {
    use prost::Oneof;

    #[derive(Clone, PartialEq, Oneof)]
    pub enum Payload {
        #[prost(message, tag = "10")]
        CmdScanStart(super::NetCmdScanStart),
        #[prost(message, tag = "11")]
        RespScanStart(super::RespScanStart),
        #[prost(message, tag = "12")]
        CmdScanStatus(super::CmdScanStatus),
        #[prost(message, tag = "13")]
        RespScanStatus(super::NetRespScanStatus),
        #[prost(message, tag = "14")]
        CmdScanResult(super::NetCmdScanResult),
        #[prost(message, tag = "15")]
        RespScanResult(super::NetRespScanResult),
    }
}

// ---- wifi_ctrl.proto ----

#[derive(Clone, PartialEq, Message)]
pub struct Empty {}

/// `WiFiCtrlMsgType`.
pub mod ctrl_msg {
    pub const CMD_RESET: i32 = 1;
    pub const RESP_RESET: i32 = 2;
    pub const CMD_REPROV: i32 = 3;
    pub const RESP_REPROV: i32 = 4;
}

#[derive(Clone, PartialEq, Message)]
pub struct WiFiCtrlPayload {
    #[prost(int32, tag = "1")]
    pub msg: i32,
    #[prost(enumeration = "Status", tag = "2")]
    pub status: i32,
    #[prost(oneof = "wi_fi_ctrl_payload::Payload", tags = "11, 12, 13, 14")]
    pub payload: Option<wi_fi_ctrl_payload::Payload>,
}

pub mod wi_fi_ctrl_payload {
    use prost::Oneof;

    #[derive(Clone, PartialEq, Oneof)]
    pub enum Payload {
        #[prost(message, tag = "11")]
        CmdCtrlReset(super::Empty),
        #[prost(message, tag = "12")]
        RespCtrlReset(super::Empty),
        #[prost(message, tag = "13")]
        CmdCtrlReprov(super::Empty),
        #[prost(message, tag = "14")]
        RespCtrlReprov(super::Empty),
    }
}
