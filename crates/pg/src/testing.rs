//! Helpers for tests that need a real Postgres: each test gets its own fresh database in the
//! cluster `DATABASE_URL` points at (the README's test command starts a throwaway one).
//! Without `DATABASE_URL` such tests skip with a message, unless `BALLAST_REQUIRE_SERVICES=1`
//! (set by `scripts/test`), where a missing database is a failure, not a silent pass.
//!
//! On a cluster of one's own, tests leave what they create (a failed test's database is there
//! to look at): databases `ballast_test_*`, logins `lp_test_*`, `pm_one_*` and `owner_test_*`,
//! and the logical replication test's subscriptions and slots `ballast_test_*`, each name
//! ending in a UUIDv7 that dates it. Each test process drops those older than
//! [`LEFTOVER_AGE`] before it creates its first database, so they do not pile up.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, SystemTime};

use sqlx::{Connection, PgConnection};

/// Test databases and logins older than this are an earlier run's leftovers: no test runs
/// this long.
pub const LEFTOVER_AGE: Duration = Duration::from_secs(2 * 60 * 60);

/// How the names of the databases and logins tests create begin (the `LIKE` patterns that
/// find them).
const TEST_DATABASES: &str = r"ballast\_test\_%";
const TEST_LOGINS: [&str; 3] = [r"lp\_test\_%", r"pm\_one\_%", r"owner\_test\_%"];

/// The admin URL of the test cluster, or `None` (after saying so) when tests should skip.
pub fn admin_url() -> Option<String> {
    match std::env::var("DATABASE_URL") {
        Ok(url) if !url.is_empty() => Some(url),
        _ if std::env::var("BALLAST_REQUIRE_SERVICES").as_deref() == Ok("1") => {
            panic!("DATABASE_URL is not set but BALLAST_REQUIRE_SERVICES=1: run scripts/test")
        }
        _ => {
            eprintln!(
                "skipped: DATABASE_URL is not set (scripts/test starts a throwaway Postgres)"
            );
            None
        }
    }
}

/// The TLS-only login of the test cluster and the CA file that signed its certificate
/// (`BALLAST_PG_TLS_URL`, `BALLAST_PG_TLS_CA`, set by `scripts/with-services` when it starts
/// its own cluster), or `None` (after saying why) when TLS tests should skip. With a
/// `DATABASE_URL` from outside they skip even under `BALLAST_REQUIRE_SERVICES=1`: we do not
/// control that server's TLS set-up.
pub fn tls_cluster() -> Option<(String, std::path::PathBuf)> {
    admin_url()?;
    match (
        std::env::var("BALLAST_PG_TLS_URL"),
        std::env::var("BALLAST_PG_TLS_CA"),
    ) {
        (Ok(url), Ok(ca)) if !url.is_empty() && !ca.is_empty() => Some((url, ca.into())),
        _ => {
            eprintln!(
                "skipped: BALLAST_PG_TLS_URL/BALLAST_PG_TLS_CA are not set (DATABASE_URL came \
                 from outside, so there is no test cluster with a TLS set-up we control)"
            );
            None
        }
    }
}

/// The admin URL of a hot standby of the test cluster (`BALLAST_PG_STANDBY_URL`, set by
/// `scripts/with-services` when asked with `BALLAST_PG_STANDBY=1`, as `scripts/test` does), or
/// `None` (after saying why) when standby tests should skip: with a `DATABASE_URL` from outside
/// they skip unless that variable names its standby. Asked for and missing is a failure.
pub fn standby_cluster() -> Option<String> {
    admin_url()?;
    match std::env::var("BALLAST_PG_STANDBY_URL") {
        Ok(url) if !url.is_empty() => Some(url),
        _ if std::env::var("BALLAST_PG_STANDBY").as_deref() == Ok("1") => {
            panic!("BALLAST_PG_STANDBY=1 asked for a hot standby, but BALLAST_PG_STANDBY_URL is not set")
        }
        _ => {
            eprintln!(
                "skipped: BALLAST_PG_STANDBY_URL is not set (scripts/test starts a standby of \
                 its own cluster; set it to a hot standby of DATABASE_URL's server)"
            );
            None
        }
    }
}

