//! Pacing: a context's calls kept within the rate limits KSeF publishes for it, so that KSeF never has to refuse
//! them with 429 (whose blocks grow when ignored). A [`Pacer`] keeps the count of calls made; whoever shares one
//! (several processes sharing a database, say) shares one budget per context.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use ksef_core::limits::{RateGroup, RateLimit};

/// A future a [`Pacer`] returns.
pub type PacerFuture<'a> = Pin<Box<dyn Future<Output = Result<(), Duration>> + Send + 'a>>;

/// Counts calls per (context, group) in sliding windows.
pub trait Pacer: Send + Sync + std::fmt::Debug {
    /// Takes one call of `group` in `context` if `limit` leaves room in every window, or says how long until it
    /// does. A pacer that cannot count (its store failing) should let the call go: KSeF still has the last word.
    fn take<'a>(&'a self, context: &'a str, group: RateGroup, limit: RateLimit) -> PacerFuture<'a>;
}

/// The windows a pacer counts `limit` in, as (length, calls allowed): each a little longer than KSeF's, because
/// KSeF counts a call when it arrives and a pacer when it lets it go, and calls let go in order may arrive closer
/// together (one waits for a connection, the next does not).
pub fn paced_windows(limit: RateLimit) -> Vec<(Duration, u32)> {
    limit.windows().map(|(secs, allowed)| (Duration::from_secs(secs) + PACING_MARGIN + Duration::from_secs(secs) / 200, allowed)).collect()
}

/// What a window is lengthened by, besides half a percent.
const PACING_MARGIN: Duration = Duration::from_millis(250);

/// A context's limits by group, as `GET /rate-limits` gave them (the published ones where it said nothing).
#[derive(Debug, Clone, Default)]
pub struct RateTable {
    groups: HashMap<RateGroup, RateLimit>,
}

impl RateTable {
    /// The table of `GET /rate-limits`' answer: `{"invoiceSend": {"perSecond": 10, "perMinute": 30, "perHour": 180}, …}`.
    pub fn from_answer(answer: &HashMap<String, ksef_wire::testdata::RateLimit>) -> RateTable {
        let groups = answer
            .iter()
            .filter_map(|(name, l)| RateGroup::parse(name).map(|group| (group, RateLimit::from_published(l.per_second, l.per_minute, l.per_hour))))
            .collect();
        RateTable { groups }
    }

    /// The limit of `group`.
    pub fn limit(&self, group: RateGroup) -> RateLimit {
        self.groups.get(&group).copied().unwrap_or_else(|| group.published())
    }
}

/// A pacer for one process: the calls of the last hour in memory.
#[derive(Debug, Default)]
pub struct LocalPacer {
    calls: std::sync::Mutex<HashMap<(String, RateGroup), std::collections::VecDeque<std::time::Instant>>>,
}

impl LocalPacer {
    fn take_at(&self, context: &str, group: RateGroup, limit: RateLimit, now: std::time::Instant) -> Result<(), Duration> {
        let windows = paced_windows(limit);
        let mut calls = self.calls.lock().expect("pacer lock");
        let log = calls.entry((context.to_owned(), group)).or_default();
        let horizon = windows.iter().map(|(length, _)| *length).max().unwrap_or_default();
        while log.front().is_some_and(|t| now.duration_since(*t) >= horizon) {
            log.pop_front();
        }
        let mut wait = Duration::ZERO;
        for (window, allowed) in windows {
            let inside: Vec<_> = log.iter().filter(|t| now.duration_since(**t) < window).collect();
            if inside.len() >= allowed as usize {
                // A place frees when the call `allowed` places back leaves the window (none, for a limit of 0).
                let leaving = inside.len().checked_sub(allowed as usize).and_then(|i| inside.get(i));
                wait = wait.max(leaving.map_or(window, |t| window.saturating_sub(now.duration_since(**t))));
            }
        }
        if wait > Duration::ZERO {
            return Err(wait);
        }
        log.push_back(now);
        Ok(())
    }
}

impl Pacer for LocalPacer {
    fn take<'a>(&'a self, context: &'a str, group: RateGroup, limit: RateLimit) -> PacerFuture<'a> {
        Box::pin(async move { self.take_at(context, group, limit, std::time::Instant::now()) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fourth_call_in_a_second_waits_for_the_first_to_leave_and_other_contexts_do_not() {
        let pacer = LocalPacer::default();
        let limit = RateLimit { per_second: Some(3), per_minute: Some(5), per_hour: None };
        let t0 = std::time::Instant::now();
        for i in 0..3 {
            pacer.take_at("a", RateGroup::InvoiceSend, limit, t0 + Duration::from_millis(i * 100)).unwrap();
        }
        let wait = pacer.take_at("a", RateGroup::InvoiceSend, limit, t0 + Duration::from_millis(300)).unwrap_err();
        assert_eq!(wait, Duration::from_millis(955), "the second, lengthened by 255 ms, less the 300 ms gone");
        pacer.take_at("b", RateGroup::InvoiceSend, limit, t0).unwrap();
        pacer.take_at("a", RateGroup::InvoiceStatus, limit, t0).unwrap();
        // Once the (lengthened) second is over two more fit the minute's five; the sixth waits for the first to
        // leave the minute (60.55 s).
        pacer.take_at("a", RateGroup::InvoiceSend, limit, t0 + Duration::from_millis(1300)).unwrap();
        pacer.take_at("a", RateGroup::InvoiceSend, limit, t0 + Duration::from_millis(1400)).unwrap();
        let wait = pacer.take_at("a", RateGroup::InvoiceSend, limit, t0 + Duration::from_millis(2000)).unwrap_err();
        assert_eq!(wait, Duration::from_millis(58_550));
    }

    #[test]
    fn a_limit_of_zero_waits_a_whole_window() {
        let pacer = LocalPacer::default();
        let zero = RateLimit { per_second: Some(0), per_minute: None, per_hour: None };
        assert_eq!(pacer.take_at("a", RateGroup::InvoiceSend, zero, std::time::Instant::now()), Err(Duration::from_millis(1255)));
    }

    #[test]
    fn a_table_takes_what_ksef_said_and_the_published_limits_for_the_rest() {
        let answer: HashMap<String, ksef_wire::testdata::RateLimit> =
            serde_json::from_str(r#"{"invoiceSend": {"perSecond": 1, "perMinute": 2, "perHour": -1}, "unknownGroup": {"perSecond": 1, "perMinute": 1, "perHour": 1}}"#).unwrap();
        let table = RateTable::from_answer(&answer);
        assert_eq!(table.limit(RateGroup::InvoiceSend), RateLimit { per_second: Some(1), per_minute: Some(2), per_hour: None });
        assert_eq!(table.limit(RateGroup::SessionList), RateGroup::SessionList.published());
    }
}
