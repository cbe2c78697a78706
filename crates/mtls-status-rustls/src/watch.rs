//! File watching (feature `watch`): reloads trust stores and server
//! certificates when their files change, with the `notify` crate and a
//! polling fallback.

use std::collections::BTreeSet;
use std::fmt;
use std::fs::File;
use std::hash::{DefaultHasher, Hasher};
use std::io::{ErrorKind, Read};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender, TrySendError, sync_channel};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use notify::event::{AccessKind, AccessMode};
use notify::{EventKind, PollWatcher, RecommendedWatcher, RecursiveMode, Watcher};

use crate::reload::ReloadableTrustStore;
use crate::reloadables::{Reloadables, Target};
use crate::server_cert::ServerCertificate;

/// Default quiet time after the last file event before files are read.
pub const DEFAULT_WATCH_DEBOUNCE: Duration = Duration::from_millis(300);

/// Default interval of the polling watcher.
pub const DEFAULT_POLL_INTERVAL: Duration = Duration::from_secs(2);

/// Longest a burst of events delays a reload: this many debounce periods.
const MAX_DELAY_FACTOR: u32 = 10;

/// Events queued between the watcher and the reloading thread; more are
/// dropped (a reload is pending anyway).
const EVENT_QUEUE: usize = 256;

/// How a [`FileWatcher`] watches.
///
/// ```
/// use std::time::Duration;
/// use mtls_status_rustls::{DEFAULT_WATCH_DEBOUNCE, WatchOptions};
///
/// let options = WatchOptions::new().debounce(Duration::from_millis(200));
/// assert_eq!(options.debounce_time(), Duration::from_millis(200));
/// assert_eq!(WatchOptions::new().debounce_time(), DEFAULT_WATCH_DEBOUNCE);
/// assert!(WatchOptions::new().poll(Duration::from_secs(1)).forces_polling());
/// ```
#[derive(Clone, Debug)]
#[must_use]
pub struct WatchOptions {
    debounce: Duration,
    poll_interval: Duration,
    force_polling: bool,
}

impl Default for WatchOptions {
    fn default() -> Self {
        Self {
            debounce: DEFAULT_WATCH_DEBOUNCE,
            poll_interval: DEFAULT_POLL_INTERVAL,
            force_polling: false,
        }
    }
}

impl WatchOptions {
    /// [`DEFAULT_WATCH_DEBOUNCE`], native notifications (inotify, FSEvents,
    /// ...), polling every [`DEFAULT_POLL_INTERVAL`] if those fail.
    pub fn new() -> Self {
        Self::default()
    }

    /// Files are read once no event came for `debounce` (a burst of events
    /// delays the reload by at most ten times that). Writers that replace
    /// several files (a certificate, then its key) are seen as one change.
    pub fn debounce(mut self, debounce: Duration) -> Self {
        self.debounce = debounce;
        self
    }

    /// Polls every `interval` instead of using native notifications (for
    /// file systems without them: NFS, some container mounts).
    pub fn poll(mut self, interval: Duration) -> Self {
        self.poll_interval = interval;
        self.force_polling = true;
        self
    }

    /// The polling interval used when native notifications fail.
    pub fn fallback_poll_interval(mut self, interval: Duration) -> Self {
        self.poll_interval = interval;
        self
    }

    /// The debounce time.
    pub fn debounce_time(&self) -> Duration {
        self.debounce
    }

    /// Whether [`poll`](Self::poll) was asked for.
    pub fn forces_polling(&self) -> bool {
        self.force_polling
    }
}

/// Why a watcher could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WatchError {
    /// None of the materials was loaded from files.
    #[error("nothing to watch: no material was loaded from files")]
    NothingToWatch,
    /// A directory could not be watched, natively or by polling.
    #[error("cannot watch {}: {message}", path.display())]
    Watch {
        /// The directory.
        path: PathBuf,
        /// What the watcher said.
        message: String,
    },
    /// The reloading thread could not start.
    #[error("cannot start the file watcher thread: {0}")]
    Thread(#[source] std::io::Error),
}

