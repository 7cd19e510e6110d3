//! Reading the audit trail that the `WRITE` script records (see `layout.rs`),
//! newest first: everyone's from `{prefix}audit`, filtered by actor here; one
//! customer's through its index of entry IDs, in one script call.

use super::layout;
use super::request::{run, Access, RoundTrips};
use super::RedisStore;
use app::domain::{Action, AuditEntry, AuditPage, AuditQuery, StoreError, Version};
use std::collections::HashMap;

/// Entries read per round trip.
const CHUNK: usize = 500;
/// Entries one query reads at most while filtering: a page that is not full by
/// then ends early, with `next` where to go on.
const SCAN_AT_MOST: usize = 20_000;

type RawEntry = (String, HashMap<String, String>);

impl RedisStore {
    pub(super) async fn audit_page(&self, query: &AuditQuery) -> Result<AuditPage, StoreError> {
        let limit = query.bounded_limit();
        if let Some(customer_id) = &query.customer_id {
            let raw = self.history(customer_id, query, limit + 1).await?;
            let mut entries = raw
                .into_iter()
                .map(|(id, fields)| decode(id, fields))
                .collect::<Result<Vec<_>, _>>()?;
            let next = (entries.len() > limit).then(|| {
                entries.truncate(limit);
                entries.last().map(|e| e.id.clone()).unwrap_or_default()
            });
            return Ok(AuditPage { entries, next });
        }
        let stream = &self.keys.audit;
        let mut page = AuditPage::default();
        let mut upper = match &query.older_than {
            Some(id) => format!("({id}"),
            None => "+".to_owned(),
        };
        let mut scanned = 0;
        loop {
            let chunk = self.read_older(stream, &upper).await?;
            let exhausted = chunk.len() < CHUNK;
            for (id, fields) in chunk {
                scanned += 1;
                upper = format!("({id}");
                let entry = decode(id, fields)?;
                if !query.admits(&entry) {
                    continue;
                }
                if page.entries.len() == limit {
                    // One more exists: the page is full and has a next.
                    page.next = page.entries.last().map(|e| e.id.clone());
                    return Ok(page);
                }
                page.entries.push(entry);
            }
            if exhausted {
                return Ok(page);
            }
            if scanned >= SCAN_AT_MOST {
                // Go on from the last entry read, not the last one kept.
                page.next = Some(upper.trim_start_matches('(').to_owned());
                return Ok(page);
            }
        }
    }

    /// Up to `count` of one customer's entries (by `query`'s actor and cursor), newest first.
    async fn history(
        &self,
        customer_id: &str,
        query: &AuditQuery,
        count: usize,
    ) -> Result<Vec<RawEntry>, StoreError> {
        let (audit, index) = (&self.keys.audit, &self.keys.history(customer_id));
        let older_than = query.older_than.as_deref().unwrap_or("");
        let actor = query.actor.as_deref().unwrap_or("");
        run(
            &self.tracker,
            Access::Read,
            RoundTrips::One,
            |mut conn| async move {
                let entries: Vec<RawEntry> = redis::cmd("EVAL")
                    .arg(layout::HISTORY)
                    .arg(2)
                    .arg(audit)
                    .arg(index)
                    .arg(older_than)
                    .arg(count)
                    .arg(actor)
                    .query_async(&mut conn)
                    .await?;
                Ok(entries)
            },
        )
        .await
    }

    /// Up to [`CHUNK`] entries of `stream` below `upper`, newest first.
    async fn read_older(&self, stream: &str, upper: &str) -> Result<Vec<RawEntry>, StoreError> {
        run(
            &self.tracker,
            Access::Read,
            RoundTrips::One,
            |mut conn| async move {
                let entries: Vec<RawEntry> = redis::cmd("XREVRANGE")
                    .arg(stream)
                    .arg(upper)
                    .arg("-")
                    .arg("COUNT")
                    .arg(CHUNK)
                    .query_async(&mut conn)
                    .await?;
                Ok(entries)
            },
        )
        .await
    }
}

/// One stream entry as an [`AuditEntry`]; its time is the entry ID's.
fn decode(id: String, mut fields: HashMap<String, String>) -> Result<AuditEntry, StoreError> {
    let corrupt = |what: &str| StoreError::Failed(format!("audit entry {id}: {what}"));
    let customer = |json: Option<String>| {
        json.map(|json| serde_json::from_str(&json))
            .transpose()
            .map_err(|_| corrupt("a value is not a customer"))
    };
    let at_ms = id
        .split('-')
        .next()
        .and_then(|ms| ms.parse().ok())
        .ok_or_else(|| corrupt("not a stream entry ID"))?;
    let action = fields
        .get("op")
        .and_then(|op| Action::parse(op))
        .ok_or_else(|| corrupt("no operation"))?;
    let customer_id = fields
        .remove("id")
        .ok_or_else(|| corrupt("no customer ID"))?;
    let version = fields
        .get("v")
        .map(|v| v.parse().map(Version))
        .transpose()
        .map_err(|_| corrupt("a version that is not a number"))?;
    Ok(AuditEntry {
        at_ms,
        actor: fields.remove("by").unwrap_or_default(),
        request_id: fields.remove("rid"),
        action,
        customer_id,
        before: customer(fields.remove("before"))?,
        after: customer(fields.remove("after"))?,
        version,
        id,
    })
}
