//! In-process sync timings for `scripts/bench-sync`: each workspace is opened once, as the app
//! holds it, the Postgres connections are kept between runs, as the app keeps them, and only
//! [`ballast_workflows::sync`] is timed (what the app's "Sync now" costs; the CLI adds a
//! process start, new connections, opening the file and closing it).
//!
//! `sync_timing URL DIR CHANGE_SQL` prints one line per run, seconds then rows brought in:
//! - `full S ROWS` five times, each into a new workspace in DIR;
//! - `nochange S ROWS` five times, on the last of them, 0.2 s apart;
//! - `incremental S ROWS` five times, each after `psql URL -c CHANGE_SQL` with `@ROUND@`
//!   replaced by the round's number (the script's 1% update).
//!
//! A report for the benchmark, not a test.

use std::path::Path;
use std::process::Command;
use std::time::Instant;

use ballast_pg::ConnectSpec;
use ballast_storage::Workspace;
use ballast_workflows::{sync, SyncOptions};

async fn timed(workspace: &Workspace, spec: &ConnectSpec, options: &SyncOptions) -> (f64, u64) {
    let trace = std::env::var_os("SYNC_TRACE").is_some();
    let started = Instant::now();
    let summary = sync(workspace, spec, options, &mut |p| {
        if trace && !matches!(p, ballast_workflows::SyncProgress::Copying { bytes: 0, .. }) {
            eprintln!(
                "{:8.1} ms  {}",
                started.elapsed().as_secs_f64() * 1e3,
                p.describe()
            );
        }
    })
    .await
    .expect("the sync succeeds");
    (started.elapsed().as_secs_f64(), summary.rows_in)
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [url, dir, change] = args.as_slice() else {
        eprintln!("usage: sync_timing URL DIR CHANGE_SQL");
        std::process::exit(2);
    };
    let spec = ConnectSpec::new(url, None);
    let options = SyncOptions {
        connections: Some(Default::default()),
        ..Default::default()
    };
    let dir = Path::new(dir);
    let mut last = None;
    for round in 1..=5 {
        let workspace = Workspace::open(&dir.join(format!("inproc-{round}.duckdb")))
            .expect("a new workspace opens");
        let (seconds, rows) = timed(&workspace, &spec, &options).await;
        println!("full {seconds:.3} {rows}");
        last = Some(workspace);
    }
    let workspace = last.expect("five workspaces");
    for _ in 0..5 {
        // Apart, as a person's syncs are: a run hands its connections back after it returns
        // (`KeptConnections`), and one started at once would wait for that instead.
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        let (seconds, rows) = timed(&workspace, &spec, &options).await;
        println!("nochange {seconds:.3} {rows}");
    }
    for round in 1..=5 {
        let sql = change.replace("@ROUND@", &format!("inproc{round}"));
        let status = Command::new("psql")
            .args([url.as_str(), "-qX", "-v", "ON_ERROR_STOP=1", "-c", &sql])
            .status()
            .expect("psql runs");
        assert!(status.success(), "the change applies");
        let (seconds, rows) = timed(&workspace, &spec, &options).await;
        println!("incremental {seconds:.3} {rows}");
    }
}
