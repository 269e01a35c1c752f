// RetryableFileSystem: RocksDB's file system, except that failing to open a file because
// the process (EMFILE) or the system (ENFILE) is out of file descriptors is reported as a
// retryable error.
//
// Why: RocksDB classifies a plain I/O error while switching to a new WAL as fatal, and a
// fatal error is never resumed: with descriptors exhausted for a moment (a flood of
// connections), every later write failed until a restart. A retryable error is a "hard"
// one instead: RocksDB stops writes, retries in the background (once a second) and
// resumes by itself once descriptors are free again, exactly as after a full disk, and
// Store::Writable()'s probe sees the store writable again.
//
// Thread-safety: as RocksDB's FileSystem (all methods may be called concurrently).
#pragma once

#include <rocksdb/file_system.h>

#include <memory>

namespace redge::store {

// Wraps `target` (RocksDB's default file system when null).
std::shared_ptr<rocksdb::FileSystem> NewRetryableFileSystem(
    std::shared_ptr<rocksdb::FileSystem> target = nullptr);

}  // namespace redge::store
