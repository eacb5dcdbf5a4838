//! The shape of the shared tables the laptop mirrors: names, columns and their kinds, in the
//! order a sync applies them (parents before children).
//!
//! Both edges read this one list, so Postgres' `COPY` column order, the DuckDB mirrors and the
//! verification checksums cannot drift apart. Every mirrored table also has `id` (uuid) and
//! `updated_at` (timestamptz), which are not listed in [`SharedTable::columns`].

/// How a column is stored on both sides.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColumnKind {
    Uuid,
    Text,
    Date,
    /// Money, quantities and ratios: Postgres `numeric`, DuckDB `DECIMAL(38,10)`.
    Decimal,
    Integer,
    Boolean,
}

impl ColumnKind {
    /// The DuckDB type of the mirror column.
    pub fn duckdb_type(self) -> &'static str {
        match self {
            ColumnKind::Uuid => "UUID",
            ColumnKind::Text => "VARCHAR",
            ColumnKind::Date => "DATE",
            ColumnKind::Decimal => "DECIMAL(38,10)",
            ColumnKind::Integer => "INTEGER",
            ColumnKind::Boolean => "BOOLEAN",
        }
    }
}

/// One mirrored table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SharedTable {
    pub name: &'static str,
    /// Columns besides `id` and `updated_at`, in mirror order.
    pub columns: &'static [(&'static str, ColumnKind)],
}

impl SharedTable {
    /// Every column name in mirror order: `id`, the listed columns, `updated_at`.
    pub fn all_columns(&self) -> Vec<&'static str> {
        let mut names = vec!["id"];
        names.extend(self.columns.iter().map(|(name, _)| *name));
        names.push("updated_at");
        names
    }

    /// The money and quantity columns, whose exact sums the sync verification compares.
    pub fn decimal_columns(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.columns
            .iter()
            .filter(|(_, kind)| *kind == ColumnKind::Decimal)
            .map(|(name, _)| *name)
    }
}

use ColumnKind::*;

/// The mirrored tables, parents first.
pub const SHARED_TABLES: &[SharedTable] = &[
    SharedTable {
        name: "portfolios",
        columns: &[
            ("code", Text),
            ("name", Text),
            ("base_currency", Text),
            ("strategy", Text),
            ("inception", Date),
            ("benchmark", Text),
            ("status", Text),
            ("lp_visible", Boolean),
        ],
    },
    SharedTable {
        name: "assets",
        columns: &[
            ("symbol", Text),
            ("name", Text),
            ("asset_class", Text),
            ("sector", Text),
            ("country", Text),
            ("currency", Text),
            ("issuer", Text),
            ("rating", Text),
            ("maturity", Date),
            ("coupon", Decimal),
            ("modified_duration", Decimal),
            ("convexity", Decimal),
            ("spread_duration", Decimal),
            ("beta", Decimal),
            ("avg_daily_volume", Decimal),
            ("liquidity_class", Text),
            ("redemption_notice_days", Integer),
            ("lp_visible", Boolean),
        ],
    },
    SharedTable {
        name: "prices",
        columns: &[("asset_id", Uuid), ("date", Date), ("close", Decimal)],
    },
    SharedTable {
        name: "fx_rates",
        columns: &[("pair", Text), ("date", Date), ("rate", Decimal)],
    },
    SharedTable {
        name: "sector_coefficients",
        columns: &[
            ("sector", Text),
            ("macro_factor", Text),
            ("elasticity", Decimal),
            ("effective_date", Date),
        ],
    },
    SharedTable {
        name: "accounts",
        columns: &[
            ("portfolio_id", Uuid),
            ("broker", Text),
            ("broker_account_ref", Text),
        ],
    },
    SharedTable {
        name: "trades",
        columns: &[
            ("account_id", Uuid),
            ("asset_id", Uuid),
            ("broker", Text),
            ("broker_trade_id", Text),
            ("side", Text),
            ("quantity", Decimal),
            ("price", Decimal),
            ("fees", Decimal),
            ("currency", Text),
            ("trade_date", Date),
            ("settle_date", Date),
        ],
    },
    SharedTable {
        name: "positions",
        columns: &[
            ("portfolio_id", Uuid),
            ("asset_id", Uuid),
            ("date", Date),
            ("quantity", Decimal),
            ("market_value", Decimal),
        ],
    },
    SharedTable {
        name: "portfolio_nav",
        columns: &[
            ("portfolio_id", Uuid),
            ("date", Date),
            ("nav", Decimal),
            ("external_flow", Decimal),
            ("gross_exposure", Decimal),
            ("net_exposure", Decimal),
        ],
    },
    SharedTable {
        name: "portfolio_allocations",
        columns: &[
            ("portfolio_id", Uuid),
            ("bucket", Text),
            ("target_weight", Decimal),
            ("actual_weight", Decimal),
            ("liquid", Boolean),
        ],
    },
    SharedTable {
        name: "investors",
        columns: &[
            ("name", Text),
            ("classification", Text),
            ("kyc_status", Text),
            ("login_role", Text),
        ],
    },
    SharedTable {
        name: "fund_flows",
        columns: &[
            ("portfolio_id", Uuid),
            ("investor_id", Uuid),
            ("kind", Text),
            ("amount", Decimal),
            ("notice_date", Date),
            ("dealing_date", Date),
            ("status", Text),
        ],
    },
    SharedTable {
        name: "liquidity_terms",
        columns: &[
            ("portfolio_id", Uuid),
            ("dealing_frequency", Text),
            ("notice_days", Integer),
            ("gate_pct", Decimal),
            ("lockup_days", Integer),
        ],
    },
    SharedTable {
        name: "risk_limits",
        columns: &[
            ("portfolio_id", Uuid),
            ("metric", Text),
            ("threshold", Decimal),
            ("severity", Text),
        ],
    },
];

