//! The connections a sync does its own work on (its writer, the reader of what the last run
//! left, the run log), kept between runs rather than opened for each. DuckDB spends 0.5–1.5 ms
//! planning a statement; a kept connection keeps the statements it has prepared
//! ([`duckdb::Connection::prepare_cached`]), so a run with nothing new to plan plans nothing,
//! where each run used to plan some twenty statements (about 19 ms of a 1% sync's CPU on the
//! benchmark of BENCHMARKS.md, "Sync").

use std::ops::Deref;
use std::sync::{Arc, Mutex};

use duckdb::vtab::arrow::ArrowVTab;
use duckdb::Connection;

use crate::Result;

/// Prepared statements a connection keeps: more than the distinct statements a sync runs
/// on one connection (about 25 for a run that brings deltas to a few tables).
const STATEMENTS_KEPT: usize = 64;

/// Idle connections to one workspace, ready for the next run.
#[derive(Default)]
pub(crate) struct ConnectionPool {
    idle: Arc<Mutex<Vec<Connection>>>,
}

impl ConnectionPool {
    /// An idle connection, or a new one to the same database as `main`.
    pub(crate) fn take(&self, main: &Connection) -> Result<PooledConnection> {
        let kept = self.idle.lock().unwrap_or_else(|e| e.into_inner()).pop();
        let conn = match kept {
            Some(conn) => conn,
            None => {
                let conn = main.try_clone()?;
                conn.set_prepared_statement_cache_capacity(STATEMENTS_KEPT);
                // `arrow(?)`: a delta's rows, as decoded from Postgres.
                conn.register_table_function::<ArrowVTab>("arrow")?;
                conn
            }
        };
        Ok(PooledConnection {
            conn: Some(conn),
            idle: self.idle.clone(),
        })
    }
}

/// A connection on loan from a [`ConnectionPool`]; it goes back when dropped. Its holder
/// must end any transaction it began before then ([`crate::SyncWriter`] rolls back an
/// uncommitted run as it drops).
pub(crate) struct PooledConnection {
    conn: Option<Connection>,
    idle: Arc<Mutex<Vec<Connection>>>,
}

impl Deref for PooledConnection {
    type Target = Connection;

    fn deref(&self) -> &Connection {
        self.conn.as_ref().expect("held until dropped")
    }
}

impl Drop for PooledConnection {
    fn drop(&mut self) {
        // A holder that panicked may have left a transaction open: that connection closes
        // (rolling it back) rather than be lent again.
        if std::thread::panicking() {
            return;
        }
        if let Some(conn) = self.conn.take() {
            self.idle
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(conn);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn idle(pool: &ConnectionPool) -> usize {
        pool.idle.lock().unwrap().len()
    }

    #[test]
    fn a_connection_goes_back_for_the_next_holder_unless_its_holder_panicked() {
        let main = Connection::open_in_memory().unwrap();
        main.execute_batch("CREATE TABLE t (i INTEGER)").unwrap();
        let pool = ConnectionPool::default();
        {
            let conn = pool.take(&main).unwrap();
            conn.prepare_cached("INSERT INTO t VALUES (1)")
                .unwrap()
                .execute([])
                .unwrap();
        }
        assert_eq!(idle(&pool), 1, "back after use");
        let again = pool.take(&main).unwrap();
        assert_eq!(idle(&pool), 0, "the same one lent again");
        drop(again);

        // A holder that panics inside its transaction: that connection is not lent again,
        // and its transaction is rolled back as it closes.
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let conn = pool.take(&main).unwrap();
            conn.execute_batch("BEGIN TRANSACTION; INSERT INTO t VALUES (2)")
                .unwrap();
            panic!("a bug while the transaction is open");
        }));
        assert!(outcome.is_err());
        assert_eq!(idle(&pool), 0);
        let fresh = pool.take(&main).unwrap();
        fresh.execute_batch("BEGIN TRANSACTION; COMMIT").unwrap();
        let rows: Vec<i32> = fresh
            .prepare("SELECT i FROM t ORDER BY i")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .map(|r| r.unwrap())
            .collect();
        assert_eq!(rows, [1], "the panicking holder's insert was rolled back");
    }
}
