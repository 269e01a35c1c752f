// Shared fixture for store unit tests: a real Store in a fresh temporary directory,
// driven by a ManualClock (no real sleeps for TTLs) with the background expirer off.
#pragma once

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <memory>
#include <string>

#include "store/clock.h"
#include "store/store.h"

namespace redge::store::testing {

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
  Store& store() { return *store_; }

  ManualClock clock_;
  std::string dir_;
  std::unique_ptr<Store> store_;
};

}  // namespace redge::store::testing
