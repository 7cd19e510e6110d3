//! Search over an in-memory copy of the customers, kept in sync with Redis
//! through the change stream (`layout::CATCH_UP`), so a search costs one small
//! round trip plus a scan of memory instead of a scan of the whole hash.
//!
//! Every write script appends the changed ID to `{prefix}changes` atomically with
//! the write, whichever server made it. Before each search the index reads the
//! entries after the last one it applied, with the current value of each changed
//! ID (one script: one round trip, one consistent snapshot), and applies them.
//! When the entry it last applied is gone from the stream (trimmed past it, stream
//! deleted or flushed, writes lost in a failover) it cannot know what it missed,
//! or whether it holds writes that no longer exist: it reloads everything.

use super::haystacks::Haystacks;
use super::layout;
use super::replicas::{read, Node};
use super::request::{run, Access, OpError, RoundTrips};
use super::{decode, RedisStore, SCAN_COUNT};
use crate::store::order::{Matcher, Orders};
use crate::store::row::{prefix_of, stored_id, Row};
use app::domain::{Cursor, Freshness, JsonBatch, Page, PageQuery, Sort, SortField, StoreError};
use std::borrow::Borrow;
use std::collections::BTreeSet;
use std::ops::Bound;
use std::time::Instant;

/// Stream entries read per catch-up round trip.
const CATCH_UP_BATCH: usize = 1000;

/// The customers by ID and in each sort order, as of stream entry `seen`.
#[derive(Default)]
pub struct SearchIndex {
    /// `None` until the first load.
    seen: Option<Seen>,
    /// Every row by ID (see [`stored_id`]).
    rows: BTreeSet<Held>,
    orders: Orders,
    /// Every row's haystack in one buffer, which searches scan.
    haystacks: Haystacks,
    /// What the index covers: it holds every write acknowledged before then
    /// (when the last catch-up began, or what the replica it read covered).
    caught_up_from: Option<Instant>,
}

/// A row and its slot in the haystacks; found by the row's ID, which it
/// holds, so the set keeps no key string of its own.
struct Held {
    row: Row,
    slot: usize,
}

impl Borrow<str> for Held {
    fn borrow(&self) -> &str {
        self.row.id()
    }
}
impl Ord for Held {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.row.id().cmp(other.row.id())
    }
}
impl PartialOrd for Held {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl PartialEq for Held {
    fn eq(&self, other: &Self) -> bool {
        self.row.id() == other.row.id()
    }
}
impl Eq for Held {}

/// The last stream entry applied: its ID, and its nonce to tell it apart from an
/// entry with the same ID generated again by another master.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Seen {
    id: String,
    nonce: String,
}

/// What one catch-up round trip found.
enum Step {
    /// Changed IDs with their current record (`None`: deleted), up to entry `seen`.
    Changes {
        changed: Vec<(String, Option<Row>)>,
        seen: Seen,
        more: bool,
    },
    /// Reload everything, then continue after `seen`.
    Reload { seen: Seen },
}

impl SearchIndex {
    /// The row of the customer a cursor names: the one held, or, in the ID
    /// order, where that ID would be.
    fn cursor_row(&self, id: &str, sort: Sort) -> Option<Row> {
        match self.rows.get(stored_id(id).as_str()) {
            Some(held) => Some(held.row.clone()),
            None => (sort.field == SortField::Id).then(|| Row::of_id(id)),
        }
    }

    fn set(&mut self, id: &str, row: Option<Row>) {
        let old = self.rows.take(stored_id(id).as_str());
        if let Some(old) = &old {
            self.haystacks.remove(old.slot);
        }
        let old = old.map(|old| old.row);
        match row {
            Some(row) => {
                let slot = self.haystacks.add(&row);
                self.orders.replace(old.as_ref(), row.clone());
                self.rows.insert(Held { row, slot });
            }
            None => {
                if let Some(old) = &old {
                    self.orders.remove(old);
                }
            }
        }
        if self.haystacks.worth_rebuilding() {
            self.rebuild_haystacks();
        }
    }

    /// Replaces everything by `rows`, which are in ID order.
    fn reload(&mut self, rows: Vec<Row>) {
        self.orders = Orders::from_rows(&rows);
        self.rows = rows.into_iter().map(|row| Held { row, slot: 0 }).collect();
        self.rebuild_haystacks();
    }

    /// The haystacks afresh, in ID order, without dead slots.
    fn rebuild_haystacks(&mut self) {
        let mut haystacks = Haystacks::default();
        let rows = std::mem::take(&mut self.rows);
        self.rows = rows
            .into_iter()
            .map(|held| Held {
                slot: haystacks.add(&held.row),
                row: held.row,
            })
            .collect();
        self.haystacks = haystacks;
    }
}

