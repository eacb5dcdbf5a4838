//! Monte Carlo value at risk and expected shortfall of a portfolio from its assets' history.
//!
//! The scenario engine answers "what if this happens"; this module answers "how bad is a
//! bad day (or ten) given how these assets moved together". Conventions:
//!
//! - **Returns**: daily *log* returns `ln(Pₜ / Pₜ₋₁)` between consecutive dates on which
//!   every asset has a close ([`ReturnMatrix::from_history`]). Log returns add over days, so
//!   a horizon of `h` days is the sum of `h` daily draws; a position's P/L on a path is
//!   `exposure × (exp(x) − 1)`, exact for any size of move.
//! - **Centring**: by default the daily mean is removed (`demean`), the usual choice for
//!   short-horizon risk: a VaR should not improve because the history went up.
//! - **Cholesky** ([`Method::Cholesky`]): the horizon return is `h·μ + √h · L·z`, `z` standard
//!   normal, `L` the Cholesky factor of the daily covariance (i.i.d. days). The covariance is
//!   the sample one (divisor `T − 1`), or, when assets are at least as many as observations
//!   (the sample matrix is then singular) or the sample matrix is not positive definite,
//!   the Ledoit–Wolf (2004) shrinkage toward `μ·I` (`μ` the average variance): with the
//!   divisor-`T` covariance `S`, `d² = ‖S − μI‖²/N`, `b̄² = (Σₜ‖xₜ‖⁴ − T‖S‖²) / (N·T²)`,
//!   intensity `α = min(b̄², d²) / d²`, and `Σ* = α·μ·I + (1 − α)·S` ([`Shrinkage`]).
//! - **Bootstrap** ([`Method::Bootstrap`]): each path draws `h` whole historical days with
//!   replacement and sums them, so every cross-asset dependence of the history (fat tails
//!   included) is kept as it was.
//! - **Reproducible**: paths are generated in fixed blocks of [`BLOCK`], each from its own
//!   ChaCha8 stream of the seed, so the same seed gives the same figures on any machine and
//!   any number of threads; a different seed gives different ones.
//! - **Figures**: sorted path P/Ls, `k = ⌈(1 − c)·paths⌉`; VaR is the k-th worst P/L, ES the
//!   mean of the k worst. Both are reported as (usually negative) fractions of the NAV, like
//!   the historical VaR of [`crate::stats`], and as money rounded to the cent.

use chrono::NaiveDate;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::StandardNormal;
use rust_decimal::prelude::FromPrimitive;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::history::PriceHistory;
use crate::returns::decimal_to_f64;

/// Fewest daily observations a simulation accepts.
pub const MIN_OBSERVATIONS: usize = 20;
/// Paths per random stream (and per unit of work for the threads).
pub const BLOCK: usize = 64;

#[derive(Debug, Clone, PartialEq, Error, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum MonteCarloError {
    #[error("{observations} daily observations; at least {required} are needed")]
    TooFewObservations {
        observations: usize,
        required: usize,
    },
    #[error("a {horizon}-day horizon is longer than the {observations}-day history")]
    HorizonLongerThanHistory { horizon: usize, observations: usize },
    #[error("asset {asset} has no price history")]
    NoHistory { asset: String },
    #[error("asset {asset} has a non-positive close on {date}")]
    NonPositivePrice { asset: String, date: NaiveDate },
    #[error("the covariance matrix is not positive definite (pivot {pivot}); use shrinkage")]
    NotPositiveDefinite { pivot: usize },
    #[error("{what}: expected {expected}, got {got}")]
    DimensionMismatch {
        what: &'static str,
        expected: usize,
        got: usize,
    },
    #[error("invalid configuration: {0}")]
    Config(String),
}

/// Daily log returns, `T` rows (dates) × `N` columns (assets), row-major.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReturnMatrix {
    pub assets: Vec<String>,
    /// The date each row ends on.
    pub dates: Vec<NaiveDate>,
    pub values: Vec<f64>,
}

impl ReturnMatrix {
    pub fn new(
        assets: Vec<String>,
        dates: Vec<NaiveDate>,
        values: Vec<f64>,
    ) -> Result<ReturnMatrix, MonteCarloError> {
        if values.len() != assets.len() * dates.len() {
            return Err(MonteCarloError::DimensionMismatch {
                what: "return values (dates × assets)",
                expected: assets.len() * dates.len(),
                got: values.len(),
            });
        }
        Ok(ReturnMatrix {
            assets,
            dates,
            values,
        })
    }

