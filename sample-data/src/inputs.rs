//! The committed inputs of the generator (`sample-data/inputs/*.csv`), parsed once.
//! They are tiny and fixed, so a malformed line is a programming error and panics with its
//! file and line.

pub struct SectorRow {
    pub sector: &'static str,
    pub beta: f64,
    pub idio_vol: f64,
}

pub struct CountryRow {
    pub country: &'static str,
    pub currency: &'static str,
    pub weight: u32,
}

pub struct WordRow {
    pub prefix: &'static str,
    pub suffix: &'static str,
}

pub struct PortfolioRow {
    pub code: &'static str,
    pub name: &'static str,
    pub base_currency: &'static str,
    pub strategy: &'static str,
    pub benchmark: &'static str,
    pub initial_nav: f64,
    pub lp_visible: bool,
    pub dealing_frequency: &'static str,
    pub notice_days: i32,
    pub gate_pct: &'static str,
    pub lockup_days: i32,
}

pub struct InvestorRow {
    pub name: &'static str,
    pub classification: &'static str,
    pub kyc_status: &'static str,
    pub login_role: Option<&'static str>,
}

/// Data lines of a CSV (header skipped), split on commas, with the file name for messages.
fn rows(file: &'static str, text: &'static str, columns: usize) -> Vec<Vec<&'static str>> {
    text.lines()
        .enumerate()
        .skip(1)
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, line)| {
            let cells: Vec<&str> = line.split(',').collect();
            assert_eq!(
                cells.len(),
                columns,
                "{file} line {}: expected {columns} columns",
                i + 1
            );
            cells
        })
        .collect()
}

fn num<T: std::str::FromStr>(file: &str, cell: &str) -> T {
    cell.parse()
        .unwrap_or_else(|_| panic!("{file}: {cell:?} is not a number"))
}

pub fn sectors() -> Vec<SectorRow> {
    let f = "sectors.csv";
    rows(f, include_str!("../inputs/sectors.csv"), 3)
        .into_iter()
        .map(|c| SectorRow {
            sector: c[0],
            beta: num(f, c[1]),
            idio_vol: num(f, c[2]),
        })
        .collect()
}

pub fn countries() -> Vec<CountryRow> {
    let f = "countries.csv";
    rows(f, include_str!("../inputs/countries.csv"), 3)
        .into_iter()
        .map(|c| CountryRow {
            country: c[0],
            currency: c[1],
            weight: num(f, c[2]),
        })
        .collect()
}

pub fn words() -> Vec<WordRow> {
    rows("words.csv", include_str!("../inputs/words.csv"), 2)
        .into_iter()
        .map(|c| WordRow {
            prefix: c[0],
            suffix: c[1],
        })
        .collect()
}

pub fn portfolios() -> Vec<PortfolioRow> {
    let f = "portfolios.csv";
    rows(f, include_str!("../inputs/portfolios.csv"), 11)
        .into_iter()
        .map(|c| PortfolioRow {
            code: c[0],
            name: c[1],
            base_currency: c[2],
            strategy: c[3],
            benchmark: c[4],
            initial_nav: num(f, c[5]),
            lp_visible: c[6] == "true",
            dealing_frequency: c[7],
            notice_days: num(f, c[8]),
            gate_pct: c[9],
            lockup_days: num(f, c[10]),
        })
        .collect()
}

pub fn investors() -> Vec<InvestorRow> {
    rows("investors.csv", include_str!("../inputs/investors.csv"), 4)
        .into_iter()
        .map(|c| InvestorRow {
            name: c[0],
            classification: c[1],
            kyc_status: c[2],
            login_role: (!c[3].is_empty()).then_some(c[3]),
        })
        .collect()
}