impl RedisStore {
    /// Brings the index up to date (see [`Self::catch_up_since`]), then pages
    /// through it.
    pub(super) async fn page_from_index(
        &self,
        query: &PageQuery,
        fresh: Freshness,
    ) -> Result<Page, StoreError> {
        let needed = self.needed(fresh);
        let mut index = self.index.lock().await;
        self.catch_up_since(&mut index, needed, fresh).await?;
        let sort = query.sort;
        let cursor_row = match &query.cursor {
            Cursor::After(id) | Cursor::Before(id) | Cursor::At(id) => index.cursor_row(id, sort),
            Cursor::Start | Cursor::End => None,
        };
        match query.needle() {
            // A search scans the haystacks under the lock.
            Some(needle) => {
                let matches = index.haystacks.search(&Matcher::new(&needle));
                Ok(index.orders.page_among(query, matches, cursor_row))
            }
            // A plain page walks a copy of the orders (sharing their nodes), after
            // the lock is let go.
            None => {
                let orders = index.orders.clone();
                drop(index);
                Ok(orders.page(query, cursor_row))
            }
        }
    }

    /// Up to `SCAN_COUNT` customers after `from`, in ID order (see
    /// `CustomerStore::scan_json`). A pass catches up once, at its start: it then
    /// has every write acknowledged before it began.
    pub(super) async fn scan_index(
        &self,
        from: Option<String>,
        fresh: Freshness,
    ) -> Result<JsonBatch, StoreError> {
        let needed = self.needed(fresh);
        let mut index = self.index.lock().await;
        if from.is_none() {
            self.catch_up_since(&mut index, needed, fresh).await?;
        }
        let start = match &from {
            Some(after) => Bound::Excluded(after.as_str()),
            None => Bound::Unbounded,
        };
        let mut batch = JsonBatch::default();
        for Held { row, .. } in index.rows.range::<str, _>((start, Bound::Unbounded)) {
            if batch.records.len() == SCAN_COUNT {
                batch.next = batch.records.last().map(|(id, _)| id.clone());
                break;
            }
            let json = serde_json::to_string(&row.customer()).expect("customer serialises");
            batch.records.push((row.id().to_owned(), json));
        }
        Ok(batch)
    }

    /// Loads the index, or brings it up to date, ahead of any search.
    pub(super) async fn warm_up_index(&self) -> Result<(), StoreError> {
        let mut index = self.index.lock().await;
        self.catch_up(&mut index, Freshness::Latest).await
    }

    /// The instant a read asked now with `fresh` must cover: now itself, or,
    /// when reads may come from replicas, the bound's start or the reader's
    /// own last write, whichever is later.
    fn needed(&self, fresh: Freshness) -> Instant {
        let now = Instant::now();
        match (fresh, &self.replicas) {
            (Freshness::Bounded { own_writes }, Some(_)) => {
                let bound = now.checked_sub(self.tracker.settings.max_replica_lag);
                own_writes.max(bound).unwrap_or(now)
            }
            _ => now,
        }
    }

    /// Catches up unless the index covers `needed` already: requests queued
    /// behind one catch-up then share the next one instead of making a round
    /// trip each, and each still sees every write acknowledged before it was
    /// asked (or, reading within a staleness bound, before what it needs).
    async fn catch_up_since(
        &self,
        index: &mut SearchIndex,
        needed: Instant,
        fresh: Freshness,
    ) -> Result<(), StoreError> {
        if index.caught_up_from.is_some_and(|from| from >= needed) {
            return Ok(());
        }
        self.catch_up(index, fresh).await
    }

    async fn catch_up(&self, index: &mut SearchIndex, fresh: Freshness) -> Result<(), StoreError> {
        let covers = self.apply_changes(index, fresh).await?;
        // The index never goes back, so it covers the later of the two.
        index.caught_up_from = index.caught_up_from.max(Some(covers));
        self.index_loaded
            .store(true, std::sync::atomic::Ordering::Relaxed);
        Ok(())
    }