    /// Log returns between consecutive dates on which every asset in `asset_ids` has a close.
    pub fn from_history(
        history: &PriceHistory,
        asset_ids: &[String],
    ) -> Result<ReturnMatrix, MonteCarloError> {
        let mut common: Option<Vec<NaiveDate>> = None;
        for id in asset_ids {
            let closes = history.closes(id);
            if closes.is_empty() {
                return Err(MonteCarloError::NoHistory { asset: id.clone() });
            }
            if let Some((date, _)) = closes.iter().find(|(_, c)| *c <= Decimal::ZERO) {
                return Err(MonteCarloError::NonPositivePrice {
                    asset: id.clone(),
                    date: *date,
                });
            }
            common = Some(match common {
                None => closes.iter().map(|(d, _)| *d).collect(),
                // Both sorted: a merge keeps the dates in both.
                Some(dates) => {
                    let mut kept = Vec::with_capacity(dates.len());
                    let mut j = 0;
                    for d in dates {
                        while j < closes.len() && closes[j].0 < d {
                            j += 1;
                        }
                        if j < closes.len() && closes[j].0 == d {
                            kept.push(d);
                        }
                    }
                    kept
                }
            });
        }
        let dates = common.unwrap_or_default();
        let t = dates.len().saturating_sub(1);
        let n = asset_ids.len();
        let mut values = vec![0.0; t * n];
        for (col, id) in asset_ids.iter().enumerate() {
            let closes = history.closes(id);
            let mut j = 0;
            let mut previous: Option<f64> = None;
            for (row, d) in dates.iter().enumerate() {
                while closes[j].0 < *d {
                    j += 1;
                }
                let price = decimal_to_f64(closes[j].1);
                if let Some(p) = previous {
                    values[(row - 1) * n + col] = (price / p).ln();
                }
                previous = Some(price);
            }
        }
        ReturnMatrix::new(
            asset_ids.to_vec(),
            dates.into_iter().skip(1).collect(),
            values,
        )
    }

    pub fn observations(&self) -> usize {
        self.dates.len()
    }

    pub fn n_assets(&self) -> usize {
        self.assets.len()
    }

    fn row(&self, t: usize) -> &[f64] {
        let n = self.n_assets();
        &self.values[t * n..(t + 1) * n]
    }

    /// Column means.
    pub fn means(&self) -> Vec<f64> {
        let n = self.n_assets();
        let mut m = vec![0.0; n];
        for t in 0..self.observations() {
            for (acc, x) in m.iter_mut().zip(self.row(t)) {
                *acc += x;
            }
        }
        let count = self.observations().max(1) as f64;
        m.iter_mut().for_each(|v| *v /= count);
        m
    }

    /// The centred matrix `X − mean`, row-major.
    fn centred(&self) -> Vec<f64> {
        let means = self.means();
        let n = self.n_assets();
        self.values
            .iter()
            .enumerate()
            .map(|(k, v)| v - means[k % n])
            .collect()
    }
}

/// `Σₜ xₜxₜ' / divisor` for centred rows, full symmetric N×N, row-major.
fn scatter(centred: &[f64], t: usize, n: usize, divisor: f64) -> Vec<f64> {
    let mut s = vec![0.0; n * n];
    for row in centred.chunks_exact(n).take(t) {
        for i in 0..n {
            let xi = row[i];
            if xi == 0.0 {
                continue;
            }
            let target = &mut s[i * n + i..(i + 1) * n];
            for (acc, xj) in target.iter_mut().zip(&row[i..]) {
                *acc += xi * xj;
            }
        }
    }
    for i in 0..n {
        for j in i..n {
            let v = s[i * n + j] / divisor;
            s[i * n + j] = v;
            s[j * n + i] = v;
        }
    }
    s
}

/// The sample covariance (divisor `T − 1`) of the matrix's columns, N×N row-major.
pub fn sample_covariance(returns: &ReturnMatrix) -> Vec<f64> {
    let t = returns.observations();
    scatter(
        &returns.centred(),
        t,
        returns.n_assets(),
        (t.max(2) - 1) as f64,
    )
}

