//! Helpers for tests that need a real Postgres: each test gets its own fresh database in the
//! cluster `DATABASE_URL` points at (the README's test command starts a throwaway one).
//! Without `DATABASE_URL` such tests skip with a message, unless `BALLAST_REQUIRE_SERVICES=1`
//! (set by `scripts/test`), where a missing database is a failure, not a silent pass.

use sqlx::{Connection, PgConnection};

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

/// Create an empty database with a unique name; returns its URL.
pub async fn fresh_database(admin_url: &str, label: &str) -> String {
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
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
    conn.close().await.ok();
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
    use super::with_database;

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
