//! Finding Refill services on the local network: a one-shot mDNS query (RFC 6762 §5.1, from an
//! ephemeral port, so responders answer it by unicast) for DNS-SD's `_refill._tcp.local`
//! (RFC 6763), asked a few times while the answers are gathered. Each answer names the
//! instance (PTR), its port and host (SRV), its addresses (A) and its TXT records: `scheme`,
//! `fp` (the certificate's fingerprint) and `version`.
//!
//! No library: the query and the few record types it reads take less code than a dependency
//! would add to the app. What an answer says is a hint, not a proof: anyone on the network can
//! announce anything, so the person still compares the fingerprint before trusting it.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

/// The service type looked for.
pub const SERVICE_TYPE: &str = "_refill._tcp.local";

/// mDNS's IPv4 group and port.
const MDNS: SocketAddr = SocketAddr::new(IpAddr::V4(Ipv4Addr::new(224, 0, 0, 251)), 5353);

/// A Refill service that announced itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    /// Its instance name ("Refill on nas").
    pub name: String,
    /// Its base URL, by address (`https://192.168.1.20:8750`).
    pub url: String,
    /// The SHA-256 fingerprint of its certificate, as it announced it.
    pub fingerprint: Option<String>,
    /// The version it announced.
    pub version: Option<String>,
}

/// Looks for Refill services on the local network for `wait`: each one found once, in the order
/// of their names.
pub async fn browse(wait: Duration) -> std::io::Result<Vec<Found>> {
    let socket =
        tokio::net::UdpSocket::bind(SocketAddr::new(Ipv4Addr::UNSPECIFIED.into(), 0)).await?;
    let id: u16 = rand::random::<u16>() | 1;
    let query = query(id);
    let mut found: HashMap<String, Found> = HashMap::new();
    let deadline = tokio::time::Instant::now() + wait;
    // Asked three times across the wait: one lost datagram does not hide a service.
    let mut asks = tokio::time::interval(wait / 3);
    let mut buffer = vec![0u8; 9000];
    loop {
        tokio::select! {
            () = tokio::time::sleep_until(deadline) => break,
            _ = asks.tick() => {
                socket.send_to(&query, MDNS).await?;
            }
            received = socket.recv_from(&mut buffer) => {
                let Ok((length, from)) = received else { continue };
                for service in answers(&buffer[..length], from.ip()) {
                    found.entry(service.name.clone()).or_insert(service);
                }
            }
        }
    }
    let mut found: Vec<Found> = found.into_values().collect();
    found.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(found)
}

/// A query with `id` for the PTR records of [`SERVICE_TYPE`].
fn query(id: u16) -> Vec<u8> {
    let mut message = Vec::with_capacity(40);
    message.extend_from_slice(&id.to_be_bytes());
    // Flags 0 (a standard query); one question, no records.
    message.extend_from_slice(&[0, 0, 0, 1, 0, 0, 0, 0, 0, 0]);
    for label in SERVICE_TYPE.split('.') {
        message.push(label.len() as u8);
        message.extend_from_slice(label.as_bytes());
    }
    message.push(0);
    // Type PTR (12), class IN (1).
    message.extend_from_slice(&[0, 12, 0, 1]);
    message
}

/// A record of an answer, as far as it is read.
enum Data {
    Ptr(String),
    Srv { port: u16, target: String },
    Txt(Vec<(String, String)>),
    A(Ipv4Addr),
    Other,
}

