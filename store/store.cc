#include "store/store.h"

#include <rocksdb/convenience.h>
#include <rocksdb/filter_policy.h>
#include <rocksdb/table.h>

#include <algorithm>
#include <cassert>
#include <chrono>
#include <cstdarg>
#include <cstdio>
#include <filesystem>

#include "base/loop_thread.h"
#include "base/thread_name.h"
#include "store/compaction_filter.h"
#include "store/encoding.h"
#include "store/retryable_fs.h"
#include "store/store_impl.h"

namespace redge::store {
namespace {

constexpr char kMetaCf[] = "meta";
constexpr char kDataCf[] = "data";
constexpr char kExpireCf[] = "expire";
constexpr uint64_t kVersionBlock = uint64_t{1} << 20;

std::string VersionHwmKey() {
  std::string k(1, static_cast<char>(encoding::kInternalDb));
  k.append("version_hwm");
  return k;
}

int64_t NowMicros() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

std::optional<Fsync> ParseFsync(std::string_view s) {
  if (s == "always") return Fsync::kAlways;
  if (s == "everysec") return Fsync::kEverySec;
  if (s == "no") return Fsync::kNo;
  return std::nullopt;
}

const char* FsyncName(Fsync f) {
  switch (f) {
    case Fsync::kAlways:
      return "always";
    case Fsync::kEverySec:
      return "everysec";
    case Fsync::kNo:
      return "no";
  }
  return "?";
}

Store::Store(const Options& options)
    : options_(options),
      clock_(options.clock ? options.clock : SystemClock::Default()),
      impl_(std::make_unique<Impl>()) {}

Result<std::unique_ptr<Store>> Store::Open(const Options& options) {
  std::unique_ptr<Store> store(new Store(options));
  Status s = store->OpenDb();
  if (!s.ok()) return s;
  return store;
}

namespace {

// RocksDB's info log, forwarded to the server's log instead of a file on the data disk.
class ForwardingLogger : public rocksdb::Logger {
 public:
  explicit ForwardingLogger(std::function<void(int, const std::string&)> sink)
      : rocksdb::Logger(rocksdb::InfoLogLevel::INFO_LEVEL), sink_(std::move(sink)) {}
  using rocksdb::Logger::Logv;
  void Logv(const char* format, va_list ap) override {
    Logv(rocksdb::InfoLogLevel::INFO_LEVEL, format, ap);
  }
  void Logv(const rocksdb::InfoLogLevel level, const char* format, va_list ap) override {
    if (level < GetInfoLogLevel()) return;
    char buf[1024];
    vsnprintf(buf, sizeof(buf), format, ap);
    int lvl = std::min(static_cast<int>(level), 4);
    if (sink_) {
      sink_(lvl, buf);
    } else if (lvl >= 2) {
      std::fprintf(stderr, "rocksdb: %s\n", buf);
    }
  }

