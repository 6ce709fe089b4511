//! The cached values of one store, and the tickets that keep a read or a write which
//! raced an invalidation from installing what that invalidation removed.
//!
//! Every operation that may change what this process should hold for a key takes a
//! [`Ticket`] *before* its command leaves for Redis. An invalidation of the key (a push)
//! marks every ticket open on it; a flush (the invalidation connection lost) or a "log out
//! everywhere" moves the epoch on, which voids every open ticket. When the operation
//! completes, its result is installed only if its ticket is still clean; a local write also
//! marks the other open tickets on its key, since Redis does not tell this connection about
//! its own writes. A read that completes while a local write on its key (or a subject-wide
//! forget) is in flight is not clean either: Redis may hold the write already, another read
//! may have seen it, and what this read carries may be older. A read whose ticket is void
//! installs nothing; a write whose ticket is void removes the key. Hits never take the lock.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};

use moka::sync::Cache;

use crate::local_cache::LocalCacheStats;

/// What an invalidation connection reports to: the entries of the store it serves.
pub(crate) trait Invalidate: Send + Sync + 'static {
    /// Redis says `key` changed (or may have): drop it.
    fn invalidate(&self, key: &[u8]);
    /// Redis can no longer say what changed (connection lost, `FLUSHALL`, an answer not
    /// understood): drop everything and void every open ticket.
    fn flush(&self);
}

/// A Redis key name, the unit of invalidation.
pub(crate) type Key = Box<[u8]>;

/// The bounded local copies of one store's values, by Redis key.
pub(crate) struct Entries<V> {
    values: Cache<Key, V>,
    guard: Mutex<Guard>,
    hits: AtomicU64,
    misses: AtomicU64,
    invalidations: AtomicU64,
    flushes: AtomicU64,
}

#[derive(Default)]
struct Guard {
    /// Moves on at every flush (and every subject-wide forget): voids every open ticket.
    epoch: u64,
    /// Subject-wide forgets in flight: their script may already have deleted keys this
    /// process cannot name, so no read installs anything until they end.
    forgetting: usize,
    /// The keys with open tickets.
    pending: HashMap<Key, Pending>,
}

#[derive(Default)]
struct Pending {
    /// Open tickets on the key.
    holders: usize,
    /// Invalidations (pushed or local) seen while any ticket was open.
    marks: u64,
    /// Open write tickets: Redis may already hold the write, so what a read returns now
    /// may be older than what another read already saw; no read installs until they close.
    writers: usize,
}

/// Whether a ticket's operation reads or writes its key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Intent {
    /// A read: installs what it read, if nothing changed meanwhile.
    Read,
    /// A write through this connection: Redis will not push its invalidation to us, so
    /// completing (or abandoning) it marks the key itself.
    Write,
}

