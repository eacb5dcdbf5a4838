//! `ballast`: the headless command line over the same engine and workflows as the app, for
//! batch jobs and scripts. Human output by default, JSON with `--json` on reporting commands.
//! Secrets are read from standard input, never from arguments (which leak into shell history
//! and process listings).

mod report;
mod scenario_report;

use std::io::{IsTerminal, Read};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use ballast_charts::Format;
use ballast_engine::kpi::KpiConfig;
use ballast_engine::period::Range;
use ballast_pg::ConnectSpec;
use ballast_sample_data::DemoConfig;
use ballast_storage::Workspace;
use ballast_workflows as workflows;
use ballast_workflows::nav_csv;
use ballast_workflows::performance::Subject;
use clap::{Args, Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "ballast",
    version,
    about = "Ballast portfolio workstation, headless"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// The generated demo workspace.
    #[command(subcommand)]
    Demo(DemoCommand),
    /// The shared Postgres database: schema and demo data.
    #[command(subcommand)]
    Pg(PgCommand),
    /// Pull everything the connection may see from Postgres into a local workspace file.
    Sync {
        /// Postgres URL; a password in it is used but never stored or printed.
        #[arg(long, env = "BALLAST_PG_URL")]
        url: String,
        #[command(flatten)]
        db: DbArg,
        /// Keychain entry holding the password when the URL has none.
        #[arg(long)]
        password_secret: Option<String>,
        /// Have Postgres sum every row of every table, instead of checking the large ones from
        /// their changes (every table is verified either way).
        #[arg(long)]
        verify: bool,
        #[arg(long)]
        json: bool,
    },
    /// How fresh the workspace is: per-table sync and verification times, recent sync runs,
    /// and the outbox.
    Status {
        #[command(flatten)]
        db: DbArg,
        /// Mark data older than this many hours as stale (stored in the workspace).
        #[arg(long)]
        stale_after_hours: Option<u32>,
        #[arg(long)]
        json: bool,
    },
    /// Writes waiting for the shared database.
    #[command(subcommand)]
    Outbox(OutboxCommand),
    /// Write a note on a position; it reaches the shared database through the outbox.
    Annotate {
        #[command(flatten)]
        db: DbArg,
        /// Portfolio code.
        #[arg(long)]
        portfolio: String,
        /// Asset symbol.
        #[arg(long)]
        asset: String,
        /// The note.
        text: String,
    },
    /// KPIs: the headline figures of every portfolio, or the whole catalogue of one
    /// portfolio, account or asset (or of a series from a CSV file) over a range.
    Kpi(KpiArgs),
    /// Render a chart to an SVG or PNG file.
    #[command(subcommand)]
    Chart(ChartCommand),
    /// What-if scenarios: the built-in presets and your own (saved and versioned in the
    /// workspace), run on a portfolio as of its last NAV date.
    #[command(subcommand)]
    Scenario(ScenarioCommand),
    /// The liquidity ladder of a portfolio: cash it can raise by each horizon against the
    /// redemptions due, and under a scenario with --scenario.
    Ladder {
        #[command(flatten)]
        db: DbArg,
        /// Portfolio code.
        #[arg(long)]
        portfolio: String,
        /// Also the ladder after this scenario (a preset's key or a saved name).
        #[arg(long)]
        scenario: Option<String>,
        /// Set (and keep for this portfolio) the bucket ends in days, e.g. 1,7,30,90,365.
        #[arg(long, value_delimiter = ',')]
        buckets: Option<Vec<u32>>,
        /// Set (and keep for this portfolio) the share of average daily volume sold a day.
        #[arg(long)]
        participation: Option<rust_decimal::Decimal>,
        #[arg(long)]
        json: bool,
    },
    /// Credentials in the OS keychain.
    #[command(subcommand)]
    Secret(SecretCommand),
}