    /// On error the index keeps its last consistent state (nothing half-applied).
    /// Returns what the index covers now: what the last round trip's node covered
    /// (each round trip reads on to the end of its node's stream).
    async fn apply_changes(
        &self,
        index: &mut SearchIndex,
        fresh: Freshness,
    ) -> Result<Instant, StoreError> {
        loop {
            let (step, covers) = self.changes_since(index.seen.as_ref(), fresh).await?;
            match step {
                Step::Changes {
                    changed,
                    seen,
                    more,
                } => {
                    for (id, row) in changed {
                        index.set(&id, row);
                    }
                    index.seen = Some(seen);
                    if !more {
                        return Ok(covers);
                    }
                }
                Step::Reload { seen } => {
                    // `seen` was the stream's last entry *before* the scan: whatever
                    // changes during the scan comes after it and is applied again
                    // by the next catch-up (applying is idempotent).
                    let rows = self.load_all().await?;
                    index.reload(rows);
                    index.seen = Some(seen);
                    tracing::debug!(customers = index.rows.len(), "search index reloaded");
                    return Ok(covers);
                }
            }
        }
    }

    /// One catch-up round trip, and what its answer covers. A replica that has
    /// not reached the entry the index holds (or has no stream yet) answers
    /// `behind`, and the master is asked instead: reloads happen on the master.
    async fn changes_since(
        &self,
        seen: Option<&Seen>,
        fresh: Freshness,
    ) -> Result<(Step, Instant), StoreError> {
        let (seen_id, seen_nonce) = seen.map_or(("", ""), |s| (&s.id, &s.nonce));
        let fresh_nonce = format!("{:016x}", rand::random::<u64>());
        let (keys, maxlen, fresh_nonce) = (&self.keys, self.change_log_len, &fresh_nonce);
        read(
            &self.tracker,
            self.replicas.as_deref(),
            fresh,
            RoundTrips::One,
            |mut conn, node| async move {
                let reply: Reply = redis::cmd("EVAL")
                    .arg(layout::CATCH_UP)
                    .arg(2)
                    .arg(&keys.records)
                    .arg(&keys.changes)
                    .arg(seen_id)
                    .arg(seen_nonce)
                    .arg(CATCH_UP_BATCH)
                    .arg(maxlen)
                    .arg(fresh_nonce)
                    .arg(if node == Node::Replica { "replica" } else { "" })
                    .query_async(&mut conn)
                    .await?;
                step(reply)
            },
        )
        .await
    }

    /// Every record, by `HSCAN` (a retry after a failover starts the pass again).
    async fn load_all(&self) -> Result<Vec<Row>, StoreError> {
        let records = &self.keys.records;
        let rows = run(
            &self.tracker,
            Access::Read,
            RoundTrips::Many,
            |mut conn| async move {
                let mut rows = Vec::new();
                let mut cursor: u64 = 0;
                loop {
                    let (next, flat): (u64, Vec<String>) = redis::cmd("HSCAN")
                        .arg(records)
                        .arg(cursor)
                        .arg("COUNT")
                        .arg(SCAN_COUNT)
                        .query_async(&mut conn)
                        .await?;
                    let mut flat = flat.into_iter();
                    while let (Some(id), Some(json)) = (flat.next(), flat.next()) {
                        rows.push(Row::new(&id, &decode(&json)?));
                    }
                    if next == 0 {
                        return Ok(rows);
                    }
                    cursor = next;
                }
            },
        )
        .await?;
        // Built in ID order, so the haystacks a search walks through lie next to
        // each other in memory (HSCAN's hash order scatters them: 2-3x slower).
        // Sorted with each ID's prefix beside it: most comparisons then read
        // no row (a million rows sort several times faster).
        let mut keyed: Vec<(u64, Row)> = rows
            .into_iter()
            .map(|row| (prefix_of(row.id()), row))
            .collect();
        keyed.sort_unstable_by(|a, b| a.0.cmp(&b.0).then_with(|| a.1.id().cmp(b.1.id())));
        // Dedup: HSCAN may return a field twice.
        keyed.dedup_by(|a, b| a.1.id() == b.1.id());
        Ok(keyed.into_iter().map(|(_, row)| row).collect())
    }
}

/// `CATCH_UP`'s reply: kind, entry ID, nonce, changed IDs, their JSON, more.
type Reply = (
    String,
    String,
    String,
    Vec<String>,
    Vec<Option<String>>,
    i64,
);

fn step((kind, id, nonce, ids, values, more): Reply) -> Result<Step, OpError> {
    if kind == "behind" {
        return Err(OpError::Behind);
    }
    let seen = Seen { id, nonce };
    if kind == "reload" {
        return Ok(Step::Reload { seen });
    }
    // Decoded here, inside `run`, so that a corrupt record fails the search for good.
    let changed = ids
        .into_iter()
        .zip(values)
        .map(|(id, json)| {
            let customer = json.as_deref().map(decode).transpose()?;
            let row = customer.map(|customer| Row::new(&id, &customer));
            Ok((id, row))
        })
        .collect::<Result<_, OpError>>()?;
    Ok(Step::Changes {
        changed,
        seen,
        more: more != 0,
    })
}