/// The Ledoit–Wolf (2004) shrunk covariance toward `μ·I` and its intensity `α ∈ [0, 1]`
/// (formula in the module documentation).
pub fn ledoit_wolf(returns: &ReturnMatrix) -> (Vec<f64>, f64) {
    let (t, n) = (returns.observations(), returns.n_assets());
    let x = returns.centred();
    let mut s = scatter(&x, t, n, t as f64);
    let mu = (0..n).map(|i| s[i * n + i]).sum::<f64>() / n as f64;
    let norm2: f64 = s.iter().map(|v| v * v).sum();
    let d2 = (0..n)
        .map(|i| {
            (0..n)
                .map(|j| {
                    let target = if i == j { mu } else { 0.0 };
                    (s[i * n + j] - target).powi(2)
                })
                .sum::<f64>()
        })
        .sum::<f64>()
        / n as f64;
    let fourth: f64 = x
        .chunks_exact(n.max(1))
        .map(|row| row.iter().map(|v| v * v).sum::<f64>().powi(2))
        .sum();
    let b2_bar = (fourth - t as f64 * norm2) / (n as f64 * (t as f64).powi(2));
    let alpha = if d2 > 0.0 {
        (b2_bar.min(d2) / d2).clamp(0.0, 1.0)
    } else {
        1.0
    };
    for i in 0..n {
        for j in 0..n {
            let target = if i == j { mu } else { 0.0 };
            s[i * n + j] = alpha * target + (1.0 - alpha) * s[i * n + j];
        }
    }
    (s, alpha)
}

/// The lower Cholesky factor of a symmetric N×N matrix, packed by rows (row `i` has `i + 1`
/// entries); `Err(pivot)` when the matrix is not (numerically) positive definite.
pub fn cholesky(matrix: &[f64], n: usize) -> Result<Vec<f64>, usize> {
    let start = |i: usize| i * (i + 1) / 2;
    let mut l = vec![0.0; n * (n + 1) / 2];
    let scale = (0..n).map(|i| matrix[i * n + i].abs()).fold(0.0, f64::max);
    for i in 0..n {
        for j in 0..=i {
            let (ri, rj) = (start(i), start(j));
            let dot = dot(&l[ri..ri + j], &l[rj..rj + j]);
            let v = matrix[i * n + j] - dot;
            if i == j {
                if v <= scale * 1e-12 || !v.is_finite() {
                    return Err(i);
                }
                l[ri + i] = v.sqrt();
            } else {
                l[ri + j] = v / l[rj + j];
            }
        }
    }
    Ok(l)
}

