#include "store/txn.h"

#include <rocksdb/utilities/write_batch_with_index.h>

#include <algorithm>
#include <cassert>
#include <unordered_map>

#include "store/encoding.h"
#include "store/store.h"
#include "store/store_impl.h"

namespace redge::store {
namespace {

constexpr int kMaxObserverDepth = 8;

// Keyspace notification classes (Redis's notify-keyspace-events letters).
enum KeyspaceClass : uint32_t {
  kNotifyKeyspace = 1u << 0,  // K
  kNotifyKeyevent = 1u << 1,  // E
  kNotifyGeneric = 1u << 2,   // g
  kNotifyString = 1u << 3,    // $
  kNotifyList = 1u << 4,      // l
  kNotifySet = 1u << 5,       // s
  kNotifyHash = 1u << 6,      // h
  kNotifyZSet = 1u << 7,      // z
  kNotifyExpired = 1u << 8,   // x
  kNotifyEvicted = 1u << 9,   // e
  kNotifyStream = 1u << 10,   // t
  kNotifyModule = 1u << 11,   // d (no modules here: accepted, never raised)
  kNotifyNew = 1u << 12,      // n
  kNotifyAll = kNotifyGeneric | kNotifyString | kNotifyList | kNotifySet | kNotifyHash |
               kNotifyZSet | kNotifyExpired | kNotifyEvicted | kNotifyStream | kNotifyModule,
};

// The class of each event name the type modules raise (Redis's names and classes).
uint32_t EventClass(std::string_view event) {
  static const std::unordered_map<std::string_view, uint32_t> kClasses = {
      {"del", kNotifyGeneric},
      {"expire", kNotifyGeneric},
      {"persist", kNotifyGeneric},
      {"rename_from", kNotifyGeneric},
      {"rename_to", kNotifyGeneric},
      {"restore", kNotifyGeneric},
      {"copy_to", kNotifyGeneric},
      {"move_from", kNotifyGeneric},
      {"move_to", kNotifyGeneric},
      {"set", kNotifyString},
      {"setrange", kNotifyString},
      {"incrby", kNotifyString},
      {"incrbyfloat", kNotifyString},
      {"append", kNotifyString},
      {"setbit", kNotifyString},
      {"lpush", kNotifyList},
      {"rpush", kNotifyList},
      {"lpop", kNotifyList},
      {"rpop", kNotifyList},
      {"linsert", kNotifyList},
      {"lset", kNotifyList},
      {"lrem", kNotifyList},
      {"ltrim", kNotifyList},
      {"sortstore", kNotifyList},
      {"sadd", kNotifySet},
      {"srem", kNotifySet},
      {"spop", kNotifySet},
      {"sinterstore", kNotifySet},
      {"sunionstore", kNotifySet},
      {"sdiffstore", kNotifySet},
      {"hset", kNotifyHash},
      {"hdel", kNotifyHash},
      {"hincrby", kNotifyHash},
      {"hincrbyfloat", kNotifyHash},
      {"zadd", kNotifyZSet},
      {"zincr", kNotifyZSet},
      {"zrem", kNotifyZSet},
      {"zremrangebyscore", kNotifyZSet},
      {"zremrangebyrank", kNotifyZSet},
      {"zremrangebylex", kNotifyZSet},
      {"zpopmin", kNotifyZSet},
      {"zpopmax", kNotifyZSet},
      {"zunionstore", kNotifyZSet},
      {"zinterstore", kNotifyZSet},
      {"zdiffstore", kNotifyZSet},
      {"zrangestore", kNotifyZSet},
      {"expired", kNotifyExpired},
      {"evicted", kNotifyEvicted},
      {"xadd", kNotifyStream},
      {"xdel", kNotifyStream},
      {"xtrim", kNotifyStream},
      {"xsetid", kNotifyStream},
      {"xgroup-create", kNotifyStream},
      {"xgroup-createconsumer", kNotifyStream},
      {"xgroup-delconsumer", kNotifyStream},
      {"xgroup-destroy", kNotifyStream},
      {"xgroup-setid", kNotifyStream},
      {"xclaim", kNotifyStream},
      {"xautoclaim", kNotifyStream},
      {"new", kNotifyNew},
  };
  auto it = kClasses.find(event);
  return it == kClasses.end() ? kNotifyGeneric : it->second;
}
constexpr size_t kMaxScanCursors = 10000;

}  // namespace

const char* KeyTypeName(KeyType t) {
  switch (t) {
    case KeyType::kString:
      return "string";
    case KeyType::kList:
      return "list";
    case KeyType::kHash:
      return "hash";
    case KeyType::kSet:
      return "set";
    case KeyType::kZSet:
      return "zset";
    case KeyType::kStream:
      return "stream";
    default:
      return "none";
  }
}

Txn::Txn(Store* store, int db, int64_t now_ms, rocksdb::WriteBatchWithIndex* batch)
    : store_(store), db_(db), now_ms_(now_ms), batch_(batch) {}

void Txn::CacheMeta(std::string_view key, const std::optional<Meta>& meta) {
  meta_cache_valid_ = true;
  meta_cache_db_ = db_;
  meta_cache_key_.assign(key.data(), key.size());
  meta_cache_ = meta;
}

Result<std::optional<Meta>> Txn::ReadRawMeta(std::string_view key) {
  if (meta_cache_valid_ && meta_cache_db_ == db_ && meta_cache_key_ == key) return meta_cache_;
  std::string meta_key = encoding::MetaKey(db_, key);
  if (auto it = dirty_metas_.find(meta_key); it != dirty_metas_.end()) {
    CacheMeta(key, it->second);
    return it->second;
  }
  auto& im = *store_->impl_;
  std::string raw;
  rocksdb::Status s =
      batch_->GetFromBatchAndDB(im.db, rocksdb::ReadOptions(), im.meta_cf, meta_key, &raw);
  if (s.IsNotFound()) {
    CacheMeta(key, std::nullopt);
    return std::optional<Meta>();
  }
  if (!s.ok()) return Status::IOError(s.ToString());
  Meta meta;
  if (!encoding::DecodeMeta(raw, &meta)) return Status::Corruption("bad metadata record");
  CacheMeta(key, meta);
  return std::optional<Meta>(std::move(meta));
}

Result<Meta> Txn::GetMeta(std::string_view key) {
  auto raw = ReadRawMeta(key);
  if (!raw.ok()) return raw.status();
  if (!raw->has_value()) return Status::NotFound();
  Meta& meta = **raw;
  // Redis's rule: a key is expired once now > deadline (at the deadline it still exists).
  if (meta.expire_at_ms != 0 && meta.expire_at_ms < now_ms_) {
    if (store_->impl_->expiry_paused.load(std::memory_order_relaxed)) {
      return Status::NotFound();  // CLIENT PAUSE: logically expired, deleted after it
    }
    DeleteKey(key);
    expired_++;
    Notify(key, "expired");
    return Status::NotFound();
  }
  NoteAccess(key);
  return std::move(meta);
}

void Txn::NoteAccess(std::string_view key) {
  if (no_touch_) return;
  auto& im = *store_->impl_;
  im.access.Touch(db_, key, now_ms_, im.Lfu());
}

int64_t Txn::IdleMs(std::string_view key) const {
  return store_->impl_->access.IdleMs(db_, key, now_ms_);
}

int Txn::LfuFrequency(std::string_view key) const {
  auto& im = *store_->impl_;
  return im.access.Frequency(db_, key, now_ms_, im.Lfu());
}

void Txn::SetAccess(std::string_view key, int64_t idle_ms, int freq) {
  store_->impl_->access.Set(db_, key, idle_ms >= 0 ? now_ms_ - idle_ms : now_ms_, freq, now_ms_);
}

void Txn::SwapAccessTimes(int a, int b) { store_->impl_->access.SwapDbs(a, b); }

Result<Meta> Txn::GetTyped(std::string_view key, KeyType type) {
  auto meta = GetMeta(key);
  if (meta.ok() && meta->type != type) return Status::WrongType();
  return meta;
}

void Txn::PutMeta(std::string_view key, const Meta& meta) { PutMetaImpl(key, meta, true); }

void Txn::PutMetaUnwatched(std::string_view key, const Meta& meta) {
  PutMetaImpl(key, meta, false);
}

void Txn::PutMetaImpl(std::string_view key, const Meta& meta, bool watch_touch) {
  auto& im = *store_->impl_;
  auto old = ReadRawMeta(key);
  int64_t old_deadline = 0;
  bool was_stream = false;
  if (old.ok() && old->has_value()) {
    old_deadline = (*old)->expire_at_ms;
    was_stream = (*old)->type == KeyType::kStream;
  } else {
    key_count_delta_[db_]++;
    if (uint32_t flags = im.keyspace_events.load(std::memory_order_relaxed); flags & kNotifyNew) {
      PublishKeyspaceEvent(flags, key, "new");
    }
  }
  if (old_deadline == 0 && meta.expire_at_ms != 0) expires_count_delta_[db_]++;
  if (old_deadline != 0 && meta.expire_at_ms == 0) expires_count_delta_[db_]--;
  if (old_deadline != meta.expire_at_ms) {
    if (old_deadline != 0)
      batch_->Delete(im.expire_cf, encoding::ExpireKey(old_deadline, db_, key));
    if (meta.expire_at_ms != 0) {
      batch_->Put(im.expire_cf, encoding::ExpireKey(meta.expire_at_ms, db_, key), "");
      if (min_new_deadline_ == 0 || meta.expire_at_ms < min_new_deadline_) {
        min_new_deadline_ = meta.expire_at_ms;
      }
    }
  }
  // The record itself is written once at commit: a pipeline of 500 LPUSHes to one list
  // then adds one metadata entry to the memtable, not 500.
  dirty_metas_[encoding::MetaKey(db_, key)] = meta;
  meta_cache_valid_ = false;  // reads find the new record in dirty_metas_
  if (watch_touch) Touch(key);
  NoteAccess(key);
  // Types that blocking commands wait on: any write may give a waiter something (a push,
  // a ZADD, an XADD, a RENAME onto the key). The waiter's serve function decides.
  // A stream replaced by another type wakes its XREADGROUP readers (Redis's
  // signalKeyAsReady on overwrite): they get "UNBLOCKED the stream key no longer exists".
  if (meta.type == KeyType::kList || meta.type == KeyType::kZSet || meta.type == KeyType::kStream ||
      was_stream) {
    SignalKeyReady(key);
  }
}

void Txn::DeleteKey(std::string_view key) {
  auto& im = *store_->impl_;
  auto old = ReadRawMeta(key);
  if (!old.ok() || !old->has_value()) return;
  if ((*old)->expire_at_ms != 0) {
    expires_count_delta_[db_]--;
    batch_->Delete(im.expire_cf, encoding::ExpireKey((*old)->expire_at_ms, db_, key));
  }
  dirty_metas_[encoding::MetaKey(db_, key)] = std::nullopt;
  meta_cache_valid_ = false;
  key_count_delta_[db_]--;
  Touch(key);
  // Blocked XREADGROUP readers of a deleted stream are answered at once (Redis 7.0's
  // signalDeletedKeyAsReady), not left waiting for a group that can no longer exist.
  if ((*old)->type == KeyType::kStream) SignalKeyReady(key);
}

uint64_t Txn::NewVersion() { return ++store_->impl_->next_version; }

Result<std::string> Txn::GetElement(std::string_view key, uint64_t version, std::string_view sub) {
  auto& im = *store_->impl_;
  std::string value;
  rocksdb::Status s = batch_->GetFromBatchAndDB(im.db, rocksdb::ReadOptions(), im.data_cf,
                                                encoding::DataKey(db_, key, version, sub), &value);
  if (s.IsNotFound()) return Status::NotFound();
  if (!s.ok()) return Status::IOError(s.ToString());
  return value;
}

void Txn::PutElement(std::string_view key, uint64_t version, std::string_view sub,
                     std::string_view value) {
  auto& im = *store_->impl_;
  batch_->Put(im.data_cf, encoding::DataKey(db_, key, version, sub),
              rocksdb::Slice(value.data(), value.size()));
}

void Txn::DeleteElement(std::string_view key, uint64_t version, std::string_view sub) {
  auto& im = *store_->impl_;
  batch_->Delete(im.data_cf, encoding::DataKey(db_, key, version, sub));
}

namespace {

// This batch's own writes under one key range, read in key order one at a time (with
// overwrite_key each key has one index entry: its latest write). The store puts and
// deletes only; anything else is reported as corruption rather than misread.
class BatchCursor {
 public:
  BatchCursor(rocksdb::WriteBatchWithIndex* batch, rocksdb::ColumnFamilyHandle* cf,
              const std::string& start, const std::string& upper)
      : it_(batch->NewIterator(cf)), upper_(upper) {
    it_->Seek(start);
    Load();
  }
  bool valid() const { return valid_; }
  const std::string& key() const { return key_; }
  const std::string& value() const { return value_; }
  bool put() const { return put_; }
  bool bad() const { return bad_; }
  void Next() {
    it_->Next();
    Load();
  }

