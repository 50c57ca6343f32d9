//! Active health checks: each instance's `GET <api prefix>/health`, on an
//! interval, feeding the same up/down state passive checks use.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use http::Request;
use http::uri::Authority;
use http_body_util::{BodyExt as _, Limited};

use crate::state::Edge;

/// Probes every instance of every zone each `interval`, forever.
pub async fn probe_forever(edge: Arc<Edge>, interval: Duration) {
    let mut tick = tokio::time::interval(interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        for group in edge.routes().groups() {
            for index in 0..group.len() {
                let authority = group.get(index).authority.clone();
                let path = group.target.health_path();
                let result = probe(&edge, &authority, &path, interval).await;
                if let Err(error) = &result
                    && group.is_up(index)
                {
                    tracing::warn!(zone = group.target.name(), upstream = %authority, "health check failed: {error}");
                }
                group.record_probe(index, result);
            }
        }
    }
}

/// The most of a health answer's body that is read.
const MAX_PROBE_BODY: usize = 64 * 1024;

async fn probe(
    edge: &Edge,
    authority: &Authority,
    path: &str,
    timeout: Duration,
) -> Result<(), String> {
    let request = Request::get(path)
        .header(http::header::HOST, authority.as_str())
        .body(Body::empty())
        .map_err(|e| e.to_string())?;
    // The answer's body is read within the same time and up to a bound:
    // an instance that stalls or streams on cannot hold up the probes.
    let exchange = async {
        let response = edge.send(authority, request).await?;
        let status = response.status();
        let _ = Limited::new(response.into_body(), MAX_PROBE_BODY)
            .collect()
            .await;
        Ok::<_, crate::upstream_http1::SendError>(status)
    };
    match tokio::time::timeout(timeout, exchange).await {
        Err(_) => Err("health check timed out".into()),
        Ok(Err(err)) => Err(format!("health check failed: {err}")),
        Ok(Ok(status)) if status.is_success() => Ok(()),
        Ok(Ok(status)) => Err(format!("health check answered {status}")),
    }
}
