//! The two Wi-Fi scan schemas behind one shape: `wifi_provisioning`'s `WiFiScanPayload`
//! (`prov.ver` v1.x) and `network_provisioning`'s `NetworkScanPayload` (`netprov-v1.x`), which
//! share message numbers but not field numbers. Both sides of the protocol use this.

use crate::error::ProvError;
use crate::proto::{
    net_cmd_scan_start, net_scan_result, network_scan_payload, scan_msg, wi_fi_scan_payload,
    CmdScanResult, CmdScanStart, CmdScanStatus, NetCmdScanResult, NetCmdScanStart,
    NetRespScanResult, NetRespScanStatus, NetScanResult, NetworkScanPayload, RespScanResult,
    RespScanStart, RespScanStatus, Status, WiFiScanPayload, WiFiScanResult,
};
use prost::Message;

/// A scan request, whatever the schema.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum ScanRequest {
    Start(CmdScanStart),
    Status,
    Results { start: u32, count: u32 },
}

impl ScanRequest {
    pub(crate) fn msg(&self) -> i32 {
        match self {
            ScanRequest::Start(_) => scan_msg::CMD_SCAN_START,
            ScanRequest::Status => scan_msg::CMD_SCAN_STATUS,
            ScanRequest::Results { .. } => scan_msg::CMD_SCAN_RESULT,
        }
    }
}

/// A scan answer, whatever the schema.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum ScanAnswer {
    Started,
    Status { finished: bool, count: u32 },
    Results(Vec<WiFiScanResult>),
}

/// Which schema a device speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Schema {
    Wifi,
    Network,
}

impl Schema {
    /// The schema of a device reporting `prov.ver` = `version`.
    pub(crate) fn of(version: &str) -> Self {
        if version.starts_with("netprov-") {
            Schema::Network
        } else {
            Schema::Wifi
        }
    }

    pub(crate) fn encode_request(self, request: ScanRequest) -> Vec<u8> {
        let msg = request.msg();
        match self {
            Schema::Wifi => {
                use wi_fi_scan_payload::Payload;
                let payload = match request {
                    ScanRequest::Start(start) => Payload::CmdScanStart(start),
                    ScanRequest::Status => Payload::CmdScanStatus(CmdScanStatus {}),
                    ScanRequest::Results { start, count } => {
                        Payload::CmdScanResult(CmdScanResult {
                            start_index: start,
                            count,
                        })
                    }
                };
                WiFiScanPayload {
                    msg,
                    status: 0,
                    payload: Some(payload),
                }
                .encode_to_vec()
            }
            Schema::Network => {
                use network_scan_payload::Payload;
                let payload = match request {
                    ScanRequest::Start(start) => Payload::CmdScanStart(NetCmdScanStart {
                        net_type: 0,
                        start: Some(net_cmd_scan_start::Start::WifiScanStart(start)),
                    }),
                    ScanRequest::Status => Payload::CmdScanStatus(CmdScanStatus {}),
                    ScanRequest::Results { start, count } => {
                        Payload::CmdScanResult(NetCmdScanResult {
                            net_type: 0,
                            start_index: start,
                            count,
                        })
                    }
                };
                NetworkScanPayload {
                    msg,
                    status: 0,
                    payload: Some(payload),
                }
                .encode_to_vec()
            }
        }
    }

    /// The request's `msg` and, when it is whole, the request.
    pub(crate) fn decode_request(self, bytes: &[u8]) -> Option<(i32, Option<ScanRequest>)> {
        match self {
            Schema::Wifi => {
                use wi_fi_scan_payload::Payload;
                let p = WiFiScanPayload::decode(bytes).ok()?;
                let request = match (p.msg, p.payload) {
                    (scan_msg::CMD_SCAN_START, Some(Payload::CmdScanStart(s))) => {
                        Some(ScanRequest::Start(s))
                    }
                    (scan_msg::CMD_SCAN_START, None) => {
                        Some(ScanRequest::Start(CmdScanStart::default()))
                    }
                    (scan_msg::CMD_SCAN_STATUS, _) => Some(ScanRequest::Status),
                    (scan_msg::CMD_SCAN_RESULT, Some(Payload::CmdScanResult(r))) => {
                        Some(ScanRequest::Results {
                            start: r.start_index,
                            count: r.count,
                        })
                    }
                    _ => None,
                };
                Some((p.msg, request))
            }
            Schema::Network => {
                use network_scan_payload::Payload;
                let p = NetworkScanPayload::decode(bytes).ok()?;
                let request = match (p.msg, p.payload) {
                    (
                        scan_msg::CMD_SCAN_START,
                        Some(Payload::CmdScanStart(NetCmdScanStart {
                            start: Some(net_cmd_scan_start::Start::WifiScanStart(s)),
                            ..
                        })),
                    ) => Some(ScanRequest::Start(s)),
                    (scan_msg::CMD_SCAN_STATUS, _) => Some(ScanRequest::Status),
                    (scan_msg::CMD_SCAN_RESULT, Some(Payload::CmdScanResult(r))) => {
                        Some(ScanRequest::Results {
                            start: r.start_index,
                            count: r.count,
                        })
                    }
                    _ => None,
                };
                Some((p.msg, request))
            }
        }
    }

