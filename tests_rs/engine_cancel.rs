//! How often the loop asks whether the run was cancelled (and the strategy whether it failed):
//! every `CHECK_EVERY_BARS` bars by default, every `check_every_bars()` bars for a strategy that
//! asks for more often (a Python strategy), the first bar included; a cancelled poll stops the
//! loop before the bar it was asked at (conventions in `common`).

mod common;

use std::cell::{Cell, RefCell};

use common::*;
use omega_v2::domain::{Action, Direction};
use omega_v2::engine;
use omega_v2::error::ErrorCode;
use omega_v2::market::Bars;
use omega_v2::strategy::{Strategy, CHECK_EVERY_BARS};

/// Holds, counting the bars it was asked, and asks to be checked every `every` bars.
struct Counting<'a> {
    asked: &'a Cell<usize>,
    every: Option<usize>,
}

impl Strategy for Counting<'_> {
    fn first_signal_index(&self) -> usize {
        0
    }
    fn decide(&mut self, _t: usize, _bars: &Bars, _position: Option<Direction>) -> Action {
        self.asked.set(self.asked.get() + 1);
        Action::Hold
    }
    fn check_every_bars(&self) -> usize {
        self.every.unwrap_or(CHECK_EVERY_BARS)
    }
}

/// The bars done at each poll over `n` bars, and the bars decided, cancelling at poll `stop_at`.
fn polls(n: usize, every: Option<usize>, stop_at: Option<usize>) -> (Vec<u64>, usize, Option<ErrorCode>) {
    let bars = bars(&vec![flat(1.1); n], 0.0001);
    let setup = setup(&bars);
    let (seen, asked) = (RefCell::new(Vec::new()), Cell::new(0));
    let poll = |done: u64| {
        seen.borrow_mut().push(done);
        Some(seen.borrow().len()) == stop_at
    };
    let out = engine::run(Counting { asked: &asked, every }, &setup, &poll);
    (seen.into_inner(), asked.get(), out.err().map(|e| e.code))
}

#[test]
fn the_default_strategy_is_polled_every_check_every_bars() {
    let n = 2 * CHECK_EVERY_BARS + 10;
    let (seen, asked, error) = polls(n, None, None);
    assert_eq!(seen, vec![0, CHECK_EVERY_BARS as u64, 2 * CHECK_EVERY_BARS as u64]);
    assert_eq!((asked, error), (n, None));
}

#[test]
fn a_strategy_that_asks_for_it_is_polled_more_often_and_stops_at_the_cancelled_poll() {
    let (seen, asked, error) = polls(200, Some(64), None);
    assert_eq!((seen, asked, error), (vec![0, 64, 128, 192], 200, None));
    // Cancelled at the third poll (asked before bar 128): bars 0..128 were decided, no more.
    let (seen, asked, error) = polls(200, Some(64), Some(3));
    assert_eq!((seen, asked, error), (vec![0, 64, 128], 128, Some(ErrorCode::RunCancelled)));
}

#[test]
fn a_period_that_is_not_a_power_of_two_rounds_up_to_one() {
    // 48 -> every 64 bars; 0 -> every bar.
    assert_eq!(polls(200, Some(48), None).0, vec![0, 64, 128, 192]);
    assert_eq!(polls(3, Some(0), None).0, vec![0, 1, 2]);
}
