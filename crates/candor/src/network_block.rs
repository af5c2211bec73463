//! "Blocking the network opts out": the catalogue's `network_block_opts_out`, kept at run time.
//!
//! When no endpoint has answered for the declared period, the block is the user's choice: the
//! worker discards what is waiting and collects nothing more. While blocked it asks, at most
//! once a minute, whether the endpoint accepts a TCP connection (nothing is sent); when it
//! does, collection resumes. Since when the endpoint has been unreachable is kept in Candor's
//! folder (`StateDir::unanswered_since`), so the period spans restarts.

use std::net::{TcpStream, ToSocketAddrs};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant, SystemTime};

use candor_schema::Catalogue;
use candor_state::StateDir;
use candor_transport::StatsSnapshot;

/// How often a blocked runtime checks whether the endpoint can be reached again.
const PROBE_EVERY: Duration = Duration::from_secs(60);
/// How long one check may take.
const PROBE_TIMEOUT: Duration = Duration::from_secs(2);

#[derive(Debug)]
pub(crate) struct NetworkBlock {
    period: Duration,
    /// Where "unreachable since" is kept; `None` without a state folder.
    kept: Option<(StateDir, String)>,
    /// `host:port` of the endpoint, for the reachability check.
    address: Option<String>,
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    since: Option<SystemTime>,
    blocked: bool,
    last_probe: Option<Instant>,
}

/// What the worker must do after an observation.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Verdict {
    Collect,
    /// The period has just run out: discard what is waiting.
    JustBlocked,
    Blocked,
}

impl NetworkBlock {
    /// The rule for this catalogue, or `None` when it does not declare one.
    pub(crate) fn new(
        catalogue: &Catalogue,
        state: Option<&StateDir>,
        endpoint: Option<&str>,
    ) -> Option<Self> {
        let consent = &catalogue.spec().consent;
        if !consent.network_block_opts_out {
            return None;
        }
        let period = Duration::from_secs(consent.network_block_after_seconds?);
        let kept = state.map(|s| (s.clone(), catalogue.product_id().to_owned()));
        let since = kept
            .as_ref()
            .and_then(|(state, product)| state.unanswered_since(product).ok().flatten());
        let blocked = since.is_some_and(|s| elapsed(s) >= period);
        Some(Self {
            period,
            kept,
            address: endpoint.and_then(host_port),
            state: Mutex::new(State {
                since,
                blocked,
                last_probe: None,
            }),
        })
    }

    /// Takes in the network pipeline's counters: an answer clears the clock, a failure starts
    /// it (or continues the one kept from an earlier run).
    pub(crate) fn observe(&self, stats: &StatsSnapshot) -> Verdict {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        match stats.unanswered_since {
            None if stats.delivered > 0 || stats.rejected > 0 => {
                if state.since.take().is_some() {
                    self.store(None);
                }
                state.blocked = false;
                return Verdict::Collect;
            }
            None => {}
            Some(failing) => {
                let since = state.since.map_or(failing, |s| s.min(failing));
                if state.since != Some(since) {
                    state.since = Some(since);
                    self.store(Some(since));
                }
            }
        }
        match state.since {
            Some(since) if !state.blocked && elapsed(since) >= self.period => {
                state.blocked = true;
                Verdict::JustBlocked
            }
            _ if state.blocked => Verdict::Blocked,
            _ => Verdict::Collect,
        }
    }

    /// Whether collection is stopped; while it is, checks (at most once a minute) whether the
    /// endpoint can be reached again, and resumes if so.
    pub(crate) fn is_blocked(&self) -> bool {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        if !state.blocked {
            return false;
        }
        if state.last_probe.is_some_and(|t| t.elapsed() < PROBE_EVERY) {
            return true;
        }
        state.last_probe = Some(Instant::now());
        if self.address.as_deref().is_some_and(reachable) {
            state.blocked = false;
            state.since = None;
            self.store(None);
            return false;
        }
        true
    }

    /// Why nothing is collected, while that is so.
    pub(crate) fn reason(&self) -> Option<String> {
        let state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        let since = state.since?;
        state.blocked.then(|| {
            format!(
                "the endpoint has not answered since {} (longer than {} s): the catalogue counts \
                 blocking the network as opting out, so nothing is collected until it answers",
                humantime::format_rfc3339_seconds(since),
                self.period.as_secs()
            )
        })
    }

    /// A failure to keep the time only means the period restarts with the next run.
    fn store(&self, since: Option<SystemTime>) {
        if let Some((state, product)) = &self.kept {
            let _ = state.set_unanswered_since(product, since);
        }
    }
}

/// Why `catalogue`'s product collects nothing on this machine because its endpoint has been
/// unreachable longer than the catalogue's period, as Candor's folder records it; `None` when
/// the catalogue makes no such promise or the endpoint answered within the period.
pub fn network_block_reason(catalogue: &Catalogue, state: &StateDir) -> Option<String> {
    NetworkBlock::new(catalogue, Some(state), None)?.reason()
}

fn elapsed(since: SystemTime) -> Duration {
    SystemTime::now().duration_since(since).unwrap_or_default()
}

/// `host:port` of an `http(s)://` or `grpc` URL; the scheme's port when none is given.
fn host_port(url: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    let authority = rest.split(['/', '?', '#']).next()?;
    let authority = authority.rsplit('@').next()?;
    if authority.is_empty() {
        return None;
    }
    let has_port = match authority.rfind(']') {
        Some(bracket) => authority[bracket..].contains(':'),
        None => authority.contains(':'),
    };
    if has_port {
        return Some(authority.to_owned());
    }
    let port = if scheme.eq_ignore_ascii_case("https") {
        443
    } else {
        80
    };
    Some(format!("{authority}:{port}"))
}

/// Whether a TCP connection to `address` opens within the probe's time limit.
fn reachable(address: &str) -> bool {
    let Ok(addresses) = address.to_socket_addrs() else {
        return false;
    };
    addresses
        .take(4)
        .any(|a| TcpStream::connect_timeout(&a, PROBE_TIMEOUT).is_ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_become_host_and_port() {
        assert_eq!(
            host_port("https://t.example.com/v1").as_deref(),
            Some("t.example.com:443")
        );
        assert_eq!(
            host_port("http://127.0.0.1:4318/v1/logs").as_deref(),
            Some("127.0.0.1:4318")
        );
        assert_eq!(host_port("http://[::1]/x").as_deref(), Some("[::1]:80"));
        assert_eq!(host_port("http://[::1]:9/x").as_deref(), Some("[::1]:9"));
        assert_eq!(host_port("not a url"), None);
    }

    #[test]
    fn a_kept_time_that_is_garbage_or_in_the_future_counts_as_none() {
        use std::time::UNIX_EPOCH;
        let dir = tempfile::tempdir().expect("tmp");
        let state = StateDir::new(dir.path());
        let file = dir.path().join("network").join("p");
        std::fs::create_dir_all(file.parent().expect("parent")).expect("mkdir");
        std::fs::write(&file, "yesterday").expect("write");
        assert_eq!(state.unanswered_since("p").expect("read"), None);
        std::fs::write(&file, format!("{}", u64::MAX / 2)).expect("write");
        assert_eq!(state.unanswered_since("p").expect("read"), None);
        let then = UNIX_EPOCH + Duration::from_secs(1_000);
        state.set_unanswered_since("p", Some(then)).expect("keep");
        assert_eq!(state.unanswered_since("p").expect("read"), Some(then));
        state.set_unanswered_since("p", None).expect("forget");
        assert!(!file.exists());
    }
}