 private:
  std::function<void(int, const std::string&)> sink_;
};

}  // namespace

Status Store::OpenDb() {
  Impl& im = *impl_;
  im.access.set_start_ms(clock_->NowMs());
  rocksdb::DBOptions db_options;
  db_options.info_log = std::make_shared<ForwardingLogger>(options_.log);
  // Informational lines (flushes, compactions) are many and only useful when debugging.
  db_options.info_log->SetInfoLogLevel(options_.log ? rocksdb::InfoLogLevel::INFO_LEVEL
                                                    : rocksdb::InfoLogLevel::WARN_LEVEL);
  db_options.create_if_missing = true;
  db_options.create_missing_column_families = true;
  db_options.max_background_jobs = 2;
  db_options.bytes_per_sync = 1 << 20;
  db_options.max_total_wal_size = 256u << 20;
  db_options.max_open_files = options_.max_open_files;
  // Running out of file descriptors is a retryable error, so the store recovers by itself.
  im.env = rocksdb::NewCompositeEnv(NewRetryableFileSystem());
  db_options.env = im.env.get();

  auto cache = rocksdb::NewLRUCache(options_.block_cache_bytes);
  rocksdb::BlockBasedTableOptions table;
  table.block_cache = cache;
  table.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
  table.cache_index_and_filter_blocks = true;
  // Partitioned index and filters: a point lookup loads one small partition. A whole filter
  // block (1.25 MB per million elements) is larger than a shard of the block cache, so it
  // was never kept and each GetElement on a big collection re-read it from the file
  // (about 0.5 ms a lookup on a collection of a million elements).
  table.index_type = rocksdb::BlockBasedTableOptions::IndexType::kTwoLevelIndexSearch;
  table.partition_filters = true;
  table.metadata_block_size = 4096;
  table.cache_index_and_filter_blocks_with_high_priority = true;
  table.pin_top_level_index_and_filter = true;

  rocksdb::ColumnFamilyOptions base;
  base.write_buffer_size = options_.write_buffer_bytes;
  base.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
  base.compression = rocksdb::kLZ4Compression;

  rocksdb::ColumnFamilyOptions data_options = base;
  data_options.compaction_filter_factory =
      std::make_shared<ElementGcFilterFactory>(im.filter_db, im.filter_meta_cf);

  std::vector<rocksdb::ColumnFamilyDescriptor> cfs = {
      {rocksdb::kDefaultColumnFamilyName, base},
      {kMetaCf, base},
      {kDataCf, data_options},
      {kExpireCf, base},
  };
  // Created here so a first start is not reported by RocksDB as an error reading a
  // missing directory.
  std::error_code ec;
  std::filesystem::create_directories(options_.dir, ec);
  if (ec) return Status::IOError("cannot create " + options_.dir + ": " + ec.message());
  rocksdb::Status rs = rocksdb::DB::Open(db_options, options_.dir, cfs, &im.handles, &im.db);
  if (!rs.ok()) return Status::IOError("open " + options_.dir + ": " + rs.ToString());
  im.meta_cf = im.handles[1];
  im.data_cf = im.handles[2];
  im.expire_cf = im.handles[3];
  im.filter_meta_cf->store(im.meta_cf);
  im.filter_db->store(im.db);
  im.write_options.sync = false;  // durability is GroupCommit's job (see group_commit.h)

  // Versions must never repeat across restarts: resume above the persisted high-water mark.
  std::string hwm;
  rs = im.db->Get(rocksdb::ReadOptions(), im.meta_cf, VersionHwmKey(), &hwm);
  if (rs.ok() && hwm.size() == 8) {
    im.persisted_version_hwm = encoding::DecodeFixed64LE(hwm.data());
  } else if (!rs.ok() && !rs.IsNotFound()) {
    return Status::IOError(rs.ToString());
  }
  im.next_version = std::max<uint64_t>(im.persisted_version_hwm, NowMicros());

  // DBSIZE counters: one pass over the metadata (elements are not read).
  std::unique_ptr<rocksdb::Iterator> it(im.db->NewIterator(rocksdb::ReadOptions(), im.meta_cf));
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    int db;
    std::string_view key;
    if (encoding::ParseMetaKey(std::string_view(it->key().data(), it->key().size()), &db, &key) &&
        db < kNumDbs) {
      im.key_counts[db]++;
      Meta meta;
      if (encoding::DecodeMeta(std::string_view(it->value().data(), it->value().size()), &meta) &&
          meta.expire_at_ms != 0) {
        im.expires_counts[db]++;
      }
    }
  }
  if (!it->status().ok()) return Status::IOError(it->status().ToString());