    /// An answer to a request with `request_msg`.
    pub(crate) fn encode_answer(
        self,
        request_msg: i32,
        status: Status,
        answer: Option<ScanAnswer>,
    ) -> Vec<u8> {
        let msg = request_msg.wrapping_add(1);
        let status = status as i32;
        match self {
            Schema::Wifi => {
                use wi_fi_scan_payload::Payload;
                let payload = answer.map(|a| match a {
                    ScanAnswer::Started => Payload::RespScanStart(RespScanStart {}),
                    ScanAnswer::Status { finished, count } => {
                        Payload::RespScanStatus(RespScanStatus {
                            scan_finished: finished,
                            result_count: count,
                        })
                    }
                    ScanAnswer::Results(entries) => {
                        Payload::RespScanResult(RespScanResult { entries })
                    }
                });
                WiFiScanPayload {
                    msg,
                    status,
                    payload,
                }
                .encode_to_vec()
            }
            Schema::Network => {
                use network_scan_payload::Payload;
                let payload = answer.map(|a| match a {
                    ScanAnswer::Started => Payload::RespScanStart(RespScanStart {}),
                    ScanAnswer::Status { finished, count } => {
                        Payload::RespScanStatus(NetRespScanStatus {
                            net_type: 0,
                            scan_finished: finished,
                            result_count: count,
                        })
                    }
                    ScanAnswer::Results(entries) => Payload::RespScanResult(NetRespScanResult {
                        net_type: 0,
                        entries: entries
                            .into_iter()
                            .map(|e| NetScanResult {
                                result: Some(net_scan_result::Result::WifiResult(e)),
                            })
                            .collect(),
                    }),
                });
                NetworkScanPayload {
                    msg,
                    status,
                    payload,
                }
                .encode_to_vec()
            }
        }
    }

    /// The answer to `request_msg`, checked for order and status.
    pub(crate) fn decode_answer(
        self,
        request_msg: i32,
        bytes: &[u8],
    ) -> Result<ScanAnswer, ProvError> {
        let (msg, status, answer) = match self {
            Schema::Wifi => {
                use wi_fi_scan_payload::Payload;
                let p = WiFiScanPayload::decode(bytes)?;
                let answer = match p.payload {
                    Some(Payload::RespScanStart(_)) => Some(ScanAnswer::Started),
                    Some(Payload::RespScanStatus(s)) => Some(ScanAnswer::Status {
                        finished: s.scan_finished,
                        count: s.result_count,
                    }),
                    Some(Payload::RespScanResult(r)) => Some(ScanAnswer::Results(r.entries)),
                    _ => None,
                };
                (p.msg, p.status, answer)
            }
            Schema::Network => {
                use network_scan_payload::Payload;
                let p = NetworkScanPayload::decode(bytes)?;
                let answer = match p.payload {
                    Some(Payload::RespScanStart(_)) => Some(ScanAnswer::Started),
                    Some(Payload::RespScanStatus(s)) => Some(ScanAnswer::Status {
                        finished: s.scan_finished,
                        count: s.result_count,
                    }),
                    Some(Payload::RespScanResult(r)) => Some(ScanAnswer::Results(
                        r.entries
                            .into_iter()
                            .filter_map(|e| {
                                e.result.map(|net_scan_result::Result::WifiResult(w)| w)
                            })
                            .collect(),
                    )),
                    _ => None,
                };
                (p.msg, p.status, answer)
            }
        };
        ProvError::check(status)?;
        if msg != request_msg.wrapping_add(1) {
            return Err(ProvError::protocol("a scan answer out of order"));
        }
        // A scan start answers with an empty message, which decodes to nothing.
        match (answer, request_msg) {
            (Some(answer), _) => Ok(answer),
            (None, scan_msg::CMD_SCAN_START) => Ok(ScanAnswer::Started),
            (None, _) => Err(ProvError::protocol("a scan answer without content")),
        }
    }
}