/// A dot product with four accumulators (lets the compiler vectorise).
fn dot(a: &[f64], b: &[f64]) -> f64 {
    let mut acc = [0.0; 4];
    let (ca, cb) = (a.chunks_exact(4), b.chunks_exact(4));
    let (ra, rb) = (ca.remainder(), cb.remainder());
    for (x, y) in ca.zip(cb) {
        acc[0] += x[0] * y[0];
        acc[1] += x[1] * y[1];
        acc[2] += x[2] * y[2];
        acc[3] += x[3] * y[3];
    }
    let tail: f64 = ra.iter().zip(rb).map(|(x, y)| x * y).sum();
    (acc[0] + acc[1]) + (acc[2] + acc[3]) + tail
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Method {
    Cholesky,
    Bootstrap,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Shrinkage {
    /// Sample covariance unless assets ≥ observations or it is not positive definite; then
    /// Ledoit–Wolf.
    Auto,
    /// Always the sample covariance (an error when it is not positive definite).
    None,
    /// Always Ledoit–Wolf.
    LedoitWolf,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct MonteCarloConfig {
    pub paths: usize,
    pub horizon_days: usize,
    pub seed: u64,
    pub method: Method,
    pub shrinkage: Shrinkage,
    pub demean: bool,
}

impl Default for MonteCarloConfig {
    fn default() -> Self {
        MonteCarloConfig {
            paths: 10_000,
            horizon_days: 1,
            seed: 0x00BA_11A5,
            method: Method::Cholesky,
            shrinkage: Shrinkage::Auto,
            demean: true,
        }
    }
}

/// VaR and ES at one confidence level.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TailRisk {
    pub confidence: f64,
    /// k-th worst path P/L over NAV (negative for a loss).
    pub var: f64,
    /// Mean of the k worst path P/Ls over NAV.
    pub es: f64,
    pub var_amount: Decimal,
    pub es_amount: Decimal,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MonteCarloResult {
    pub config: MonteCarloConfig,
    pub observations: usize,
    pub assets: usize,
    /// The Ledoit–Wolf intensity used; `None` for the sample covariance or a bootstrap.
    pub shrinkage_intensity: Option<f64>,
    /// At 95% and 99%.
    pub levels: Vec<TailRisk>,
    /// Mean path P/L over NAV.
    pub mean: f64,
}

impl MonteCarloResult {
    pub fn at(&self, confidence: f64) -> Option<&TailRisk> {
        self.levels
            .iter()
            .find(|l| (l.confidence - confidence).abs() < 1e-12)
    }
}

/// Simulated VaR/ES of holding `exposures` (base-currency market value per column of
/// `returns`) for the configured horizon, as fractions of `nav`.
pub fn monte_carlo_var(
    returns: &ReturnMatrix,
    exposures: &[Decimal],
    nav: Decimal,
    config: MonteCarloConfig,
) -> Result<MonteCarloResult, MonteCarloError> {
    let (t, n) = (returns.observations(), returns.n_assets());
    if exposures.len() != n {
        return Err(MonteCarloError::DimensionMismatch {
            what: "exposures (one per asset)",
            expected: n,
            got: exposures.len(),
        });
    }
    if config.paths == 0 || config.horizon_days == 0 {
        return Err(MonteCarloError::Config(
            "paths and horizon_days must be at least 1".into(),
        ));
    }
    if nav <= Decimal::ZERO {
        return Err(MonteCarloError::Config("NAV must be positive".into()));
    }
    if t < MIN_OBSERVATIONS {
        return Err(MonteCarloError::TooFewObservations {
            observations: t,
            required: MIN_OBSERVATIONS,
        });
    }
    if config.horizon_days > t {
        return Err(MonteCarloError::HorizonLongerThanHistory {
            horizon: config.horizon_days,
            observations: t,
        });
    }
    let e: Vec<f64> = exposures.iter().map(|d| decimal_to_f64(*d)).collect();
    let h = config.horizon_days as f64;
    let means = returns.means();
    let drift: Vec<f64> = if config.demean {
        vec![0.0; n]
    } else {
        means.iter().map(|m| m * h).collect()
    };
    let mut shrinkage_intensity = None;
    let mut pnl = vec![0.0; config.paths];
    match config.method {
        Method::Cholesky => {
            let shrunk = |intensity: &mut Option<f64>| {
                let (m, a) = ledoit_wolf(returns);
                *intensity = Some(a);
                m
            };
            let l = match config.shrinkage {
                Shrinkage::LedoitWolf => cholesky(&shrunk(&mut shrinkage_intensity), n),
                Shrinkage::None => cholesky(&sample_covariance(returns), n),
                Shrinkage::Auto => {
                    let sample = (n < t).then(|| cholesky(&sample_covariance(returns), n));
                    match sample {
                        Some(Ok(l)) => Ok(l),
                        _ => cholesky(&shrunk(&mut shrinkage_intensity), n),
                    }
                }
            }
            .map_err(|pivot| MonteCarloError::NotPositiveDefinite { pivot })?;
            let sqrt_h = h.sqrt();
            run_blocks(&mut pnl, config.seed, |rng, out| {
                simulate_cholesky(rng, out, &l, n, sqrt_h, &drift, &e)
            });
        }
        Method::Bootstrap => {
            let data = if config.demean {
                returns.centred()
            } else {
                returns.values.clone()
            };
            let days = config.horizon_days;
            run_blocks(&mut pnl, config.seed, |rng, out| {
                let mut x = vec![0.0; n];
                for slot in out.iter_mut() {
                    x.iter_mut().for_each(|v| *v = 0.0);
                    for _ in 0..days {
                        let day = rng.random_range(0..t);
                        for (acc, r) in x.iter_mut().zip(&data[day * n..(day + 1) * n]) {
                            *acc += r;
                        }
                    }
                    *slot = x.iter().zip(&e).map(|(x, e)| e * x.exp_m1()).sum();
                }
            });
        }
    }
    let nav_f = decimal_to_f64(nav);
    let mean = pnl.iter().sum::<f64>() / pnl.len() as f64 / nav_f;
    pnl.sort_by(f64::total_cmp);
    let money = |v: f64| Decimal::from_f64(v).unwrap_or_default().round_dp(2);
    let levels = [0.95, 0.99]
        .into_iter()
        .map(|c| {
            let k = (((1.0 - c) * pnl.len() as f64) - 1e-9).ceil().max(1.0) as usize;
            let var = pnl[k - 1];
            let es = pnl[..k].iter().sum::<f64>() / k as f64;
            TailRisk {
                confidence: c,
                var: var / nav_f,
                es: es / nav_f,
                var_amount: money(var),
                es_amount: money(es),
            }
        })
        .collect();
    Ok(MonteCarloResult {
        config,
        observations: t,
        assets: n,
        shrinkage_intensity,
        levels,
        mean,
    })
}

/// Fill `pnl` block by block, block `b` from ChaCha8 stream `b` of `seed`, over the
/// machine's cores; the result does not depend on the number of threads.
fn run_blocks<F>(pnl: &mut [f64], seed: u64, work: F)
where
    F: Fn(&mut ChaCha8Rng, &mut [f64]) + Sync,
{
    let rng_for = |block: usize| {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        rng.set_stream(block as u64);
        rng
    };
    let blocks: Vec<(usize, &mut [f64])> = pnl.chunks_mut(BLOCK).enumerate().collect();
    let threads = std::thread::available_parallelism()
        .map_or(1, |c| c.get())
        .min(blocks.len());
    if threads <= 1 {
        for (b, out) in blocks {
            work(&mut rng_for(b), out);
        }
        return;
    }
    let mut per_thread: Vec<Vec<(usize, &mut [f64])>> = (0..threads).map(|_| Vec::new()).collect();
    for (k, block) in blocks.into_iter().enumerate() {
        per_thread[k % threads].push(block);
    }
    std::thread::scope(|scope| {
        for mine in per_thread {
            let work = &work;
            scope.spawn(move || {
                for (b, out) in mine {
                    work(&mut rng_for(b), out);
                }
            });
        }
    });
}

/// One block of Cholesky paths: all `z` first, then each row of `L` once for every path of
/// the block (the factor is read once per block, not once per path).
fn simulate_cholesky(
    rng: &mut ChaCha8Rng,
    out: &mut [f64],
    l: &[f64],
    n: usize,
    sqrt_h: f64,
    drift: &[f64],
    e: &[f64],
) {
    let paths = out.len();
    let z: Vec<f64> = (0..paths * n).map(|_| rng.sample(StandardNormal)).collect();
    out.iter_mut().for_each(|v| *v = 0.0);
    for i in 0..n {
        let row = &l[i * (i + 1) / 2..i * (i + 1) / 2 + i + 1];
        for (p, slot) in out.iter_mut().enumerate() {
            let x = drift[i] + sqrt_h * dot(row, &z[p * n..p * n + i + 1]);
            *slot += e[i] * x.exp_m1();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::{inverse_normal_cdf, normal_pdf};

    fn matrix(t: usize, n: usize, f: impl Fn(usize, usize) -> f64) -> ReturnMatrix {
        let dates = (0..t)
            .map(|i| {
                NaiveDate::from_ymd_opt(2020, 1, 1).unwrap() + chrono::Duration::days(i as i64)
            })
            .collect();
        let values = (0..t * n).map(|k| f(k / n, k % n)).collect();
        ReturnMatrix::new((0..n).map(|i| format!("a{i}")).collect(), dates, values).unwrap()
    }

    /// A deterministic pseudo-random number in (−0.5, 0.5), for test data.
    fn noise(i: usize, j: usize) -> f64 {
        let mut z = (i as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15)
            ^ (j as u64).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z ^= z >> 31;
        z = z.wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 29;
        (z >> 11) as f64 / (1u64 << 53) as f64 - 0.5
    }

    fn one_million() -> Decimal {
        Decimal::from(1_000_000)
    }

    #[test]
    fn one_normal_asset_matches_the_parametric_var() {
        // Alternating ±1% log returns: mean 0, sample variance T·σ²/(T − 1).
        let t = 500;
        let m = matrix(t, 1, |i, _| if i % 2 == 0 { 0.01 } else { -0.01 });
        let sigma = 0.01 * (t as f64 / (t as f64 - 1.0)).sqrt();
        let config = MonteCarloConfig {
            paths: 200_000,
            horizon_days: 10,
            ..MonteCarloConfig::default()
        };
        let r = monte_carlo_var(&m, &[one_million()], one_million(), config).unwrap();
        let s = sigma * 10f64.sqrt();
        for c in [0.95, 0.99] {
            let z = inverse_normal_cdf(1.0 - c);
            // VaR of exp(X) − 1, X ~ N(0, s²): exp(z·s) − 1.
            let var = (z * s).exp_m1();
            // ES ≈ exp(−s·φ(z)/(1 − c)) − 1 (the mean log loss in the tail; the lognormal
            // correction is below 0.1% of the figure here).
            let es = (-s * normal_pdf(z) / (1.0 - c)).exp_m1();
            let got = r.at(c).unwrap();
            assert!(
                (got.var / var - 1.0).abs() < 0.015,
                "VaR {c}: {} vs {var}",
                got.var
            );
            assert!(
                (got.es / es - 1.0).abs() < 0.02,
                "ES {c}: {} vs {es}",
                got.es
            );
            assert!(got.es < got.var);
            let amount = got.var_amount.to_string().parse::<f64>().unwrap();
            assert!((amount - got.var * 1e6).abs() < 0.01);
        }
        assert_eq!(r.shrinkage_intensity, None);
    }

    #[test]
    fn the_seed_decides_the_figures() {
        let m = matrix(60, 5, |i, j| 0.02 * noise(i, j) + 0.01 * noise(i, 99));
        let e = vec![Decimal::from(200_000); 5];
        for method in [Method::Cholesky, Method::Bootstrap] {
            let config = MonteCarloConfig {
                paths: 2_000,
                horizon_days: 5,
                method,
                ..MonteCarloConfig::default()
            };
            let a = monte_carlo_var(&m, &e, one_million(), config).unwrap();
            let b = monte_carlo_var(&m, &e, one_million(), config).unwrap();
            let c = monte_carlo_var(
                &m,
                &e,
                one_million(),
                MonteCarloConfig { seed: 7, ..config },
            )
            .unwrap();
            assert_eq!(a, b, "{method:?}");
            assert_ne!(a.levels[0].var, c.levels[0].var, "{method:?}");
        }
    }

    #[test]
    fn bootstrap_keeps_the_days_together() {
        // Two assets that always move in opposite directions, equal exposures: every
        // resampled day nets out, e·(exp(x) − 1) + e·(exp(−x) − 1) = 2e(cosh x − 1) ≥ 0, so
        // the bootstrap sees no loss; drawing the assets independently would.
        let m = matrix(100, 2, |i, j| {
            let x = 0.03 * noise(i, 0);
            if j == 0 {
                x
            } else {
                -x
            }
        });
        let e = vec![Decimal::from(500_000); 2];
        let config = MonteCarloConfig {
            method: Method::Bootstrap,
            demean: false,
            horizon_days: 3,
            ..MonteCarloConfig::default()
        };
        let r = monte_carlo_var(&m, &e, one_million(), config).unwrap();
        assert!(
            r.levels.iter().all(|l| l.var >= 0.0 && l.es >= 0.0),
            "{:?}",
            r.levels
        );
    }

    #[test]
    fn shrinkage_makes_a_wide_matrix_positive_definite() {
        // 30 assets, 20 observations: the sample covariance has rank ≤ 19.
        let m = matrix(20, 30, |i, j| 0.01 * noise(i, j) + 0.005 * noise(i, 1000));
        assert!(cholesky(&sample_covariance(&m), 30).is_err());
        let (shrunk, alpha) = ledoit_wolf(&m);
        assert!(alpha > 0.0 && alpha < 1.0, "{alpha}");
        assert!(cholesky(&shrunk, 30).is_ok());
        let e = vec![Decimal::from(10_000); 30];
        let none = MonteCarloConfig {
            shrinkage: Shrinkage::None,
            ..MonteCarloConfig::default()
        };
        assert!(matches!(
            monte_carlo_var(&m, &e, one_million(), none),
            Err(MonteCarloError::NotPositiveDefinite { .. })
        ));
        let auto = monte_carlo_var(&m, &e, one_million(), MonteCarloConfig::default()).unwrap();
        assert_eq!(auto.shrinkage_intensity, Some(alpha));
        assert!(auto.levels[0].var < 0.0);
    }

    #[test]
    fn ledoit_wolf_matches_the_direct_formula() {
        // The shortcut b̄² = (Σ‖xₜ‖⁴ − T‖S‖²)/(N·T²) against Σₜ‖xₜxₜ' − S‖²/(N·T²) directly.
        let (t, n) = (12, 4);
        let m = matrix(t, n, |i, j| 0.02 * noise(i, j) + 0.01 * noise(i, 7));
        let x = m.centred();
        let s = scatter(&x, t, n, t as f64);
        let mu = (0..n).map(|i| s[i * n + i]).sum::<f64>() / n as f64;
        let mut d2 = 0.0;
        for i in 0..n {
            for j in 0..n {
                d2 += (s[i * n + j] - if i == j { mu } else { 0.0 }).powi(2);
            }
        }
        d2 /= n as f64;
        let mut b2 = 0.0;
        for row in x.chunks_exact(n) {
            for i in 0..n {
                for j in 0..n {
                    b2 += (row[i] * row[j] - s[i * n + j]).powi(2);
                }
            }
        }
        b2 /= n as f64 * (t * t) as f64;
        let alpha = b2.min(d2) / d2;
        let (shrunk, got) = ledoit_wolf(&m);
        assert!((got - alpha).abs() < 1e-12, "{got} vs {alpha}");
        assert!((shrunk[1] - (1.0 - alpha) * s[1]).abs() < 1e-15);
        assert!((shrunk[0] - (alpha * mu + (1.0 - alpha) * s[0])).abs() < 1e-15);
    }

    #[test]
    fn cholesky_of_a_known_matrix() {
        // [[4, 2], [2, 3]] = L·L' with L = [[2, 0], [1, √2]].
        let l = cholesky(&[4.0, 2.0, 2.0, 3.0], 2).unwrap();
        assert_eq!(l[..2], [2.0, 1.0]);
        assert!((l[2] - 2f64.sqrt()).abs() < 1e-15);
        assert_eq!(cholesky(&[1.0, 2.0, 2.0, 1.0], 2), Err(1));
    }

    #[test]
    fn refuses_short_histories_and_long_horizons() {
        let short = matrix(5, 2, |i, j| noise(i, j) * 0.01);
        let e = vec![Decimal::ONE; 2];
        assert_eq!(
            monte_carlo_var(&short, &e, Decimal::ONE, MonteCarloConfig::default()),
            Err(MonteCarloError::TooFewObservations {
                observations: 5,
                required: MIN_OBSERVATIONS
            })
        );
        let m = matrix(25, 2, |i, j| noise(i, j) * 0.01);
        let long = MonteCarloConfig {
            horizon_days: 30,
            ..MonteCarloConfig::default()
        };
        assert_eq!(
            monte_carlo_var(&m, &e, Decimal::ONE, long)
                .unwrap_err()
                .to_string(),
            "a 30-day horizon is longer than the 25-day history"
        );
        assert!(matches!(
            monte_carlo_var(&m, &e[..1], Decimal::ONE, MonteCarloConfig::default()),
            Err(MonteCarloError::DimensionMismatch { .. })
        ));
    }

    #[test]
    fn log_returns_on_common_dates() {
        use crate::model::Price;
        let d = |day| NaiveDate::from_ymd_opt(2024, 1, day).unwrap();
        let p = |a: &str, day, c: i64| Price {
            asset_id: a.into(),
            date: d(day),
            close: Decimal::from(c),
        };
        let h = PriceHistory::new(&[
            p("a", 1, 100),
            p("a", 2, 110),
            p("a", 3, 121),
            p("a", 4, 100),
            p("b", 1, 50),
            p("b", 3, 40),
            p("b", 4, 40),
        ]);
        let m = ReturnMatrix::from_history(&h, &["a".into(), "b".into()]).unwrap();
        // Common dates 1, 3, 4: a 100 → 121 → 100, b 50 → 40 → 40.
        assert_eq!(m.dates, vec![d(3), d(4)]);
        let want = [(1.21f64).ln(), (0.8f64).ln(), (100.0f64 / 121.0).ln(), 0.0];
        for (got, want) in m.values.iter().zip(want) {
            assert!((got - want).abs() < 1e-15);
        }
        assert_eq!(
            ReturnMatrix::from_history(&h, &["zz".into()]),
            Err(MonteCarloError::NoHistory { asset: "zz".into() })
        );
    }
}
