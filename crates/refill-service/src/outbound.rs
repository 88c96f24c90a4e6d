//! Calls the service makes to others (makers' webhooks) and to itself (the sandbox's simulated
//! devices), and which addresses they may reach.
//!
//! A webhook is a URL a maker chose: left unchecked, the service would call whatever it names
//! for them, such as a database on the service's own machine or a cloud's metadata address
//! (server-side request forgery). So webhooks reach only public addresses, unless the operator
//! allows private ones (`--allow-private-webhooks`, for a home network): a URL naming a private
//! address is refused when it is registered, and a host name is resolved at each call by a
//! resolver that drops private addresses, so a name that later points inward (DNS rebinding)
//! reaches nothing.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;

/// Whether `ip` is a public unicast address: not loopback, private, link-local, shared (CGNAT),
/// multicast, broadcast, unspecified, documentation or reserved; IPv4 inside IPv6 (mapped,
/// NAT64) is judged as IPv4.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_public_v4(v4);
            }
            let s = v6.segments();
            if s[0] == 0x64 && s[1] == 0xff9b && s[2..6] == [0; 4] {
                let [a, b] = s[6].to_be_bytes();
                let [c, d] = s[7].to_be_bytes();
                return is_public_v4(Ipv4Addr::new(a, b, c, d));
            }
            !(v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (s[0] & 0xfe00) == 0xfc00 // unique local
                || (s[0] & 0xffc0) == 0xfe80 // link-local
                || (s[0] & 0xffc0) == 0xfec0 // site-local
                || (s[0] == 0x2001 && s[1] == 0x0db8) // documentation
                || v6 == Ipv6Addr::new(0, 0, 0, 0, 0, 0, 0, 1))
        }
    }
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    !(ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_broadcast()
        || ip.is_multicast()
        || ip.is_unspecified()
        || ip.is_documentation()
        || a == 0
        || (a == 100 && (64..128).contains(&b)) // shared address space (CGNAT)
        || (a == 192 && b == 0 && c == 0) // IETF protocol assignments
        || (a == 198 && (18..20).contains(&b)) // benchmarking
        || a >= 240) // reserved
}

/// Why a webhook URL is refused, in words for the maker; `None` if it may be called. Host
/// names are judged when they are called (see [`public_only_client`]), except `localhost`.
pub fn webhook_problem(url: &str, allow_private: bool) -> Option<String> {
    let parsed = match reqwest::Url::parse(url) {
        Ok(u) if matches!(u.scheme(), "http" | "https") && u.host().is_some() => u,
        _ => {
            return Some(format!(
                "'{url}' is not a webhook address: it must start with https:// (or http://) and \
                 name a host."
            ))
        }
    };
    if allow_private {
        return None;
    }
    let private = match parsed.host() {
        Some(url::Host::Ipv4(ip)) => !is_public(IpAddr::V4(ip)),
        Some(url::Host::Ipv6(ip)) => !is_public(IpAddr::V6(ip)),
        Some(url::Host::Domain(name)) => {
            let name = name.trim_end_matches('.').to_ascii_lowercase();
            name == "localhost" || name.ends_with(".localhost")
        }
        None => true,
    };
    private.then(|| {
        format!(
            "'{url}' leads to a local or private address, which this service does not call. \
             Use a public address (its operator can allow private ones with \
             --allow-private-webhooks)."
        )
    })
}

/// Resolves host names to their public addresses only.
struct PublicOnly;

impl reqwest::dns::Resolve for PublicOnly {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let found: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0))
                .await?
                .filter(|addr| is_public(addr.ip()))
                .collect();
            if found.is_empty() {
                return Err(format!("{host} has no public address").into());
            }
            Ok(Box::new(found.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

/// An HTTP client for the service's own calls: a 10 s limit per call, no redirects (a redirect
/// could lead anywhere), and with `public_only` host names resolved to public addresses only.
pub fn client(public_only: bool) -> reqwest::Client {
    let mut builder = builder(reqwest::Client::builder());
    if public_only {
        builder = builder.dns_resolver(Arc::new(PublicOnly));
    }
    builder.build().unwrap_or_default()
}

/// `builder` with the limits of the service's own calls: 10 s a call, no redirects.
pub fn builder(builder: reqwest::ClientBuilder) -> reqwest::ClientBuilder {
    builder
        .timeout(std::time::Duration::from_secs(10))
        .redirect(reqwest::redirect::Policy::none())
}

/// [`client`] that reaches public addresses only.
pub fn public_only_client() -> reqwest::Client {
    client(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_public_unicast_addresses_are_public() {
        for private in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "224.0.0.1",
            "255.255.255.255",
            "::1",
            "::",
            "fe80::1",
            "fd00::1",
            "ff02::1",
            "::ffff:127.0.0.1",
            "::ffff:169.254.169.254",
            "64:ff9b::a9fe:a9fe",
        ] {
            assert!(!is_public(private.parse().unwrap()), "{private}");
        }
        for public in [
            "93.184.216.34",
            "1.1.1.1",
            "2606:4700::1111",
            "::ffff:1.1.1.1",
        ] {
            assert!(is_public(public.parse().unwrap()), "{public}");
        }
    }

    #[test]
    fn webhooks_to_private_addresses_are_refused_unless_allowed() {
        for url in [
            "http://127.0.0.1:8080/hook",
            "http://169.254.169.254/latest/meta-data/",
            "https://[::1]/x",
            "http://localhost:9000/",
            "http://LOCALHOST./",
            "http://10.0.0.5/",
            "http://2130706433/", // 127.0.0.1 as one number
        ] {
            let problem = webhook_problem(url, false).unwrap_or_default();
            assert!(
                problem.contains("--allow-private-webhooks"),
                "{url}: {problem}"
            );
            assert_eq!(webhook_problem(url, true), None, "{url}");
        }
        assert_eq!(webhook_problem("https://maker.example/drs", false), None);
        assert!(webhook_problem("ftp://maker.example/", true).is_some());
        assert!(webhook_problem("not a url", true).is_some());
    }

    #[tokio::test]
    async fn names_that_lead_inward_are_not_called() {
        let http = public_only_client();
        let err = http
            .get("http://localhost:9/")
            .send()
            .await
            .expect_err("localhost resolves to loopback only");
        assert!(err.is_connect() || err.is_request(), "{err}");
    }
}
