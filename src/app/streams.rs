//! Rights-event streams: at most so many open at once, and one database read per wake for
//! all the watchers of an organisation. Each organisation with watchers has one feed, a task
//! that reads the events written since its last read whenever a write wakes it (or every
//! few seconds, for writes of other servers) and broadcasts them; a watcher catches up on
//! its own from where it asked to start, then follows the feed. A stream ends when the
//! watcher goes away, the server stops, or the token that opened it expires.

use std::{
    collections::HashMap,
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};

use jiff::Timestamp;
use tokio::sync::{Mutex, OwnedSemaphorePermit, Semaphore, broadcast, mpsc, watch};

use crate::{
    domain::rights::EventRecord,
    error::Error,
    store::{Store, StoreError},
};

/// How often a feed looks for events written by other servers.
const POLL: Duration = Duration::from_secs(5);
/// Events read per query.
const BATCH: u64 = 100;
/// Events a feed holds for a slow watcher; one that falls further behind catches up from
/// the database.
const BACKLOG: usize = 1024;

type Feeds = Arc<Mutex<HashMap<String, broadcast::Sender<Arc<EventRecord>>>>>;

/// The open streams and the feeds behind them.
pub struct Watchers {
    store: Store,
    permits: Arc<Semaphore>,
    max_streams: usize,
    feeds: Feeds,
    /// Database reads of the feeds, for the metrics.
    reads: Arc<AtomicU64>,
}

/// What a watcher is waiting on besides its feed.
pub struct Wakes {
    /// Bumped after every write of rights events.
    pub written: watch::Receiver<u64>,
    /// Set when the server shuts down.
    pub stopping: watch::Receiver<bool>,
}

impl Watchers {
    pub fn new(store: Store, max_streams: usize) -> Watchers {
        Watchers {
            store,
            permits: Arc::new(Semaphore::new(max_streams)),
            max_streams,
            feeds: Arc::default(),
            reads: Arc::default(),
        }
    }

    /// Streams open now.
    pub fn open(&self) -> usize {
        self.max_streams - self.permits.available_permits()
    }

    /// Database reads of the feeds so far.
    pub fn reads(&self) -> u64 {
        self.reads.load(Ordering::Relaxed)
    }

    /// Opens a stream of the organisation's events after `after`; it ends with
    /// UNAUTHENTICATED at `expires` (Unix seconds), when given. Beyond the limit of open
    /// streams, RESOURCE_EXHAUSTED.
    pub async fn watch(
        &self,
        organisation: &str,
        after: u64,
        expires: Option<i64>,
        wakes: Wakes,
    ) -> Result<mpsc::Receiver<Result<EventRecord, Error>>, Error> {
        let permit = self.permits.clone().try_acquire_owned().map_err(|_| {
            Error::ResourceExhausted(format!(
                "purposed serves at most {} event streams at once (limits.max_event_streams); close one or retry later",
                self.max_streams
            ))
        })?;
        let feed = self.subscribe(organisation, &wakes).await?;
        let (sender, receiver) = mpsc::channel(64);
        let watcher = Watcher {
            store: self.store.clone(),
            organisation: organisation.to_owned(),
            last: after,
            sender,
            _permit: permit,
        };
        tokio::spawn(watcher.run(feed, expires, wakes.stopping));
        Ok(receiver)
    }

    /// A receiver of the organisation's feed, starting one if none runs. Subscribing under
    /// the lock, before the watcher reads its history, leaves no event unseen between the
    /// two: what the feed has not broadcast yet is after its cursor, which was read before
    /// anyone subscribed.
    async fn subscribe(
        &self,
        organisation: &str,
        wakes: &Wakes,
    ) -> Result<broadcast::Receiver<Arc<EventRecord>>, Error> {
        let mut feeds = self.feeds.lock().await;
        if let Some(feed) = feeds.get(organisation) {
            return Ok(feed.subscribe());
        }
        let cursor = self.store.last_event_id(organisation).await?;
        let (sender, receiver) = broadcast::channel(BACKLOG);
        feeds.insert(organisation.to_owned(), sender.clone());
        let feed = Feed {
            store: self.store.clone(),
            organisation: organisation.to_owned(),
            cursor,
            sender,
            feeds: self.feeds.clone(),
            reads: self.reads.clone(),
        };
        tokio::spawn(feed.run(wakes.written.clone(), wakes.stopping.clone()));
        Ok(receiver)
    }
}