impl<V> std::fmt::Debug for Entries<V> {
    // Counters only: values may hold session data.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Entries")
            .field("entries", &self.values.entry_count())
            .field("hits", &self.hits.load(Ordering::Relaxed))
            .field("misses", &self.misses.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

impl<V: Clone + PartialEq + Send + Sync + 'static> Entries<V> {
    /// At most `max_entries` values.
    pub(crate) fn new(max_entries: u64) -> Self {
        Self {
            values: Cache::builder().max_capacity(max_entries).build(),
            guard: Mutex::default(),
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
            invalidations: AtomicU64::new(0),
            flushes: AtomicU64::new(0),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Guard> {
        // Nothing panics while the lock is held; should it ever, the map is still sound.
        self.guard.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The value held for `key`, counted as a hit or a miss.
    pub(crate) fn get(&self, key: &[u8]) -> Option<V> {
        let value = self.values.get(key);
        let counter = if value.is_some() {
            &self.hits
        } else {
            &self.misses
        };
        counter.fetch_add(1, Ordering::Relaxed);
        value
    }

    /// Opens a ticket on `key`; take it before the command leaves.
    pub(crate) fn begin(&self, key: &[u8], intent: Intent) -> Ticket<'_, V> {
        let mut guard = self.lock();
        let epoch = guard.epoch;
        let pending = guard.pending.entry(key.into()).or_default();
        pending.holders += 1;
        if intent == Intent::Write {
            pending.writers += 1;
        }
        Ticket {
            entries: self,
            key: key.into(),
            epoch,
            marks: pending.marks,
            intent,
            open: true,
        }
    }

    /// Starts a change whose keys this process cannot name (a subject's sessions deleted
    /// by a script): until [`end_forget`](Self::end_forget), no read installs.
    pub(crate) fn begin_forget(&self) {
        self.lock().forgetting += 1;
    }

    /// Ends what [`begin_forget`](Self::begin_forget) started: drops every value for which
    /// `matches` holds and voids every open ticket.
    pub(crate) fn end_forget(&self, matches: impl Fn(&V) -> bool) {
        let mut guard = self.lock();
        guard.epoch += 1;
        guard.forgetting = guard.forgetting.saturating_sub(1);
        for (key, value) in self.values.iter() {
            if matches(&value) {
                self.values.invalidate(key.as_ref());
            }
        }
    }

    pub(crate) fn stats(&self) -> LocalCacheStats {
        LocalCacheStats {
            hits: self.hits.load(Ordering::Relaxed),
            misses: self.misses.load(Ordering::Relaxed),
            invalidations: self.invalidations.load(Ordering::Relaxed),
            flushes: self.flushes.load(Ordering::Relaxed),
            entries: self.values.entry_count(),
        }
    }

    /// Under the lock: whether `ticket` is still clean; releases it, and for a write marks
    /// the other tickets on its key.
    fn close(&self, guard: &mut Guard, ticket: &Ticket<'_, V>) -> bool {
        let epoch = guard.epoch;
        let Some(pending) = guard.pending.get_mut(&ticket.key) else {
            return false;
        };
        let mut clean = epoch == ticket.epoch && pending.marks == ticket.marks;
        match ticket.intent {
            Intent::Write => {
                pending.marks += 1;
                pending.writers = pending.writers.saturating_sub(1);
            }
            Intent::Read => clean &= pending.writers == 0 && guard.forgetting == 0,
        }
        pending.holders = pending.holders.saturating_sub(1);
        if pending.holders == 0 {
            guard.pending.remove(&ticket.key);
        }
        clean
    }
}

impl<V: Clone + PartialEq + Send + Sync + 'static> Invalidate for Entries<V> {
    fn invalidate(&self, key: &[u8]) {
        let mut guard = self.lock();
        self.values.invalidate(key);
        if let Some(pending) = guard.pending.get_mut(key) {
            pending.marks += 1;
        }
        self.invalidations.fetch_add(1, Ordering::Relaxed);
    }

    fn flush(&self) {
        let mut guard = self.lock();
        guard.epoch += 1;
        self.values.invalidate_all();
        // `invalidate_all` spares an entry written at the very instant it reads, which a
        // coarse clock makes possible: drop whatever still answers, one by one. A flush
        // is rare (the link was lost), so the walk costs nothing a request feels.
        for (key, _) in self.values.iter() {
            self.values.invalidate(key.as_ref());
        }
        self.flushes.fetch_add(1, Ordering::Relaxed);
    }
}

/// An operation on one key in flight: see the [module docs](self).
pub(crate) struct Ticket<'a, V: Clone + PartialEq + Send + Sync + 'static> {
    entries: &'a Entries<V>,
    key: Key,
    epoch: u64,
    marks: u64,
    intent: Intent,
    open: bool,
}

impl<V: Clone + PartialEq + Send + Sync + 'static> Ticket<'_, V> {
    /// Completes a read that found `value` (`None`: nothing under the key). Installs it if
    /// nothing changed since the ticket was taken and no other value is held; a different
    /// value held (another version) means the two disagree, and the key is dropped instead:
    /// an older value never replaces a newer one.
    pub(crate) fn read(mut self, value: Option<V>) {
        self.open = false;
        let entries = self.entries;
        let mut guard = entries.lock();
        if !entries.close(&mut guard, &self) {
            return;
        }
        match (value, entries.values.get(&self.key)) {
            (Some(value), None) => entries.values.insert(self.key.clone(), value),
            (Some(value), Some(held)) if held == value => {}
            _ => entries.values.invalidate(&self.key),
        }
    }

    /// Completes a write: `next` gets the value held now and returns what the key holds
    /// after the write, as far as this process knows (`None` drops the key). Used only if
    /// nothing changed since the ticket was taken; otherwise the key is dropped.
    pub(crate) fn write(mut self, next: impl FnOnce(Option<V>) -> Option<V>) {
        self.open = false;
        let entries = self.entries;
        let mut guard = entries.lock();
        let clean = entries.close(&mut guard, &self);
        let next = if clean {
            next(entries.values.get(&self.key))
        } else {
            None
        };
        match next {
            Some(value) => entries.values.insert(self.key.clone(), value),
            None => entries.values.invalidate(&self.key),
        }
    }
}

impl<V: Clone + PartialEq + Send + Sync + 'static> Drop for Ticket<'_, V> {
    /// An abandoned ticket (an error, or a dropped future): a read installs nothing; a write
    /// may still have reached Redis, so its key is dropped and the other tickets marked.
    fn drop(&mut self) {
        if !self.open {
            return;
        }
        let entries = self.entries;
        let mut guard = entries.lock();
        entries.close(&mut guard, self);
        if self.intent == Intent::Write {
            entries.values.invalidate(&self.key);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entries() -> Entries<u64> {
        Entries::new(100)
    }

    const K: &[u8] = b"{p:s}:rec:k";

    #[test]
    fn a_clean_read_installs() {
        let e = entries();
        e.begin(K, Intent::Read).read(Some(1));
        assert_eq!(e.get(K), Some(1));
    }

    #[test]
    fn an_invalidation_between_read_and_install_wins() {
        let e = entries();
        let ticket = e.begin(K, Intent::Read);
        e.invalidate(K);
        ticket.read(Some(1));
        assert_eq!(e.get(K), None);
        // The next read, taken after the invalidation, installs.
        e.begin(K, Intent::Read).read(Some(2));
        assert_eq!(e.get(K), Some(2));
    }

    #[test]
    fn a_flush_between_read_and_install_wins() {
        let e = entries();
        let ticket = e.begin(K, Intent::Read);
        e.flush();
        ticket.read(Some(1));
        assert_eq!(e.get(K), None);
    }

    #[test]
    fn an_invalidation_of_another_key_does_not_void_the_ticket() {
        let e = entries();
        let ticket = e.begin(K, Intent::Read);
        e.invalidate(b"other");
        ticket.read(Some(1));
        assert_eq!(e.get(K), Some(1));
    }

    #[test]
    fn a_late_read_never_replaces_a_newer_value() {
        let e = entries();
        let slow = e.begin(K, Intent::Read);
        let fast = e.begin(K, Intent::Read);
        fast.read(Some(2));
        // The slower read saw something else: the two disagree, so neither stays.
        slow.read(Some(1));
        assert_eq!(e.get(K), None);
    }

    #[test]
    fn a_local_write_voids_reads_in_flight_and_installs_its_result() {
        let e = entries();
        e.begin(K, Intent::Read).read(Some(1));
        let read = e.begin(K, Intent::Read);
        let write = e.begin(K, Intent::Write);
        write.write(|held| held.map(|v| v + 1));
        assert_eq!(e.get(K), Some(2));
        // The read went out before the write completed: it may hold the old value.
        read.read(Some(1));
        assert_eq!(e.get(K), Some(2));
    }

    #[test]
    fn a_write_that_raced_an_invalidation_drops_the_key() {
        let e = entries();
        e.begin(K, Intent::Read).read(Some(1));
        let write = e.begin(K, Intent::Write);
        e.invalidate(K);
        e.begin(K, Intent::Read).read(Some(5));
        write.write(|held| held.map(|v| v + 1));
        assert_eq!(e.get(K), None);
    }

    #[test]
    fn an_abandoned_write_drops_the_key_and_voids_reads_in_flight() {
        let e = entries();
        e.begin(K, Intent::Read).read(Some(1));
        let read = e.begin(K, Intent::Read);
        drop(e.begin(K, Intent::Write));
        assert_eq!(e.get(K), None);
        read.read(Some(1));
        assert_eq!(e.get(K), None);
        // An abandoned read changes nothing.
        e.begin(K, Intent::Read).read(Some(3));
        drop(e.begin(K, Intent::Read));
        assert_eq!(e.get(K), Some(3));
    }

    #[test]
    fn a_read_answered_while_a_write_is_in_flight_installs_nothing() {
        let e = entries();
        // The read left before the write and may carry the value the write replaced,
        // though another read may already have seen the write in Redis.
        let read = e.begin(K, Intent::Read);
        let write = e.begin(K, Intent::Write);
        read.read(Some(1));
        assert_eq!(e.get(K), None);
        // So may a read that leaves after the write did, while it is in flight.
        e.begin(K, Intent::Read).read(Some(1));
        assert_eq!(e.get(K), None);
        write.write(|_| None);
        e.begin(K, Intent::Read).read(Some(2));
        assert_eq!(
            e.get(K),
            Some(2),
            "reads install again once the write closed"
        );
    }

    #[test]
    fn a_forget_drops_matches_voids_every_ticket_and_blocks_installs_meanwhile() {
        let e = entries();
        e.begin(b"a", Intent::Read).read(Some(1));
        e.begin(b"b", Intent::Read).read(Some(2));
        let read = e.begin(b"c", Intent::Read);
        e.begin_forget();
        e.begin(b"d", Intent::Read).read(Some(1));
        assert_eq!(e.get(b"d"), None, "no install while a forget is in flight");
        e.end_forget(|v| *v == 1);
        read.read(Some(1));
        assert_eq!(
            (e.get(b"a"), e.get(b"b"), e.get(b"c")),
            (None, Some(2), None)
        );
        e.begin(b"d", Intent::Read).read(Some(4));
        assert_eq!(e.get(b"d"), Some(4), "installs again once it ended");
    }

    #[test]
    fn tickets_leave_nothing_behind() {
        let e = entries();
        for intent in [Intent::Read, Intent::Write] {
            let a = e.begin(K, intent);
            let b = e.begin(K, intent);
            a.read(Some(1));
            drop(b);
        }
        assert!(e.lock().pending.is_empty());
    }

    #[test]
    fn memory_is_bounded() {
        let e: Entries<u64> = Entries::new(10);
        for i in 0..1_000u64 {
            e.begin(&i.to_be_bytes(), Intent::Read).read(Some(i));
        }
        e.values.run_pending_tasks();
        assert!(e.values.entry_count() <= 10, "{}", e.values.entry_count());
    }
}