/// The services in a response from `from` (an address that answered; its records give the
/// service's own).
fn answers(message: &[u8], from: IpAddr) -> Vec<Found> {
    let Some(records) = records(message) else {
        return Vec::new();
    };
    let lower = |s: &str| s.trim_end_matches('.').to_ascii_lowercase();
    let mut srv: HashMap<String, (u16, String)> = HashMap::new();
    let mut txt: HashMap<String, Vec<(String, String)>> = HashMap::new();
    let mut addresses: HashMap<String, Ipv4Addr> = HashMap::new();
    let mut instances = Vec::new();
    for (owner, data) in records {
        match data {
            Data::Ptr(instance) if lower(&owner) == SERVICE_TYPE => instances.push(instance),
            Data::Srv { port, target } => {
                srv.insert(lower(&owner), (port, lower(&target)));
            }
            Data::Txt(pairs) => {
                txt.insert(lower(&owner), pairs);
            }
            Data::A(ip) => {
                addresses.entry(lower(&owner)).or_insert(ip);
            }
            Data::Ptr(_) | Data::Other => {}
        }
    }
    instances
        .into_iter()
        .filter_map(|instance| {
            let key = lower(&instance);
            let (port, target) = srv.get(&key)?;
            let pairs = txt.get(&key).cloned().unwrap_or_default();
            let get = |k: &str| {
                pairs
                    .iter()
                    .find(|(key, _)| key.eq_ignore_ascii_case(k))
                    .map(|(_, v)| v.clone())
            };
            let scheme = match get("scheme").as_deref() {
                Some("http") => "http",
                _ => "https",
            };
            let ip = addresses.get(target).map_or(from, |ip| IpAddr::V4(*ip));
            let host = match ip {
                IpAddr::V4(ip) => ip.to_string(),
                IpAddr::V6(ip) => format!("[{ip}]"),
            };
            let name = instance
                .strip_suffix(&format!(".{SERVICE_TYPE}"))
                .unwrap_or(&instance)
                .replace("\\.", ".")
                .replace("\\ ", " ");
            Some(Found {
                name,
                url: format!("{scheme}://{host}:{port}"),
                fingerprint: get("fp").filter(|f| !f.is_empty()),
                version: get("version").filter(|v| !v.is_empty()),
            })
        })
        .collect()
}

/// The answer, authority and additional records of a response; `None` for what is not one.
fn records(message: &[u8]) -> Option<Vec<(String, Data)>> {
    let word = |at: usize| -> Option<u16> {
        Some(u16::from_be_bytes([
            *message.get(at)?,
            *message.get(at + 1)?,
        ]))
    };
    // A response (QR set).
    if message.get(2)? & 0x80 == 0 {
        return None;
    }
    let questions = word(4)?;
    let count = usize::from(word(6)?) + usize::from(word(8)?) + usize::from(word(10)?);
    let mut at = 12;
    for _ in 0..questions {
        at = name(message, at)?.1 + 4;
    }
    let mut records = Vec::new();
    for _ in 0..count {
        let (owner, after) = name(message, at)?;
        let kind = word(after)?;
        let length = usize::from(word(after + 8)?);
        let start = after + 10;
        let data = message.get(start..start + length)?;
        let parsed = match kind {
            12 => Data::Ptr(name(message, start)?.0),
            33 if length >= 6 => Data::Srv {
                port: word(start + 4)?,
                target: name(message, start + 6)?.0,
            },
            16 => Data::Txt(texts(data)),
            1 if length == 4 => Data::A(Ipv4Addr::new(data[0], data[1], data[2], data[3])),
            _ => Data::Other,
        };
        records.push((owner, parsed));
        at = start + length;
    }
    Some(records)
}

/// The `key=value` strings of a TXT record.
fn texts(mut data: &[u8]) -> Vec<(String, String)> {
    let mut pairs = Vec::new();
    while let Some((&length, rest)) = data.split_first() {
        let length = usize::from(length).min(rest.len());
        let text = String::from_utf8_lossy(&rest[..length]);
        if let Some((key, value)) = text.split_once('=') {
            pairs.push((key.to_owned(), value.to_owned()));
        }
        data = &rest[length..];
    }
    pairs
}