/// One organisation's reader.
struct Feed {
    store: Store,
    organisation: String,
    cursor: u64,
    sender: broadcast::Sender<Arc<EventRecord>>,
    feeds: Feeds,
    reads: Arc<AtomicU64>,
}

impl Feed {
    async fn run(mut self, mut written: watch::Receiver<u64>, mut stopping: watch::Receiver<bool>) {
        loop {
            written.borrow_and_update();
            if let Err(error) = self.read_new().await {
                // The cursor stays where it was: the next wake reads the same events again.
                tracing::warn!(error = %error, "rights event feed cannot read");
            }
            if self.sender.receiver_count() == 0 {
                let mut feeds = self.feeds.lock().await;
                // Subscriptions happen under the lock: none can arrive after this check.
                if self.sender.receiver_count() == 0 {
                    feeds.remove(&self.organisation);
                    return;
                }
            }
            tokio::select! {
                _ = written.changed() => {}
                _ = stopping.changed() => {
                    self.feeds.lock().await.remove(&self.organisation);
                    return;
                }
                () = tokio::time::sleep(POLL) => {}
            }
        }
    }

    async fn read_new(&mut self) -> Result<(), StoreError> {
        loop {
            self.reads.fetch_add(1, Ordering::Relaxed);
            let events = self
                .store
                .events_after(&self.organisation, self.cursor, BATCH)
                .await?;
            let full = events.len() as u64 == BATCH;
            for event in events {
                self.cursor = event.id;
                // No receiver now is not an error: the feed ends at its next turn.
                let _ = self.sender.send(Arc::new(event));
            }
            if !full {
                return Ok(());
            }
        }
    }
}

/// One stream.
struct Watcher {
    store: Store,
    organisation: String,
    /// The last event sent.
    last: u64,
    sender: mpsc::Sender<Result<EventRecord, Error>>,
    /// Held while the stream is open.
    _permit: OwnedSemaphorePermit,
}

impl Watcher {
    async fn run(
        mut self,
        mut feed: broadcast::Receiver<Arc<EventRecord>>,
        expires: Option<i64>,
        mut stopping: watch::Receiver<bool>,
    ) {
        let expiry = async {
            match expires {
                Some(at) => {
                    let left = at.saturating_sub(Timestamp::now().as_second()).max(0);
                    tokio::time::sleep(Duration::from_secs(left.unsigned_abs())).await;
                }
                None => std::future::pending().await,
            }
        };
        tokio::pin!(expiry);
        let mut behind = true;
        loop {
            if behind {
                match self.catch_up().await {
                    Ok(true) => behind = false,
                    Ok(false) => return,
                    Err(error) => {
                        let _ = self.sender.send(Err(Error::from(error))).await;
                        return;
                    }
                }
            }
            if *stopping.borrow() {
                return;
            }
            tokio::select! {
                received = feed.recv() => match received {
                    Ok(event) => {
                        if event.id > self.last {
                            self.last = event.id;
                            if self.sender.send(Ok((*event).clone())).await.is_err() {
                                return;
                            }
                        }
                    }
                    // Fell more than the backlog behind: read the gap from the database.
                    Err(broadcast::error::RecvError::Lagged(_)) => behind = true,
                    Err(broadcast::error::RecvError::Closed) => return,
                },
                () = &mut expiry => {
                    let _ = self
                        .sender
                        .send(Err(Error::Unauthenticated(
                            "the bearer token that opened this stream has expired; open it again with a fresh one".to_owned(),
                        )))
                        .await;
                    return;
                }
                _ = stopping.changed() => return,
                () = self.sender.closed() => return,
            }
        }
    }

    /// Sends what the database holds after `last`; false when the watcher went away.
    async fn catch_up(&mut self) -> Result<bool, StoreError> {
        loop {
            let events = self
                .store
                .events_after(&self.organisation, self.last, BATCH)
                .await?;
            let full = events.len() as u64 == BATCH;
            for event in events {
                self.last = event.id;
                if self.sender.send(Ok(event)).await.is_err() {
                    return Ok(false);
                }
            }
            if !full {
                return Ok(true);
            }
        }
    }
}
