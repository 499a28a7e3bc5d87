//! Prometheus metrics: the process's recorder, `GET /metrics`, and the metrics the server
//! records itself (connections, outbound queues, storage, the cluster). The engine records
//! its own (`arbiter_engine::metrics`); both lists are described to the exporter here, and
//! `docs/operations.md` documents every name in them (a test below checks it).

use crate::app::App;
use crate::error::AppError;
use arbiter_engine::metrics::{Kind, Metric, SLOW_SECONDS};
use arbiter_protocol::ErrorCode;
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use metrics::{Counter, Unit, counter, describe_counter, describe_gauge, describe_histogram};
use metrics_exporter_prometheus::{BuildError, Matcher, PrometheusBuilder, PrometheusHandle};
use std::sync::OnceLock;
use std::time::Duration;

/// Connections open, by transport.
pub(crate) const CONNECTIONS_OPEN: &str = "arbiter_connections_open";
/// Connections opened, by transport.
pub(crate) const CONNECTIONS_OPENED: &str = "arbiter_connections_opened_total";
/// Bytes waiting in outbound queues.
pub(crate) const OUTBOUND_QUEUED_BYTES: &str = "arbiter_outbound_queued_bytes";
/// A room's queued patches dropped for one snapshot.
pub(crate) const OUTBOUND_COLLAPSES: &str = "arbiter_outbound_collapses_total";
/// Connections cut off for falling hopelessly behind.
pub(crate) const OUTBOUND_OVERFLOWS: &str = "arbiter_outbound_overflows_total";
/// Duration of one group commit.
pub(crate) const STORE_COMMIT_SECONDS: &str = "arbiter_store_commit_seconds";
/// Writes in one group commit.
pub(crate) const STORE_COMMIT_WRITES: &str = "arbiter_store_commit_writes";
/// Storage operations that failed, by operation.
pub(crate) const STORE_ERRORS: &str = "arbiter_store_errors_total";
/// Messages between cluster nodes, by direction.
pub(crate) const CLUSTER_ROUTED: &str = "arbiter_cluster_routed_messages_total";
/// Rooms this node took over.
pub(crate) const CLUSTER_TAKEOVERS: &str = "arbiter_cluster_takeovers_total";
/// Lost frames between nodes, making clients resume.
pub(crate) const CLUSTER_BUS_RESETS: &str = "arbiter_cluster_bus_resets_total";

/// Up to one group commit's writes (`store::GROUP`).
const WRITES: &[f64] = &[
    1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0, 512.0, 1024.0,
];

/// Every metric the server records itself.
pub(crate) const METRICS: &[Metric] = &[
    Metric {
        name: CONNECTIONS_OPEN,
        kind: Kind::Gauge,
        unit: Unit::Count,
        labels: &["transport"],
        help: "Client connections open, by transport (ws, lp).",
    },
    Metric {
        name: CONNECTIONS_OPENED,
        kind: Kind::Counter,
        unit: Unit::Count,
        labels: &["transport"],
        help: "Client connections opened, by transport (ws, lp).",
    },
    Metric {
        name: OUTBOUND_QUEUED_BYTES,
        kind: Kind::Gauge,
        unit: Unit::Bytes,
        labels: &[],
        help: "Bytes waiting in the outbound queues of all connections (frames a socket \
               could not take at once).",
    },
    Metric {
        name: OUTBOUND_COLLAPSES,
        kind: Kind::Counter,
        unit: Unit::Count,
        labels: &[],
        help: "Times a slow connection's queued patches of a room were dropped for one \
               fresh snapshot.",
    },
    Metric {
        name: OUTBOUND_OVERFLOWS,
        kind: Kind::Counter,
        unit: Unit::Count,
        labels: &[],
        help: "Connections whose queue passed its hard bound; they close with 4008.",
    },
    Metric {
        name: STORE_COMMIT_SECONDS,
        kind: Kind::Histogram(SLOW_SECONDS),
        unit: Unit::Seconds,
        labels: &[],
        help: "Duration of one group commit (one transaction, one fsync) of the SQL store.",
    },
    Metric {
        name: STORE_COMMIT_WRITES,
        kind: Kind::Histogram(WRITES),
        unit: Unit::Count,
        labels: &[],
        help: "Writes (room creations, appends, archives) committed in one group commit.",
    },
    Metric {
        name: STORE_ERRORS,
        kind: Kind::Counter,
        unit: Unit::Count,
        labels: &["op"],
        help: "Storage operations that failed, by operation (create, append, archive, \
               claim, load, …); fenced writes are refusals, not errors.",
    },
    Metric {
        name: CLUSTER_ROUTED,
        kind: Kind::Counter,
        unit: Unit::Count,
        labels: &["direction"],
        help: "Bus messages between nodes: to_owner and from_edge (clients' commands for \
               rooms served elsewhere), to_edge and from_owner (frames back).",
    },
    Metric {
        name: CLUSTER_TAKEOVERS,
        kind: Kind::Counter,
        unit: Unit::Count,
        labels: &[],
        help: "Rooms this node took over (lease taken, fencing token raised, loaded).",
    },
    Metric {
        name: CLUSTER_BUS_RESETS,
        kind: Kind::Counter,
        unit: Unit::Count,
        labels: &["side"],
        help: "Times frames between nodes were lost and the clients concerned made to \
               resume: side=owner (frames this node sent did not arrive), side=edge (its \
               subscription was down, or an owner reported frames to it lost).",
    },
];