  im.group_commit = std::make_unique<GroupCommit>(im.db, options_.fsync);
  im.group_commit->set_failure_flag(&im.last_write_failed);
  im.last_save_unix = std::chrono::duration_cast<std::chrono::seconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();
  im.writer = base::StartNamedThread("redge-writer", [this] { RunWriter(); });
  if (options_.active_expire) {
    im.expirer = base::StartNamedThread("redge-expirer", [this] { RunExpirer(); });
  }
  return Status::OK();
}

Store::~Store() {
  Impl& im = *impl_;
  {
    std::lock_guard lock(im.mu);
    im.closing = true;
  }
  im.expirer_cv.notify_all();
  if (im.expirer.joinable()) im.expirer.join();
  {
    std::lock_guard qlock(im.queue_mu);
    im.writer_stop = true;
  }
  im.queue_cv.notify_all();
  if (im.writer.joinable()) im.writer.join();  // fails what is still queued (Shutdown)
  // Waiters still parked get a clear error instead of silence.
  std::vector<std::shared_ptr<Waiter>> parked;
  {
    std::lock_guard wlock(im.waiters_mu);
    for (auto& [id, w] : im.waiters_by_id) parked.push_back(w);
    im.waiters_by_id.clear();
    im.waiters_by_key.clear();
    im.waiters_pending.clear();
  }
  for (auto& w : parked) w->callback(Status::Shutdown());
  if (im.db == nullptr) return;
  im.group_commit.reset();  // final sync
  rocksdb::CancelAllBackgroundWork(im.db, /*wait=*/true);
  im.filter_db->store(nullptr);
  for (auto* h : im.handles) im.db->DestroyColumnFamilyHandle(h);
  im.db->Close();
  delete im.db;
}

bool Store::OnWriterThread() const { return impl_->writer_id.load() == std::this_thread::get_id(); }

void Store::CheckMayWait(const char* what) {
  if (!base::OnEventLoopThread()) return;
#ifndef NDEBUG
  std::fprintf(stderr,
               "redge: Store::%s called on an event-loop thread; nothing on an event loop may "
               "wait for the store or the disk (use the asynchronous form: ExecAsync, "
               "BlockAsync)\n",
               what);
  std::abort();
#else
  Impl& im = *impl_;
  const int64_t n = im.waits_on_event_loop.fetch_add(1) + 1;
  // Logged at most once a minute: a hot path that breaks the rule must not flood the log.
  const int64_t now = std::chrono::duration_cast<std::chrono::milliseconds>(
                          std::chrono::steady_clock::now().time_since_epoch())
                          .count();
  int64_t last = im.last_wait_log_ms.load();
  if ((last < 0 || now - last >= 60'000) &&
      im.last_wait_log_ms.compare_exchange_strong(last, now)) {
    const std::string line = std::string("store: Store::") + what +
                             " waited on an event-loop thread (a bug: event loops must use the "
                             "asynchronous forms); such waits so far: " +
                             std::to_string(n);
    if (options_.log) {
      options_.log(3, line);
    } else {
      std::fprintf(stderr, "redge: %s\n", line.c_str());
    }
  }
#endif
}

Status Store::Exec(int db, const std::function<void(Txn&)>& fn) {
  assert(!OnWriterThread());
  CheckMayWait("Exec");
  struct Waiter {
    std::mutex mu;
    std::condition_variable cv;
    bool done = false;
    Status status;
  } w;
  // `fn` is only referenced: this call does not return before it has run.
  ExecAsync(
      db, [&fn](Txn& txn) { fn(txn); },
      [&w](Status s) {
        std::lock_guard lock(w.mu);
        w.status = std::move(s);
        w.done = true;
        w.cv.notify_one();
      });
  std::unique_lock lock(w.mu);
  w.cv.wait(lock, [&] { return w.done; });
  return w.status;
}

void Store::ExecAsync(int db, std::function<void(Txn&)> fn, std::function<void(Status)> done,
                      ExecMode mode) {
  if (db < 0 || db >= kNumDbs) return done(Status::InvalidArgument("DB index is out of range"));
  Impl& im = *impl_;
  Op op;
  op.db = db;
  op.fn = std::move(fn);
  op.done = std::move(done);
  op.mode = mode;
  if (mode == ExecMode::kInlineOrQueue && im.queued.load() == 0 && !OnWriterThread()) {
    // The store is idle: run here, without a thread hop. Queued operations go first, so
    // one thread's operations never overtake each other.
    std::unique_lock lock(im.mu, std::try_to_lock);
    if (lock.owns_lock() && im.queued.load() == 0) {
      if (im.closing) {
        lock.unlock();
        return op.done(Status::Shutdown());
      }
      std::vector<Op> ops;
      ops.push_back(std::move(op));
      RunOps(ops, lock);
      return;
    }
  }
  {
    std::lock_guard qlock(im.queue_mu);
    im.queue.push_back(std::move(op));
    im.queued++;
  }
  im.queue_cv.notify_one();
}

void Store::RunWriter() {
  Impl& im = *impl_;
  im.writer_id = std::this_thread::get_id();
  while (true) {
    std::vector<Op> ops;
    {
      std::unique_lock qlock(im.queue_mu);
      im.queue_cv.wait(qlock, [&] { return !im.queue.empty() || im.writer_stop; });
      if (im.queue.empty()) return;  // stopping, nothing left
      ops.reserve(im.queue.size());
      for (auto& op : im.queue) ops.push_back(std::move(op));
      im.queue.clear();
    }
    std::unique_lock lock(im.mu);
    // Only now is the queue counted empty: an inline caller that saw a non-zero count
    // has queued behind these operations instead of overtaking them.
    im.queued -= ops.size();
    RunOps(ops, lock);
  }
}

void Store::RunOps(std::vector<Op>& ops, std::unique_lock<std::mutex>& lock) {
  Impl& im = *impl_;
  size_t i = 0;
  while (i < ops.size()) {
    if (!lock.owns_lock()) lock.lock();
    if (im.closing) {
      lock.unlock();
      for (; i < ops.size(); ++i) ops[i].done(Status::Shutdown());
      return;
    }
    if (ops[i].save) {
      Op& op = ops[i++];
      lock.unlock();
      rocksdb::FlushOptions fo;
      fo.wait = true;
      rocksdb::Status rs = im.db->Flush(fo, {im.meta_cf, im.data_cf, im.expire_cf});
      // Every change committed before this operation is in what the flush wrote (the
      // lock was held up to here, and later batches wait for it to be dropped).
      const int64_t changes_now = im.changes.load();
      Status s = rs.ok() ? im.group_commit->SyncNow() : Status::IOError(rs.ToString());
      im.last_save_ok = s.ok();
      if (s.ok()) {
        im.last_save_unix = std::chrono::duration_cast<std::chrono::seconds>(
                                std::chrono::system_clock::now().time_since_epoch())
                                .count();
        im.changes_at_save = changes_now;
        im.saves++;
      }
      op.done(s);
      continue;
    }
    if (ops[i].probe) {
      // Writable()'s probe, asked for on an event loop: here, under the store lock.
      Op& op = ops[i++];
      ProbeWritable();
      lock.unlock();
      op.done(Status::OK());
      continue;
    }
    if (ops[i].flush_first >= 0) {
      // FLUSHDB/FLUSHALL: a direct DeleteRange write, alone.
      Op& op = ops[i++];
      uint64_t seq = 0;
      Status s = FlushRange(op.flush_first, op.flush_last, &seq);
      // Registered before traffic: safe to run without the lock.
      const auto& flush_observers = im.flush_observers;
      if (s.ok() && im.blocked.load() > 0) {
        // Blocked clients' keys in these databases are gone: their serve functions see it
        // (a blocked XREADGROUP gets Redis's "-UNBLOCKED the stream key no longer exists").
        // The batch commits after the flush, so `done` still runs once the flush is durable.
        Txn txn(this, op.flush_first, clock_->NowMs(), &im.batch);
        {
          std::lock_guard wlock(im.waiters_mu);
          for (const auto& [meta_key, queue] : im.waiters_by_key) {
            const int db = static_cast<uint8_t>(meta_key[0]);
            if (db < op.flush_first || db > op.flush_last) continue;
            txn.SwitchDb(db);
            txn.SignalKeyReady(std::string_view(meta_key).substr(1));
          }
        }
        ServeBlockedPops(txn);
        Commit(txn, lock, std::move(op.done));  // releases the lock
        for (int db = op.flush_first; db <= op.flush_last; ++db) {
          for (auto& observer : flush_observers) observer(db);
        }
        continue;
      }
      lock.unlock();
      if (s.ok()) {
        for (int db = op.flush_first; db <= op.flush_last; ++db) {
          for (auto& observer : flush_observers) observer(db);
        }
      }
      if (!s.ok()) {
        op.done(s);
      } else {
        im.group_commit->RunWhenDurable(seq, std::move(op.done));
      }
      continue;
    }
    // A batch: consecutive ordinary operations, or one exclusive operation alone.
    Txn txn(this, ops[i].db, clock_->NowMs(), &im.batch);
    std::vector<std::function<void(Status)>> dones;
    const bool exclusive = ops[i].mode == ExecMode::kExclusive;
    do {
      Op& op = ops[i++];
      txn.SwitchDb(op.db);
      txn.set_client({});
      op.fn(txn);
      // Blocked clients are served after each operation, as Redis serves them after each
      // command: a later operation of the batch cannot take what a waiter was owed.
      ServeBlockedPops(txn);
      dones.push_back(std::move(op.done));
    } while (!exclusive && i < ops.size() && ops[i].batchable());
    if (dones.size() == 1) {
      Commit(txn, lock, std::move(dones.front()));
    } else {
      Commit(txn, lock, [dones = std::move(dones)](Status s) {
        for (auto& d : dones) d(s);
      });
    }
  }
  if (lock.owns_lock()) lock.unlock();
}

void Store::Commit(Txn& txn, std::unique_lock<std::mutex>& lock, std::function<void(Status)> done) {
  Impl& im = *impl_;
  txn.FlushMetas();
  Status status;
  rocksdb::WriteBatch* wb = im.batch.GetWriteBatch();
  uint64_t new_hwm = 0;
  if (wb->Count() > 0) {
    if (im.next_version >= im.persisted_version_hwm) {
      new_hwm = im.next_version + kVersionBlock;
      std::string v;
      encoding::PutFixed64LE(&v, new_hwm);
      wb->Put(im.meta_cf, VersionHwmKey(), v);
    }
    auto t0 = std::chrono::steady_clock::now();
    rocksdb::Status rs = im.db->Write(im.write_options, wb);
    const int64_t us =
        std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - t0)
            .count();
    im.write_latency_us_total += us;
    // First bound >= us: le is inclusive, as in Prometheus histograms.
    im.write_latency_buckets[std::lower_bound(kWriteLatencyBoundsUs.begin(),
                                              kWriteLatencyBoundsUs.end(), us) -
                             kWriteLatencyBoundsUs.begin()]++;
    if (rs.ok()) {
      im.writes++;
      if (im.commit_listener && !txn.touched_.empty()) im.commit_listener(txn.touched_, -1);
      if (new_hwm) im.persisted_version_hwm = new_hwm;
      for (int i = 0; i < kNumDbs; ++i) {
        im.key_counts[i] += txn.key_count_delta_[i];
        im.expires_counts[i] += txn.expires_count_delta_[i];
      }
      im.keys_expired += txn.expired_;
      im.changes += txn.changes_;
      if (txn.min_new_deadline_ > 0 &&
          (im.expirer_wait_deadline == 0 || txn.min_new_deadline_ < im.expirer_wait_deadline)) {
        im.expirer_cv.notify_one();
      }
      im.last_write_failed = false;
    } else {
      im.write_failures++;
      im.last_write_failed = true;
      status = Status::IOError(rs.ToString());
    }
  }
  if (status.ok()) {
    // An expirer pass did not see this batch's own index entries: raise the floor past
    // what it expired, then lower it to any deadline the batch indexed.
    im.expire_floor = std::max(im.expire_floor, txn.expire_floor_after_);
    if (txn.min_new_deadline_ > 0) {
      im.expire_floor = std::min(im.expire_floor, txn.min_new_deadline_);
    }
  }
  // Under kAlways a reader, too, waits until what it read is durable: nothing a client
  // has seen can be lost in a crash.
  uint64_t seq = im.db->GetLatestSequenceNumber();
  im.batch.Clear();
  auto deliveries = std::move(im.pending_deliveries);
  im.pending_deliveries.clear();
  auto hooks = std::move(txn.after_commit_);
  txn.after_commit_.clear();
  lock.unlock();

  auto finish = [hooks = std::move(hooks), deliveries = std::move(deliveries),
                 done = std::move(done)](Status s) mutable {
    if (s.ok()) {
      for (auto& hook : hooks) hook();
    }
    for (auto& [cb, result] : deliveries) {
      if (s.ok()) {
        cb(std::move(result));
      } else {
        cb(s);
      }
    }
    done(std::move(s));
  };
  if (!status.ok()) return finish(status);
  im.group_commit->RunWhenDurable(seq, std::move(finish));
}

void Store::AddKeyObserver(std::string key_prefix, KeyObserver observer,
                           std::vector<std::string> events) {
  std::lock_guard lock(impl_->mu);
  impl_->key_observers.push_back({std::move(key_prefix), std::move(events), std::move(observer)});
}

void Store::AddChannelObserver(std::string channel_prefix, ChannelObserver observer) {
  std::lock_guard lock(impl_->mu);
  impl_->channel_observers.emplace_back(std::move(channel_prefix), std::move(observer));
  impl_->has_channel_observers = true;
}

void Store::AddFlushObserver(std::function<void(int db)> observer) {
  std::lock_guard lock(impl_->mu);
  impl_->flush_observers.push_back(std::move(observer));
}

void Store::SetCommitListener(CommitListener listener) {
  std::lock_guard lock(impl_->mu);
  impl_->commit_listener = std::move(listener);
}

int64_t Store::PublishInTxn(Txn& txn, const std::string& channel, const std::string& message) {
  int saved_db = txn.db();
  for (auto& [prefix, observer] : impl_->channel_observers) {
    if (channel.compare(0, prefix.size(), prefix) == 0) {
      observer(txn, channel, message);
      txn.SwitchDb(saved_db);
    }
  }
  txn.AfterCommit([this, channel, message] { pubsub_.Publish(channel, message); });
  return pubsub_.NumReceivers(channel);
}

Result<int64_t> Store::Publish(const std::string& channel, const std::string& message) {
  CheckMayWait("Publish");
  if (impl_->has_channel_observers.load()) {
    Status s = Exec(0, [&](Txn& txn) {
      for (auto& [prefix, observer] : impl_->channel_observers) {
        if (channel.compare(0, prefix.size(), prefix) == 0) observer(txn, channel, message);
      }
    });
    if (!s.ok()) return s;
  }
  return pubsub_.Publish(channel, message);
}

bool Store::SetKeyspaceEvents(std::string_view flags) {
  // Bits as in txn.cc's KeyspaceClass.
  static const std::string kLetters = "KEg$lshzxetdn";
  uint32_t bits = 0;
  for (char c : flags) {
    if (c == 'A') {
      bits |= 0b111111111100;  // g$lshzxetd
      continue;
    }
    if (c == 'm') continue;  // key-miss events are not raised (see header)
    auto pos = kLetters.find(c);
    if (pos == std::string::npos) return false;
    bits |= 1u << pos;
  }
  // Without K or E nothing would be published.
  if (!(bits & 0b11)) bits = 0;
  impl_->keyspace_events = bits;
  return true;
}

bool Store::Writable() {
  Impl& im = *impl_;
  if (!im.last_write_failed.load()) return true;
  // Probe at most once a second: a failing disk must not be hammered by readiness checks.
  const int64_t now = clock_->NowMs();
  int64_t last = im.last_probe_ms.load();
  if (now - last < 1000 || !im.last_probe_ms.compare_exchange_strong(last, now)) return false;
  if (base::OnEventLoopThread()) {
    // The probe writes and syncs: never on an event loop. The writer thread runs it, and
    // a later call sees what it found.
    Op op;
    op.probe = true;
    op.done = [](Status) {};
    {
      std::lock_guard qlock(im.queue_mu);
      im.queue.push_back(std::move(op));
      im.queued++;
    }
    im.queue_cv.notify_one();
    return false;
  }
  // Never waits for a long operation (a script): a busy store probes on a later call.
  std::unique_lock lock(im.mu, std::try_to_lock);
  if (!lock.owns_lock() || im.closing) return false;
  return ProbeWritable();
}

bool Store::ProbeWritable() {
  Impl& im = *impl_;
  // After an out-of-space or I/O error RocksDB refuses writes until resumed; then a
  // rewrite of the version high-water mark (a record that exists anyway) tests the disk.
  rocksdb::Status rs = im.db->Resume();
  if (rs.ok()) {
    std::string hwm;
    encoding::PutFixed64LE(&hwm, im.persisted_version_hwm);
    rocksdb::WriteBatch wb;
    wb.Put(im.meta_cf, VersionHwmKey(), hwm);
    rocksdb::WriteOptions wo = im.write_options;
    wo.sync = true;
    rs = im.db->Write(wo, &wb);
  }
  if (rs.ok()) {
    im.last_write_failed = false;
  } else if (options_.log) {
    options_.log(2, "store still cannot write: " + rs.ToString());
  }
  return !im.last_write_failed.load();
}

Status Store::CompactAll() {
  rocksdb::CompactRangeOptions o;
  o.bottommost_level_compaction = rocksdb::BottommostLevelCompaction::kForce;
  for (auto* cf : {impl_->meta_cf, impl_->data_cf, impl_->expire_cf}) {
    rocksdb::Status rs = impl_->db->CompactRange(o, cf, nullptr, nullptr);
    if (!rs.ok()) return Status::IOError(rs.ToString());
  }
  return Status::OK();
}

uint64_t Store::ActiveMemtableEntriesForTest() {
  uint64_t n = 0;
  impl_->db->GetIntProperty(impl_->data_cf, rocksdb::DB::Properties::kNumEntriesActiveMemTable, &n);
  return n;
}

int64_t Store::CountElementRecordsForTest(int db, std::string_view key) {
  std::string prefix = encoding::DataKeyPrefixAnyVersion(db, key);
  std::unique_ptr<rocksdb::Iterator> it(
      impl_->db->NewIterator(rocksdb::ReadOptions(), impl_->data_cf));
  int64_t n = 0;
  for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next()) {
    // The prefix is length-delimited, but a longer key with the same first bytes cannot
    // match because its length field differs.
    n++;
  }
  return n;
}

