//! TLS and connection errors against the real test cluster of `scripts/with-services`, which
//! speaks TLS with a throw-away CA and has a login role (`ballast_tls`) that pg_hba admits
//! only over TLS. Every case checks that no message carries the password.

use std::io::{Read, Write};
use std::path::Path;
use std::process::Command;

use ballast_pg::{testing, ConnectSpec, PgError};

/// What a connection attempt must give.
enum Expect {
    /// Connects, and the session is encrypted (pg_stat_ssl.ssl).
    Encrypted,
    /// Fails with a [`PgError::Connect`] whose message contains every one of these.
    Fails(&'static [&'static str]),
}

struct Case {
    name: &'static str,
    url: String,
    password: String,
    expect: Expect,
}

const NOT_TRUSTED: &[&str] = &[
    "the server's certificate is not trusted",
    "set sslrootcert to the CA file",
];

#[tokio::test(flavor = "multi_thread")]
async fn tls_modes_and_connection_errors_are_clear() {
    let Some((tls_url, ca)) = testing::tls_cluster() else {
        return;
    };
    let ca = ca.display().to_string();
    let dir = tempfile::tempdir().unwrap();
    let wrong_ca = make_unrelated_ca(dir.path());
    let port = port_of(&tls_url);
    let no_tls_port = spawn_server_without_tls();
    // The TLS role logs in without a password (trust over hostssl); give one anyway, so that
    // every case checks that it never shows up.
    let unused = format!("Unused-{}", uuid::Uuid::now_v7().simple());
    let on_tls = |query: &str| format!("{tls_url}?{query}");

    let mut cases = vec![
        Case {
            name: "sslmode=require encrypts",
            url: on_tls("sslmode=require"),
            password: unused.clone(),
            expect: Expect::Encrypted,
        },
        Case {
            name: "no sslmode (prefer) encrypts when the server offers TLS",
            url: tls_url.clone(),
            password: unused.clone(),
            expect: Expect::Encrypted,
        },
        Case {
            name: "verify-full with the CA and host localhost",
            url: on_tls(&format!("sslmode=verify-full&sslrootcert={ca}")),
            password: unused.clone(),
            expect: Expect::Encrypted,
        },
        Case {
            name: "verify-full with the CA and host 127.0.0.1 (an IP SAN)",
            url: format!(
                "postgres://ballast_tls@127.0.0.1:{port}/postgres?sslmode=verify-full&sslrootcert={ca}"
            ),
            password: unused.clone(),
            expect: Expect::Encrypted,
        },
        Case {
            name: "verify-ca with the CA",
            url: on_tls(&format!("sslmode=verify-ca&sslrootcert={ca}")),
            password: unused.clone(),
            expect: Expect::Encrypted,
        },
        Case {
            name: "verify-full without sslrootcert (system roots only)",
            url: on_tls("sslmode=verify-full"),
            password: unused.clone(),
            expect: Expect::Fails(NOT_TRUSTED),
        },
        Case {
            name: "verify-full with an unrelated CA",
            url: on_tls(&format!("sslmode=verify-full&sslrootcert={wrong_ca}")),
            password: unused.clone(),
            expect: Expect::Fails(NOT_TRUSTED),
        },
        Case {
            name: "verify-ca with an unrelated CA",
            url: on_tls(&format!("sslmode=verify-ca&sslrootcert={wrong_ca}")),
            password: unused.clone(),
            expect: Expect::Fails(NOT_TRUSTED),
        },
        Case {
            name: "verify-full with a missing sslrootcert file",
            url: on_tls("sslmode=verify-full&sslrootcert=/nonexistent/ca.pem"),
            password: unused.clone(),
            expect: Expect::Fails(&["cannot read a TLS file named in the URL"]),
        },
        Case {
            name: "sslmode=disable for a role the server admits only over TLS",
            url: on_tls("sslmode=disable"),
            password: unused.clone(),
            expect: Expect::Fails(&[
                "the server requires TLS",
                "add sslmode=require (or sslmode=verify-full with sslrootcert=",
            ]),
        },
        Case {
            name: "sslmode=require against a server without TLS",
            url: format!("postgres://ballast_tls@127.0.0.1:{no_tls_port}/postgres?sslmode=require"),
            password: unused.clone(),
            expect: Expect::Fails(&["does not support TLS", "sslmode=require"]),
        },
        Case {
            name: "a port nobody listens on",
            url: "postgres://ballast_tls@127.0.0.1:1/postgres?sslmode=require".to_string(),
            password: unused.clone(),
            expect: Expect::Fails(&[
                "cannot reach 127.0.0.1:1: connection refused",
                "is the server running and the address right?",
            ]),
        },
        Case {
            name: "a host name that does not resolve",
            url: "postgres://ballast_tls@nonexistent.invalid/postgres".to_string(),
            password: unused.clone(),
            expect: Expect::Fails(&["cannot reach nonexistent.invalid:5432"]),
        },
    ];
    match std::env::var("BALLAST_PG_SCRAM_URL") {
        Ok(scram_url) => cases.push(Case {
            name: "a wrong password (SCRAM)",
            url: scram_url,
            password: format!("Wrong-{}", uuid::Uuid::now_v7().simple()),
            expect: Expect::Fails(&["password authentication failed for user \"ballast\""]),
        }),
        Err(_) => eprintln!("skipped the wrong-password case: BALLAST_PG_SCRAM_URL is not set"),
    }

    let mut failures = Vec::new();
    for case in &cases {
        if let Err(why) = run(case).await {
            failures.push(format!("{}: {why}", case.name));
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

/// Under verify-full the host name must be one the certificate lists. The server listens on
/// 127.0.0.1 only; `::ffff:127.0.0.1` (IPv4-mapped IPv6) reaches it under a name the
/// certificate does not list. Skips where the kernel has no IPv6.
#[tokio::test(flavor = "multi_thread")]
async fn verify_full_checks_the_host_name() {
    let Some((tls_url, ca)) = testing::tls_cluster() else {
        return;
    };
    let url = format!(
        "{tls_url}?host=::ffff:127.0.0.1&sslmode=verify-full&sslrootcert={}",
        ca.display()
    );
    let message = match ConnectSpec::new(&url, None).connect().await {
        Ok(_) => panic!("verify-full accepted a host name the certificate does not list"),
        Err(e) => e.to_string(),
    };
    eprintln!("verify-full as ::ffff:127.0.0.1: {message}");
    if message.contains("cannot reach") {
        eprintln!("skipped: cannot connect over IPv4-mapped IPv6 here ({message})");
        return;
    }
    assert!(
        message
            .contains("the server's certificate is not trusted: it is not valid for the host name"),
        "{message}"
    );
    assert!(message.contains("sslmode=verify-ca"), "{message}");
    // With the host name check off, the same connection works.
    let url = url.replace("verify-full", "verify-ca");
    ConnectSpec::new(&url, None)
        .connect()
        .await
        .unwrap_or_else(|e| panic!("verify-ca: {e}"));
}

async fn run(case: &Case) -> Result<(), String> {
    let spec = ConnectSpec::new(&case.url, Some(case.password.clone()));
    let outcome = spec.connect().await;
    if format!("{spec:?}").contains(&case.password) {
        return Err("Debug shows the password".into());
    }
    match (&case.expect, outcome) {
        (Expect::Encrypted, Ok(pool)) => {
            let ssl: bool =
                sqlx::query_scalar("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
                    .fetch_one(&pool)
                    .await
                    .map_err(|e| format!("pg_stat_ssl: {e}"))?;
            pool.close().await;
            if ssl {
                Ok(())
            } else {
                Err("connected, but without TLS".into())
            }
        }
        (Expect::Encrypted, Err(e)) => Err(format!("expected a TLS connection, got: {e}")),
        (Expect::Fails(_), Ok(_)) => Err("connected, expected an error".into()),
        (Expect::Fails(wanted), Err(e)) => {
            let message = e.to_string();
            eprintln!("{}: {message}", case.name);
            if !matches!(e, PgError::Connect { .. }) {
                return Err(format!("not a Connect error: {e:?}"));
            }
            if message.contains(&case.password) || format!("{e:?}").contains(&case.password) {
                return Err(format!("the message shows the password: {message}"));
            }
            if !message.contains(spec.display_url()) {
                return Err(format!("the message does not name the URL: {message}"));
            }
            match wanted.iter().find(|w| !message.contains(*w)) {
                Some(missing) => Err(format!("{message:?} lacks {missing:?}")),
                None => Ok(()),
            }
        }
    }
}

fn port_of(url: &str) -> u16 {
    let after_at = url.rsplit_once('@').map_or(url, |(_, rest)| rest);
    let authority = after_at.split(['/', '?']).next().unwrap();
    authority
        .rsplit_once(':')
        .and_then(|(_, port)| port.parse().ok())
        .unwrap_or_else(|| panic!("no port in {url}"))
}

/// A self-signed CA that signed nothing the server has, as `dir/wrong-ca.pem`.
fn make_unrelated_ca(dir: &Path) -> String {
    let pem = dir.join("wrong-ca.pem");
    let output = Command::new("openssl")
        .args(["req", "-x509", "-new", "-nodes", "-newkey", "ec"])
        .args(["-pkeyopt", "ec_paramgen_curve:prime256v1", "-days", "1"])
        .args(["-subj", "/CN=Unrelated test CA", "-keyout"])
        .arg(dir.join("wrong-ca.key"))
        .arg("-out")
        .arg(&pem)
        .output()
        .expect("run openssl (scripts/setup installs it)");
    assert!(
        output.status.success(),
        "openssl: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    pem.display().to_string()
}

/// A TCP server that answers Postgres' SSLRequest with "N" (no TLS here), as a server with
/// ssl=off does; returns its port. A plain thread: it outlives no more than the test binary.
fn spawn_server_without_tls() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for mut socket in listener.incoming().flatten() {
            std::thread::spawn(move || {
                let mut request = [0u8; 8];
                if socket.read_exact(&mut request).is_ok() {
                    let _ = socket.write_all(b"N");
                }
                // The client gives up; wait for it to close.
                let mut rest = Vec::new();
                let _ = socket.read_to_end(&mut rest);
            });
        }
    });
    port
}
