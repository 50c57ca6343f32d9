//! The edge's own surface: protocol upgrades (only `websocket`, only on
//! routes that declare it) and `/_edge/status` (loopback and trusted
//! proxies only).

use reqwest::StatusCode;
use reqwest::header::{
    ACCEPT, CONNECTION, CONTENT_TYPE, HeaderName, SEC_WEBSOCKET_KEY, SEC_WEBSOCKET_VERSION, UPGRADE,
};

use super::Verifier;
use super::http::{Jar, header_text};

const STATUS_PATH: &str = "/_edge/status";
/// A client address no stack trusts (TEST-NET-3).
const FOREIGN_CLIENT: &str = "203.0.113.9";

impl Verifier {
    /// `Upgrade: h2c` on an ordinary route is a plain request: a normal
    /// 200 page, never 101 Switching Protocols.
    pub(super) fn h2c_upgrade_is_a_plain_request(&mut self) -> anyhow::Result<()> {
        let what = "GET / with Upgrade: h2c is answered as a plain request (200 HTML, no 101)";
        if !self.http.is_plain_http() {
            self.skip(
                what,
                "h2c is HTTP/2 over cleartext: it needs an http:// base URL",
            );
            return Ok(());
        }
        let answer = self.http.get_with(
            "/",
            &Jar::default(),
            &[
                (CONNECTION, "Upgrade, HTTP2-Settings"),
                (UPGRADE, "h2c"),
                (
                    HeaderName::from_static("http2-settings"),
                    "AAMAAABkAAQAAP__",
                ),
                (ACCEPT, "text/html"),
            ],
        )?;
        let status = answer.status();
        let content_type = header_text(&answer, CONTENT_TYPE);
        self.check(
            what,
            status == StatusCode::OK && content_type.starts_with("text/html"),
            || format!("{status}, Content-Type: {content_type:?}"),
        )
    }

    /// A WebSocket handshake on a zone route that declares none: not 101.
    pub(super) fn websocket_only_where_declared(&mut self) -> anyhow::Result<()> {
        let what = "a WebSocket handshake on /shop (no websocket route) is not switched (no 101)";
        let answer = self.http.get_with(
            "/shop",
            &Jar::default(),
            &[
                (CONNECTION, "Upgrade"),
                (UPGRADE, "websocket"),
                (SEC_WEBSOCKET_KEY, "dGhlIHNhbXBsZSBub25jZQ=="),
                (SEC_WEBSOCKET_VERSION, "13"),
            ],
        )?;
        let status = answer.status();
        self.check(
            what,
            status != StatusCode::SWITCHING_PROTOCOLS && !status.is_server_error(),
            || status.to_string(),
        )
    }

    /// `/_edge/status` answers loopback; a client named by X-Forwarded-For
    /// counts only when the peer is a trusted proxy: then it is refused,
    /// otherwise the spoofed header changes nothing.
    pub(super) fn edge_status_only_for_trusted_peers(&mut self) -> anyhow::Result<()> {
        if !self.http.is_loopback() {
            self.skip(
                "/_edge/status answers loopback clients",
                "the base URL is not a loopback address",
            );
            return Ok(());
        }
        let status = self.http.get(STATUS_PATH, &Jar::default())?;
        let code = status.status();
        let json = header_text(&status, CONTENT_TYPE).contains("json")
            && status.json::<serde_json::Value>().is_ok();
        self.check(
            "/_edge/status answers a loopback client (200 JSON)",
            code == StatusCode::OK && json,
            || code.to_string(),
        )?;
        let forwarded = self.http.get_with(
            STATUS_PATH,
            &Jar::default(),
            &[(HeaderName::from_static("x-forwarded-for"), FOREIGN_CLIENT)],
        )?;
        let code = forwarded.status();
        if self.trusted_proxy_edge {
            self.check(
                &format!(
                    "/_edge/status via a trusted proxy (127.0.0.1) for client {FOREIGN_CLIENT} is refused (403)"
                ),
                code == StatusCode::FORBIDDEN,
                || format!("{code} (was the edge started with --trusted-proxies 127.0.0.1?)"),
            )
        } else {
            self.check(
                "/_edge/status ignores a spoofed X-Forwarded-For from an untrusted peer (200)",
                code == StatusCode::OK,
                || {
                    format!(
                        "{code} (an edge started with --trusted-proxies 127.0.0.1 needs --trusted-proxy-edge)"
                    )
                },
            )
        }
    }
}
