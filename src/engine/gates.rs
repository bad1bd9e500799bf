//! Entry gates of step 4 that do not depend on the strategy: trading sessions and news
//! blackouts. (The position gate and the cooldown are the book's own state.)

use crate::timefmt::minute_of_day;

#[derive(Debug, Clone, Default)]
pub struct EntryGates {
    /// Open sessions as (start, end) minute of the UTC day; `end <= start` crosses midnight.
    /// Empty means always open.
    pub sessions: Vec<(u32, u32)>,
    /// Sorted, non-overlapping news blackout intervals [from, to] in ns.
    pub news_blackouts: Vec<(i64, i64)>,
}

/// Why an entry signal got no order: a gate of this module, or the cooldown after an exit
/// (the book's own state).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Blocked {
    Session,
    News,
    Cooldown,
}

impl Blocked {
    pub fn as_str(self) -> &'static str {
        match self {
            Blocked::Session => "session",
            Blocked::News => "news",
            Blocked::Cooldown => "cooldown",
        }
    }
}

impl EntryGates {
    /// The gate that blocks an entry at bar open time `time_ns`, if any.
    pub fn check(&self, time_ns: i64) -> Option<Blocked> {
        if !self.sessions.is_empty() {
            let minute = minute_of_day(time_ns);
            let open =
                self.sessions
                    .iter()
                    .any(|&(s, e)| if e > s { minute >= s && minute < e } else { minute >= s || minute < e });
            if !open {
                return Some(Blocked::Session);
            }
        }
        // The first blackout ending at or after `time_ns` is the only candidate.
        let i = self.news_blackouts.partition_point(|&(_, to)| to < time_ns);
        if self.news_blackouts.get(i).is_some_and(|&(from, _)| from <= time_ns) {
            return Some(Blocked::News);
        }
        None
    }
}
