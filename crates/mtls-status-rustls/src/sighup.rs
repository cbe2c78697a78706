//! Reload on SIGHUP (feature `sighup`, unix): the signal nginx and most
//! daemons take as "read your files again".

use std::fmt;

use crate::reloadables::Reloadables;

/// Reloads a [`Reloadables`] set on every SIGHUP until dropped (the task
/// is aborted then). Made by [`Reloadables::reload_on_sighup`].
pub struct SighupReloader {
    task: tokio::task::JoinHandle<()>,
}

impl fmt::Debug for SighupReloader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SighupReloader")
            .field("finished", &self.task.is_finished())
            .finish()
    }
}

impl Drop for SighupReloader {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Reloadables {
    /// Spawns a task on the current tokio runtime that reloads every
    /// material of the set on each SIGHUP (each attempt reported as
    /// [`Reloadables`] says). The handler is installed when this returns,
    /// so a SIGHUP sent afterwards is never the default "terminate".
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> std::io::Result<()> {
    /// use mtls_status_rustls::{Reloadables, ReloadableTrustStore, TrustStore};
    ///
    /// let store = ReloadableTrustStore::new(TrustStore::empty());
    /// let reloader = Reloadables::new().trust_store(&store).reload_on_sighup()?;
    /// drop(reloader); // stops handling SIGHUP
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// Outside a tokio runtime (with I/O enabled), or when the signal
    /// handler cannot be installed.
    pub fn reload_on_sighup(self) -> std::io::Result<SighupReloader> {
        use tokio::signal::unix::{SignalKind, signal};

        let runtime = tokio::runtime::Handle::try_current()
            .map_err(|error| std::io::Error::other(error.to_string()))?;
        let mut hangup = {
            let _entered = runtime.enter();
            signal(SignalKind::hangup())?
        };
        let task = runtime.spawn(async move {
            while hangup.recv().await.is_some() {
                tracing::info!("SIGHUP: reloading the trust material");
                let set = self.clone();
                // File reads: off the async workers.
                match tokio::task::spawn_blocking(move || set.reload()).await {
                    Ok(summary) => tracing::debug!(
                        succeeded = summary.succeeded,
                        refused = summary.refused,
                        "SIGHUP reload done"
                    ),
                    Err(error) => tracing::error!(%error, "SIGHUP reload task failed"),
                }
            }
        });
        Ok(SighupReloader { task })
    }
}