/// A scenario is named by a preset's key (`rates_up_200`, see `scenario list`) or a saved
/// name; `NAME@N` is version N of a saved one.
#[derive(Subcommand)]
enum ScenarioCommand {
    /// The built-in presets and the saved scenarios (latest versions).
    List {
        #[command(flatten)]
        db: DbArg,
        #[arg(long)]
        json: bool,
    },
    /// One scenario's definition.
    Show {
        #[command(flatten)]
        db: DbArg,
        name: String,
        /// A saved scenario's version (default: the latest).
        #[arg(long)]
        version: Option<i32>,
        #[arg(long)]
        json: bool,
    },
    /// Run a scenario on a portfolio: P/L per position and in total, NAV after, limits.
    Run {
        #[command(flatten)]
        db: DbArg,
        /// Portfolio code.
        #[arg(long)]
        portfolio: String,
        name: String,
        #[arg(long)]
        json: bool,
    },
    /// Run up to 5 scenarios on one portfolio side by side.
    Compare {
        #[command(flatten)]
        db: DbArg,
        /// Portfolio code.
        #[arg(long)]
        portfolio: String,
        /// Up to 5 scenario names.
        #[arg(required = true)]
        names: Vec<String>,
        #[arg(long)]
        json: bool,
    },
    /// Save a definition from a JSON file as a new version of its name.
    Import {
        #[command(flatten)]
        db: DbArg,
        file: PathBuf,
        /// Save under this name instead of the file's.
        #[arg(long)]
        name: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Write a scenario's definition to a JSON file.
    Export {
        #[command(flatten)]
        db: DbArg,
        name: String,
        /// A saved scenario's version (default: the latest).
        #[arg(long)]
        version: Option<i32>,
        #[arg(long)]
        out: PathBuf,
    },
    /// Copy a scenario (a preset or a saved one) to a new saved name.
    Duplicate {
        #[command(flatten)]
        db: DbArg,
        from: String,
        to: String,
        #[arg(long)]
        json: bool,
    },
    /// Monte Carlo VaR and expected shortfall (95% and 99%) of a portfolio over a horizon.
    Montecarlo {
        #[command(flatten)]
        db: DbArg,
        /// Portfolio code.
        #[arg(long)]
        portfolio: String,
        /// Holding period in trading days.
        #[arg(long, default_value_t = 10)]
        horizon: usize,
        #[arg(long, default_value_t = 10_000)]
        paths: usize,
        /// `cholesky` (the history's covariance, shrunk when needed) or `bootstrap` (whole days).
        #[arg(long, default_value = "cholesky")]
        method: String,
        /// The same seed gives the same figures.
        #[arg(long, default_value_t = 12_201_637)]
        seed: u64,
        #[arg(long)]
        json: bool,
    },
    /// Run a scenario on a portfolio and queue it, with its result, for the shared database
    /// (delivered by `ballast outbox drain`).
    Publish {
        #[command(flatten)]
        db: DbArg,
        /// Portfolio code.
        #[arg(long)]
        portfolio: String,
        name: String,
    },
    /// Delete every version of a saved scenario.
    Delete {
        #[command(flatten)]
        db: DbArg,
        name: String,
    },
}

#[derive(Subcommand)]
enum OutboxCommand {
    /// What is pending, dead-lettered and sent.
    Status {
        #[command(flatten)]
        db: DbArg,
        #[arg(long)]
        json: bool,
    },
    /// Deliver every due entry now.
    Drain {
        #[command(flatten)]
        db: DbArg,
        /// Postgres URL; a password in it is used but never stored or printed.
        #[arg(long, env = "BALLAST_PG_URL")]
        url: String,
        /// Keychain entry holding the password when the URL has none.
        #[arg(long)]
        password_secret: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Move dead-lettered entries back to pending (then drain).
    Retry {
        #[command(flatten)]
        db: DbArg,
    },
}

#[derive(Args)]
struct KpiArgs {
    /// The local workspace file (DuckDB); not needed with --nav-csv.
    #[arg(long, env = "BALLAST_DB")]
    db: Option<PathBuf>,
    /// The whole catalogue of this portfolio (by code).
    #[arg(long, group = "subject")]
    portfolio: Option<String>,
    /// The whole catalogue of this account (by broker account reference).
    #[arg(long, group = "subject")]
    account: Option<String>,
    /// The whole catalogue of this asset (by symbol).
    #[arg(long, group = "subject")]
    asset: Option<String>,
    /// Your own series: a CSV file with columns date,nav[,flow].
    #[arg(long, group = "subject")]
    nav_csv: Option<PathBuf>,
    /// A benchmark series for --nav-csv: a CSV file with columns date,nav (or close).
    #[arg(long, requires = "nav_csv")]
    benchmark_csv: Option<PathBuf>,
    /// The period: mtd, qtd, ytd, 1y, 3y, 5y, si (since inception) or custom:FROM..TO.
    #[arg(long, default_value = "si", conflicts_with_all = ["from", "to"])]
    range: String,
    /// Start of a custom period (YYYY-MM-DD), with --to.
    #[arg(long, requires = "to")]
    from: Option<chrono::NaiveDate>,
    /// End of a custom period (YYYY-MM-DD), with --from.
    #[arg(long, requires = "from")]
    to: Option<chrono::NaiveDate>,
    /// Annual risk-free rate, e.g. 0.02.
    #[arg(long, default_value_t = 0.0)]
    rf: f64,
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
struct DbArg {
    /// The local workspace file (DuckDB).
    #[arg(long, env = "BALLAST_DB")]
    db: PathBuf,
}

#[derive(Subcommand)]
enum DemoCommand {
    /// Write the demo dataset into a workspace file (replacing its data).
    Init {
        #[command(flatten)]
        db: DbArg,
        /// A smaller dataset (2 years, 10% of the instruments) for quick experiments.
        #[arg(long)]
        small: bool,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand)]
enum PgCommand {
    /// Apply the shared schema (migrations/) to a Postgres database.
    Migrate {
        #[arg(long, env = "BALLAST_PG_URL")]
        url: String,
    },
    /// Load the demo dataset into a migrated, empty Postgres database.
    Seed {
        #[arg(long, env = "BALLAST_PG_URL")]
        url: String,
        #[arg(long)]
        small: bool,
    },
    /// Remove the record of rows deleted more than --keep-days ago (as the owner of
    /// `tombstones`, e.g. daily from cron). A laptop that last synced before then checks the
    /// tables concerned whole at its next sync, so it still loses the rows deleted meanwhile.
    PruneTombstones {
        #[arg(long, env = "BALLAST_PG_URL")]
        url: String,
        /// Keep the tombstones of the last N days (at least 1).
        #[arg(long, default_value_t = 30, value_parser = clap::value_parser!(u32).range(1..))]
        keep_days: u32,
    },
}

#[derive(Subcommand)]
enum ChartCommand {
    /// Monthly returns heatmap (years × months).
    MonthlyReturns {
        #[command(flatten)]
        db: DbArg,
        #[arg(long)]
        portfolio: String,
        /// Output file: .svg or .png.
        #[arg(long)]
        out: PathBuf,
    },
}

#[derive(Subcommand)]
enum SecretCommand {
    /// Store a credential; the value is read from standard input.
    Set { name: String },
    /// Print a stored credential to standard output.
    Get { name: String },
    /// Remove a stored credential.
    Delete { name: String },
}

fn demo_config(small: bool) -> DemoConfig {
    if small {
        DemoConfig::small()
    } else {
        DemoConfig::default()
    }
}

fn connect_spec(url: &str, password_secret: Option<&str>) -> Result<ConnectSpec> {
    let spec = ConnectSpec::new(url, None);
    match (spec.password(), password_secret) {
        (None, Some(name)) => {
            let password = ballast_secrets::get(name)?;
            Ok(ConnectSpec::new(url, Some(password)))
        }
        _ => Ok(spec),
    }
}

fn read_secret_from_stdin() -> Result<String> {
    let stdin = std::io::stdin();
    if stdin.is_terminal() {
        eprintln!("Type the secret, then press Enter and Ctrl-D:");
    }
    let mut value = String::new();
    stdin
        .lock()
        .read_to_string(&mut value)
        .context("reading the secret from standard input")?;
    let value = value.trim_end_matches(['\n', '\r']).to_string();
    if value.is_empty() {
        bail!("no secret on standard input");
    }
    Ok(value)
}

fn runtime() -> Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?)
}

fn kpi(args: KpiArgs) -> Result<()> {
    if !(-0.5..=1.0).contains(&args.rf) {
        bail!(
            "--rf {} is not a plausible annual rate (use e.g. 0.02 for 2%)",
            args.rf
        );
    }
    let config = KpiConfig {
        risk_free_annual: args.rf,
    };
    let range = match (args.from, args.to) {
        (Some(from), Some(to)) => Range::custom(from, to)?,
        _ => Range::parse(&args.range)?,
    };
    if let Some(csv) = &args.nav_csv {
        let history = nav_csv::read_nav_csv(csv)?;
        let benchmark = match &args.benchmark_csv {
            Some(path) => {
                let points = nav_csv::read_nav_csv(path)?;
                if let Some(p) = points.iter().find(|p| !p.external_flow.is_zero()) {
                    bail!(
                        "{}: the benchmark has a flow on {}: a benchmark file has only date,nav",
                        path.display(),
                        p.date
                    );
                }
                Some(points)
            }
            None => None,
        };
        let name = |p: &Path| -> String {
            p.file_stem()
                .map_or("series".into(), |s| s.to_string_lossy().into_owned())
        };
        let bench_name = args.benchmark_csv.as_deref().map(name);
        let report = workflows::performance::series_performance(
            &name(csv),
            &history,
            bench_name.as_deref().zip(benchmark.as_deref()),
            range,
            config,
        )?;
        return report::catalogue(&report, None, config, args.json);
    }
    let db = args
        .db
        .context("--db (or BALLAST_DB) is needed unless you give --nav-csv")?;
    let workspace = Workspace::open(&db)?;
    let source = workspace.source()?;
    let subject = match (args.portfolio, args.account, args.asset) {
        (Some(code), _, _) => Subject::Portfolio(code),
        (_, Some(reference), _) => Subject::Account(reference),
        (_, _, Some(symbol)) => Subject::Asset(symbol),
        _ => {
            if range != Range::SinceInception {
                bail!("--range needs a subject: --portfolio, --account, --asset or --nav-csv");
            }
            let overviews = workflows::overviews(&workspace, None, config)?;
            return report::kpis(&overviews, source.as_ref(), args.json);
        }
    };
    let report = workflows::performance::performance(&workspace, &subject, range, config)?;
    report::catalogue(&report, source.as_ref(), config, args.json)
}

fn scenario(command: ScenarioCommand) -> Result<()> {
    use workflows::scenarios;
    match command {
        ScenarioCommand::List { db, json } => {
            let workspace = Workspace::open(&db.db)?;
            scenario_report::list(&scenarios::list(&workspace)?, json)
        }
        ScenarioCommand::Show {
            db,
            name,
            version,
            json,
        } => {
            let workspace = Workspace::open(&db.db)?;
            scenario_report::show(&scenarios::show(&workspace, &name, version)?, json)
        }
        ScenarioCommand::Run {
            db,
            portfolio,
            name,
            json,
        } => {
            let workspace = Workspace::open(&db.db)?;
            scenario_report::run(&scenarios::run(&workspace, &portfolio, &name)?, json)
        }
        ScenarioCommand::Compare {
            db,
            portfolio,
            names,
            json,
        } => {
            let workspace = Workspace::open(&db.db)?;
            scenario_report::compare(&scenarios::compare(&workspace, &portfolio, &names)?, json)
        }
        ScenarioCommand::Import {
            db,
            file,
            name,
            json,
        } => {
            let workspace = Workspace::open(&db.db)?;
            let saved = scenarios::import(&workspace, &file, name.as_deref())?;
            scenario_report::saved(&saved, "imported", json)
        }
        ScenarioCommand::Export {
            db,
            name,
            version,
            out,
        } => {
            let workspace = Workspace::open(&db.db)?;
            let s = scenarios::export(&workspace, &name, version, &out)?;
            match s.source {
                scenarios::ScenarioSource::Saved { version, .. } => {
                    println!("wrote {} version {version} to {}", s.key, out.display())
                }
                scenarios::ScenarioSource::Preset => {
                    println!("wrote preset {} to {}", s.key, out.display())
                }
            }
            Ok(())
        }
        ScenarioCommand::Duplicate { db, from, to, json } => {
            let workspace = Workspace::open(&db.db)?;
            let saved = scenarios::duplicate(&workspace, &from, &to)?;
            scenario_report::saved(&saved, "saved", json)
        }
        ScenarioCommand::Montecarlo {
            db,
            portfolio,
            horizon,
            paths,
            method,
            seed,
            json,
        } => {
            use ballast_engine::montecarlo::{Method, MonteCarloConfig};
            let method = match method.as_str() {
                "cholesky" => Method::Cholesky,
                "bootstrap" => Method::Bootstrap,
                other => bail!("--method {other}: use cholesky or bootstrap"),
            };
            let workspace = Workspace::open(&db.db)?;
            let report = scenarios::monte_carlo(
                &workspace,
                &portfolio,
                MonteCarloConfig {
                    paths,
                    horizon_days: horizon,
                    seed,
                    method,
                    ..MonteCarloConfig::default()
                },
            )?;
            if json {
                println!("{}", serde_json::to_string(&report)?);
            } else {
                println!(
                    "{} — NAV {} {} as of {}: {} paths, {}-day horizon, {:?}, seed {}",
                    report.portfolio,
                    report.nav.round_dp(2),
                    report.base_currency,
                    report.as_of,
                    paths,
                    horizon,
                    method,
                    seed
                );
                for level in &report.result.levels {
                    println!(
                        "  {:>4.0}%  VaR {:>+8.2}% ({} {})   ES {:>+8.2}% ({} {})",
                        level.confidence * 100.0,
                        level.var * 100.0,
                        report.base_currency,
                        level.var_amount.round_dp(2),
                        level.es * 100.0,
                        report.base_currency,
                        level.es_amount.round_dp(2)
                    );
                }
                if !report.riskless.is_empty() {
                    println!(
                        "  without price history, held as riskless: {}",
                        report.riskless.join(", ")
                    );
                }
            }
            Ok(())
        }
        ScenarioCommand::Publish {
            db,
            portfolio,
            name,
        } => {
            let workspace = Workspace::open(&db.db)?;
            let item = scenarios::publish(&workspace, &portfolio, &name)?;
            println!(
                "queued {} ({}): deliver it with `ballast outbox drain`",
                item.idempotency_key, item.status
            );
            Ok(())
        }
        ScenarioCommand::Delete { db, name } => {
            let workspace = Workspace::open(&db.db)?;
            let n = scenarios::delete(&workspace, &name)?;
            println!("deleted scenario '{name}' ({n} versions)");
            Ok(())
        }
    }
}

/// `ballast scenario list | head` closes stdout early. End quietly, as Unix tools do, rather
/// than with `println!`'s panic; every write to the workspace is transactional, so stopping
/// there loses nothing.
fn quiet_on_broken_pipe() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let message = info
            .payload()
            .downcast_ref::<String>()
            .map_or("", String::as_str);
        if message.starts_with("failed printing to stdout") && message.contains("Broken pipe") {
            std::process::exit(0);
        }
        default(info);
    }));
}

