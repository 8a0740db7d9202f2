//! The client address behind trusted reverse proxies, from `Forwarded`
//! (RFC 7239) or `X-Forwarded-For`.
//!
//! Each proxy appends the address it received the request from, so the
//! list is read from the right: the first address that is not a trusted
//! proxy is the client. Anything before it was written by the client and
//! is not believed.

use std::net::{IpAddr, SocketAddr};

use http::{HeaderMap, HeaderName};

/// The client's address: `peer` itself unless it is a trusted proxy, in
/// which case the nearest forwarded address that is not one. A forwarded
/// address without a port gets port 0.
pub(super) fn client_addr(
    peer: Option<SocketAddr>,
    headers: &HeaderMap,
    trusted: &[IpAddr],
) -> Option<SocketAddr> {
    let is_trusted = |addr: SocketAddr| trusted.contains(&addr.ip().to_canonical());
    let mut client = peer?;
    if !is_trusted(client) {
        return Some(client);
    }
    let hops = if headers.contains_key(http::header::FORWARDED) {
        elements(headers, &http::header::FORWARDED)
            .filter_map(|element| {
                element.split(';').find_map(|pair| {
                    let (key, value) = pair.split_once('=')?;
                    key.trim().eq_ignore_ascii_case("for").then_some(value)
                })
            })
            .map(node)
            .collect::<Vec<_>>()
    } else {
        let name = HeaderName::from_static("x-forwarded-for");
        elements(headers, &name).map(node).collect()
    };
    for hop in hops.into_iter().rev() {
        // An address hidden (`unknown`, an obfuscated name) or garbled: the
        // chain cannot be followed past it.
        let Some(hop) = hop else { break };
        client = hop;
        if !is_trusted(client) {
            break;
        }
    }
    Some(client)
}

/// The comma-separated elements of every `name` header, in order, trimmed;
/// the upgrade reads its token lists (`Connection`, `Upgrade`,
/// `Sec-WebSocket-Protocol`) with it too.
pub(super) fn elements<'a>(
    headers: &'a HeaderMap,
    name: &HeaderName,
) -> impl Iterator<Item = &'a str> {
    headers
        .get_all(name)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .map(str::trim)
}

/// A node as proxies write it: `192.0.2.1`, `192.0.2.1:4711`, `2001:db8::1`,
/// `[2001:db8::1]`, `[2001:db8::1]:4711`, maybe in quotes.
fn node(text: &str) -> Option<SocketAddr> {
    let text = text.trim().trim_matches('"');
    if let Ok(addr) = text.parse::<SocketAddr>() {
        return Some(addr);
    }
    let ip = text.strip_prefix('[').and_then(|t| t.strip_suffix(']'));
    let ip: IpAddr = ip.unwrap_or(text).parse().ok()?;
    Some(SocketAddr::new(ip, 0))
}

#[cfg(test)]
mod tests {
    use super::*;

    const PROXY: &str = "10.0.0.1:443";

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(*name, value.parse().unwrap());
        }
        map
    }

    fn seen(peer: &str, pairs: &[(&'static str, &'static str)]) -> String {
        let trusted = ["10.0.0.1".parse().unwrap(), "10.0.0.2".parse().unwrap()];
        client_addr(Some(peer.parse().unwrap()), &headers(pairs), &trusted)
            .unwrap()
            .to_string()
    }

    #[test]
    fn an_untrusted_peer_is_the_client_whatever_it_forwards() {
        let forged = [("x-forwarded-for", "1.2.3.4"), ("forwarded", "for=1.2.3.4")];
        assert_eq!(seen("192.0.2.9:5000", &forged), "192.0.2.9:5000");
    }

    #[test]
    fn a_trusted_peer_forwards_the_last_address() {
        let pairs = [("x-forwarded-for", "6.6.6.6, 203.0.113.7")];
        assert_eq!(seen(PROXY, &pairs), "203.0.113.7:0");
    }

    #[test]
    fn a_chain_of_trusted_proxies_is_followed_to_the_client() {
        let pairs = [
            ("x-forwarded-for", "6.6.6.6, 203.0.113.7"),
            ("x-forwarded-for", "10.0.0.2"),
        ];
        assert_eq!(seen(PROXY, &pairs), "203.0.113.7:0");
    }

    #[test]
    fn forwarded_is_preferred_and_its_forms_are_read() {
        let pairs = [
            ("x-forwarded-for", "6.6.6.6"),
            (
                "forwarded",
                "for=6.6.6.6, for=\"[2001:db8::7]:4711\";proto=https",
            ),
        ];
        assert_eq!(seen(PROXY, &pairs), "[2001:db8::7]:4711");
        let pairs = [("forwarded", "proto=http;For=198.51.100.17:80")];
        assert_eq!(seen(PROXY, &pairs), "198.51.100.17:80");
    }

    #[test]
    fn a_hidden_or_missing_address_leaves_the_proxy() {
        assert_eq!(seen(PROXY, &[("forwarded", "for=unknown")]), PROXY);
        assert_eq!(seen(PROXY, &[]), PROXY);
        assert_eq!(seen(PROXY, &[("x-forwarded-for", "bogus")]), PROXY);
    }

    #[test]
    fn an_ipv4_mapped_peer_is_trusted_as_its_ipv4_address() {
        let pairs = [("x-forwarded-for", "203.0.113.7")];
        assert_eq!(seen("[::ffff:10.0.0.1]:443", &pairs), "203.0.113.7:0");
    }
}
