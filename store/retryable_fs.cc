#include "store/retryable_fs.h"

#include <cerrno>
#include <cstring>
#include <string>

namespace redge::store {
namespace {

// PosixFileSystem reports errno as its strerror text; EMFILE's ("Too many open files") is
// also the start of ENFILE's ("... in system").

rocksdb::IOStatus MarkRetryable(rocksdb::IOStatus s) {
  if (s.IsIOError() && s.ToString().find(std::strerror(EMFILE)) != std::string::npos) {
    s.SetRetryable(true);
  }
  return s;
}

class RetryableFileSystem : public rocksdb::FileSystemWrapper {
 public:
  using FileSystemWrapper::FileSystemWrapper;
  static const char* kClassName() { return "RedgeRetryableFileSystem"; }
  const char* Name() const override { return kClassName(); }

  rocksdb::IOStatus NewSequentialFile(const std::string& f, const rocksdb::FileOptions& o,
                                      std::unique_ptr<rocksdb::FSSequentialFile>* r,
                                      rocksdb::IODebugContext* dbg) override {
    return MarkRetryable(target()->NewSequentialFile(f, o, r, dbg));
  }
  rocksdb::IOStatus NewRandomAccessFile(const std::string& f, const rocksdb::FileOptions& o,
                                        std::unique_ptr<rocksdb::FSRandomAccessFile>* r,
                                        rocksdb::IODebugContext* dbg) override {
    return MarkRetryable(target()->NewRandomAccessFile(f, o, r, dbg));
  }
  rocksdb::IOStatus NewWritableFile(const std::string& f, const rocksdb::FileOptions& o,
                                    std::unique_ptr<rocksdb::FSWritableFile>* r,
                                    rocksdb::IODebugContext* dbg) override {
    return MarkRetryable(target()->NewWritableFile(f, o, r, dbg));
  }
  rocksdb::IOStatus ReopenWritableFile(const std::string& f, const rocksdb::FileOptions& o,
                                       std::unique_ptr<rocksdb::FSWritableFile>* r,
                                       rocksdb::IODebugContext* dbg) override {
    return MarkRetryable(target()->ReopenWritableFile(f, o, r, dbg));
  }
  rocksdb::IOStatus ReuseWritableFile(const std::string& f, const std::string& old,
                                      const rocksdb::FileOptions& o,
                                      std::unique_ptr<rocksdb::FSWritableFile>* r,
                                      rocksdb::IODebugContext* dbg) override {
    return MarkRetryable(target()->ReuseWritableFile(f, old, o, r, dbg));
  }
  rocksdb::IOStatus NewRandomRWFile(const std::string& f, const rocksdb::FileOptions& o,
                                    std::unique_ptr<rocksdb::FSRandomRWFile>* r,
                                    rocksdb::IODebugContext* dbg) override {
    return MarkRetryable(target()->NewRandomRWFile(f, o, r, dbg));
  }
  rocksdb::IOStatus NewDirectory(const std::string& name, const rocksdb::IOOptions& o,
                                 std::unique_ptr<rocksdb::FSDirectory>* r,
                                 rocksdb::IODebugContext* dbg) override {
    return MarkRetryable(target()->NewDirectory(name, o, r, dbg));
  }
};

}  // namespace

std::shared_ptr<rocksdb::FileSystem> NewRetryableFileSystem(
    std::shared_ptr<rocksdb::FileSystem> target) {
  if (!target) target = rocksdb::FileSystem::Default();
  return std::make_shared<RetryableFileSystem>(target);
}

}  // namespace redge::store