/// Wait until the standby at `standby_url` has replayed everything written to the primary at
/// `primary_url` so far (30 s at most).
pub async fn wait_for_replay(primary_url: &str, standby_url: &str) {
    let mut primary = PgConnection::connect(primary_url)
        .await
        .expect("connect to the primary");
    // The insert position: with asynchronous commit (the test cluster's), the last commits
    // may not be written out yet, and the write position would stop short of them.
    let written: String = sqlx::query_scalar("SELECT pg_current_wal_insert_lsn()::text")
        .fetch_one(&mut primary)
        .await
        .expect("the primary's WAL position");
    primary.close().await.ok();
    let mut standby = PgConnection::connect(standby_url)
        .await
        .expect("connect to the standby");
    let started = std::time::Instant::now();
    loop {
        let replayed: bool =
            sqlx::query_scalar("SELECT pg_last_wal_replay_lsn() >= $1::text::pg_lsn")
                .bind(&written)
                .fetch_one(&mut standby)
                .await
                .expect("the standby's replay position");
        if replayed {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the standby has not replayed {written} after 30 s"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    standby.close().await.ok();
}

/// The admin URL of the test cluster when it can publish and subscribe by logical replication
/// (`wal_level = logical`: `scripts/with-services` starts its cluster so when asked with
/// `BALLAST_PG_LOGICAL=1`, as `scripts/test` does), or `None` (after saying why) when such
/// tests should skip. Asked for and not possible is a failure.
pub async fn logical_replication_cluster() -> Option<String> {
    let admin = admin_url()?;
    let mut conn = PgConnection::connect(&admin)
        .await
        .expect("connect to the test cluster");
    let wal_level: String = sqlx::query_scalar("SELECT current_setting('wal_level')")
        .fetch_one(&mut conn)
        .await
        .expect("read wal_level");
    conn.close().await.ok();
    match wal_level.as_str() {
        "logical" => Some(admin),
        _ if std::env::var("BALLAST_PG_LOGICAL").as_deref() == Ok("1") => panic!(
            "BALLAST_PG_LOGICAL=1 asked for logical replication, but the test cluster runs \
             with wal_level = {wal_level}"
        ),
        _ => {
            eprintln!(
                "skipped: the test cluster runs with wal_level = {wal_level}, not logical \
                 (scripts/test starts its own cluster with logical replication)"
            );
            None
        }
    }
}

/// Replicate `tables` of the database at `publisher_url` into the same tables of the database
/// at `subscriber_url` (both in the test cluster; the subscriber's tables empty) by logical
/// replication: a publication, its slot made beforehand (a subscription cannot make a slot in
/// its own cluster while its `CREATE` waits), and a subscription that copies the rows there
/// now and then applies every later change. Returns the subscription's name, for
/// [`wait_for_subscriber`] and `DROP SUBSCRIPTION` (which also drops the slot).
pub async fn subscribe(publisher_url: &str, subscriber_url: &str, tables: &[&str]) -> String {
    let name = format!("ballast_test_{}", uuid::Uuid::now_v7().simple());
    execute(
        publisher_url,
        &format!("CREATE PUBLICATION {name} FOR TABLE {}", tables.join(", ")),
    )
    .await;
    // A statement of its own: a slot cannot be made in a transaction that has written.
    execute(
        publisher_url,
        &format!("SELECT pg_create_logical_replication_slot('{name}', 'pgoutput')"),
    )
    .await;
    execute(
        subscriber_url,
        &format!(
            "CREATE SUBSCRIPTION {name} CONNECTION '{}' PUBLICATION {name}
               WITH (create_slot = false, slot_name = '{name}')",
            publisher_url.replace('\'', "''")
        ),
    )
    .await;
    name
}

/// Wait until the subscription `name` in the database at `subscriber_url` has copied every
/// table and holds, in every mirrored table, the rows the database at `publisher_url` holds:
/// the same counts and money sums (60 s at most). The data itself, not a replication
/// position, which the apply worker confirms only from time to time; and not `updated_at`,
/// which the subscriber's own triggers stamp when they apply a row.
pub async fn wait_for_subscriber(publisher_url: &str, subscriber_url: &str, name: &str) {
    let contents = |checksums: Vec<(&'static str, ballast_engine::schema::TableChecksum)>| {
        checksums
            .into_iter()
            .map(|(table, sum)| (table, sum.rows, sum.sums))
            .collect::<Vec<_>>()
    };
    let subscriber = crate::ConnectSpec::new(subscriber_url, None);
    let expected = contents(checksums(&crate::ConnectSpec::new(publisher_url, None)).await);
    let mut conn = PgConnection::connect(subscriber_url)
        .await
        .expect("connect to the subscriber");
    let started = std::time::Instant::now();
    loop {
        let copying: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM pg_subscription_rel r JOIN pg_subscription s ON s.oid = r.srsubid
             WHERE s.subname = $1 AND r.srsubstate <> 'r'",
        )
        .bind(name)
        .fetch_one(&mut conn)
        .await
        .expect("the subscription's tables");
        if copying == 0 && contents(checksums(&subscriber).await) == expected {
            break;
        }
        if started.elapsed() > Duration::from_secs(60) {
            // Postgres 15 counts the apply worker's errors; the server log has their text.
            let errors: Option<i64> = sqlx::query_scalar(
                "SELECT apply_error_count + sync_error_count FROM pg_stat_subscription_stats
                 WHERE subname = $1",
            )
            .bind(name)
            .fetch_one(&mut conn)
            .await
            .ok();
            panic!(
                "the subscription {name} does not hold the publisher's rows after 60 s \
                 ({copying} tables still copying, {} errors applying changes; the server log \
                 says which)",
                errors.map_or("unknown".to_string(), |n| n.to_string())
            );
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    conn.close().await.ok();
}

/// A TCP proxy in front of a server, on a free port of 127.0.0.1, that holds every chunk for
/// a delay in each direction (a network's round trip, on one machine; what
/// `scripts/delay-proxy.py` does for the benchmark). It runs until the test's runtime ends.
pub struct DelayedProxy {
    /// The server's URL, pointed at the proxy.
    pub url: String,
    /// Bumped by [`DelayedProxy::go_quiet`]: connections made before stop passing anything.
    generation: std::sync::Arc<std::sync::atomic::AtomicU64>,
}

impl DelayedProxy {
    /// The connections open now stop passing anything, either way, and are never closed (a
    /// network gone quiet); connections made later work as before.
    pub fn go_quiet(&self) {
        self.generation.fetch_add(1, Ordering::SeqCst);
    }
}

/// A [`DelayedProxy`] in front of the server `url` names, holding each chunk for `delay`.
pub async fn delayed(url: &str, delay: Duration) -> DelayedProxy {
    use std::sync::atomic::AtomicU64;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let authority_start = url
        .find('@')
        .map_or_else(|| url.find("://").map_or(0, |i| i + 3), |i| i + 1);
    let authority_end = url[authority_start..]
        .find('/')
        .map_or(url.len(), |i| authority_start + i);
    let target = url[authority_start..authority_end].to_string();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a free port for the proxy");
    let port = listener.local_addr().expect("the proxy's address").port();
    let generation = std::sync::Arc::new(AtomicU64::new(0));
    // Chunks in order, each sent `delay` after it arrived, while the proxy's generation is
    // still the connection's.
    async fn pipe(
        mut from: tokio::net::tcp::OwnedReadHalf,
        mut to: tokio::net::tcp::OwnedWriteHalf,
        delay: Duration,
        generation: std::sync::Arc<AtomicU64>,
        born: u64,
    ) {
        let (send, mut due) = tokio::sync::mpsc::unbounded_channel();
        let writer = tokio::spawn(async move {
            while let Some((at, chunk)) = due.recv().await {
                tokio::time::sleep_until(at).await;
                if generation.load(Ordering::SeqCst) != born {
                    // Quiet: nothing passes, and nothing closes.
                    std::future::pending::<()>().await;
                }
                let chunk: Vec<u8> = chunk;
                if chunk.is_empty() || to.write_all(&chunk).await.is_err() {
                    break;
                }
            }
            let _ = to.shutdown().await;
        });
        let mut buffer = vec![0; 64 << 10];
        loop {
            let n = from.read(&mut buffer).await.unwrap_or(0);
            let at = tokio::time::Instant::now() + delay;
            if send.send((at, buffer[..n].to_vec())).is_err() || n == 0 {
                break;
            }
        }
        let _ = writer.await;
    }
    let accepting = generation.clone();
    tokio::spawn(async move {
        while let Ok((client, _)) = listener.accept().await {
            let Ok(server) = tokio::net::TcpStream::connect(&target).await else {
                continue;
            };
            let born = accepting.load(Ordering::SeqCst);
            let _ = (client.set_nodelay(true), server.set_nodelay(true));
            let (client_read, client_write) = client.into_split();
            let (server_read, server_write) = server.into_split();
            tokio::spawn(pipe(
                client_read,
                server_write,
                delay,
                accepting.clone(),
                born,
            ));
            tokio::spawn(pipe(
                server_read,
                client_write,
                delay,
                accepting.clone(),
                born,
            ));
        }
    });
    DelayedProxy {
        url: format!(
            "{}127.0.0.1:{port}{}",
            &url[..authority_start],
            &url[authority_end..]
        ),
        generation,
    }
}

/// `url` with its database name replaced by `database`.
pub fn with_database(url: &str, database: &str) -> String {
    let (base, query) = url
        .split_once('?')
        .map_or((url, None), |(b, q)| (b, Some(q)));
    let scheme_end = base.find("://").map_or(0, |i| i + 3);
    let path_start = base[scheme_end..]
        .find('/')
        .map_or(base.len(), |i| scheme_end + i);
    let mut out = format!("{}/{}", &base[..path_start], database);
    if let Some(q) = query {
        out.push('?');
        out.push_str(q);
    }
    out
}

/// When a test database or login named `name` was created: the time in the UUIDv7 its name
/// ends with (`None` for any other name).
pub fn created_at(name: &str) -> Option<SystemTime> {
    let suffix = name.get(name.len().checked_sub(32)?..)?;
    let (seconds, nanos) = uuid::Uuid::try_parse(suffix)
        .ok()?
        .get_timestamp()?
        .to_unix();
    Some(SystemTime::UNIX_EPOCH + Duration::new(seconds, nanos))
}

/// Drop the test databases, logins, subscriptions and replication slots in the cluster at
/// `admin_url` created more than [`LEFTOVER_AGE`] before `now`; returns their names. What
/// cannot be dropped (a login that still owns something elsewhere) is left, and said.
pub async fn drop_leftovers(admin_url: &str, now: SystemTime) -> Vec<String> {
    let mut conn = PgConnection::connect(admin_url)
        .await
        .expect("connect to the test cluster");
    let old = |names: Vec<String>| -> Vec<String> {
        names
            .into_iter()
            .filter(|name| {
                created_at(name)
                    .and_then(|created| now.duration_since(created).ok())
                    .is_some_and(|age| age > LEFTOVER_AGE)
            })
            .collect()
    };
    let databases: Vec<String> =
        sqlx::query_scalar("SELECT datname::text FROM pg_database WHERE datname LIKE $1")
            .bind(TEST_DATABASES)
            .fetch_all(&mut conn)
            .await
            .expect("list the test databases");
    let logins: Vec<String> =
        sqlx::query_scalar("SELECT rolname::text FROM pg_roles WHERE rolname LIKE ANY ($1)")
            .bind(TEST_LOGINS.to_vec())
            .fetch_all(&mut conn)
            .await
            .expect("list the test logins");
    let mut dropped = Vec::new();
    // A subscription and a replication slot of the logical replication test go first: a
    // database with a subscription cannot be dropped, and a slot keeps its publisher's WAL
    // for ever. The subscription is dropped in its own database, detached from its slot
    // (which may be gone), and the slot then on its own.
    let subscriptions: Vec<(String, String)> = sqlx::query_as(
        "SELECT s.subname::text, d.datname::text FROM pg_subscription s
         JOIN pg_database d ON d.oid = s.subdbid WHERE s.subname LIKE $1",
    )
    .bind(TEST_DATABASES)
    .fetch_all(&mut conn)
    .await
    .expect("list the test subscriptions");
    let old_names = old(subscriptions.iter().map(|(name, _)| name.clone()).collect());
    for (name, database) in subscriptions {
        if !old_names.contains(&name) {
            continue;
        }
        let detach = format!(
            "ALTER SUBSCRIPTION \"{name}\" DISABLE;
             ALTER SUBSCRIPTION \"{name}\" SET (slot_name = NONE)"
        );
        let drop = format!("DROP SUBSCRIPTION \"{name}\"");
        let outcome = async {
            let mut there = PgConnection::connect(&with_database(admin_url, &database)).await?;
            sqlx::raw_sql(sqlx::AssertSqlSafe(detach))
                .execute(&mut there)
                .await?;
            sqlx::raw_sql(sqlx::AssertSqlSafe(drop))
                .execute(&mut there)
                .await?;
            there.close().await
        }
        .await;
        match outcome {
            Ok(()) => dropped.push(name),
            Err(e) => eprintln!("left the subscription {name} from an earlier test run: {e}"),
        }
    }
    let slots: Vec<String> = sqlx::query_scalar(
        "SELECT slot_name::text FROM pg_replication_slots WHERE slot_name LIKE $1 AND NOT active",
    )
    .bind(TEST_DATABASES)
    .fetch_all(&mut conn)
    .await
    .expect("list the test replication slots");
    for slot in old(slots) {
        match sqlx::query("SELECT pg_drop_replication_slot($1)")
            .bind(&slot)
            .execute(&mut conn)
            .await
        {
            Ok(_) => dropped.push(slot),
            Err(e) => eprintln!("left the replication slot {slot} from an earlier test run: {e}"),
        }
    }
    // Databases next: a login's grants live in its test's database.
    let statements = old(databases)
        .into_iter()
        .map(|name| {
            (
                format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"),
                name,
            )
        })
        .chain(
            old(logins)
                .into_iter()
                .map(|name| (format!("DROP ROLE IF EXISTS \"{name}\""), name)),
        );
    for (statement, name) in statements {
        match sqlx::raw_sql(sqlx::AssertSqlSafe(statement))
            .execute(&mut conn)
            .await
        {
            Ok(_) => dropped.push(name),
            Err(e) => eprintln!("left {name} from an earlier test run: {e}"),
        }
    }
    conn.close().await.ok();
    dropped
}

/// Create an empty database with a unique name; returns its URL. The process's first call
/// drops what earlier runs left ([`drop_leftovers`]).
pub async fn fresh_database(admin_url: &str, label: &str) -> String {
    static SWEPT: AtomicBool = AtomicBool::new(false);
    if !SWEPT.swap(true, Ordering::Relaxed) {
        drop_leftovers(admin_url, SystemTime::now()).await;
    }
    let name = format!(
        "ballast_test_{}_{}",
        label
            .chars()
            .filter(|c| c.is_ascii_alphanumeric())
            .collect::<String>()
            .to_lowercase(),
        uuid::Uuid::now_v7().simple()
    );
    let mut conn = PgConnection::connect(admin_url)
        .await
        .expect("connect to the test cluster");
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&mut conn)
        .await
        .expect("create a test database");
    conn.close().await.ok();
    with_database(admin_url, &name)
}

/// Run an admin statement (role creation and the like) against `url`.
pub async fn execute(url: &str, sql: &str) {
    let mut conn = PgConnection::connect(url).await.expect("connect");
    sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_string()))
        .execute(&mut conn)
        .await
        .unwrap_or_else(|e| panic!("{}: {e}", without_passwords(sql)));
    conn.close().await.ok();
}

