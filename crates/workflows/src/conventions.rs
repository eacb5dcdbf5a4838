//! Each KPI's formula, read from docs/kpi-conventions.md (compiled in), so that a tooltip in
//! the app shows exactly what the documentation says and a KPI without documentation is a
//! failing test rather than a silent gap.

use std::collections::HashMap;
use std::sync::OnceLock;

/// The documentation page, as it was when Ballast was built.
pub const DOC: &str = include_str!("../../../docs/kpi-conventions.md");
/// Where the page lives in the repository, for "see …" hints.
pub const DOC_PATH: &str = "docs/kpi-conventions.md";

/// The formula of every documented KPI key. A table row whose first cell names keys in
/// backticks (`` `sharpe` ``, `` `best_day` / `worst_day` ``) documents each of them; the
/// formula is the first cell after the key and the unit that contains an operator or a word.
fn formulas() -> &'static HashMap<String, String> {
    static TABLE: OnceLock<HashMap<String, String>> = OnceLock::new();
    TABLE.get_or_init(|| {
        let mut map = HashMap::new();
        for line in DOC.lines().filter(|l| l.starts_with("| `")) {
            let cells: Vec<&str> = line.trim_matches('|').split(" | ").map(str::trim).collect();
            let Some(first) = cells.first() else { continue };
            let formula = cells
                .iter()
                .skip(1)
                .find(|c| !is_unit(c))
                .map(|c| c.replace("\\|", "|"));
            let Some(formula) = formula else { continue };
            for key in first.split('`').skip(1).step_by(2) {
                if key
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
                {
                    map.entry(key.to_string())
                        .or_insert_with(|| formula.clone());
                }
            }
        }
        map
    })
}

fn is_unit(cell: &str) -> bool {
    matches!(cell, "Percent" | "SignedPercent" | "Ratio" | "Count")
}

/// The documented formula of `key`, if the page documents it.
pub fn formula(key: &str) -> Option<&'static str> {
    formulas().get(key).map(String::as_str)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formulas_are_read_from_the_tables() {
        let sharpe = formula("sharpe").expect("sharpe is documented");
        assert!(
            sharpe.contains("√252") || sharpe.contains("as above"),
            "{sharpe}"
        );
        assert!(formula("best_day").is_some() && formula("worst_day").is_some());
        assert!(formula("no_such_kpi").is_none());
    }
}