/// A running file watcher; it stops when dropped (or on
/// [`stop`](Self::stop)).
///
/// It watches the **directory** of every file (not the file: editors
/// replace files by renaming a temporary one over them, and Kubernetes
/// swaps a `..data` symlink in the directory of a mounted secret), and the
/// directory the path resolves to through symlinks, resolved again after
/// each change. After an event it waits for quiet (the debounce), reads
/// each material's files and reloads the materials whose content changed.
/// A reload installs only whole material: a trust store whose every file
/// parses, a certificate with the key that matches it (a certificate
/// renewed before its key stays out until the key is there); anything else
/// keeps the material in force and is reported (see [`Reloadables`]). A
/// refused content is not retried until the files change again. A path
/// that is not a regular file (a FIFO, a directory) is refused without
/// being read, so a reload never waits on one.
///
/// Reloads run on a thread of the watcher's own; no async runtime is
/// needed.
pub struct FileWatcher {
    stop: Arc<AtomicBool>,
    wake: SyncSender<()>,
    thread: Option<JoinHandle<()>>,
    polling: bool,
}

impl fmt::Debug for FileWatcher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FileWatcher")
            .field("polling", &self.polling)
            .finish_non_exhaustive()
    }
}

impl FileWatcher {
    /// Whether it polls (asked for, or native notifications failed).
    pub fn is_polling(&self) -> bool {
        self.polling
    }

    /// Stops watching and waits for a reload in progress to end.
    pub fn stop(mut self) {
        self.shut_down();
    }