 private:
  void Load() {
    valid_ = it_->Valid();
    if (!valid_) return;
    const rocksdb::WriteEntry e = it_->Entry();
    if (e.key.compare(upper_) >= 0) {
      valid_ = false;
      return;
    }
    if (e.type != rocksdb::kPutRecord && e.type != rocksdb::kDeleteRecord) {
      valid_ = false;
      bad_ = true;
      return;
    }
    put_ = e.type == rocksdb::kPutRecord;
    key_.assign(e.key.data(), e.key.size());
    value_.assign(e.value.data(), e.value.size());
  }

  std::unique_ptr<rocksdb::WBWIIterator> it_;
  const std::string& upper_;
  bool valid_ = false, put_ = false, bad_ = false;
  std::string key_, value_;
};

}  // namespace

Status Txn::ScanElements(
    std::string_view key, uint64_t version, std::string_view start_sub,
    const std::function<bool(std::string_view sub, std::string_view value)>& fn) {
  auto& im = *store_->impl_;
  std::string prefix = encoding::DataPrefix(db_, key, version);
  // Every element key of this version sorts below the next version's prefix (the version
  // is a fixed-width big-endian field): the exact bound for the base iterator.
  std::string upper = encoding::DataPrefix(db_, key, version + 1);
  rocksdb::Slice upper_slice(upper);
  rocksdb::ReadOptions ro;
  ro.iterate_upper_bound = &upper_slice;
  std::string start = prefix;
  start.append(start_sub);
  auto emit = [&](const rocksdb::Slice& k, const rocksdb::Slice& v) {
    if (!k.starts_with(prefix)) return false;
    return fn(std::string_view(k.data() + prefix.size(), k.size() - prefix.size()),
              std::string_view(v.data(), v.size()));
  };
  // The stored elements merged by hand with the batch's writes in the same range. (RocksDB's
  // base-delta iterator consults the batch's index at every step, which was most of the
  // time of SPOP in a pipelined batch; here a step costs one comparison with the batch's
  // next key.)
  std::unique_ptr<rocksdb::Iterator> base(im.db->NewIterator(ro, im.data_cf));
  base->Seek(start);
  BatchCursor delta(batch_, im.data_cf, start, upper);
  while (true) {
    const bool base_valid = base->Valid();
    if (!base_valid && !delta.valid()) break;
    const int cmp = !base_valid      ? 1
                    : !delta.valid() ? -1
                                     : base->key().compare(rocksdb::Slice(delta.key()));
    if (cmp < 0) {
      if (!emit(base->key(), base->value())) break;
      base->Next();
      continue;
    }
    const bool put = delta.put();
    // Copied: `fn` may write to the batch, which moves the cursor's entry.
    const std::string k = delta.key(), v = delta.value();
    delta.Next();
    if (put && !emit(k, v)) break;
    // The batch's write replaced the stored element: step past it only now that the scan
    // goes on. A step is not free: past the last rank block of a sorted set lie the
    // tombstones of every popped index entry, and stepping over them eagerly made each
    // ZPOPMIN of a batch walk all of them (2,000 pops/s instead of 40,000).
    if (cmp == 0) base->Next();
  }
  if (delta.bad()) return Status::Corruption("unexpected record type in a write batch");
  if (!base->status().ok()) return Status::IOError(base->status().ToString());
  return Status::OK();
}

Status Txn::ScanElementsReverse(
    std::string_view key, uint64_t version, std::string_view last_sub,
    const std::function<bool(std::string_view sub, std::string_view value)>& fn) {
  auto& im = *store_->impl_;
  std::string prefix = encoding::DataPrefix(db_, key, version);
  std::string lower = prefix;
  rocksdb::Slice lower_slice(lower);
  rocksdb::ReadOptions ro;
  ro.iterate_lower_bound = &lower_slice;
  std::unique_ptr<rocksdb::Iterator> it(
      batch_->NewIteratorWithBase(im.data_cf, im.db->NewIterator(ro, im.data_cf)));
  // SeekForPrev lands on the greatest key <= target; the next version's prefix (for an
  // open end) is itself never an element of this version, so step back past it.
  std::string target = last_sub.empty() ? encoding::DataPrefix(db_, key, version + 1)
                                        : prefix + std::string(last_sub);
  it->SeekForPrev(target);
  while (it->Valid() && !it->key().starts_with(prefix) && it->key().compare(prefix) > 0) {
    it->Prev();
  }
  for (; it->Valid(); it->Prev()) {
    rocksdb::Slice k = it->key();
    if (!k.starts_with(prefix)) break;
    rocksdb::Slice v = it->value();
    if (!fn(std::string_view(k.data() + prefix.size(), k.size() - prefix.size()),
            std::string_view(v.data(), v.size()))) {
      break;
    }
  }
  if (!it->status().ok()) return Status::IOError(it->status().ToString());
  return Status::OK();
}

Result<uint64_t> Txn::CopyElements(std::string_view from, uint64_t version, int to_db,
                                   std::string_view to) {
  auto& im = *store_->impl_;
  std::vector<std::pair<std::string, std::string>> items;
  Status s = ScanElements(from, version, "", [&](std::string_view sub, std::string_view value) {
    items.emplace_back(sub, value);
    return true;
  });
  if (!s.ok()) return s;
  uint64_t fresh = NewVersion();
  for (auto& [sub, value] : items) {
    batch_->Put(im.data_cf, encoding::DataKey(to_db, to, fresh, sub), value);
  }
  return fresh;
}

namespace {
std::string InternalKey(std::string_view name) {
  std::string k(1, static_cast<char>(encoding::kInternalDb));
  k.append("x:");  // "x:" keeps module records apart from the store's own ("version_hwm")
  k.append(name);
  return k;
}
}  // namespace

Result<std::string> Txn::GetInternal(std::string_view name) {
  auto& im = *store_->impl_;
  std::string value;
  rocksdb::Status s = batch_->GetFromBatchAndDB(im.db, rocksdb::ReadOptions(), im.meta_cf,
                                                InternalKey(name), &value);
  if (s.IsNotFound()) return Status::NotFound();
  if (!s.ok()) return Status::IOError(s.ToString());
  return value;
}

void Txn::PutInternal(std::string_view name, std::string_view value) {
  auto& im = *store_->impl_;
  batch_->Put(im.meta_cf, InternalKey(name), rocksdb::Slice(value.data(), value.size()));
}

void Txn::DeleteInternal(std::string_view name) {
  auto& im = *store_->impl_;
  batch_->Delete(im.meta_cf, InternalKey(name));
}

Status Txn::ScanInternal(
    std::string_view prefix,
    const std::function<bool(std::string_view name, std::string_view value)>& fn) {
  auto& im = *store_->impl_;
  std::string start = InternalKey(prefix);
  const size_t skip = InternalKey("").size();
  std::unique_ptr<rocksdb::Iterator> it(batch_->NewIteratorWithBase(
      im.meta_cf, im.db->NewIterator(rocksdb::ReadOptions(), im.meta_cf)));
  for (it->Seek(start); it->Valid(); it->Next()) {
    rocksdb::Slice k = it->key();
    if (!k.starts_with(start)) break;
    rocksdb::Slice v = it->value();
    if (!fn(std::string_view(k.data() + skip, k.size() - skip),
            std::string_view(v.data(), v.size()))) {
      break;
    }
  }
  if (!it->status().ok()) return Status::IOError(it->status().ToString());
  return Status::OK();
}

void Txn::SignalKeyReady(std::string_view key) {
  auto& im = *store_->impl_;
  if (im.blocked.load(std::memory_order_relaxed) == 0) return;
  ready_lists_.push_back(encoding::MetaKey(db_, key));
}

void Txn::SetSavePoint() {
  SavePoint sp;
  sp.dirty_metas = dirty_metas_;
  std::copy(std::begin(key_count_delta_), std::end(key_count_delta_), sp.key_count_delta);
  std::copy(std::begin(expires_count_delta_), std::end(expires_count_delta_),
            sp.expires_count_delta);
  sp.touched = touched_.size();
  sp.ready_lists = ready_lists_.size();
  sp.after_commit = after_commit_.size();
  sp.expired = expired_;
  sp.changes = changes_;
  sp.min_new_deadline = min_new_deadline_;
  savepoints_.push_back(std::move(sp));
  batch_->SetSavePoint();
}

void Txn::RollbackToSavePoint() {
  assert(!savepoints_.empty());
  SavePoint& sp = savepoints_.back();
  // RocksDB restores the batch (including metadata flushed into it since).
  batch_->RollbackToSavePoint();
  dirty_metas_ = std::move(sp.dirty_metas);
  std::copy(std::begin(sp.key_count_delta), std::end(sp.key_count_delta), key_count_delta_);
  std::copy(std::begin(sp.expires_count_delta), std::end(sp.expires_count_delta),
            expires_count_delta_);
  touched_.resize(sp.touched);
  ready_lists_.resize(std::min(ready_lists_.size(), sp.ready_lists));
  after_commit_.resize(sp.after_commit);
  expired_ = sp.expired;
  changes_ = sp.changes;
  min_new_deadline_ = sp.min_new_deadline;
  meta_cache_valid_ = false;
  savepoints_.pop_back();
}

void Txn::PopSavePoint() {
  assert(!savepoints_.empty());
  batch_->PopSavePoint();
  savepoints_.pop_back();
}

void Txn::FlushMetas() {
  auto& im = *store_->impl_;
  for (auto& [meta_key, meta] : dirty_metas_) {
    if (meta) {
      batch_->Put(im.meta_cf, meta_key, encoding::EncodeMeta(*meta));
    } else {
      batch_->Delete(im.meta_cf, meta_key);
    }
  }
  dirty_metas_.clear();
}

Status Txn::ScanKeys(std::string_view start,
                     const std::function<bool(std::string_view key, const Meta& meta)>& fn) {
  FlushMetas();  // the iterator below reads the batch
  auto& im = *store_->impl_;
  std::string upper(1, static_cast<char>(db_ + 1));
  rocksdb::Slice upper_slice(upper);
  rocksdb::ReadOptions ro;
  ro.iterate_upper_bound = &upper_slice;
  std::unique_ptr<rocksdb::Iterator> it(
      batch_->NewIteratorWithBase(im.meta_cf, im.db->NewIterator(ro, im.meta_cf)));
  Meta meta;
  for (it->Seek(encoding::MetaKey(db_, start)); it->Valid(); it->Next()) {
    rocksdb::Slice k = it->key();
    if (k.size() < 1 || static_cast<uint8_t>(k[0]) != db_) break;
    rocksdb::Slice v = it->value();
    if (!encoding::DecodeMeta(std::string_view(v.data(), v.size()), &meta)) continue;
    // Expired keys are skipped here, not deleted: the batch must not change under its
    // own iterator. The expirer or the next access deletes them.
    if (meta.expire_at_ms != 0 && meta.expire_at_ms < now_ms_) continue;
    if (!fn(std::string_view(k.data() + 1, k.size() - 1), meta)) break;
  }
  if (!it->status().ok()) return Status::IOError(it->status().ToString());
  return Status::OK();
}

void Txn::Touch(std::string_view key) { touched_.push_back(encoding::MetaKey(db_, key)); }

void Txn::Notify(std::string_view key, std::string_view event,
                 const std::vector<std::string>* values) {
  auto& im = *store_->impl_;
  Touch(key);
  if (event != "expired" && event != "evicted") changes_++;  // INFO's changes since save
  if (uint32_t flags = im.keyspace_events.load(std::memory_order_relaxed);
      flags != 0 && (flags & EventClass(event))) {
    PublishKeyspaceEvent(flags, key, event);
  }
  if (im.key_observers.empty() || observer_depth_ >= kMaxObserverDepth) return;
  KeyEvent ev{db_, key, event, values};
  int saved_db = db_;
  observer_depth_++;
  for (auto& entry : im.key_observers) {
    if (entry.Wants(key, event)) {
      entry.observer(*this, ev);
      db_ = saved_db;  // an observer may switch databases; give the command its own back
    }
  }
  observer_depth_--;
}

void Txn::Announce(std::string_view key, std::string_view event) {
  auto& im = *store_->impl_;
  changes_++;
  if (uint32_t flags = im.keyspace_events.load(std::memory_order_relaxed);
      flags != 0 && (flags & EventClass(event))) {
    PublishKeyspaceEvent(flags, key, event);
  }
}

void Txn::PublishKeyspaceEvent(uint32_t flags, std::string_view key, std::string_view event) {
  const std::string db = std::to_string(db_);
  Store* store = store_;
  if (flags & kNotifyKeyspace) {
    AfterCommit([store, channel = "__keyspace@" + db + "__:" + std::string(key),
                 message = std::string(event)] { store->pubsub().Publish(channel, message); });
  }
  if (flags & kNotifyKeyevent) {
    AfterCommit([store, channel = "__keyevent@" + db + "__:" + std::string(event),
                 message = std::string(key)] { store->pubsub().Publish(channel, message); });
  }
}

bool Txn::HasObserver(std::string_view key, std::string_view event) const {
  for (const auto& entry : store_->impl_->key_observers) {
    if (entry.Wants(key, event)) return true;
  }
  return false;
}

void Txn::AfterCommit(std::function<void()> fn) { after_commit_.push_back(std::move(fn)); }

std::optional<std::string> Txn::LookupScanCursor(uint64_t cursor) {
  auto& im = *store_->impl_;
  auto it = im.scan_cursors.find(cursor);
  if (it == im.scan_cursors.end()) return std::nullopt;
  return it->second;
}

uint64_t Txn::SaveScanCursor(std::string next_key) {
  auto& im = *store_->impl_;
  uint64_t id = im.next_scan_cursor++;
  im.scan_cursors.emplace(id, std::move(next_key));
  im.scan_cursor_order.push_back(id);
  while (im.scan_cursor_order.size() > kMaxScanCursors) {
    im.scan_cursors.erase(im.scan_cursor_order.front());
    im.scan_cursor_order.pop_front();
  }
  return id;
}

}  // namespace redge::store