/// Every metric of the process: the engine's and the server's.
pub(crate) fn all() -> impl Iterator<Item = &'static Metric> {
    arbiter_engine::metrics::METRICS.iter().chain(METRICS)
}

/// The process's recorder, installed by the first server started with metrics on. One per
/// process, because the `metrics` facade has one global recorder (tests start several
/// servers in one process); `None` if it could not be installed (another recorder was).
static RECORDER: OnceLock<Option<PrometheusHandle>> = OnceLock::new();

/// How often histograms are folded in when nobody scrapes, bounding their memory.
const UPKEEP: Duration = Duration::from_secs(5);

/// The process's recorder, installing it on first use.
pub(crate) fn recorder() -> Option<PrometheusHandle> {
    RECORDER.get_or_init(install).clone()
}

fn install() -> Option<PrometheusHandle> {
    let handle = match builder().and_then(PrometheusBuilder::install_recorder) {
        Ok(handle) => handle,
        Err(e) => {
            tracing::warn!(error = %e, "cannot install the metrics recorder; /metrics is off");
            return None;
        }
    };
    for m in all() {
        match m.kind {
            Kind::Counter => describe_counter!(m.name, m.unit, m.help),
            Kind::Gauge => describe_gauge!(m.name, m.unit, m.help),
            Kind::Histogram(_) => describe_histogram!(m.name, m.unit, m.help),
        }
    }
    // Without an exporter task of its own, the recorder needs someone to run its upkeep.
    let upkeep = handle.clone();
    let spawned = std::thread::Builder::new()
        .name("metrics-upkeep".into())
        .spawn(move || {
            loop {
                std::thread::sleep(UPKEEP);
                upkeep.run_upkeep();
            }
        });
    if let Err(e) = spawned {
        tracing::warn!(error = %e, "cannot start the metrics upkeep thread");
    }
    Some(handle)
}

/// Histograms with buckets of their own; everything else as the exporter's defaults.
fn builder() -> Result<PrometheusBuilder, BuildError> {
    all().try_fold(PrometheusBuilder::new(), |builder, m| match m.kind {
        Kind::Histogram(bounds) => {
            builder.set_buckets_for_metric(Matcher::Full(m.name.into()), bounds)
        }
        Kind::Counter | Kind::Gauge => Ok(builder),
    })
}

/// `GET /metrics`: the Prometheus text exposition, or 404 when metrics are off.
pub(crate) async fn serve(State(app): State<App>) -> Result<impl IntoResponse, AppError> {
    let handle = app.metrics().ok_or_else(|| {
        AppError::new(
            ErrorCode::NotFound,
            "metrics are switched off on this server",
        )
    })?;
    Ok((
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        handle.render(),
    ))
}

/// Handles on [`CLUSTER_ROUTED`], one per direction: every frame that crosses nodes counts.
pub(crate) struct Routed {
    pub(crate) to_owner: Counter,
    pub(crate) from_edge: Counter,
    pub(crate) to_edge: Counter,
    pub(crate) from_owner: Counter,
}

impl Routed {
    pub(crate) fn new() -> Self {
        let direction = |d: &'static str| counter!(CLUSTER_ROUTED, "direction" => d);
        Self {
            to_owner: direction("to_owner"),
            from_edge: direction("from_edge"),
            to_edge: direction("to_edge"),
            from_owner: direction("from_owner"),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    /// The row of `docs/operations.md`'s metrics table that names `name`.
    fn doc_row<'a>(doc: &'a str, name: &str) -> Option<&'a str> {
        let cell = format!("| `{name}` |");
        doc.lines().find(|l| l.starts_with(&cell))
    }

    #[test]
    fn every_metric_is_documented_with_its_type_and_labels() {
        let doc = include_str!("../../../docs/operations.md");
        for m in all() {
            let row = doc_row(doc, m.name)
                .unwrap_or_else(|| panic!("docs/operations.md has no row for {}", m.name));
            let kind = match m.kind {
                Kind::Counter => "counter",
                Kind::Gauge => "gauge",
                Kind::Histogram(_) => "histogram",
            };
            assert!(row.contains(&format!("| {kind} |")), "{}: {row}", m.name);
            for label in m.labels {
                assert!(
                    row.contains(&format!("`{label}`")),
                    "{}: no label {label}",
                    m.name
                );
            }
        }
    }

    #[test]
    fn names_are_prefixed_unique_and_suffixed_by_kind() {
        let mut seen = std::collections::HashSet::new();
        for m in all() {
            assert!(m.name.starts_with("arbiter_"), "{}", m.name);
            assert!(seen.insert(m.name), "{} twice", m.name);
            assert_eq!(
                m.kind == Kind::Counter,
                m.name.ends_with("_total"),
                "{}: counters, and only counters, end in _total",
                m.name
            );
            if let Kind::Histogram(bounds) = m.kind {
                assert!(!bounds.is_empty(), "{}", m.name);
                assert!(bounds.windows(2).all(|w| w[0] < w[1]), "{}", m.name);
            }
        }
    }
}
