//! `ballast`: the headless command line over the same engine and workflows as the app, for
//! batch jobs and scripts. Human output by default, JSON with `--json` on reporting commands.
//! Secrets are read from standard input, never from arguments (which leak into shell history
//! and process listings).

mod report;

use std::io::{IsTerminal, Read};
use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use ballast_charts::Format;
use ballast_engine::kpi::KpiConfig;
use ballast_pg::ConnectSpec;
use ballast_sample_data::DemoConfig;
use ballast_storage::Workspace;
use ballast_workflows as workflows;
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
        #[arg(long)]
        json: bool,
    },
    /// KPIs of every portfolio (or one).
    Kpi {
        #[command(flatten)]
        db: DbArg,
        #[arg(long)]
        portfolio: Option<String>,
        /// Annual risk-free rate, e.g. 0.02.
        #[arg(long, default_value_t = 0.0)]
        rf: f64,
        #[arg(long)]
        json: bool,
    },
    /// Render a chart to an SVG or PNG file.
    #[command(subcommand)]
    Chart(ChartCommand),
    /// Credentials in the OS keychain.
    #[command(subcommand)]
    Secret(SecretCommand),
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

fn main() -> Result<()> {
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
            runtime()?.block_on(async {
                let pool = spec.connect().await?;
                ballast_pg::migrate(&pool).await?;
                anyhow::Ok(())
            })?;
            println!("migrated {}", spec.display_url());
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
            json,
        } => {
            let spec = connect_spec(&url, password_secret.as_deref())?;
            let workspace = Workspace::open(&db.db)?;
            let mut bar = report::ProgressLine::new(json);
            let summary =
                runtime()?.block_on(workflows::sync(&workspace, &spec, &mut |p| bar.sync(&p)));
            bar.finish();
            let summary = summary?;
            report::sync_summary(&summary, json)?;
        }
        Command::Kpi {
            db,
            portfolio,
            rf,
            json,
        } => {
            if !(-0.5..=1.0).contains(&rf) {
                bail!("--rf {rf} is not a plausible annual rate (use e.g. 0.02 for 2%)");
            }
            let workspace = Workspace::open(&db.db)?;
            let overviews = workflows::overviews(
                &workspace,
                portfolio.as_deref(),
                KpiConfig {
                    risk_free_annual: rf,
                },
            )?;
            let source = workspace.source()?;
            report::kpis(&overviews, source.as_ref(), json)?;
        }
        Command::Chart(ChartCommand::MonthlyReturns { db, portfolio, out }) => {
            let format = Format::for_path(&out)?;
            let workspace = Workspace::open(&db.db)?;
            workflows::monthly_returns_chart(&workspace, &portfolio, format, Some(&out))?;
            println!("wrote {}", out.display());
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