/// Shared tables Ballast knows and deliberately does not mirror (written from the laptop
/// through the outbox, or server-side bookkeeping). Any other table a sync finds is reported
/// as new.
pub const UNMIRRORED_TABLES: &[&str] = &[
    "tombstones",
    "scenarios",
    "scenario_results",
    "fund_events",
    "audit_trail",
    "annotations",
    "_sqlx_migrations",
];

/// What a sync compares between Postgres and the laptop for one table: the row count, the sum
/// of every row's `updated_at` in microseconds (a missed update or a stale row changes it) and
/// the exact sum of each money and quantity column. Both sides compute it in SQL; values are
/// kept as normalised decimal text so neither side's number type can round them.
///
/// Every figure is a sum, so checksums add up: the table after a delta is the table before,
/// plus the rows that arrived, minus the versions they replaced ([`TableChecksum::derive`]).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct TableChecksum {
    pub rows: i64,
    pub versions: String,
    /// `(column, exact sum)` for each of [`SharedTable::decimal_columns`].
    pub sums: Vec<(String, String)>,
}

impl TableChecksum {
    /// From the texts of `count, version sum, column sums…` in that order.
    pub fn from_texts(table: &SharedTable, texts: &[String]) -> TableChecksum {
        let text = |i: usize| texts.get(i).map(String::as_str).unwrap_or("");
        TableChecksum {
            rows: text(0).parse().unwrap_or(-1),
            versions: normalize_decimal(text(1)),
            sums: table
                .decimal_columns()
                .enumerate()
                .map(|(i, column)| (column.to_string(), normalize_decimal(text(i + 2))))
                .collect(),
        }
    }

    /// The checksum of no rows.
    pub fn empty(table: &SharedTable) -> TableChecksum {
        TableChecksum::from_texts(table, &["0".to_string()])
    }

    /// `self + added − removed`, figure by figure, exactly; `None` if a figure is not a
    /// number or leaves the exact range (28 significant digits), so the caller checks the
    /// whole table instead.
    pub fn derive(&self, added: &TableChecksum, removed: &TableChecksum) -> Option<TableChecksum> {
        use rust_decimal::Decimal;
        use std::str::FromStr;
        let versions = self.versions.parse::<i128>().ok()? + added.versions.parse::<i128>().ok()?
            - removed.versions.parse::<i128>().ok()?;
        let mut sums = Vec::with_capacity(self.sums.len());
        for (((column, base), (c2, plus)), (c3, minus)) in
            self.sums.iter().zip(&added.sums).zip(&removed.sums)
        {
            if column != c2 || column != c3 {
                return None;
            }
            let total = Decimal::from_str(base)
                .ok()?
                .checked_add(Decimal::from_str(plus).ok()?)?
                .checked_sub(Decimal::from_str(minus).ok()?)?;
            sums.push((column.clone(), normalize_decimal(&total.to_string())));
        }
        if sums.len() != self.sums.len() || added.sums.len() != removed.sums.len() {
            return None;
        }
        Some(TableChecksum {
            rows: self.rows + added.rows - removed.rows,
            versions: versions.to_string(),
            sums,
        })
    }

    /// The first difference from `other`, in words, or `None` when they agree.
    pub fn difference(&self, other: &TableChecksum) -> Option<String> {
        if self.rows != other.rows {
            return Some(format!("{} rows vs {}", self.rows, other.rows));
        }
        if self.versions != other.versions {
            return Some("row versions differ (updated_at)".to_string());
        }
        self.sums
            .iter()
            .zip(&other.sums)
            .find(|(a, b)| a != b)
            .map(|((column, a), (_, b))| format!("sum of {column} {a} vs {b}"))
    }
}