    fn shut_down(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Full queue: the thread is awake anyway and sees the flag.
        let _ = self.wake.try_send(());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for FileWatcher {
    fn drop(&mut self) {
        self.shut_down();
    }
}

impl Reloadables {
    /// Watches the files of every material with [`WatchOptions::new`]; see
    /// [`FileWatcher`].
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let dir = std::env::temp_dir().join(format!("mtls-watch-doc-{}", std::process::id()));
    /// # std::fs::create_dir_all(&dir)?;
    /// # let pki = mtls_testpki::Pki::generate();
    /// # std::fs::write(dir.join("ca.pem"), pki.root.cert_pem())?;
    /// use mtls_status_rustls::{Reloadables, ReloadableTrustStore, TrustStoreFiles};
    ///
    /// let store = ReloadableTrustStore::from_files(TrustStoreFiles::new().ca_file(dir.join("ca.pem")))?;
    /// let watcher = Reloadables::new().trust_store(&store).watch()?;
    /// assert_eq!(store.generation(), 1); // reloads bump it
    /// drop(watcher); // stops watching
    /// # std::fs::remove_dir_all(&dir)?;
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// [`WatchError`]: nothing file-backed, a directory that cannot be
    /// watched even by polling, or no thread.
    pub fn watch(self) -> Result<FileWatcher, WatchError> {
        self.watch_with(WatchOptions::new())
    }

    /// [`watch`](Self::watch) with `options`.
    ///
    /// # Errors
    ///
    /// As [`watch`](Self::watch).
    pub fn watch_with(self, options: WatchOptions) -> Result<FileWatcher, WatchError> {
        start(self.targets(), options)
    }
}

impl ReloadableTrustStore {
    /// Watches the store's files (CA bundles, trusted certificates, CRLs)
    /// and reloads it when they change; see [`FileWatcher`]. Shorthand for
    /// `Reloadables::new().trust_store(self).watch()`.
    ///
    /// # Errors
    ///
    /// As [`Reloadables::watch`].
    pub fn watch(&self) -> Result<FileWatcher, WatchError> {
        Reloadables::new().trust_store(self).watch()
    }
}

impl ServerCertificate {
    /// Watches the certificate and key files and installs a new pair when
    /// both match; see [`FileWatcher`]. Shorthand for
    /// `Reloadables::new().server_certificate(self).watch()`.
    ///
    /// # Errors
    ///
    /// As [`Reloadables::watch`].
    pub fn watch(&self) -> Result<FileWatcher, WatchError> {
        Reloadables::new().server_certificate(self).watch()
    }
}

/// The notify watcher in use.
enum Backend {
    Native(RecommendedWatcher),
    Poll(PollWatcher),
}

impl Backend {
    fn watch(&mut self, dir: &Path) -> notify::Result<()> {
        match self {
            Self::Native(watcher) => watcher.watch(dir, RecursiveMode::NonRecursive),
            Self::Poll(watcher) => watcher.watch(dir, RecursiveMode::NonRecursive),
        }
    }

    fn unwatch(&mut self, dir: &Path) {
        let _ = match self {
            Self::Native(watcher) => watcher.unwatch(dir),
            Self::Poll(watcher) => watcher.unwatch(dir),
        };
    }
}

/// One material and what was last seen of its files.
struct Watched {
    target: Target,
    files: Vec<PathBuf>,
    /// Fingerprint of the files in force.
    in_force: Fingerprint,
    /// Fingerprint of the last refused content, not retried.
    refused: Option<Fingerprint>,
}

fn start(targets: Vec<Target>, options: WatchOptions) -> Result<FileWatcher, WatchError> {
    if targets.is_empty() {
        return Err(WatchError::NothingToWatch);
    }
    let watched: Vec<Watched> = targets
        .into_iter()
        .map(|target| {
            let files = target.files();
            Watched {
                in_force: fingerprint(&files),
                refused: None,
                files,
                target,
            }
        })
        .collect();
    let (wake, events) = sync_channel::<()>(EVENT_QUEUE);
    let dirs = directories(&watched);
    let (backend, watching) = backend(&dirs, &wake, &options)?;
    let polling = matches!(backend, Backend::Poll(_));
    tracing::info!(
        directories = ?watching,
        polling,
        debounce_ms = u64::try_from(options.debounce.as_millis()).unwrap_or(u64::MAX),
        "watching trust material files"
    );
    let stop = Arc::new(AtomicBool::new(false));
    let mut worker = Worker {
        watched,
        backend,
        watching,
        events,
        stop: Arc::clone(&stop),
        debounce: options.debounce,
    };
    let thread = std::thread::Builder::new()
        .name("mtls-file-watch".to_owned())
        .spawn(move || worker.run())
        .map_err(WatchError::Thread)?;
    Ok(FileWatcher {
        stop,
        wake,
        thread: Some(thread),
        polling,
    })
}

/// The native watcher on every directory, else the polling one.
fn backend(
    dirs: &BTreeSet<PathBuf>,
    wake: &SyncSender<()>,
    options: &WatchOptions,
) -> Result<(Backend, BTreeSet<PathBuf>), WatchError> {
    if !options.force_polling {
        match native(dirs, wake) {
            Ok(native) => return Ok((native, dirs.clone())),
            Err((path, error)) => tracing::warn!(
                path = %path.display(),
                %error,
                "native file notifications unavailable; polling every {:?}",
                options.poll_interval
            ),
        }
    }
    let config = notify::Config::default()
        .with_poll_interval(options.poll_interval)
        .with_compare_contents(true);
    let mut poll =
        PollWatcher::new(handler(wake.clone()), config).map_err(|error| WatchError::Watch {
            path: PathBuf::new(),
            message: error.to_string(),
        })?;
    for dir in dirs {
        poll.watch(dir, RecursiveMode::NonRecursive)
            .map_err(|error| WatchError::Watch {
                path: dir.clone(),
                message: error.to_string(),
            })?;
    }
    Ok((Backend::Poll(poll), dirs.clone()))
}

fn native(
    dirs: &BTreeSet<PathBuf>,
    wake: &SyncSender<()>,
) -> Result<Backend, (PathBuf, notify::Error)> {
    let mut watcher =
        notify::recommended_watcher(handler(wake.clone())).map_err(|e| (PathBuf::new(), e))?;
    for dir in dirs {
        watcher
            .watch(dir, RecursiveMode::NonRecursive)
            .map_err(|e| (dir.clone(), e))?;
    }
    Ok(Backend::Native(watcher))
}

/// Wakes the worker on every event but reads (our own reads among them).
fn handler(wake: SyncSender<()>) -> impl Fn(notify::Result<notify::Event>) + Send + 'static {
    move |event: notify::Result<notify::Event>| {
        if let Ok(event) = &event
            && let EventKind::Access(access) = event.kind
            && access != AccessKind::Close(AccessMode::Write)
        {
            return;
        }
        match wake.try_send(()) {
            Ok(()) | Err(TrySendError::Full(())) | Err(TrySendError::Disconnected(())) => {}
        }
    }
}

/// The directories to watch: each file's own, and the one it resolves to.
fn directories(watched: &[Watched]) -> BTreeSet<PathBuf> {
    let mut dirs = BTreeSet::new();
    for path in watched.iter().flat_map(|w| &w.files) {
        dirs.insert(parent(path));
        if let Ok(resolved) = std::fs::canonicalize(path) {
            dirs.insert(parent(&resolved));
        }
    }
    dirs
}

fn parent(path: &Path) -> PathBuf {
    match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir.to_owned(),
        _ => PathBuf::from("."),
    }
}

