//! Typed recorders for the .NET Aspire dashboard's catalogue (`aspire-dashboard`).

use std::collections::BTreeMap;
use std::panic::PanicHookInfo;
use std::sync::Arc;
use std::time::Duration;

use crate::generated::{AspireDashboardPoint, AspireDashboardRecorder};
use crate::input::{Input, RawException};
use crate::record::Record;

/// The dashboard's typed recorder: the generated [`AspireDashboardRecorder`] (one method per
/// catalogue point) behind methods shaped for the dashboard's code, and the duration summaries
/// Candor computes.
#[derive(Debug, Clone)]
pub struct DashboardRecorder<R> {
    points: AspireDashboardRecorder<R>,
}

impl<R: Record> DashboardRecorder<R> {
    /// A recorder sending to `sink`.
    pub fn new(sink: R) -> Self {
        Self {
            points: AspireDashboardRecorder::new(sink),
        }
    }

    /// The generated recorder: every point of the catalogue, each taking its kind of value.
    pub fn points(&self) -> &AspireDashboardRecorder<R> {
        &self.points
    }

    /// A page the user opened, with its settings. Only the catalogue's declared keys are sent
    /// and each value is scrubbed; `page` is sent under the key `page`.
    pub fn page_navigation(&self, page: &str, settings: &[(&str, &str)]) {
        let mut map: BTreeMap<String, String> = settings
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        map.insert("page".to_owned(), page.to_owned());
        self.points.page_navigation(map);
    }

    /// The resource types the application defines; unknown types become the placeholder.
    pub fn resource_types(&self, types: &[&str]) {
        // Not `Name`s: a type outside the catalogue's list becomes its placeholder, and one
        // that is not a name is refused by the preparer with a reason.
        let names = types.iter().map(|t| (*t).to_owned()).collect();
        self.points.sink().record(
            AspireDashboardPoint::ResourceTypes.id(),
            Input::Names(names),
        );
    }

    /// A request's user agent; it is coarsened before it is sent.
    pub fn request_user_agent(&self, user_agent: &str) {
        self.points.request_user_agent(user_agent);
    }

    /// A command the user ran; its name is hashed before it is sent.
    pub fn invoked_command(&self, command: &str) {
        self.points.invoked_commands(command);
    }

    /// The language the browser asked for (`en-US`); anything that is not a language tag is
    /// refused.
    pub fn request_language(&self, tag: &str) {
        self.points.request_language(tag);
    }

    /// The language chosen in the dashboard's settings.
    pub fn dashboard_language(&self, tag: &str) {
        self.points.dashboard_language(tag);
    }

    /// Sends the restart-time summary and starts a new one.
    pub fn resource_restart_times(&self, samples: &mut DurationSamples) {
        self.points.resource_restart_time(samples.take());
    }

    /// Sends the OTel processing-time summary and starts a new one.
    pub fn otel_processing_times(&self, samples: &mut DurationSamples) {
        self.points.otel_processing_time(samples.take());
    }

    /// An unhandled exception.
    pub fn unhandled_exception(&self, exception: RawException) {
        self.points.unhandled_exception(exception);
    }
}

impl<R: Record + Send + Sync + 'static> DashboardRecorder<R> {
    /// Installs a panic hook that records each panic as an unhandled exception (type `panic`,
    /// the panic message, the backtrace as its stack), then runs the hook that was installed
    /// before. The stack is filtered to the catalogue's namespaces like any other.
    pub fn install_panic_hook(self: Arc<Self>) {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info: &PanicHookInfo<'_>| {
            self.unhandled_exception(panic_exception(info));
            previous(info);
        }));
    }
}

/// A panic as an exception.
pub fn panic_exception(info: &PanicHookInfo<'_>) -> RawException {
    let payload = info.payload();
    let message = payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_default();
    RawException {
        type_name: "panic".to_owned(),
        message,
        stack: std::backtrace::Backtrace::force_capture().to_string(),
        log_message: None,
    }
}

/// Durations collected for a summary, in milliseconds, bounded in memory.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DurationSamples {
    ms: Vec<f64>,
    seen: u64,
}

const MAX_DURATION_SAMPLES: usize = 10_000;

impl DurationSamples {
    /// Adds one duration. Beyond 10 000, new samples replace old ones in turn.
    pub fn push(&mut self, elapsed: Duration) {
        let ms = elapsed.as_secs_f64() * 1000.0;
        let slot = usize::try_from(self.seen).unwrap_or(0) % MAX_DURATION_SAMPLES;
        if self.ms.len() < MAX_DURATION_SAMPLES {
            self.ms.push(ms);
        } else {
            self.ms[slot] = ms;
        }
        self.seen += 1;
    }

    fn take(&mut self) -> Vec<f64> {
        self.seen = 0;
        std::mem::take(&mut self.ms)
    }
}