/// `text` with the password of every `scheme://user:password@host` URL in it replaced (a
/// statement that names a server, as `CREATE SUBSCRIPTION` does, goes into panic messages).
pub fn without_passwords(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(scheme_end) = rest.find("://") {
        let (before, after) = rest.split_at(scheme_end + 3);
        out.push_str(before);
        let authority_end = after
            .find(|c: char| c == '/' || c == '\'' || c.is_whitespace())
            .unwrap_or(after.len());
        let authority = &after[..authority_end];
        match (authority.rfind('@'), authority.find(':')) {
            (Some(at), Some(colon)) if colon < at => {
                out.push_str(&authority[..=colon]);
                out.push_str("<redacted>");
                out.push_str(&authority[at..]);
            }
            _ => out.push_str(authority),
        }
        rest = &after[authority_end..];
    }
    out.push_str(rest);
    out
}

/// What `COPY (query) TO STDOUT (FORMAT csv)` sends, as Postgres itself writes it, in UTC
/// (the reference the sync's own decoding of binary rows is held to).
pub async fn postgres_csv(url: &str, query: &str) -> Vec<u8> {
    use futures_util::StreamExt;
    let mut conn = PgConnection::connect(url).await.expect("connect");
    sqlx::raw_sql("SET TimeZone = 'UTC'")
        .execute(&mut conn)
        .await
        .expect("set the time zone");
    let sql = format!("COPY ({query}) TO STDOUT (FORMAT csv)");
    let mut stream = conn
        .copy_out_raw(sql.as_str())
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
    let mut csv = Vec::new();
    while let Some(chunk) = stream.next().await {
        csv.extend_from_slice(&chunk.expect("a chunk of the copy"));
    }
    drop(stream);
    conn.close().await.ok();
    csv
}

