//! Which client a request comes from. Behind a reverse proxy every connection comes from
//! the proxy; for the proxies named in `[http] trusted_proxies` the client is the address
//! the proxy appended to `X-Forwarded-For`. From any other peer the header is ignored:
//! a client cannot choose the address its limits are counted under.

use std::net::IpAddr;

use axum::http::HeaderMap;

/// The client behind a connection from `peer`.
pub fn client_address(peer: IpAddr, headers: &HeaderMap, trusted_proxies: &[IpAddr]) -> IpAddr {
    let peer = canonical(peer);
    if !trusted_proxies.contains(&peer) {
        return peer;
    }
    // Each proxy appends the address it received the request from: read from the right,
    // past the trusted proxies, to the first address a trusted proxy vouches for.
    let mut client = peer;
    let forwarded = headers.get_all("x-forwarded-for").iter().filter_map(|v| v.to_str().ok());
    let entries: Vec<&str> = forwarded.flat_map(|v| v.split(',')).map(str::trim).collect();
    for entry in entries.iter().rev() {
        let Ok(address) = entry.parse::<IpAddr>().map(canonical) else { return client };
        client = address;
        if !trusted_proxies.contains(&address) {
            break;
        }
    }
    client
}

/// IPv4 addresses seen on an IPv6 socket (`::ffff:192.0.2.7`) as IPv4.
fn canonical(address: IpAddr) -> IpAddr {
    match address {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(address, IpAddr::V4),
        v4 => v4,
    }
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    fn headers(forwarded: &[&str]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for value in forwarded {
            map.append("x-forwarded-for", HeaderValue::from_str(value).expect("header"));
        }
        map
    }

    fn ip(text: &str) -> IpAddr {
        text.parse().expect("address")
    }

    #[test]
    fn only_a_trusted_proxy_names_the_client() {
        let proxy = [ip("127.0.0.1")];
        let via = headers(&["203.0.113.5"]);
        assert_eq!(client_address(ip("127.0.0.1"), &via, &proxy), ip("203.0.113.5"));
        // Anyone else sending the header is counted under their own address.
        assert_eq!(client_address(ip("192.0.2.9"), &via, &proxy), ip("192.0.2.9"));
        assert_eq!(client_address(ip("127.0.0.1"), &via, &[]), ip("127.0.0.1"));
        // Without the header the proxy itself is the client.
        assert_eq!(client_address(ip("127.0.0.1"), &headers(&[]), &proxy), ip("127.0.0.1"));
    }

    #[test]
    fn a_client_cannot_slip_in_an_address_before_the_proxys_entry() {
        let proxy = [ip("127.0.0.1")];
        // The client sent `X-Forwarded-For: 10.0.0.1`; the proxy appended the real peer.
        let via = headers(&["10.0.0.1, 198.51.100.4"]);
        assert_eq!(client_address(ip("127.0.0.1"), &via, &proxy), ip("198.51.100.4"));
        let split = headers(&["10.0.0.1", "198.51.100.4"]);
        assert_eq!(client_address(ip("127.0.0.1"), &split, &proxy), ip("198.51.100.4"));
    }

    #[test]
    fn chained_trusted_proxies_are_skipped_and_garbage_stops_the_walk() {
        let proxies = [ip("127.0.0.1"), ip("10.0.0.2")];
        let via = headers(&["198.51.100.4, 10.0.0.2"]);
        assert_eq!(client_address(ip("127.0.0.1"), &via, &proxies), ip("198.51.100.4"));
        let garbage = headers(&["198.51.100.4, not-an-address"]);
        assert_eq!(client_address(ip("127.0.0.1"), &garbage, &proxies), ip("127.0.0.1"));
        let mapped = ip("::ffff:127.0.0.1");
        assert_eq!(client_address(mapped, &headers(&["::ffff:198.51.100.4"]), &proxies), ip("198.51.100.4"));
    }
}
