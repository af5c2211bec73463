//! The notice a host shows its own way: handed out once at a time, and recorded as shown only
//! by handing back what was handed out.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// The notice owed to the person now, as [`crate::Telemetry::owed_notice`] hands it to a host
/// that shows it its own way (a dialog, a C host). Show [`OwedNotice::text`], then give it to
/// [`crate::Telemetry::notice_shown`]: only that records the notice as shown, so nothing a
/// host did not get from Candor can release what the notice holds. While one is out, the
/// product hands out no other (two threads never both show it); dropping it unshown leaves
/// the notice owed.
#[derive(Debug)]
#[must_use = "show the text, then hand the notice to Telemetry::notice_shown"]
pub struct OwedNotice {
    text: String,
    out: Out,
}

/// A product's "a notice is out" flag, held: released when dropped.
#[derive(Debug)]
struct Out(Arc<AtomicBool>);

impl Drop for Out {
    fn drop(&mut self) {
        self.0.store(false, Ordering::Release);
    }
}

impl OwedNotice {
    /// What to show: one paragraph per line.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// Whether this notice was handed out by the product whose flag `out` is.
    pub(crate) fn is_from(&self, out: &Arc<AtomicBool>) -> bool {
        Arc::ptr_eq(&self.out.0, out)
    }
}

/// The product's side: whether a notice is out.
#[derive(Debug, Default)]
pub(crate) struct NoticeDesk {
    out: Arc<AtomicBool>,
}

impl NoticeDesk {
    /// Hands out the notice `text()` gives, unless one is out already (then `None`).
    pub(crate) fn hand_out<E>(
        &self,
        text: impl FnOnce() -> Result<Option<String>, E>,
    ) -> Result<Option<OwedNotice>, E> {
        if self
            .out
            .compare_exchange(false, true, Ordering::AcqRel, Ordering::Acquire)
            .is_err()
        {
            return Ok(None);
        }
        // From here the flag is held by `out`, released on every way out unless a notice
        // takes it over.
        let out = Out(Arc::clone(&self.out));
        Ok(text()?.map(|text| OwedNotice { text, out }))
    }

    /// Whether `notice` came from this desk.
    pub(crate) fn issued(&self, notice: &OwedNotice) -> bool {
        notice.is_from(&self.out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn owed() -> Result<Option<String>, ()> {
        Ok(Some("notice".to_owned()))
    }

    #[test]
    fn one_notice_out_at_a_time_and_back_when_dropped() {
        let desk = NoticeDesk::default();
        let first = desk.hand_out(owed).expect("ok").expect("owed");
        assert_eq!(first.text(), "notice");
        assert!(
            desk.hand_out(owed).expect("ok").is_none(),
            "a second while one is out"
        );
        assert!(desk.issued(&first));
        drop(first);
        let again = desk.hand_out(owed).expect("ok").expect("owed again");
        assert!(
            !NoticeDesk::default().issued(&again),
            "another product's desk"
        );
    }

    #[test]
    fn nothing_owed_or_an_error_leaves_nothing_out() {
        let desk = NoticeDesk::default();
        assert!(desk.hand_out(|| Ok::<_, ()>(None)).expect("ok").is_none());
        assert!(desk.hand_out(|| Err::<Option<String>, _>(())).is_err());
        assert!(desk.hand_out(owed).expect("ok").is_some());
    }
}
