//! Where the store keeps customers, and the Lua scripts that change them.
//!
//! These keys, all under the prefix, so nothing else in the database matters:
//! - `{prefix}records`: a hash, field = customer ID, value = the customer's JSON
//!   (its length is the count of customers; the server pages from its in-memory
//!   orders, `order.rs`);
//! - `{prefix}versions`: a hash, field = customer ID, value = `"<version> <nonce>"`
//!   (the revision of the record's last write, and that write's random nonce);
//! - `{prefix}revision`: the store-wide revision counter versions are taken from;
//! - `{prefix}changes`: a stream, one entry `id <ID> n <nonce>` per changed record,
//!   capped (`MAXLEN ~`): what lets every server keep its search index in sync
//!   (see `search.rs`). The nonce is random per write, so an entry ID that a new
//!   master generates again after a failover is not mistaken for the one seen;
//! - `{prefix}audit`: a stream, one entry per change, for the audit trail:
//!   `op` (create, update, delete), `id`, `by` (the actor), `rid` (the request
//!   ID), `before` and `after` (JSON, when there is one), `v` (the new version);
//!   trimmed by age (`REDIS_AUDIT_RETENTION_DAYS`);
//! - `{prefix}history:<ID>`: the IDs of one customer's audit entries (a string,
//!   space-separated, oldest first): its history without a scan of everyone's,
//!   kept after a deletion, at about 16 bytes per change;
//! - `{prefix}session:<digest>`: the UI's sessions (`sessions.rs`).
//!
//! Servers up to commit ce149f9 also kept `{prefix}ids`, a sorted set of the IDs
//! (their count); it is no longer read or written (README: upgrading).
//!
//! Writes are Lua scripts so all keys change atomically (a script is one step for
//! Redis and for its replicas). The rarely run scripts are sent with `EVAL` (a
//! freshly promoted replica has an empty script cache); the write script, which
//! runs on every write and is a few KB, by its SHA-1 (`EVALSHA`, loaded again
//! when a server says it does not have it): Redis hashes an `EVAL`'s whole body
//! on every call, which cost a tenth of the write throughput. A record is read
//! with its version by two `HGET`s in one pipeline, version first (see
//! `RedisStore::fetch`): half the Redis time of a script.

/// The key names for one prefix.
#[derive(Clone, Debug)]
pub struct Keys {
    pub prefix: String,
    pub records: String,
    pub changes: String,
    pub versions: String,
    pub revision: String,
    pub audit: String,
}

impl Keys {
    pub fn new(prefix: &str) -> Self {
        Self {
            prefix: prefix.to_owned(),
            records: format!("{prefix}records"),
            changes: format!("{prefix}changes"),
            versions: format!("{prefix}versions"),
            revision: format!("{prefix}revision"),
            audit: format!("{prefix}audit"),
        }
    }

    /// One customer's audit entries.
    pub fn history(&self, id: &str) -> String {
        format!("{}history:{id}", self.prefix)
    }

    /// Does this key belong to the store (rather than to anyone else in the database)?
    pub fn owns(&self, key: &[u8]) -> bool {
        key.starts_with(self.prefix.as_bytes())
    }
}

/// Entries kept in the change stream by default: a server whose index is further
/// behind than this reloads it in full. 10,000 entries are about 1 MB in Redis.
pub const CHANGE_LOG_LEN: usize = 10_000;

/// A Lua function both the write and the history scripts use: are stream IDs
/// (`<ms>-<seq>`) `a` and `b` in this order? (A macro, so `concat!` can put it
/// into both scripts at compile time.)
macro_rules! earlier_in_lua {
    () => {
        r"local function earlier(a, b)
  local ams, aseq = string.match(a, '^(%d+)-(%d+)$')
  local bms, bseq = string.match(b, '^(%d+)-(%d+)$')
  ams, bms = tonumber(ams), tonumber(bms)
  return ams < bms or (ams == bms and tonumber(aseq) < tonumber(bseq))
end
"
    };
}

