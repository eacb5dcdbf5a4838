//! Round trips from trades (FIFO lot matching) and the trading KPIs built on them.
//!
//! Conventions (docs/kpi-conventions.md, "Trading"):
//!
//! * Trades are matched per (account, asset), in trade-date order (ties keep input order).
//!   A sell closes the oldest open long lots first; a sell beyond the open long quantity opens
//!   a short with the rest, which later buys close first-in-first-out (and a buy beyond the
//!   open short quantity opens a long). Trades with a quantity of zero or less are ignored.
//! * Every (open lot, closing trade) match is one [`RoundTrip`]. Fees are apportioned by
//!   quantity: the matched part carries `fees × matched / quantity` of the opening and of the
//!   closing trade; the last part of a trade or lot takes whatever fee is left, so the fees of
//!   all parts add up exactly to the trade's fee.
//! * `pnl` (trade currency) = `(exit − entry) × qty − fees` for a long,
//!   `(entry − exit) × qty − fees` for a short; `return_pct = pnl / (entry × qty)`.
//! * A round trip with `pnl > 0` is a win, `< 0` a loss. A breakeven (`pnl == 0`) counts as a
//!   round trip but neither as a win nor a loss (as quantstats): it is left out of the win
//!   rate and the averages, and it ends a winning or losing streak.

use std::collections::{HashMap, VecDeque};

use chrono::NaiveDate;
use rust_decimal::prelude::ToPrimitive;
use rust_decimal::Decimal;
use serde::Serialize;

use crate::kpi::{Entry, Metric, Unit};
use crate::model::{Side, Trade};

/// One matched open and close.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RoundTrip {
    pub account_id: String,
    pub asset_id: String,
    /// The currency of the opening trade; `pnl` is in it.
    pub currency: String,
    pub open_date: NaiveDate,
    pub close_date: NaiveDate,
    pub quantity: Decimal,
    pub entry_price: Decimal,
    pub exit_price: Decimal,
    /// Opening plus closing fees apportioned to this part.
    pub fees: Decimal,
    pub pnl: Decimal,
    pub return_pct: f64,
    pub holding_days: i64,
    pub long: bool,
}

/// What is still open after matching: the unmatched rest of an opening trade.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OpenLot {
    pub account_id: String,
    pub asset_id: String,
    pub currency: String,
    pub open_date: NaiveDate,
    pub quantity: Decimal,
    pub price: Decimal,
    /// The opening fee still attached to the open quantity.
    pub fees: Decimal,
    pub long: bool,
}

/// `fees × part / whole`, or all the fees when `part` is the whole.
fn share(fees: Decimal, part: Decimal, whole: Decimal) -> Decimal {
    if part >= whole {
        fees
    } else {
        fees * part / whole
    }
}