/// A new login in `lp_role`, mapped to the investor `investor_id`, on the database at `url`
/// (whose user is the cluster admin `postgres`). Returns the login's name and connection;
/// drop it with `DROP OWNED BY name; DROP ROLE name`.
pub async fn lp_login(url: &str, investor_id: &str) -> (String, crate::ConnectSpec) {
    let login = format!("lp_test_{}", uuid::Uuid::now_v7().simple());
    execute(
        url,
        &format!(
            "CREATE ROLE {login} LOGIN PASSWORD 'lp-pass' IN ROLE lp_role;
             UPDATE investors SET login_role = '{login}' WHERE id = '{investor_id}';"
        ),
    )
    .await;
    let lp_url = url.replacen("postgres@", &format!("{login}@"), 1);
    assert_ne!(lp_url, url, "the test cluster URL names the postgres user");
    let spec = crate::ConnectSpec::new(&lp_url, Some("lp-pass".into()));
    (login, spec)
}

/// Every mirrored table's checksum as `spec`'s role sees it now (one snapshot).
pub async fn checksums(
    spec: &crate::ConnectSpec,
) -> Vec<(&'static str, ballast_engine::schema::TableChecksum)> {
    let mut snapshot = crate::snapshot::Snapshot::open(spec)
        .await
        .expect("open a snapshot");
    let catalog = snapshot.catalog().await.expect("catalog");
    let mut out = Vec::new();
    for table in ballast_engine::schema::SHARED_TABLES {
        let checksum = if catalog.tables[table.name].selectable {
            snapshot.checksum(table).await.expect("checksum")
        } else {
            // A table the role may not read is an empty table to it.
            let zeros = vec!["0".to_string(); 2 + table.decimal_columns().count()];
            ballast_engine::schema::TableChecksum::from_texts(table, &zeros)
        };
        out.push((table.name, checksum));
    }
    snapshot.close(false).await;
    out
}

