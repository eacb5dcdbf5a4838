#!/usr/bin/env python3
"""The quantstats side of the KPI benchmark (crates/engine/benches/kpi.rs; BENCHMARKS.md).

Usage: bench_kpi_quantstats.py DIR [--reps N] [--metrics-reps N] [--asset-reps N]
                                   [--assets-sample N]

DIR holds what the Rust bench wrote: portfolio.csv and benchmark.csv (date,return) and
assets.csv (date,a0000,...,a1999), the very series Ballast was timed on. Prints one JSON
object with the timings (milliseconds) on stdout; anything quantstats prints goes to stderr.

What is timed (time.perf_counter, median and min of the repetitions, after one untimed run):
  portfolio.functions     for the portfolio's returns and the benchmark, the quantstats
                          calls that compute what Ballast's catalogue computes (KPI_CALLS:
                          returns, risk, risk-adjusted, benchmark KPIs, drawdown episodes)
                          plus the chart series (CHART_CALLS: cumulative, drawdown, rolling
                          volatility / Sharpe / beta over 63 and 252 days).
  portfolio.metrics_full  qs.reports.metrics(returns, benchmark, mode="full", display=False),
                          quantstats' own "whole catalogue" call, as a second reference.
  assets                  KPI_CALLS (no chart series: series_kpis computes none) for each
                          asset against the benchmark. By default a sample of 100 of the 2,000
                          assets (every 20th) is timed and the total scaled linearly to 2,000;
                          the JSON says so (sample < count), and the Rust bench prints it.
Ballast KPIs with no quantstats function (historical VaR, Cornish-Fisher VaR/ES, downside
deviation, tracking error, up/down capture, trailing periods, TWR/IRR, FIFO trading, exposure,
limits) are NOT timed here, so the comparison flatters quantstats.
"""
import argparse
import contextlib
import json
import platform
import statistics
import sys
import time
import warnings
from importlib.metadata import version
from pathlib import Path

import numpy as np
import pandas as pd
import quantstats as qs

warnings.filterwarnings("ignore")
S = qs.stats


def kpi_calls(s, b):
    """The return-series catalogue: one quantstats call per Ballast KPI (or group of KPIs)."""
    dd = S.to_drawdown_series(s)  # current_drawdown (last point)
    return [
        S.comp(s),  # cumulative_return
        S.cagr(s),  # cagr
        S.best(s),  # best_day
        S.worst(s),  # worst_day
        S.best(s, aggregate="ME"),  # best_month
        S.worst(s, aggregate="ME"),  # worst_month
        S.best(s, aggregate="YE"),  # best_year
        S.worst(s, aggregate="YE"),  # worst_year
        S.avg_win(s, aggregate="ME"),  # avg_up_month
        S.avg_loss(s, aggregate="ME"),  # avg_down_month
        S.win_rate(s),  # positive_days
        S.win_rate(s, aggregate="ME"),  # positive_months
        S.volatility(s),  # annual_volatility
        S.max_drawdown(s),  # max_drawdown
        dd.iloc[-1],
        S.drawdown_details(dd),  # longest_drawdown, the drawdown episodes
        S.ulcer_index(s),  # ulcer_index
        S.value_at_risk(s, confidence=0.95),  # var_normal_95
        S.value_at_risk(s, confidence=0.99),  # var_normal_99
        S.cvar(s, confidence=0.95),  # cvar_normal_95
        S.cvar(s, confidence=0.99),  # cvar_normal_99
        S.conditional_value_at_risk(s, confidence=0.95, method="historical"),  # cvar_hist_95
        S.conditional_value_at_risk(s, confidence=0.99, method="historical"),  # cvar_hist_99
        S.skew(s),  # skew
        S.kurtosis(s),  # excess_kurtosis
        S.tail_ratio(s),  # tail_ratio
        S.sharpe(s),  # sharpe
        S.sortino(s),  # sortino
        S.calmar(s),  # calmar
        S.omega(s),  # omega
        S.gain_to_pain_ratio(s),  # gain_pain
        S.greeks(s, b),  # beta, alpha
        S.r_squared(s, b),  # r_squared (and correlation)
        S.information_ratio(s, b),  # information_ratio
        S.treynor_ratio(s, b),  # treynor
    ]