/// KEYS: records, changes, versions, revision, audit, then each change's
/// customer's history index. ARGV: maxlen, actor, request ID (or ''), the oldest
/// audit entry ID to keep ('0': all), then 6 per change: nonce, op
/// (`put` or `del`), precondition (`none`, `absent`, `exists` or `version`), the
/// expected version, id, json (for `put`).
///
/// Checks each change's precondition and makes it, in order, as one step (an
/// import sends hundreds at once; a single write is a batch of one). The records,
/// versions are read once and written once per batch, and so is
/// the change-stream entry (`id` once per changed ID, then `n`, a nonce); the
/// audit entry and the customer's history are one call each per change. A put takes
/// the next store-wide revision as the record's version and records it with the
/// write's nonce, so a retried attempt of a write that already ran (reply lost in
/// a failover) finds its own nonce and answers as the first attempt would have.
/// Returns one reply per change: `{'ok', version or false, changed (0/1)}` or
/// `{'conflict', current json or false, current version or false}`.
pub static WRITE_SCRIPT: std::sync::LazyLock<redis::Script> =
    std::sync::LazyLock::new(|| redis::Script::new(WRITE));

const WRITE: &str = concat!(
    earlier_in_lua!(),
    r"local maxlen, actor, request_id, keep_from = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
-- Each ID's record and version tag as the batch has left them so far (false:
-- none), the IDs changed (in order), the store-wide revision, and the nonce of
-- the batch's last change (its change-stream entry's).
local record, tags, touched, revision, last_nonce = {}, {}, {}, 0, false
local changed = {}
local function touch(id, json, tag, nonce)
  if not changed[id] then
    changed[id] = true
    touched[#touched + 1] = id
  end
  record[id], tags[id], last_nonce = json, tag, nonce
end
local function write(history, nonce, op, kind, expected, id, json)
  local function audit(what, before, after, version)
    local fields = {'op', what, 'id', id, 'by', actor}
    local function add(name, value)
      if value and value ~= '' then
        fields[#fields + 1] = name
        fields[#fields + 1] = value
      end
    end
    add('rid', request_id)
    add('before', before)
    add('after', after)
    add('v', version)
    local entry
    if keep_from ~= '0' then
      entry = redis.call('XADD', KEYS[5], 'MINID', '~', keep_from, '*', unpack(fields))
    else
      entry = redis.call('XADD', KEYS[5], '*', unpack(fields))
    end
    -- The customer's index of entry IDs. Every 4 KB or so, the IDs of entries
    -- the audit stream no longer has are dropped from it.
    local length = redis.call('APPEND', history, entry .. ' ')
    if math.floor(length / 4096) ~= math.floor((length - #entry - 1) / 4096) then
      local oldest = redis.call('XRANGE', KEYS[5], '-', '+', 'COUNT', 1)
      local kept = {}
      for kept_id in string.gmatch(redis.call('GET', history), '%S+') do
        if #oldest > 0 and not earlier(kept_id, oldest[1][1]) then kept[#kept + 1] = kept_id end
      end
      redis.call('SET', history, table.concat(kept, ' ') .. ' ')
    end
  end
  local current = record[id]
  local exists = current ~= false
  local version, seen_nonce = false, false
  local tag = tags[id]
  if tag then version, seen_nonce = string.match(tag, '^(%d+) (.*)$') end
  if exists and not version then version = '0' end
  if exists and op == 'put' and seen_nonce == nonce then return {'ok', version, 1} end
  local holds = kind == 'none' or (kind == 'absent' and not exists) or (kind == 'exists' and exists)
    or (kind == 'version' and exists and version == expected)
  if not holds then
    if exists then return {'conflict', current, version} end
    return {'conflict', false, false}
  end
  if op == 'del' then
    if not exists then return {'ok', false, 0} end
    audit('delete', current, false, false)
    touch(id, false, false, nonce)
    return {'ok', false, 1}
  end
  revision = revision + 1
  local new_version = string.format('%d', revision)
  if exists then
    audit('update', current, json, new_version)
  else
    audit('create', false, json, new_version)
  end
  touch(id, json, new_version .. ' ' .. nonce, nonce)
  return {'ok', new_version, 1}
end
-- Every ID's record and version tag, read at once; the batch's changes apply
-- to these copies in order, and what they end as is written at the end, one
-- command per hash (a change per command was two thirds of an import's time).
local count = (#ARGV - 4) / 6
if count == 0 then return {} end
local ids = {}
for i = 1, count do ids[i] = ARGV[4 + (i - 1) * 6 + 5] end
local stored = redis.call('HMGET', KEYS[1], unpack(ids))
local stored_tags = redis.call('HMGET', KEYS[3], unpack(ids))
for i = 1, count do
  if record[ids[i]] == nil then
    record[ids[i]] = stored[i]
    tags[ids[i]] = stored_tags[i]
  end
end
revision = tonumber(redis.call('GET', KEYS[4]) or '0')
local first_revision = revision
local replies = {}
for i = 1, count do
  local at = 4 + (i - 1) * 6
  replies[i] = write(KEYS[5 + i], ARGV[at + 1], ARGV[at + 2], ARGV[at + 3], ARGV[at + 4],
    ARGV[at + 5], ARGV[at + 6])
end
local records, versions, gone = {}, {}, {}
for _, id in ipairs(touched) do
  if record[id] then
    local n = #records
    records[n + 1] = id
    records[n + 2] = record[id]
    versions[n + 1] = id
    versions[n + 2] = tags[id]
  else
    gone[#gone + 1] = id
  end
end
if #records > 0 then
  redis.call('HSET', KEYS[1], unpack(records))
  redis.call('HSET', KEYS[3], unpack(versions))
end
if #gone > 0 then
  redis.call('HDEL', KEYS[1], unpack(gone))
  redis.call('HDEL', KEYS[3], unpack(gone))
end
if revision ~= first_revision then
  redis.call('SET', KEYS[4], string.format('%d', revision))
end
-- One change-stream entry for the batch, naming each changed ID once (a reader
-- reads their values as they are now): an entry per change was a tenth of an
-- import's time on the master and on each replica.
if #touched > 0 then
  local entry = {}
  for i, id in ipairs(touched) do
    entry[2 * i - 1], entry[2 * i] = 'id', id
  end
  entry[#entry + 1] = 'n'
  entry[#entry + 1] = last_nonce
  redis.call('XADD', KEYS[2], 'MAXLEN', '~', maxlen, '*', unpack(entry))
end
return replies
"
);

/// KEYS: audit, the customer's history index. ARGV: the entry ID to start
/// below ('' for the newest), how many entries at most, the actor ('' for any).
/// Returns entries as `XREVRANGE` does, newest first; IDs whose entries have
/// been trimmed are skipped.
pub const HISTORY: &str = concat!(
    earlier_in_lua!(),
    r"local index = redis.call('GET', KEYS[2])
if not index then return {} end
local ids = {}
for id in string.gmatch(index, '%S+') do ids[#ids + 1] = id end
local out, wanted = {}, tonumber(ARGV[2])
for i = #ids, 1, -1 do
  if ARGV[1] == '' or earlier(ids[i], ARGV[1]) then
    local found = redis.call('XRANGE', KEYS[1], ids[i], ids[i])
    if #found > 0 then
      local keep = ARGV[3] == ''
      if not keep then
        local fields = found[1][2]
        for f = 1, #fields, 2 do
          if fields[f] == 'by' then keep = fields[f + 1] == ARGV[3] end
        end
      end
      if keep then
        out[#out + 1] = found[1]
        if #out >= wanted then break end
      end
    end
  end
end
return out
"
);

/// The version in a `versions` hash value (`"<version> <nonce>"`); a record
/// without one was written before versions existed: version 0.
pub fn parse_version_tag(tag: Option<&str>) -> u64 {
    tag.and_then(|t| t.split(' ').next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// KEYS: records, changes. ARGV: last seen entry ID ('' for none), its nonce,
/// batch size, maxlen, a fresh nonce, `replica` when run on a replica.
/// Returns `{kind, entry ID, its nonce, {changed IDs}, {their JSON or false}, more}`:
/// - `changes`: the IDs the entries after the seen one name (whole entries, until
///   the batch size is reached: an entry names one ID or a batch write's; `more` is
///   1 when there are further entries), with the current value of each; the entry
///   ID and nonce are those of the last entry read;
/// - `reload`: the seen entry is no longer in the stream (trimmed, stream deleted or
///   flushed, writes lost in a failover) or there is none: the caller must reload
///   everything, then continue from the returned entry (the stream's last);
/// - `behind` (on a replica, instead of `reload`): the replica has not reached the
///   seen entry, or the caller has seen none; a reload is for the master to serve.
///
/// An empty stream gets a marker entry first, so that a later loss of the stream
/// (DEL, FLUSH) is noticed even when nothing was ever written.
pub const CATCH_UP: &str = r"
local function field(fields, name)
  for i = 1, #fields, 2 do
    if fields[i] == name then return fields[i + 1] end
  end
  return false
end
local function reload()
  local last = redis.call('XREVRANGE', KEYS[2], '+', '-', 'COUNT', 1)
  if #last == 0 then
    local id = redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[4], '*', 'n', ARGV[5])
    return {'reload', id, ARGV[5], {}, {}, 0}
  end
  return {'reload', last[1][1], field(last[1][2], 'n') or '', {}, {}, 0}
end
local on_replica = ARGV[6] == 'replica'
if ARGV[1] == '' then
  if on_replica then return {'behind', '', '', {}, {}, 0} end
  return reload()
end
local batch = tonumber(ARGV[3])
-- The seen entry and the one after it: is the seen one still there, and is
-- there anything new?
local count = 2
local entries = redis.call('XRANGE', KEYS[2], ARGV[1], '+', 'COUNT', count)
if #entries == 0 or entries[1][1] ~= ARGV[1] or (field(entries[1][2], 'n') or '') ~= ARGV[2] then
  if on_replica then return {'behind', '', '', {}, {}, 0} end
  return reload()
end
-- Then whole entries (one names a single write's ID, or up to hundreds for a
-- batch write) until they name `batch` IDs or the stream ends.
local ids, seen, last, consumed, more = {}, {}, entries[1], 0, 0
while true do
  for i = 2, #entries do
    if #ids >= batch then
      more = 1
      break
    end
    local fields = entries[i][2]
    for f = 1, #fields, 2 do
      local id = fields[f + 1]
      if fields[f] == 'id' and not seen[id] then
        seen[id] = true
        ids[#ids + 1] = id
      end
    end
    last, consumed = entries[i], consumed + 1
  end
  if more == 1 or #entries < count then break end
  -- As many entries as should name the IDs still wanted, by those read so far.
  local per_entry = math.max(1, #ids / consumed)
  count = math.min(batch, math.max(1, math.ceil((batch - #ids) / per_entry))) + 1
  entries = redis.call('XRANGE', KEYS[2], last[1], '+', 'COUNT', count)
end
local values = {}
if #ids > 0 then values = redis.call('HMGET', KEYS[1], unpack(ids)) end
return {'changes', last[1], field(last[2], 'n') or '', ids, values, more}
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_stay_under_the_prefix() {
        let keys = Keys::new("app:");
        assert_eq!(keys.records, "app:records");
        assert_eq!(keys.changes, "app:changes");
        assert_eq!(keys.versions, "app:versions");
        assert!(keys.owns(b"app:anything"));
        assert!(!keys.owns(b"other"));
    }

    #[test]
    fn version_tags() {
        assert_eq!(parse_version_tag(Some("42 0123abcd")), 42);
        assert_eq!(parse_version_tag(None), 0);
        assert_eq!(parse_version_tag(Some("garbage")), 0);
    }
}