fn main() -> Result<()> {
    quiet_on_broken_pipe();
    let cli = Cli::parse();
    match cli.command {
        Command::Demo(DemoCommand::Init { db, small, json }) => {
            let workspace = Workspace::open(&db.db)?;
            let mut bar = report::ProgressLine::new(json);
            workflows::demo_init(&workspace, &demo_config(small), &mut |p| bar.write(&p))?;
            bar.finish();
            report::table_counts(&workspace, json)?;
        }
        Command::Pg(PgCommand::Migrate { url }) => {
            let spec = ConnectSpec::new(&url, None);
            let unwatched = runtime()?.block_on(async {
                let pool = spec.connect().await?;
                ballast_pg::migrate(&pool).await?;
                anyhow::Ok(ballast_pg::unwatched_ddl(&pool, &spec).await?)
            })?;
            println!("migrated {}", spec.display_url());
            if !unwatched.is_empty() {
                eprintln!(
                    "warning: {}",
                    ballast_pg::snapshot::unwatched_ddl_text(&unwatched)
                );
            }
        }
        Command::Pg(PgCommand::PruneTombstones { url, keep_days }) => {
            let spec = ConnectSpec::new(&url, None);
            let pruned = runtime()?.block_on(async {
                let pool = spec.connect().await?;
                anyhow::Ok(ballast_pg::prune_tombstones(&pool, &spec, keep_days).await?)
            })?;
            println!(
                "pruned {pruned} {} older than {keep_days} days from {}",
                if pruned == 1 {
                    "tombstone"
                } else {
                    "tombstones"
                },
                spec.display_url()
            );
        }
        Command::Pg(PgCommand::Seed { url, small }) => {
            let spec = ConnectSpec::new(&url, None);
            let data = ballast_sample_data::generate(&demo_config(small));
            runtime()?.block_on(async {
                let pool = spec.connect().await?;
                ballast_pg::seed(&pool, &spec, &data).await?;
                anyhow::Ok(())
            })?;
            let rows: usize = data.row_counts().iter().map(|(_, n)| n).sum();
            println!("seeded {} with {rows} demo rows", spec.display_url());
        }
        Command::Sync {
            url,
            db,
            password_secret,
            verify,
            json,
        } => {
            let spec = connect_spec(&url, password_secret.as_deref())?;
            let workspace = Workspace::open(&db.db)?;
            let mut bar = report::ProgressLine::new(json);
            let options = workflows::SyncOptions {
                verify_all: verify,
                ..Default::default()
            };
            let summary = runtime()?.block_on(async {
                // Ctrl-C cancels cleanly: the run rolls back and is recorded as cancelled.
                let cancel = options.cancel.clone();
                let interrupt = tokio::spawn(async move {
                    if tokio::signal::ctrl_c().await.is_ok() {
                        cancel.store(true, std::sync::atomic::Ordering::SeqCst);
                    }
                });
                let summary =
                    workflows::sync(&workspace, &spec, &options, &mut |p| bar.sync(&p)).await;
                interrupt.abort();
                summary
            });
            bar.finish();
            let summary = summary?;
            report::sync_summary(&summary, json)?;
        }
        Command::Status {
            db,
            stale_after_hours,
            json,
        } => {
            let workspace = Workspace::open(&db.db)?;
            if let Some(hours) = stale_after_hours {
                if hours == 0 {
                    bail!("--stale-after-hours must be at least 1");
                }
                workspace.set_setting(
                    workflows::sync::STALE_AFTER_HOURS_SETTING,
                    &hours.to_string(),
                )?;
            }
            report::status(&workspace, json)?;
        }
        Command::Outbox(OutboxCommand::Status { db, json }) => {
            report::outbox(&Workspace::open(&db.db)?, json)?;
        }
        Command::Outbox(OutboxCommand::Drain {
            db,
            url,
            password_secret,
            json,
        }) => {
            let spec = connect_spec(&url, password_secret.as_deref())?;
            let workspace = Workspace::open(&db.db)?;
            let r = runtime()?.block_on(workflows::outbox::drain(
                &workspace,
                &spec,
                workflows::outbox::MAX_ATTEMPTS,
                chrono::Utc::now(),
            ))?;
            if json {
                println!(
                    "{}",
                    serde_json::json!({"sent": r.sent, "already_present": r.already_present,
                        "failed": r.failed, "dead": r.dead, "waiting": r.waiting})
                );
            } else {
                println!(
                    "outbox: {} sent, {} already delivered, {} failed (will retry), {} dead, {} waiting",
                    r.sent, r.already_present, r.failed, r.dead, r.waiting
                );
            }
        }
        Command::Outbox(OutboxCommand::Retry { db }) => {
            let n = Workspace::open(&db.db)?.outbox_retry_dead()?;
            println!("{n} dead entries back to pending");
        }
        Command::Annotate {
            db,
            portfolio,
            asset,
            text,
        } => {
            let workspace = Workspace::open(&db.db)?;
            let item = workflows::annotate(&workspace, &portfolio, &asset, &text)?;
            println!("queued {} ({})", item.idempotency_key, item.status);
        }
        Command::Kpi(args) => kpi(args)?,
        Command::Chart(ChartCommand::MonthlyReturns { db, portfolio, out }) => {
            let format = Format::for_path(&out)?;
            let workspace = Workspace::open(&db.db)?;
            workflows::monthly_returns_chart(&workspace, &portfolio, format, Some(&out))?;
            println!("wrote {}", out.display());
        }
        Command::Scenario(command) => scenario(command)?,
        Command::Ladder {
            db,
            portfolio,
            scenario,
            buckets,
            participation,
            json,
        } => {
            let workspace = Workspace::open(&db.db)?;
            if buckets.is_some() || participation.is_some() {
                workflows::scenarios::set_ladder_config(
                    &workspace,
                    &portfolio,
                    buckets,
                    participation,
                )?;
            }
            let report = workflows::scenarios::ladder(&workspace, &portfolio, scenario.as_deref())?;
            scenario_report::ladder(&report, json)?;
        }
        Command::Secret(SecretCommand::Set { name }) => {
            let value = read_secret_from_stdin()?;
            ballast_secrets::set(&name, &value)?;
            println!("stored {name} in the keychain");
        }
        Command::Secret(SecretCommand::Get { name }) => {
            println!("{}", ballast_secrets::get(&name)?);
        }
        Command::Secret(SecretCommand::Delete { name }) => {
            ballast_secrets::delete(&name)?;
            println!("removed {name} from the keychain");
        }
    }
    Ok(())
}