def chart_calls(s, b):
    """The chart series Ballast's performance() returns (the drawdown series is above)."""
    return [
        S.compsum(s),
        S.compsum(b),
        S.rolling_volatility(s, rolling_period=63),
        S.rolling_volatility(s, rolling_period=252),
        S.rolling_sharpe(s, rolling_period=63),
        S.rolling_sharpe(s, rolling_period=252),
        S.rolling_greeks(s, b, periods=63),
        S.rolling_greeks(s, b, periods=252),
    ]


def timed(reps, work):
    """One untimed run, then `reps` timings in ms: (median, min, result of the last run)."""
    result = work()
    times = []
    for _ in range(reps):
        start = time.perf_counter()
        result = work()
        times.append((time.perf_counter() - start) * 1e3)
    return statistics.median(times), min(times), result


def read_series(path, name):
    df = pd.read_csv(path, index_col=0, parse_dates=True, float_precision="round_trip")
    return df.iloc[:, 0].rename(name)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("dir", type=Path)
    p.add_argument("--reps", type=int, default=20, help="portfolio function-set repetitions")
    p.add_argument("--metrics-reps", type=int, default=5, help="reports.metrics repetitions")
    p.add_argument("--asset-reps", type=int, default=3, help="repetitions of the asset pass")
    p.add_argument("--assets-sample", type=int, default=100,
                   help="assets timed (0 = all); the total is scaled linearly")
    a = p.parse_args()

    s = read_series(a.dir / "portfolio.csv", "Portfolio")
    b = read_series(a.dir / "benchmark.csv", "Benchmark")
    header = pd.read_csv(a.dir / "assets.csv", nrows=0).columns
    names = list(header[1:])
    count = len(names)
    sample = count if a.assets_sample <= 0 or a.assets_sample >= count else a.assets_sample
    step = count // sample
    chosen = names[::step][:sample]
    assets = pd.read_csv(a.dir / "assets.csv", index_col=0, parse_dates=True,
                         usecols=[header[0]] + chosen, float_precision="round_trip")
    asset_series = [assets[c] for c in chosen]

    out = {
        "quantstats": version("quantstats"),
        "pandas": pd.__version__,
        "numpy": np.__version__,
        "scipy": version("scipy"),
        "python": platform.python_version(),
        "observations": len(s),
    }
    # Calls: dd.iloc[-1] is not one, to_drawdown_series (above the list) is.
    n_kpi = len(kpi_calls(s, b))
    n_chart = len(chart_calls(s, b))

    med, mn, _ = timed(a.reps, lambda: (kpi_calls(s, b), chart_calls(s, b)))
    out["portfolio"] = {"functions": {"median_ms": med, "min_ms": mn, "reps": a.reps,
                                      "calls": n_kpi + n_chart}}
    try:
        med, mn, _ = timed(a.metrics_reps, lambda: qs.reports.metrics(
            s, b, mode="full", display=False))
        out["portfolio"]["metrics_full"] = {"median_ms": med, "min_ms": mn,
                                            "reps": a.metrics_reps}
    except Exception as e:  # a report, not a test: say why and go on
        out["portfolio"]["metrics_full"] = {"error": f"{type(e).__name__}: {e}"}

    def all_assets():
        for x in asset_series:
            kpi_calls(x, b)

    med, mn, _ = timed(a.asset_reps, all_assets)
    out["assets"] = {"count": count, "sample": sample, "reps": a.asset_reps,
                     "calls_per_asset": n_kpi, "sample_median_ms": med, "sample_min_ms": mn,
                     "total_ms": med * count / sample, "scaled": sample < count}

    greeks = S.greeks(s, b)
    out["check"] = {
        "annual_volatility": float(S.volatility(s)),
        "sharpe": float(S.sharpe(s)),
        "max_drawdown": float(S.max_drawdown(s)),
        "beta": float(greeks["beta"]),
    }
    return out


if __name__ == "__main__":
    with contextlib.redirect_stdout(sys.stderr):
        result = main()
    print(json.dumps(result))