object::EncodingLimits& Store::encoding_limits() { return impl_->encoding_limits; }

void Store::SetLfuParams(bool enabled, int64_t log_factor, int64_t decay_minutes) {
  // Atomics, not the store lock: CONFIG SET hooks call this under the config lock, and
  // commands read the config under the store lock.
  impl_->lfu_enabled = enabled;
  impl_->lfu_log_factor = log_factor;
  impl_->lfu_decay_minutes = decay_minutes;
}

void Store::SetExpiryPaused(bool paused) {
  // No store lock: CLIENT PAUSE may run inside a transaction (MULTI/EXEC) that holds it.
  // The expirer re-checks the flag at least every 100 ms while paused, so a wake-up lost
  // between its check and its wait only delays it that much.
  Impl& im = *impl_;
  im.expiry_paused = paused;
  if (!paused) im.expirer_cv.notify_all();  // deadlines passed during the pause are due now
}

bool Store::expiry_paused() const { return impl_->expiry_paused.load(); }

StoreStats Store::GetStats() const {
  const Impl& im = *impl_;
  StoreStats s;
  s.writes = im.writes.load();
  s.write_failures = im.write_failures.load();
  s.fsyncs = im.group_commit ? im.group_commit->syncs() : 0;
  s.keys_expired = im.keys_expired.load();
  s.changes = im.changes.load();
  s.changes_since_save = s.changes - im.changes_at_save.load();
  s.saves = im.saves.load();
  s.last_save_ok = im.last_save_ok.load();
  s.write_latency_us_total = im.write_latency_us_total.load();
  for (size_t i = 0; i < s.write_latency_buckets.size(); ++i) {
    s.write_latency_buckets[i] = im.write_latency_buckets[i].load();
  }
  s.blocked_clients = im.blocked.load();
  s.waits_on_event_loop = im.waits_on_event_loop.load();
  uint64_t sst = 0, wal = 0;
  for (auto* cf : {im.meta_cf, im.data_cf, im.expire_cf}) {
    uint64_t v = 0;
    if (im.db->GetIntProperty(cf, rocksdb::DB::Properties::kTotalSstFilesSize, &v)) sst += v;
    if (im.db->GetIntProperty(cf, rocksdb::DB::Properties::kCurSizeAllMemTables, &v)) wal += v;
  }
  s.disk_bytes = sst + wal;
  return s;
}

}  // namespace redge::store