/// Match `trades` first-in-first-out into round trips and the lots left open.
/// Round trips come in processing order (by close date); open lots by (account, asset)
/// in first-seen order, oldest first.
pub fn match_fifo(trades: &[Trade]) -> (Vec<RoundTrip>, Vec<OpenLot>) {
    let mut order: Vec<&Trade> = trades.iter().collect();
    order.sort_by_key(|t| t.trade_date); // stable: ties keep input order
    let mut books: HashMap<(&str, &str), VecDeque<OpenLot>> = HashMap::new();
    let mut keys: Vec<(&str, &str)> = Vec::new();
    let mut trips = Vec::new();
    for trade in order {
        if trade.quantity <= Decimal::ZERO {
            continue;
        }
        let key = (trade.account_id.as_str(), trade.asset_id.as_str());
        let book = books.entry(key).or_insert_with(|| {
            keys.push(key);
            VecDeque::new()
        });
        let buying = trade.side == Side::Buy;
        let mut left = trade.quantity;
        let mut fees_left = trade.fees;
        // Close lots of the opposite direction, oldest first.
        while left > Decimal::ZERO {
            let Some(lot) = book.front_mut() else { break };
            if lot.long == buying {
                break;
            }
            let qty = left.min(lot.quantity);
            let open_fee = share(lot.fees, qty, lot.quantity);
            let close_fee = share(fees_left, qty, left);
            let fees = open_fee + close_fee;
            let gross = if lot.long {
                (trade.price - lot.price) * qty
            } else {
                (lot.price - trade.price) * qty
            };
            let pnl = gross - fees;
            let basis = lot.price * qty;
            trips.push(RoundTrip {
                account_id: trade.account_id.clone(),
                asset_id: trade.asset_id.clone(),
                currency: lot.currency.clone(),
                open_date: lot.open_date,
                close_date: trade.trade_date,
                quantity: qty,
                entry_price: lot.price,
                exit_price: trade.price,
                fees,
                pnl,
                return_pct: if basis.is_zero() {
                    f64::NAN
                } else {
                    (pnl / basis).normalize().to_f64().unwrap_or(f64::NAN)
                },
                holding_days: (trade.trade_date - lot.open_date).num_days(),
                long: lot.long,
            });
            lot.quantity -= qty;
            lot.fees -= open_fee;
            left -= qty;
            fees_left -= close_fee;
            if lot.quantity.is_zero() {
                book.pop_front();
            }
        }
        if left > Decimal::ZERO {
            book.push_back(OpenLot {
                account_id: trade.account_id.clone(),
                asset_id: trade.asset_id.clone(),
                currency: trade.currency.clone(),
                open_date: trade.trade_date,
                quantity: left,
                price: trade.price,
                fees: fees_left,
                long: buying,
            });
        }
    }
    let open = keys
        .iter()
        .flat_map(|k| books.remove(k).unwrap_or_default())
        .collect();
    (trips, open)
}

/// Money totals of the round trips, per currency (money in different currencies is never
/// added up).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TradingTotals {
    pub currency: String,
    pub round_trips: usize,
    /// Σ pnl of the winners (≥ 0).
    pub gross_profit: Decimal,
    /// Σ pnl of the losers (≤ 0).
    pub gross_loss: Decimal,
    pub net_pl: Decimal,
    pub fees: Decimal,
}

/// Totals per currency, in first-seen order.
pub fn totals(round_trips: &[RoundTrip]) -> Vec<TradingTotals> {
    let mut out: Vec<TradingTotals> = Vec::new();
    for trip in round_trips {
        let i = match out.iter().position(|t| t.currency == trip.currency) {
            Some(i) => i,
            None => {
                out.push(TradingTotals {
                    currency: trip.currency.clone(),
                    round_trips: 0,
                    gross_profit: Decimal::ZERO,
                    gross_loss: Decimal::ZERO,
                    net_pl: Decimal::ZERO,
                    fees: Decimal::ZERO,
                });
                out.len() - 1
            }
        };
        let t = &mut out[i];
        t.round_trips += 1;
        if trip.pnl > Decimal::ZERO {
            t.gross_profit += trip.pnl;
        } else {
            t.gross_loss += trip.pnl;
        }
        t.net_pl += trip.pnl;
        t.fees += trip.fees;
    }
    out
}

const NO_TRIPS: &str = "no closed trades";
const NO_LOSSES: &str = "no losing trades";
const NO_WINS: &str = "no winning trades";
const ALL_EVEN: &str = "every closed trade broke even";

fn mean(values: &[f64]) -> Option<f64> {
    (!values.is_empty()).then(|| values.iter().sum::<f64>() / values.len() as f64)
}

/// The longest run of consecutive round trips (by close date) satisfying `pred`.
fn longest_streak(trips: &[&RoundTrip], pred: impl Fn(&RoundTrip) -> bool) -> usize {
    let (mut best, mut run) = (0, 0);
    for trip in trips {
        run = if pred(trip) { run + 1 } else { 0 };
        best = best.max(run);
    }
    best
}

