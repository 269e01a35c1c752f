// Unit tests for key observers registered for a subset of events (Store::AddKeyObserver's
// `events`) and for the values pushes, HSET and HDEL hand to observers (the Celery bridge
// reads kombu's messages from them).

#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

#include "store/hashes.h"
#include "store/lists.h"
#include "store/store.h"
#include "store/strings.h"
#include "store/txn.h"
#include "tests/unit/store_fixture.h"

namespace redge::store::testing {
namespace {

using Strings = std::vector<std::string>;

struct Seen {
  std::string event, key;
  bool has_values = false;
  Strings values;
};

class ObserverEventsTest : public StoreTest {
 protected:
  std::vector<Seen> seen_;
  void Observe(std::string prefix, std::vector<std::string> events) {
    store().AddKeyObserver(
        std::move(prefix),
        [this](Txn&, const KeyEvent& ev) {
          Seen s{std::string(ev.event), std::string(ev.key), ev.values != nullptr, {}};
          if (ev.values) s.values = *ev.values;
          seen_.push_back(std::move(s));
        },
        std::move(events));
  }
};

TEST_F(ObserverEventsTest, AnObserverIsCalledOnlyForTheEventsItNames) {
  Observe("", {"lpush", "rpop"});
  Put("s", "v");
  ASSERT_TRUE(Run([](Txn& t) {
                return lists::Push(t, "l", ListEnd::kLeft, {"a", "b"}, false);
              }).ok());
  ASSERT_TRUE(Run([](Txn& t) { return lists::Push(t, "l", ListEnd::kRight, {"c"}, false); }).ok());
  ASSERT_TRUE(Run([](Txn& t) { return lists::Pop(t, "l", ListEnd::kRight, 1); }).ok());
  ASSERT_EQ(seen_.size(), 2u);
  EXPECT_EQ(seen_[0].event, "lpush");
  EXPECT_EQ(seen_[0].key, "l");
  // Pushed values in argument order (LPUSH l a b stores b first).
  EXPECT_TRUE(seen_[0].has_values);
  EXPECT_EQ(seen_[0].values, (Strings{"a", "b"}));
  EXPECT_EQ(seen_[1].event, "rpop");
  EXPECT_EQ(seen_[1].values, (Strings{"c"}));
}

TEST_F(ObserverEventsTest, HasObserverAsksForTheEvent) {
  Observe("", {"lpush"});
  Observe("h", {});
  Do([](Txn& t) {
    EXPECT_TRUE(t.HasObserver("anything", "lpush"));
    // A SET's value is copied for observers only when one wants "set".
    EXPECT_FALSE(t.HasObserver("anything", "set"));
    EXPECT_TRUE(t.HasObserver("anything"));  // any event
    EXPECT_TRUE(t.HasObserver("hash", "set"));
    return 0;
  });
}

TEST_F(ObserverEventsTest, HsetAndHdelCarryFieldsAndValues) {
  Observe("unacked", {"hset", "hdel"});
  using Pairs = std::vector<std::pair<std::string_view, std::string_view>>;
  ASSERT_TRUE(Run([](Txn& t) {
                return hashes::Set(t, "unacked", Pairs{{"t1", "m1"}, {"t2", "m2"}});
              }).ok());
  ASSERT_TRUE(Run([](Txn& t) { return hashes::SetNX(t, "unacked", "t3", "m3"); }).ok());
  ASSERT_TRUE(Run([](Txn& t) {
                return hashes::Del(t, "unacked", std::vector<std::string_view>{"t1", "nope"});
              }).ok());
  // Not observed: another key.
  ASSERT_TRUE(Run([](Txn& t) { return hashes::Set(t, "other", Pairs{{"f", "v"}}); }).ok());
  ASSERT_EQ(seen_.size(), 3u);
  EXPECT_EQ(seen_[0].event, "hset");
  EXPECT_EQ(seen_[0].values, (Strings{"t1", "m1", "t2", "m2"}));
  EXPECT_EQ(seen_[1].event, "hset");
  EXPECT_EQ(seen_[1].values, (Strings{"t3", "m3"}));
  EXPECT_EQ(seen_[2].event, "hdel");
  // The fields asked for (an absent one included: the observer checks what it knows).
  EXPECT_EQ(seen_[2].values, (Strings{"t1", "nope"}));
}

TEST_F(ObserverEventsTest, AnObserverOfEveryEventStillGetsThem) {
  Observe("k", {});
  Put("k1", "v");
  ASSERT_TRUE(Run([](Txn& t) { return lists::Push(t, "k2", ListEnd::kLeft, {"x"}, false); }).ok());
  ASSERT_EQ(seen_.size(), 2u);
  EXPECT_EQ(seen_[0].event, "set");
  EXPECT_EQ(seen_[0].values, (Strings{"v"}));
  EXPECT_EQ(seen_[1].event, "lpush");
}

}  // namespace
}  // namespace redge::store::testing