struct Worker {
    watched: Vec<Watched>,
    backend: Backend,
    watching: BTreeSet<PathBuf>,
    events: Receiver<()>,
    stop: Arc<AtomicBool>,
    debounce: Duration,
}

impl Worker {
    fn stopped(&self) -> bool {
        self.stop.load(Ordering::SeqCst)
    }

    fn run(&mut self) {
        // Ends when the FileWatcher is dropped: it sets the flag and wakes us.
        while self.events.recv().is_ok() {
            if self.stopped() || !self.settle() {
                return;
            }
            self.check();
            self.rewatch();
        }
    }

    /// Waits until no event came for the debounce time (at most ten of
    /// them in all); false when stopped.
    fn settle(&self) -> bool {
        let first = Instant::now();
        let latest = first + self.debounce * MAX_DELAY_FACTOR;
        let mut deadline = first + self.debounce;
        loop {
            let now = Instant::now();
            if now >= deadline {
                return true;
            }
            match self.events.recv_timeout(deadline - now) {
                Ok(()) if self.stopped() => return false,
                Ok(()) => deadline = (Instant::now() + self.debounce).min(latest),
                Err(RecvTimeoutError::Timeout) => return !self.stopped(),
                Err(RecvTimeoutError::Disconnected) => return false,
            }
        }
    }

    /// Reloads every material whose files changed.
    fn check(&mut self) {
        for watched in &mut self.watched {
            let now = fingerprint(&watched.files);
            if now == watched.in_force || Some(&now) == watched.refused.as_ref() {
                continue;
            }
            tracing::debug!(files = ?watched.files, "trust material files changed");
            let installed = match &now {
                Fingerprint::Content(_) => watched.target.reload(),
                Fingerprint::NotAFile(path) => {
                    watched.target.refuse(&format!(
                        "{} is not a regular file; not read",
                        path.display()
                    ));
                    false
                }
            };
            if installed {
                watched.in_force = now;
                watched.refused = None;
            } else {
                watched.refused = Some(now);
            }
        }
    }

    /// Follows symlinks that now resolve elsewhere (a Kubernetes `..data`
    /// swap points into a new timestamped directory).
    fn rewatch(&mut self) {
        let dirs = directories(&self.watched);
        for gone in self.watching.difference(&dirs) {
            self.backend.unwatch(gone);
        }
        let mut watching = BTreeSet::new();
        for dir in dirs {
            if self.watching.contains(&dir) {
                watching.insert(dir);
                continue;
            }
            match self.backend.watch(&dir) {
                Ok(()) => {
                    watching.insert(dir);
                }
                Err(error) => {
                    tracing::debug!(dir = %dir.display(), %error, "cannot watch directory");
                }
            }
        }
        self.watching = watching;
    }
}

/// What the files of one material hold now.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Fingerprint {
    /// A hash of every file's path and content (or of its absence: the
    /// reload then says what is missing).
    Content(u64),
    /// This path exists but is not a regular file.
    NotAFile(PathBuf),
}

/// Hashes the files as a stream: memory does not grow with their size.
fn fingerprint(files: &[PathBuf]) -> Fingerprint {
    let mut hasher = DefaultHasher::new();
    let mut buffer = vec![0u8; 64 * 1024];
    for path in files {
        hasher.write(path.as_os_str().as_encoded_bytes());
        match std::fs::metadata(path) {
            Ok(metadata) if !metadata.is_file() => return Fingerprint::NotAFile(path.clone()),
            Ok(_) => {}
            Err(error) => {
                hasher.write(format!("missing: {:?}", error.kind()).as_bytes());
                continue;
            }
        }
        let Ok(mut file) = File::open(path) else {
            hasher.write(b"unreadable");
            continue;
        };
        loop {
            match file.read(&mut buffer) {
                Ok(0) => break,
                Ok(n) => hasher.write(buffer.get(..n).unwrap_or_default()),
                Err(error) if error.kind() == ErrorKind::Interrupted => {}
                Err(_) => {
                    hasher.write(b"read error");
                    break;
                }
            }
        }
        hasher.write_u8(0xff);
    }
    Fingerprint::Content(hasher.finish())
}