/// Decimal text without its trailing fractional zeros: `"12.5000"` → `"12.5"`, `"3.000"` →
/// `"3"`, `"0.0"` → `"0"`, `"-0.00"` → `"0"`. Postgres and DuckDB print different scales.
pub fn normalize_decimal(text: &str) -> String {
    let text = text.trim();
    let trimmed = if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.')
    } else {
        text
    };
    match trimmed {
        "" | "-" | "-0" => "0".to_string(),
        t => t.to_string(),
    }
}

/// The mirrored table called `name`.
pub fn shared_table(name: &str) -> Option<&'static SharedTable> {
    SHARED_TABLES.iter().find(|t| t.name == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_table_is_listed_once_and_columns_are_unique() {
        let mut names: Vec<_> = SHARED_TABLES.iter().map(|t| t.name).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), SHARED_TABLES.len());
        for table in SHARED_TABLES {
            let mut columns = table.all_columns();
            columns.sort();
            columns.dedup();
            assert_eq!(columns.len(), table.columns.len() + 2, "{}", table.name);
            assert!(!UNMIRRORED_TABLES.contains(&table.name));
        }
        assert_eq!(
            shared_table("prices")
                .unwrap()
                .decimal_columns()
                .collect::<Vec<_>>(),
            ["close"]
        );
        assert!(shared_table("annotations").is_none());
    }

    #[test]
    fn checksums_add_and_subtract_exactly() {
        let positions = shared_table("positions").unwrap();
        let sum = |rows: &str, versions: &str, quantity: &str, value: &str| {
            TableChecksum::from_texts(
                positions,
                &[rows, versions, quantity, value].map(str::to_string),
            )
        };
        // (before, arrived, replaced, after)
        let cases = [
            // two rows updated, one inserted, one deleted
            (
                sum("1000", "1700000000000000000", "5000.5", "123456789.12"),
                sum("3", "5100000000000000", "30.25", "300.10"),
                sum("3", "5099999999999990", "30", "-0.02"),
                sum("1000", "1700000000000000010", "5000.75", "123457089.24"),
            ),
            // nothing changed
            (
                sum("7", "42", "1.5", "2.5"),
                sum("0", "0", "0", "0"),
                sum("0", "0", "0", "0"),
                sum("7", "42", "1.5", "2.5"),
            ),
            // every row deleted
            (
                sum("2", "10", "0.0000000001", "-5"),
                sum("0", "0", "0", "0"),
                sum("2", "10", "0.0000000001", "-5"),
                sum("0", "0", "0", "0"),
            ),
            // version sums beyond 64 bits
            (
                sum("1", "170141183460469231731687303715", "0", "0"),
                sum("1", "1000", "0", "0"),
                sum("0", "0", "0", "0"),
                sum("2", "170141183460469231731687304715", "0", "0"),
            ),
        ];
        for (before, arrived, replaced, after) in cases {
            assert_eq!(before.derive(&arrived, &replaced).as_ref(), Some(&after));
        }
        let not_a_number = sum("1", "x", "0", "0");
        assert_eq!(not_a_number.derive(&not_a_number, &not_a_number), None);
        let too_wide = sum("1", "0", "99999999999999999999999999999", "0");
        assert_eq!(too_wide.derive(&too_wide, &sum("0", "0", "0", "0")), None);
        assert_eq!(TableChecksum::empty(positions), sum("0", "0", "0", "0"));
    }

    #[test]
    fn decimals_compare_across_scales() {
        let cases = [
            ("12.5000", "12.5"),
            ("3.000", "3"),
            ("100", "100"),
            ("100.0000000000", "100"),
            ("0.0000000000", "0"),
            ("-0.00", "0"),
            ("-1.2300", "-1.23"),
            ("0", "0"),
        ];
        for (text, want) in cases {
            assert_eq!(normalize_decimal(text), want, "{text}");
        }
    }

    #[test]
    fn checksums_name_their_first_difference() {
        let prices = shared_table("prices").unwrap();
        let texts = |rows: &str, close: &str| {
            [rows, "1700000000000000", close]
                .map(str::to_string)
                .to_vec()
        };
        let pg = TableChecksum::from_texts(prices, &texts("3", "10.50"));
        let local = TableChecksum::from_texts(prices, &texts("3", "10.5000000000"));
        assert_eq!(pg.difference(&local), None);
        let short = TableChecksum::from_texts(prices, &texts("2", "10.5"));
        assert_eq!(pg.difference(&short).unwrap(), "3 rows vs 2");
        let edited = TableChecksum::from_texts(prices, &texts("3", "10.51"));
        assert_eq!(
            pg.difference(&edited).unwrap(),
            "sum of close 10.5 vs 10.51"
        );
    }
}