#[cfg(test)]
mod tests {
    use super::{created_at, with_database, without_passwords};
    use std::time::{Duration, SystemTime};

    #[test]
    fn passwords_in_urls_are_left_out_of_messages() {
        let cases = [
            (
                "CREATE SUBSCRIPTION s CONNECTION 'postgres://u:s3cret@h:5432/db' PUBLICATION p",
                "CREATE SUBSCRIPTION s CONNECTION 'postgres://u:<redacted>@h:5432/db' PUBLICATION p",
            ),
            ("postgres://u:p@ss@h/db", "postgres://u:<redacted>@h/db"),
            ("postgres://u@h:5432/db", "postgres://u@h:5432/db"),
            ("postgres://h:5432/db and no URL after", "postgres://h:5432/db and no URL after"),
            ("SELECT 1", "SELECT 1"),
        ];
        for (text, want) in cases {
            assert_eq!(without_passwords(text), want, "{text}");
        }
    }

    #[test]
    fn test_names_are_dated_by_their_uuidv7_and_other_names_are_not() {
        let at = |ms: u64| Some(SystemTime::UNIX_EPOCH + Duration::from_millis(ms));
        let cases = [
            (
                "ballast_test_sync_019af0d1e0007000800000000000abcd",
                at(0x019a_f0d1_e000),
            ),
            (
                "lp_test_019af0d1e0017000800000000000abcd",
                at(0x019a_f0d1_e001),
            ),
            ("pm_one_00000000000170008000000000000000", at(1)),
            // A random (v4) UUID carries no time; names without one are not tests'.
            ("ballast_test_x_3f2a8b1c9d4e4f6a8b7c6d5e4f3a2b1c", None),
            ("ballast_bench_sync", None),
            ("lp_role", None),
            ("", None),
        ];
        for (name, want) in cases {
            assert_eq!(created_at(name), want, "{name}");
        }
    }

    #[test]
    fn database_names_are_swapped_in_urls() {
        let cases = [
            ("postgres://u@h:5/postgres", "postgres://u@h:5/x"),
            ("postgres://u@h:5", "postgres://u@h:5/x"),
            (
                "postgres://u@h/db?sslmode=disable",
                "postgres://u@h/x?sslmode=disable",
            ),
        ];
        for (url, want) in cases {
            assert_eq!(with_database(url, "x"), want);
        }
    }
}
