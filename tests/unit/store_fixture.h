// Shared fixture for store unit tests: a real Store in a fresh temporary directory,
// driven by a ManualClock (no real sleeps for TTLs) with the background expirer off.
#pragma once

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <utility>

#include "store/clock.h"
#include "store/store.h"
#include "store/strings.h"

namespace redge::store::testing {

// Success when `s` has exactly `code` and `message`.
inline ::testing::AssertionResult IsError(const Status& s, Status::Code code,
                                          const std::string& message) {
  if (s.code() == code && s.message() == message) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure()
         << "got code " << static_cast<int>(s.code()) << " \"" << s.message() << "\", want code "
         << static_cast<int>(code) << " \"" << message << "\"";
}

class StoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/redge-test-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    Reopen();
  }
  void TearDown() override {
    store_.reset();
    std::filesystem::remove_all(dir_);
  }
  // Closes and reopens the store on the same directory (restart).
  void Reopen(Fsync fsync = Fsync::kNo) {
    store_.reset();
    Options o;
    o.dir = dir_;
    o.fsync = fsync;
    o.clock = &clock_;
    o.active_expire = false;
    auto r = Store::Open(o);
    ASSERT_TRUE(r.ok()) << r.status().message();
    store_ = std::move(r.value());
  }
  // Runs one command in db 0 (or `db`): t.Run([&](Txn& t){ return strings::Get(t, "k"); }).
  template <typename F>
  auto Run(F&& fn, int db = 0) {
    return store_->Run(db, std::forward<F>(fn));
  }
  // Runs a command whose result is a plain value (not a Result) in `db`.
  template <typename F>
  auto Do(F&& fn, int db = 0) {
    using T = decltype(fn(std::declval<Txn&>()));
    std::optional<T> out;
    Status s = store_->Exec(db, [&](Txn& t) { out.emplace(fn(t)); });
    EXPECT_TRUE(s.ok()) << s.message();
    return std::move(out).value();
  }
  // GET: the value, or nullopt for NotFound (any other error fails the test).
  std::optional<std::string> Get(const std::string& key, int db = 0) {
    auto r = Run([&](Txn& t) { return strings::Get(t, key); }, db);
    if (r.ok()) return r.value();
    EXPECT_TRUE(r.status().IsNotFound()) << key << ": " << r.status().message();
    return std::nullopt;
  }
  // SET key value, which must succeed.
  void Put(const std::string& key, const std::string& value, int db = 0) {
    auto r = Run([&](Txn& t) { return strings::Set(t, key, value); }, db);
    ASSERT_TRUE(r.ok()) << r.status().message();
    ASSERT_TRUE(r->written);
  }
  Store& store() { return *store_; }

  ManualClock clock_;
  std::string dir_;
  std::unique_ptr<Store> store_;
};

}  // namespace redge::store::testing
