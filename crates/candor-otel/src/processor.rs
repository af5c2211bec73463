//! The log processor a host adds to its `SdkLoggerProvider`.

use std::time::Duration;

use candor::Telemetry;
use opentelemetry::InstrumentationScope;
use opentelemetry::logs::Severity;
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::logs::{LogProcessor, SdkLogRecord};

use crate::read::{self, Points};

/// How long `force_flush` waits for Candor's sender (the SDK's call takes no deadline).
const FLUSH_DEADLINE: Duration = Duration::from_secs(5);

/// Routes each log record by its event name: a data point the catalogue declares goes through
/// Candor, everything else to the host's other processors ([`CandorLogProcessor::with_others`]).
/// See the crate documentation.
pub struct CandorLogProcessor {
    telemetry: Telemetry,
    points: Points,
    others: Vec<Box<dyn LogProcessor>>,
}

impl std::fmt::Debug for CandorLogProcessor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CandorLogProcessor")
            .field("telemetry", &self.telemetry)
            .field("others", &self.others)
            .finish_non_exhaustive()
    }
}

impl CandorLogProcessor {
    /// A processor sending the events named after `telemetry`'s catalogue's data points
    /// through it; other events go nowhere until [`Self::with_others`] names where.
    pub fn new(telemetry: Telemetry) -> Self {
        let points = Points::of(telemetry.catalogue());
        Self {
            telemetry,
            points,
            others: Vec::new(),
        }
    }

    /// Adds a processor of the host's (a `BatchLogProcessor` with its exporter) that receives
    /// every event that is not a declared data point, in the order added, and is flushed and
    /// shut down with this one. Declared events never reach it.
    pub fn with_others(mut self, processor: impl LogProcessor + 'static) -> Self {
        self.others.push(Box::new(processor));
        self
    }

    /// The Candor handle declared events are recorded through.
    pub fn telemetry(&self) -> &Telemetry {
        &self.telemetry
    }

    fn is_declared(&self, name: Option<&str>) -> bool {
        name.is_some_and(|n| self.points.get(n).is_some())
    }
}

/// The first error of several results (all of them already obtained), or success.
fn first_error(results: Vec<OTelSdkResult>) -> OTelSdkResult {
    results.into_iter().find(Result::is_err).unwrap_or(Ok(()))
}

impl LogProcessor for CandorLogProcessor {
    fn emit(&self, record: &mut SdkLogRecord, scope: &InstrumentationScope) {
        let Some((point, shape)) = record
            .event_name()
            .and_then(|name| Some((name, self.points.get(name)?)))
        else {
            for other in &self.others {
                other.emit(record, scope);
            }
            return;
        };
        // Consent off: nothing is read, recorded or refused.
        if !self.telemetry.is_collecting() {
            return;
        }
        match read::input(shape, record) {
            Ok(input) => self.telemetry.record(point, input),
            Err(why) => self.telemetry.refuse(
                point,
                format!("the OpenTelemetry event cannot be read: {why}"),
            ),
        }
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.telemetry.flush(FLUSH_DEADLINE);
        first_error(self.others.iter().map(|o| o.force_flush()).collect())
    }

    /// Sends what Candor holds within `timeout` and shuts the other processors down. The
    /// [`Telemetry`] handle stays the host's: it keeps recording until the host shuts it down.
    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.telemetry.flush(timeout);
        let results: Vec<OTelSdkResult> = self
            .others
            .iter()
            .map(|o| o.shutdown_with_timeout(timeout))
            .collect();
        first_error(results)
    }

    fn event_enabled(&self, level: Severity, target: &str, name: Option<&str>) -> bool {
        if self.is_declared(name) {
            return self.telemetry.is_collecting();
        }
        self.others
            .iter()
            .any(|o| o.event_enabled(level, target, name))
    }

    fn set_resource(&mut self, resource: &Resource) {
        // The host's resource describes the host's telemetry; Candor's events carry only what
        // the catalogue declares, so only the other processors get it.
        for other in &mut self.others {
            other.set_resource(resource);
        }
    }
}
