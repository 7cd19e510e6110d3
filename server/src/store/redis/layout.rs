//! Where the store keeps customers, and the Lua scripts that change them.
//!
//! Two keys, both under the prefix, so nothing else in the database matters:
//! - `{prefix}records`: a hash, field = customer ID, value = the customer's JSON;
//! - `{prefix}ids`: a sorted set of the IDs, all with score 0, so it is ordered by
//!   bytes (the same order as Rust's `str` ordering) and pages are `ZRANGE BYLEX`.
//!
//! Writes are Lua scripts so both keys change atomically (a script is one step for
//! Redis and for its replicas). Scripts are sent with `EVAL` rather than `EVALSHA`:
//! they are tiny, and a freshly promoted replica has an empty script cache.

use app::domain::Cursor;

/// The key names for one prefix.
#[derive(Clone, Debug)]
pub struct Keys {
    pub prefix: String,
    pub records: String,
    pub ids: String,
}

impl Keys {
    pub fn new(prefix: &str) -> Self {
        Self {
            prefix: prefix.to_owned(),
            records: format!("{prefix}records"),
            ids: format!("{prefix}ids"),
        }
    }

    /// Does this key belong to the store (rather than to anyone else in the database)?
    pub fn owns(&self, key: &[u8]) -> bool {
        key.starts_with(self.prefix.as_bytes())
    }
}

/// KEYS: records, ids. ARGV: id, json. Inserts or replaces.
pub const UPSERT: &str = r"
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('ZADD', KEYS[2], 0, ARGV[1])
return 1
";

/// KEYS: records, ids. ARGV: id. Returns 1 when a record was removed, else 0.
pub const DELETE: &str = r"
local removed = redis.call('HDEL', KEYS[1], ARGV[1])
redis.call('ZREM', KEYS[2], ARGV[1])
return removed
";

/// KEYS: records, ids. ARGV: id, json.
/// Inserts only when the ID is free (returns 1); otherwise returns the stored JSON.
pub const INSERT_IF_ABSENT: &str = r"
if redis.call('HSETNX', KEYS[1], ARGV[1], ARGV[2]) == 1 then
  redis.call('ZADD', KEYS[2], 0, ARGV[1])
  return 1
end
return redis.call('HGET', KEYS[1], ARGV[1])
";

/// KEYS: records, ids. ARGV: first bound, second bound, count, 'rev' or 'fwd'.
/// Returns `{total, {json or false, ...}}`: one round trip and one consistent
/// snapshot for the IDs of the page, their records and the count.
pub const PAGE: &str = r"
local ids
if ARGV[4] == 'rev' then
  ids = redis.call('ZRANGE', KEYS[2], ARGV[1], ARGV[2], 'BYLEX', 'REV', 'LIMIT', 0, ARGV[3])
else
  ids = redis.call('ZRANGE', KEYS[2], ARGV[1], ARGV[2], 'BYLEX', 'LIMIT', 0, ARGV[3])
end
local total = redis.call('ZCARD', KEYS[2])
if #ids == 0 then
  return {total, {}}
end
return {total, redis.call('HMGET', KEYS[1], unpack(ids))}
";

/// KEYS: a batch of keys. ARGV: the longest string value worth reading.
/// Returns per key `{type}` or, for short strings, `{type, value}`: one round trip
/// per batch, and the type and value are read together.
pub const LEGACY_BATCH: &str = r"
local out = {}
for i, key in ipairs(KEYS) do
  local kind = redis.call('TYPE', key)['ok']
  if kind == 'string' and redis.call('STRLEN', key) <= tonumber(ARGV[1]) then
    out[i] = {kind, redis.call('GET', key)}
  else
    out[i] = {kind}
  end
end
return out
";

/// The `PAGE` arguments (bounds and direction) for a cursor.
pub fn page_range(cursor: &Cursor) -> (String, String, &'static str) {
    match cursor {
        Cursor::Start => ("-".into(), "+".into(), "fwd"),
        Cursor::After(id) => (format!("({id}"), "+".into(), "fwd"),
        // With REV, ZRANGE takes the upper bound first.
        Cursor::Before(id) => (format!("({id}"), "-".into(), "rev"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_stay_under_the_prefix() {
        let keys = Keys::new("app:");
        assert_eq!(keys.records, "app:records");
        assert_eq!(keys.ids, "app:ids");
        assert!(keys.owns(b"app:anything"));
        assert!(!keys.owns(b"other"));
    }

    #[test]
    fn ranges_follow_the_cursor() {
        assert_eq!(page_range(&Cursor::Start), ("-".into(), "+".into(), "fwd"));
        assert_eq!(
            page_range(&Cursor::Before("m".into())),
            ("(m".into(), "-".into(), "rev")
        );
    }
}