/// The trading KPIs of `round_trips`. `traded_notional` (Σ |qty × price| of the period's
/// trades, base currency), `average_nav` and `years` only feed the turnover.
pub fn trading_kpis(
    round_trips: &[RoundTrip],
    traded_notional: Decimal,
    average_nav: Option<Decimal>,
    years: f64,
) -> Vec<Entry> {
    let turnover = match average_nav {
        None => Metric::unavailable("no average NAV"),
        Some(nav) if nav <= Decimal::ZERO => Metric::unavailable("average NAV is not positive"),
        Some(_) if years.is_nan() || years <= 0.0 => {
            Metric::unavailable("the period has no length")
        }
        Some(nav) => Metric::from_f64(
            (traded_notional / nav)
                .normalize()
                .to_f64()
                .unwrap_or(f64::NAN)
                / years,
            "overflow",
        ),
    };
    let turnover = Entry::new("turnover", "Turnover (ann.)", Unit::Percent, turnover);
    let count = Entry::new(
        "round_trips",
        "Round trips",
        Unit::Count,
        Metric::Value(round_trips.len() as f64),
    );
    let mut ordered: Vec<&RoundTrip> = round_trips.iter().collect();
    ordered.sort_by_key(|t| t.close_date);

    let wins: Vec<f64> = ordered
        .iter()
        .filter(|t| t.pnl > Decimal::ZERO)
        .map(|t| t.return_pct)
        .collect();
    let losses: Vec<f64> = ordered
        .iter()
        .filter(|t| t.pnl < Decimal::ZERO)
        .map(|t| t.return_pct)
        .collect();
    let decisive = wins.len() + losses.len();
    let absent = |why: &str| Metric::unavailable(why);
    let none_closed = round_trips.is_empty();
    let why_no_rate = if none_closed { NO_TRIPS } else { ALL_EVEN };

    let win_rate = (decisive > 0).then(|| wins.len() as f64 / decisive as f64);
    let avg_win = mean(&wins);
    let avg_loss = mean(&losses);
    let payoff = match (avg_win, avg_loss) {
        (Some(w), Some(l)) if l != 0.0 => Metric::from_f64(w / l.abs(), "overflow"),
        _ if none_closed => absent(NO_TRIPS),
        (_, None) => absent(NO_LOSSES),
        (None, _) => absent(NO_WINS),
        _ => absent("losses average zero"),
    };
    let (gross_profit, gross_loss) =
        ordered
            .iter()
            .fold((Decimal::ZERO, Decimal::ZERO), |(p, l), t| {
                if t.pnl > Decimal::ZERO {
                    (p + t.pnl, l)
                } else {
                    (p, l + t.pnl)
                }
            });
    let one_currency = ordered.windows(2).all(|w| w[0].currency == w[1].currency);
    let profit_factor = if none_closed {
        absent(NO_TRIPS)
    } else if !one_currency {
        absent("round trips in several currencies")
    } else if gross_loss.is_zero() {
        absent(NO_LOSSES)
    } else {
        Metric::from_f64(
            (gross_profit / -gross_loss)
                .normalize()
                .to_f64()
                .unwrap_or(f64::NAN),
            "overflow",
        )
    };
    let expectancy = match win_rate {
        None => absent(why_no_rate),
        Some(p) => Metric::from_f64(
            p * avg_win.unwrap_or(0.0) + (1.0 - p) * avg_loss.unwrap_or(0.0),
            "overflow",
        ),
    };
    let kelly = match (win_rate, &payoff) {
        (Some(p), Metric::Value(b)) if *b > 0.0 => Metric::from_f64(p - (1.0 - p) / b, "overflow"),
        (Some(_), Metric::Value(_)) => absent(NO_WINS),
        (_, absent_payoff) => absent_payoff.clone(),
    };
    let holding: Vec<f64> = ordered.iter().map(|t| t.holding_days as f64).collect();
    let streak = |win: bool| {
        if none_closed {
            absent(NO_TRIPS)
        } else {
            let n = longest_streak(&ordered, |t| {
                if win {
                    t.pnl > Decimal::ZERO
                } else {
                    t.pnl < Decimal::ZERO
                }
            });
            Metric::Value(n as f64)
        }
    };
    let or_absent = |v: Option<f64>, why: &str| match v {
        Some(v) => Metric::from_f64(v, "overflow"),
        None if none_closed => absent(NO_TRIPS),
        None => absent(why),
    };
    vec![
        count,
        Entry::new(
            "win_rate",
            "Win rate",
            Unit::Percent,
            or_absent(win_rate, ALL_EVEN),
        ),
        Entry::new(
            "avg_win",
            "Average win",
            Unit::SignedPercent,
            or_absent(avg_win, NO_WINS),
        ),
        Entry::new(
            "avg_loss",
            "Average loss",
            Unit::SignedPercent,
            or_absent(avg_loss, NO_LOSSES),
        ),
        Entry::new("payoff_ratio", "Payoff ratio", Unit::Ratio, payoff),
        Entry::new("profit_factor", "Profit factor", Unit::Ratio, profit_factor),
        Entry::new("expectancy", "Expectancy", Unit::SignedPercent, expectancy),
        Entry::new("kelly", "Kelly criterion", Unit::SignedPercent, kelly),
        Entry::new(
            "longest_win_streak",
            "Longest win streak",
            Unit::Count,
            streak(true),
        ),
        Entry::new(
            "longest_loss_streak",
            "Longest loss streak",
            Unit::Count,
            streak(false),
        ),
        Entry::new(
            "avg_holding_days",
            "Average holding (days)",
            Unit::Ratio,
            or_absent(mean(&holding), NO_TRIPS),
        ),
        turnover,
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dec(text: &str) -> Decimal {
        text.parse().unwrap()
    }

    fn d(day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2024, 3, day).unwrap()
    }

    fn trade(asset: &str, day: u32, side: Side, qty: &str, price: &str, fees: &str) -> Trade {
        Trade {
            id: format!("{asset}{day}{qty}"),
            account_id: "acc".into(),
            asset_id: asset.into(),
            broker: "b".into(),
            broker_trade_id: "x".into(),
            side,
            quantity: dec(qty),
            price: dec(price),
            fees: dec(fees),
            currency: "USD".into(),
            trade_date: d(day),
            settle_date: d(day),
        }
    }

    use Side::{Buy, Sell};

    fn kpis(trips: &[RoundTrip]) -> HashMap<&'static str, Metric> {
        trading_kpis(trips, dec("0"), None, 1.0)
            .into_iter()
            .map(|e| (e.key, e.metric))
            .collect()
    }

    fn value(m: &HashMap<&'static str, Metric>, key: &str) -> f64 {
        m[key]
            .value()
            .unwrap_or_else(|| panic!("{key}: {:?}", m[key]))
    }

    #[test]
    fn partial_fills_close_the_oldest_lot_first_with_fees_by_quantity() {
        // Buy 100 @10 (fee 3), buy 50 @12 (fee 1.5), sell 120 @15 (fee 6), sell 30 @9 (fee 3).
        let trades = [
            trade("A", 1, Buy, "100", "10", "3"),
            trade("A", 2, Buy, "50", "12", "1.5"),
            trade("A", 5, Sell, "120", "15", "6"),
            trade("A", 8, Sell, "30", "9", "3"),
        ];
        let (trips, open) = match_fifo(&trades);
        assert!(open.is_empty());
        let got: Vec<_> = trips
            .iter()
            .map(|t| {
                (
                    t.open_date,
                    t.close_date,
                    t.quantity,
                    t.entry_price,
                    t.fees,
                    t.pnl,
                )
            })
            .collect();
        // Hand-derived:
        // 1) 100 of lot 1 by sell 1: fees 3 + 6×100/120 = 8; pnl (15−10)×100 − 8 = 492.
        // 2) 20 of lot 2 by sell 1: fees 1.5×20/50 = 0.6 + the rest of 6 = 1; (15−12)×20 − 1.6 = 58.4.
        // 3) 30 of lot 2 by sell 2: fees 0.9 + 3 = 3.9; (9−12)×30 − 3.9 = −93.9.
        let want = vec![
            (d(1), d(5), dec("100"), dec("10"), dec("8"), dec("492")),
            (d(2), d(5), dec("20"), dec("12"), dec("1.6"), dec("58.4")),
            (d(2), d(8), dec("30"), dec("12"), dec("3.9"), dec("-93.9")),
        ];
        assert_eq!(got, want);
        assert!((trips[0].return_pct - 0.492).abs() < 1e-12);
        assert!((trips[2].return_pct - (-93.9 / 360.0)).abs() < 1e-12);
        assert_eq!(trips[1].holding_days, 3);
        // Every cent of fees is accounted for.
        let fees: Decimal = trips.iter().map(|t| t.fees).sum();
        assert_eq!(fees, dec("13.5"));
        let t = &totals(&trips)[0];
        assert_eq!(
            (t.gross_profit, t.gross_loss, t.net_pl),
            (dec("550.4"), dec("-93.9"), dec("456.5"))
        );
        // Net P/L = sells − buys − fees = (1800 + 270) − (1000 + 600) − 13.5.
        assert_eq!(t.net_pl, dec("2070") - dec("1600") - dec("13.5"));
    }

    #[test]
    fn fees_split_in_thirds_still_add_up() {
        let trades = [
            trade("A", 1, Buy, "3", "10", "1"),
            trade("A", 2, Sell, "1", "10", "0"),
            trade("A", 3, Sell, "1", "10", "0"),
            trade("A", 4, Sell, "1", "10", "0"),
        ];
        let (trips, _) = match_fifo(&trades);
        let fees: Decimal = trips.iter().map(|t| t.fees).sum();
        assert_eq!(fees, dec("1"));
        assert_eq!(trips[2].fees, dec("1") - trips[0].fees - trips[1].fees);
    }

    #[test]
    fn a_sell_beyond_the_long_flips_to_a_short() {
        // Long 10 @100; sell 15 @110 closes 10 and opens short 5; buy 5 @ 90 closes the short.
        let trades = [
            trade("B", 1, Buy, "10", "100", "0"),
            trade("B", 4, Sell, "15", "110", "3"),
            trade("B", 9, Buy, "8", "90", "0"),
        ];
        let (trips, open) = match_fifo(&trades);
        assert_eq!(trips.len(), 2);
        // Long: (110 − 100) × 10 − 3 × 10/15 = 98.
        assert!(trips[0].long);
        assert_eq!(trips[0].pnl, dec("98"));
        // Short 5 @110 carrying the rest of the fee (1), closed @90: (110 − 90) × 5 − 1 = 99.
        assert!(!trips[1].long);
        assert_eq!(
            (trips[1].open_date, trips[1].quantity, trips[1].pnl),
            (d(4), dec("5"), dec("99"))
        );
        assert!((trips[1].return_pct - 99.0 / 550.0).abs() < 1e-12);
        // The buy of 8 closed the 5 short and opened a long of 3.
        assert_eq!(open.len(), 1);
        assert_eq!(
            (open[0].long, open[0].quantity, open[0].price),
            (true, dec("3"), dec("90"))
        );
    }

    #[test]
    fn matching_is_per_account_and_asset_by_trade_date_then_input_order() {
        let mut other_account = trade("A", 2, Sell, "5", "20", "0");
        other_account.account_id = "acc2".into();
        let trades = [
            trade("A", 3, Sell, "5", "12", "0"),
            trade("A", 1, Buy, "5", "10", "0"),
            other_account,
            trade("C", 1, Buy, "1", "1", "0"),
            // Same day: input order decides, so this buy opens before the sell closes it.
            trade("C", 1, Sell, "1", "2", "0"),
        ];
        let (trips, open) = match_fifo(&trades);
        let pnl: Vec<_> = trips.iter().map(|t| (t.asset_id.as_str(), t.pnl)).collect();
        assert_eq!(pnl, vec![("C", dec("1")), ("A", dec("10"))]);
        assert_eq!(open.len(), 1);
        assert_eq!((open[0].account_id.as_str(), open[0].long), ("acc2", false));
    }

    fn trip(close_day: u32, pnl: &str, ret: f64, days: i64) -> RoundTrip {
        RoundTrip {
            account_id: "acc".into(),
            asset_id: "A".into(),
            currency: "USD".into(),
            open_date: d(1),
            close_date: d(close_day),
            quantity: dec("1"),
            entry_price: dec("100"),
            exit_price: dec("100"),
            fees: Decimal::ZERO,
            pnl: dec(pnl),
            return_pct: ret,
            holding_days: days,
            long: true,
        }
    }

    #[test]
    fn kpis_by_hand() {
        // By close date: W(+10%, 100) W(+20%, 300) L(−10%, −100) E(0) W(+6%, 60) L(−5%, −50) L(−15%, −150)
        let trips = [
            trip(7, "-150", -0.15, 6),
            trip(1, "100", 0.10, 1),
            trip(2, "300", 0.20, 2),
            trip(3, "-100", -0.10, 3),
            trip(4, "0", 0.0, 4),
            trip(5, "60", 0.06, 5),
            trip(6, "-50", -0.05, 7),
        ];
        let m = kpis(&trips);
        assert_eq!(value(&m, "round_trips"), 7.0);
        // The breakeven is neither: 3 wins out of 6 decisive trips.
        assert_eq!(value(&m, "win_rate"), 0.5);
        let avg_win = (0.10 + 0.20 + 0.06) / 3.0;
        let avg_loss = (-0.15 - 0.10 - 0.05) / 3.0;
        assert!((value(&m, "avg_win") - avg_win).abs() < 1e-15);
        assert!((value(&m, "avg_loss") - avg_loss).abs() < 1e-15);
        assert!((value(&m, "payoff_ratio") - 1.2).abs() < 1e-12);
        // Profit factor in money: 460 / 300.
        assert!((value(&m, "profit_factor") - 460.0 / 300.0).abs() < 1e-12);
        assert!((value(&m, "expectancy") - (0.5 * avg_win + 0.5 * avg_loss)).abs() < 1e-15);
        assert!((value(&m, "kelly") - (0.5 - 0.5 / 1.2)).abs() < 1e-12);
        // W W L E W L L: the breakeven ends the loss run; longest wins 2, losses 2.
        assert_eq!(value(&m, "longest_win_streak"), 2.0);
        assert_eq!(value(&m, "longest_loss_streak"), 2.0);
        assert!((value(&m, "avg_holding_days") - 4.0).abs() < 1e-12);
        assert_eq!(m["turnover"], Metric::unavailable("no average NAV"));
    }

    #[test]
    fn all_winners_and_no_trades() {
        let trips = [trip(1, "10", 0.1, 1), trip(2, "30", 0.3, 3)];
        let m = kpis(&trips);
        assert_eq!(value(&m, "win_rate"), 1.0);
        assert_eq!(m["profit_factor"], Metric::unavailable("no losing trades"));
        assert_eq!(m["payoff_ratio"], Metric::unavailable("no losing trades"));
        assert_eq!(m["kelly"], Metric::unavailable("no losing trades"));
        assert_eq!(m["avg_loss"], Metric::unavailable("no losing trades"));
        assert!((value(&m, "expectancy") - 0.2).abs() < 1e-15);
        assert_eq!(value(&m, "longest_loss_streak"), 0.0);
        assert_eq!(value(&m, "longest_win_streak"), 2.0);

        let all_losers = kpis(&[trip(1, "-10", -0.1, 1)]);
        assert_eq!(
            all_losers["payoff_ratio"],
            Metric::unavailable("no winning trades")
        );
        assert_eq!(all_losers["profit_factor"], Metric::Value(0.0));
        assert_eq!(all_losers["win_rate"], Metric::Value(0.0));

        let m = kpis(&[]);
        assert_eq!(m["round_trips"], Metric::Value(0.0));
        for (key, metric) in &m {
            if *key != "round_trips" && *key != "turnover" {
                assert_eq!(metric, &Metric::unavailable("no closed trades"), "{key}");
            }
        }
        let evens = kpis(&[trip(1, "0", 0.0, 1)]);
        assert_eq!(
            evens["win_rate"],
            Metric::unavailable("every closed trade broke even")
        );
    }

    #[test]
    fn turnover_is_notional_over_average_nav_per_year() {
        let entries = trading_kpis(&[], dec("5000000"), Some(dec("2000000")), 2.0);
        let turnover = entries.iter().find(|e| e.key == "turnover").unwrap();
        assert_eq!(turnover.metric, Metric::Value(1.25));
        let entries = trading_kpis(&[], dec("1"), Some(dec("0")), 1.0);
        assert!(matches!(
            entries.last().unwrap().metric,
            Metric::Unavailable(_)
        ));
    }
}