/// The name at `at` (following compression pointers; 128 steps at most, so a loop of them ends) and where the bytes
/// after it start.
fn name(message: &[u8], mut at: usize) -> Option<(String, usize)> {
    let mut labels: Vec<String> = Vec::new();
    let mut after = None;
    for _ in 0..128 {
        let length = *message.get(at)?;
        match length {
            0 => {
                return Some((labels.join("."), after.unwrap_or(at + 1)));
            }
            l if l & 0xC0 == 0xC0 => {
                let pointer = usize::from(u16::from_be_bytes([l & 0x3F, *message.get(at + 1)?]));
                after.get_or_insert(at + 2);
                at = pointer;
            }
            l => {
                let label = message.get(at + 1..at + 1 + usize::from(l))?;
                // Dots inside a label (an instance name may have them) kept escaped.
                labels.push(String::from_utf8_lossy(label).replace('.', "\\."));
                at += 1 + usize::from(l);
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A response as mDNS responders write it: the PTR answer, then SRV, TXT and A, with names
    /// compressed.
    fn response() -> Vec<u8> {
        let mut m = vec![0, 0, 0x84, 0, 0, 0, 0, 1, 0, 0, 0, 3];
        // Answer: _refill._tcp.local PTR "Refill on nas"._refill._tcp.local
        let service_at = m.len();
        for label in ["_refill", "_tcp", "local"] {
            m.push(label.len() as u8);
            m.extend_from_slice(label.as_bytes());
        }
        m.push(0);
        m.extend_from_slice(&[0, 12, 0, 1, 0, 0, 0x11, 0x94]);
        let instance = b"Refill on nas";
        m.extend_from_slice(&((instance.len() + 3) as u16).to_be_bytes());
        let instance_at = m.len();
        m.push(instance.len() as u8);
        m.extend_from_slice(instance);
        m.extend_from_slice(&[0xC0, service_at as u8]);
        // SRV: port 8750, target nas.local
        m.extend_from_slice(&[0xC0, instance_at as u8, 0, 33, 0x80, 1, 0, 0, 0, 120]);
        m.extend_from_slice(&(6 + 4 + 6 + 1u16).to_be_bytes());
        m.extend_from_slice(&[0, 0, 0, 0]);
        m.extend_from_slice(&8750u16.to_be_bytes());
        let host_at = m.len();
        m.push(3);
        m.extend_from_slice(b"nas");
        m.push(5);
        m.extend_from_slice(b"local");
        m.push(0);
        // TXT
        let pairs: [&[u8]; 3] = [b"scheme=https", b"fp=AB:CD", b"version=0.1.0"];
        m.extend_from_slice(&[0xC0, instance_at as u8, 0, 16, 0x80, 1, 0, 0, 0, 120]);
        let length: usize = pairs.iter().map(|p| p.len() + 1).sum();
        m.extend_from_slice(&(length as u16).to_be_bytes());
        for p in pairs {
            m.push(p.len() as u8);
            m.extend_from_slice(p);
        }
        // A
        m.extend_from_slice(&[0xC0, host_at as u8, 0, 1, 0x80, 1, 0, 0, 0, 120, 0, 4]);
        m.extend_from_slice(&[192, 168, 1, 20]);
        m
    }

    #[test]
    fn a_response_names_the_service_its_address_and_its_fingerprint() {
        let found = answers(&response(), "10.0.0.9".parse().unwrap());
        assert_eq!(
            found,
            [Found {
                name: "Refill on nas".into(),
                url: "https://192.168.1.20:8750".into(),
                fingerprint: Some("AB:CD".into()),
                version: Some("0.1.0".into()),
            }]
        );
    }

    #[test]
    fn a_query_asks_for_the_refill_service_type_and_nonsense_is_no_service() {
        let q = query(7);
        assert_eq!(&q[..2], &[0, 7]);
        assert_eq!(&q[4..6], &[0, 1]);
        assert_eq!(name(&q, 12).unwrap().0, SERVICE_TYPE);
        // Queries (ours echoed back), cut-off responses and pointer loops give nothing.
        assert!(answers(&q, "10.0.0.9".parse().unwrap()).is_empty());
        let whole = response();
        for end in 0..whole.len() {
            let _ = answers(&whole[..end], "10.0.0.9".parse().unwrap());
        }
        let looped = [0, 0, 0x84, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0xC0, 12];
        assert!(answers(&looped, "10.0.0.9".parse().unwrap()).is_empty());
    }
}
