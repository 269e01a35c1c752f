// Unit tests for store/streams.h and store/stream_groups.h against a real Store: ids,
// ranges, XADD's id rules, trimming (exact, approximate by nodes, LIMIT, the cheap path),
// XDEL, consumer groups, pending entries and claims (idle times from a ManualClock),
// durability of groups across a restart, and compaction after DEL.
#include "store/streams.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <future>
#include <optional>
#include <string>
#include <vector>

#include "store/keys.h"
#include "store/status.h"
#include "store/store.h"
#include "store/stream_groups.h"
#include "store/strings.h"
#include "store/txn.h"
#include "tests/unit/store_fixture.h"

namespace redge::store::testing {
namespace {

using streams::AddOptions;
using streams::Entry;
using streams::StreamId;
using streams::TrimOptions;
using streams::TrimStrategy;
using Strings = std::vector<std::string>;

StreamId Id(uint64_t ms, uint64_t seq = 0) { return {ms, seq}; }

class StreamsTest : public StoreTest {
 protected:
  // XADD key <id> field value ... with the given options; the result.
  Result<StreamId> Add(const std::string& key, std::optional<StreamId> id, const Strings& fv,
                       AddOptions o = {}) {
    o.id = id;
    return Run([&](Txn& t) { return streams::Add(t, key, o, fv); });
  }
  StreamId MustAdd(const std::string& key, StreamId id, const Strings& fv = {"f", "v"}) {
    auto r = Add(key, id, fv);
    EXPECT_TRUE(r.ok()) << r.status().message();
    return r.ok() ? *r : StreamId{};
  }
  std::vector<StreamId> Ids(const std::string& key, bool reverse = false, uint64_t count = 0) {
    auto r = Run([&](Txn& t) {
      return streams::Range(t, key, StreamId::Min(), StreamId::Max(), count, reverse);
    });
    std::vector<StreamId> out;
    if (!r.ok()) return out;
    for (const auto& e : *r) out.push_back(e.id);
    return out;
  }
  int64_t Len(const std::string& key) {
    auto r = Run([&](Txn& t) { return streams::Len(t, key); });
    EXPECT_TRUE(r.ok());
    return r.ok() ? *r : -1;
  }
  streams::StreamInfo Info(const std::string& key) {
    auto r = Run([&](Txn& t) { return streams::Info(t, key); });
    EXPECT_TRUE(r.ok()) << r.status().message();
    return r.ok() ? *r : streams::StreamInfo{};
  }
  int64_t Trim(const std::string& key, TrimOptions o) {
    auto r = Run([&](Txn& t) { return streams::Trim(t, key, o); });
    EXPECT_TRUE(r.ok()) << r.status().message();
    return r.ok() ? *r : -1;
  }
  std::optional<std::vector<Entry>> ReadNew(const std::string& key, const std::string& group,
                                            const std::string& consumer, uint64_t count = 0,
                                            bool noack = false) {
    auto r = Run([&](Txn& t) {
      return streams::ReadGroupNew(t, key, group, consumer, count, noack, false);
    });
    EXPECT_TRUE(r.ok()) << r.status().message();
    return r.ok() ? *r : std::nullopt;
  }
  std::vector<streams::PendingEntry> Pending(const std::string& key, const std::string& group,
                                             std::optional<std::string> consumer = {},
                                             int64_t min_idle = 0) {
    auto r = Run([&](Txn& t) {
      return streams::PendingRange(t, key, group, StreamId::Min(), StreamId::Max(), 100, min_idle,
                                   consumer);
    });
    EXPECT_TRUE(r.ok()) << r.status().message();
    return r.ok() ? *r : std::vector<streams::PendingEntry>{};
  }
};

TEST(StreamIdTest, ParsesRedisForms) {
  bool seq_given = true;
  EXPECT_EQ(streams::ParseId("5-3", 0, true), Id(5, 3));
  EXPECT_EQ(streams::ParseId("5", 7, true), Id(5, 7));
  EXPECT_EQ(streams::ParseId("-", 0, false), StreamId::Min());
  EXPECT_EQ(streams::ParseId("+", 0, false), StreamId::Max());
  EXPECT_FALSE(streams::ParseId("-", 0, true));
  EXPECT_FALSE(streams::ParseId("+", 0, true));
  EXPECT_EQ(streams::ParseId("9-*", 0, true, &seq_given), Id(9, 0));
  EXPECT_FALSE(seq_given);
  EXPECT_FALSE(streams::ParseId("9-*", 0, true));  // only where XADD allows it
  EXPECT_EQ(streams::ParseId("18446744073709551615-18446744073709551615", 0, true),
            StreamId::Max());
  EXPECT_FALSE(streams::ParseId("18446744073709551616", 0, true));
  EXPECT_FALSE(streams::ParseId("-5", 0, true));
  EXPECT_FALSE(streams::ParseId("1-2-3", 0, true));
  EXPECT_FALSE(streams::ParseId("abc", 0, true));
  EXPECT_FALSE(streams::ParseId("", 0, true));
  // string2ull falls back to strtoull: leading zeros, '+' and spaces are accepted.
  EXPECT_EQ(streams::ParseId("007-1", 0, true), Id(7, 1));
  EXPECT_EQ(streams::ParseId("+6", 0, true), Id(6, 0));
  EXPECT_FALSE(streams::ParseId(std::string(128, '1'), 0, true));
}

TEST(StreamIdTest, IncrDecrWrapAndEncodingOrder) {
  StreamId a = Id(1, UINT64_MAX);
  EXPECT_TRUE(a.Incr());
  EXPECT_EQ(a, Id(2, 0));
  StreamId max = StreamId::Max();
  EXPECT_FALSE(max.Incr());
  EXPECT_EQ(max, StreamId::Min());
  StreamId min = StreamId::Min();
  EXPECT_FALSE(min.Decr());
  EXPECT_EQ(min, StreamId::Max());
  EXPECT_LT(Id(1, 5).Encode(), Id(2, 0).Encode());
  EXPECT_LT(Id(255, 0).Encode(), Id(256, 0).Encode());
  EXPECT_EQ(StreamId::Decode(Id(12345, 678).Encode()), Id(12345, 678));
  EXPECT_EQ(Id(3, 4).ToString(), "3-4");
}

TEST_F(StreamsTest, AutoIdsComeFromTheStoreClockAndNeverGoBack) {
  clock_.Set(1'000'000);
  auto a = Add("s", std::nullopt, {"f", "v"});
  auto b = Add("s", std::nullopt, {"f", "v"});
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(*a, Id(1'000'000, 0));
  EXPECT_EQ(*b, Id(1'000'000, 1));
  clock_.Set(999'000);  // the clock goes back: ids still grow
  auto c = Add("s", std::nullopt, {"f", "v"});
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(*c, Id(1'000'000, 2));
  clock_.Set(1'000'005);
  EXPECT_EQ(*Add("s", std::nullopt, {"f", "v"}), Id(1'000'005, 0));
}

TEST_F(StreamsTest, ExplicitIdsFollowRedisRules) {
  MustAdd("s", Id(123, 456));
  auto same = Add("s", Id(123, 456), {"f", "v"});
  EXPECT_TRUE(IsError(same.status(), Status::Code::kInvalidArgument,
                      "ERR The ID specified in XADD is equal or smaller than the target stream "
                      "top item"));
  AddOptions ms_only;
  ms_only.seq_given = false;
  EXPECT_EQ(*Add("s", Id(123, 0), {"f", "v"}, ms_only), Id(123, 457));
  EXPECT_EQ(*Add("s", Id(789, 0), {"f", "v"}, ms_only), Id(789, 0));
  EXPECT_FALSE(Add("s", Id(42, 0), {"f", "v"}, ms_only).ok());
  EXPECT_TRUE(IsError(Add("z", Id(0, 0), {"f", "v"}).status(), Status::Code::kInvalidArgument,
                      "ERR The ID specified in XADD must be greater than 0-0"));
  EXPECT_EQ(Len("z"), 0);
  // ms-* at the greatest sequence: Redis's generic message.
  MustAdd("o", Id(1, UINT64_MAX));
  EXPECT_TRUE(IsError(Add("o", Id(1, 0), {"c", "d"}, ms_only).status(),
                      Status::Code::kInvalidArgument, "ERR Elements are too large to be stored"));
  MustAdd("x", StreamId::Max());
  EXPECT_TRUE(IsError(Add("x", std::nullopt, {"c", "d"}).status(), Status::Code::kInvalidArgument,
                      "ERR The stream has exhausted the last possible ID, unable to add more "
                      "items"));
  AddOptions nomk;
  nomk.no_mkstream = true;
  EXPECT_TRUE(Add("absent", std::nullopt, {"f", "v"}, nomk).status().IsNotFound());
  Put("str", "x");
  EXPECT_EQ(Add("str", std::nullopt, {"f", "v"}).status().code(), Status::Code::kWrongType);
}

TEST_F(StreamsTest, RangesAreInclusiveOrderedAndCounted) {
  for (uint64_t i = 1; i <= 10; ++i) MustAdd("s", Id(i, i % 3), {"n", std::to_string(i)});
  EXPECT_EQ(Ids("s").size(), 10u);
  EXPECT_EQ(Ids("s", true).front(), Id(10, 1));
  EXPECT_EQ(Ids("s", false, 3), (std::vector<StreamId>{Id(1, 1), Id(2, 2), Id(3, 0)}));
  auto r = Run([](Txn& t) { return streams::Range(t, "s", Id(4, 0), Id(6, 0), 0, false); });
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->size(), 3u);  // 4-1, 5-2 and 6-0: both ends are inclusive
  auto r2 = Run([](Txn& t) { return streams::Range(t, "s", Id(4, 0), Id(6, 0), 0, true); });
  ASSERT_TRUE(r2.ok());
  EXPECT_EQ(r2->front().id, Id(6, 0));
  EXPECT_EQ(r->front().fields, (Strings{"n", "4"}));
  EXPECT_TRUE(
      Run([](Txn& t) { return streams::Range(t, "none", StreamId::Min(), StreamId::Max(), 0, 0); })
          .status()
          .IsNotFound());
}

TEST_F(StreamsTest, DeleteTracksLengthFirstAndMaxDeletedIds) {
  for (uint64_t i = 1; i <= 5; ++i) MustAdd("x", Id(i));
  auto del = [&](std::vector<StreamId> ids) {
    return *Run([&](Txn& t) { return streams::Delete(t, "x", ids); });
  };
  EXPECT_EQ(del({Id(2)}), 1);
  EXPECT_EQ(Info("x").first_id, Id(1));
  EXPECT_EQ(Info("x").max_deleted_id, Id(2));
  EXPECT_EQ(del({Id(1), Id(2), Id(9)}), 1);
  EXPECT_EQ(Info("x").first_id, Id(3));
  EXPECT_EQ(Info("x").max_deleted_id, Id(2));
  EXPECT_EQ(del({Id(5)}), 1);
  EXPECT_EQ(Info("x").last_id, Id(5));        // the last id stays
  EXPECT_EQ(Info("x").last_valid_id, Id(4));  // the last entry that exists
  EXPECT_EQ(del({Id(3), Id(4)}), 2);
  auto info = Info("x");
  EXPECT_EQ(info.length, 0u);
  EXPECT_EQ(info.first_id, StreamId{});
  EXPECT_EQ(info.nodes, 0u);  // the node went with its last entry
  EXPECT_EQ(Len("x"), 0);     // an empty stream still exists
}

TEST_F(StreamsTest, ExactTrimByLengthAndMinId) {
  for (uint64_t i = 1; i <= 1000; ++i) MustAdd("t", Id(i));
  TrimOptions o;
  o.strategy = TrimStrategy::kMaxLen;
  o.maxlen = 666;
  EXPECT_EQ(Trim("t", o), 334);
  EXPECT_EQ(Len("t"), 666);
  EXPECT_EQ(Info("t").first_id, Id(335));
  TrimOptions m;
  m.strategy = TrimStrategy::kMinId;
  m.minid = Id(900);
  EXPECT_EQ(Trim("t", m), 565);
  EXPECT_EQ(Ids("t").front(), Id(900));
  EXPECT_EQ(Trim("t", m), 0);
}

TEST_F(StreamsTest, ApproximateTrimRemovesWholeNodesOnly) {
  // Redis's test: 1000 XADD MAXLEN ~ 555 with 100 entries per node leaves 600.
  AddOptions o;
  o.trim.strategy = TrimStrategy::kMaxLen;
  o.trim.approx = true;
  o.trim.maxlen = 555;
  o.trim.limit = streams::DefaultApproxLimit(o.trim.nodes);
  for (uint64_t i = 1; i <= 1000; ++i) {
    ASSERT_TRUE(Add("st", Id(i), {"xitem", std::to_string(i)}, o).ok());
  }
  EXPECT_EQ(Len("st"), 600);
  EXPECT_EQ(Info("st").nodes, 6u);
  // LIMIT bounds the work: nodes of 10, remove at most 30 entries.
  TrimOptions limited;
  limited.strategy = TrimStrategy::kMaxLen;
  limited.approx = true;
  limited.maxlen = 55;
  limited.limit = 30;
  limited.nodes.max_entries = 10;
  AddOptions ten;
  ten.trim.nodes.max_entries = 10;
  for (uint64_t i = 1; i <= 100; ++i) ASSERT_TRUE(Add("l", Id(i), {"x", "v"}, ten).ok());
  EXPECT_EQ(Trim("l", limited), 30);
  EXPECT_EQ(Len("l"), 70);
}

TEST_F(StreamsTest, NodesSplitAtRedisListpackByteSize) {
  // 4096-byte nodes: entries with 1000-byte values fill a node after 4 entries, as a
  // listpack does; an approximate trim then removes whole nodes of 4.
  for (uint64_t i = 1; i <= 12; ++i) MustAdd("b", Id(i), {"f", std::string(1000, 'x')});
  EXPECT_EQ(Info("b").nodes, 3u);
  TrimOptions o;
  o.strategy = TrimStrategy::kMaxLen;
  o.approx = true;
  o.maxlen = 6;
  o.limit = 10000;
  EXPECT_EQ(Trim("b", o), 4);
  EXPECT_EQ(Len("b"), 8);
}

TEST_F(StreamsTest, TrimmingABigStreamToNothingDropsItsVersion) {
  constexpr int kEntries = 100'000;
  ASSERT_TRUE(store()
                  .Exec(0,
                        [&](Txn& t) {
                          AddOptions o;
                          for (int i = 1; i <= kEntries; ++i) {
                            o.id = Id(static_cast<uint64_t>(i));
                            ASSERT_TRUE(streams::Add(t, "big", o, {"f", "v"}).ok());
                          }
                        })
                  .ok());
  ASSERT_TRUE(store().CompactAll().ok());
  // Records: one per entry plus node bookkeeping (2000 nodes of 100).
  EXPECT_EQ(store().CountElementRecordsForTest(0, "big"), kEntries + kEntries / 100);
  TrimOptions o;
  o.strategy = TrimStrategy::kMaxLen;
  o.maxlen = 0;
  // No consumer group refers to the entries: the stream moves to a fresh version at once
  // and the compaction filter reclaims the old records.
  EXPECT_EQ(Trim("big", o), kEntries);
  EXPECT_EQ(Len("big"), 0);
  EXPECT_EQ(Info("big").last_id, Id(kEntries));
  ASSERT_TRUE(store().CompactAll().ok());
  EXPECT_EQ(store().CountElementRecordsForTest(0, "big"), 0);
  // The head walk of an exact trim touches only what it removes: trimming 10 entries off a
  // big stream with deleted entries ahead of it leaves the rest as it was.
  for (int i = 1; i <= 1000; ++i) MustAdd("big", Id(static_cast<uint64_t>(kEntries + i)));
  o.maxlen = 990;
  EXPECT_EQ(Trim("big", o), 10);
  EXPECT_EQ(Ids("big").front(), Id(kEntries + 11));
}

TEST_F(StreamsTest, SetIdChecksLikeRedis) {
  MustAdd("s", Id(5));
  EXPECT_TRUE(
      IsError(Run([](Txn& t) { return streams::SetId(t, "s", Id(4), std::nullopt, std::nullopt); }),
              Status::Code::kInvalidArgument,
              "ERR The ID specified in XSETID is smaller than the target stream top item"));
  EXPECT_TRUE(IsError(
      Run([](Txn& t) { return streams::SetId(t, "s", Id(9), 0, std::nullopt); }),
      Status::Code::kInvalidArgument,
      "ERR The entries_added specified in XSETID is smaller than the target stream length"));
  EXPECT_TRUE(Run([](Txn& t) { return streams::SetId(t, "s", Id(9), 7, Id(8)); }).ok());
  auto info = Info("s");
  EXPECT_EQ(info.last_id, Id(9));
  EXPECT_EQ(info.entries_added, 7u);
  EXPECT_EQ(info.max_deleted_id, Id(8));
  EXPECT_TRUE(IsError(
      Run([](Txn& t) { return streams::SetId(t, "none", Id(1), std::nullopt, std::nullopt); }),
      Status::Code::kNoSuchKey, "ERR no such key"));
}

TEST_F(StreamsTest, GroupsDeliverOnceTrackPendingAndAck) {
  MustAdd("s", Id(1), {"a", "1"});
  ASSERT_TRUE(Run([](Txn& t) { return streams::CreateGroup(t, "s", "g", "$", false, -1); }).ok());
  EXPECT_TRUE(IsError(Run([](Txn& t) { return streams::CreateGroup(t, "s", "g", "0", false, -1); }),
                      Status::Code::kInvalidArgument,
                      "BUSYGROUP Consumer Group name already exists"));
  EXPECT_FALSE(ReadNew("s", "g", "c1"));  // nothing after "$"
  MustAdd("s", Id(2), {"b", "2"});
  MustAdd("s", Id(3), {"c", "3"});
  auto got = ReadNew("s", "g", "c1", 1);
  ASSERT_TRUE(got);
  ASSERT_EQ(got->size(), 1u);
  EXPECT_EQ(got->front().id, Id(2));
  got = ReadNew("s", "g", "c2");
  ASSERT_TRUE(got);
  ASSERT_EQ(got->size(), 1u);
  EXPECT_EQ(got->front().id, Id(3));
  EXPECT_FALSE(ReadNew("s", "g", "c1"));
  auto summary = Run([](Txn& t) { return streams::Pending(t, "s", "g"); });
  ASSERT_TRUE(summary.ok());
  EXPECT_EQ(summary->count, 2u);
  EXPECT_EQ(summary->first, Id(2));
  EXPECT_EQ(summary->last, Id(3));
  ASSERT_EQ(summary->consumers.size(), 2u);
  EXPECT_EQ(summary->consumers[0], (std::pair<std::string, uint64_t>{"c1", 1}));
  // History: c1 reads its own pending entries again (delivery count 2).
  auto hist = Run([](Txn& t) { return streams::ReadGroupHistory(t, "s", "g", "c1", Id(0), 0); });
  ASSERT_TRUE(hist.ok());
  ASSERT_EQ(hist->size(), 1u);
  EXPECT_EQ(Pending("s", "g", "c1").front().deliveries, 2u);
  EXPECT_EQ(*Run([](Txn& t) { return streams::Ack(t, "s", "g", {Id(2), Id(2), Id(9)}); }), 1);
  EXPECT_EQ(Pending("s", "g").size(), 1u);
  EXPECT_TRUE(Pending("s", "g", "c1").empty());
  EXPECT_EQ(*Run([](Txn& t) { return streams::Ack(t, "s", "nogroup", {Id(3)}); }), 0);
  // NOACK delivers without pending entries.
  MustAdd("s", Id(4));
  ASSERT_TRUE(ReadNew("s", "g", "c3", 0, /*noack=*/true));
  EXPECT_EQ(Pending("s", "g").size(), 1u);
  auto groups = Run([](Txn& t) { return streams::Groups(t, "s"); });
  ASSERT_TRUE(groups.ok());
  ASSERT_EQ(groups->size(), 1u);
  EXPECT_EQ((*groups)[0].consumers, 3u);
  EXPECT_EQ((*groups)[0].last_delivered, Id(4));
  EXPECT_EQ((*groups)[0].entries_read, 4);
  EXPECT_EQ((*groups)[0].lag, 0);
}

TEST_F(StreamsTest, IdleTimesAndClaimsUseTheStoreClock) {
  for (uint64_t i = 1; i <= 3; ++i) MustAdd("s", Id(i), {"n", std::to_string(i)});
  ASSERT_TRUE(Run([](Txn& t) { return streams::CreateGroup(t, "s", "g", "0", false, -1); }).ok());
  ASSERT_TRUE(ReadNew("s", "g", "alice"));
  clock_.Advance(500);
  EXPECT_EQ(Pending("s", "g").front().idle, 500);
  EXPECT_EQ(Pending("s", "g", std::nullopt, 501).size(), 0u);
  EXPECT_EQ(Pending("s", "g", std::nullopt, 500).size(), 3u);
  streams::ClaimOptions o;
  o.min_idle = 1000;
  o.ids = {Id(1), Id(2)};
  auto none = Run([&](Txn& t) { return streams::Claim(t, "s", "g", "bob", o); });
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());  // not idle long enough
  clock_.Advance(600);
  auto claimed = Run([&](Txn& t) { return streams::Claim(t, "s", "g", "bob", o); });
  ASSERT_TRUE(claimed.ok());
  ASSERT_EQ(claimed->size(), 2u);
  EXPECT_EQ(claimed->front().fields, (Strings{"n", "1"}));
  auto bob = Pending("s", "g", "bob");
  ASSERT_EQ(bob.size(), 2u);
  EXPECT_EQ(bob[0].idle, 0);
  EXPECT_EQ(bob[0].deliveries, 2u);
  EXPECT_EQ(Pending("s", "g", "alice").size(), 1u);
  // JUSTID keeps the delivery count; RETRYCOUNT sets it; IDLE back-dates the delivery.
  o.min_idle = 0;
  o.ids = {Id(3)};
  o.justid = true;
  o.retry_count = 7;
  o.delivery = streams::ClaimOptions::Delivery::kIdle;
  o.delivery_value = 250;
  ASSERT_TRUE(Run([&](Txn& t) { return streams::Claim(t, "s", "g", "bob", o); }).ok());
  auto p3 = Pending("s", "g", "bob");
  ASSERT_EQ(p3.size(), 3u);
  EXPECT_EQ(p3[2].deliveries, 7u);
  EXPECT_EQ(p3[2].idle, 250);
  // XCLAIM of a deleted entry drops it from the PEL; FORCE creates missing ones.
  ASSERT_TRUE(Run([](Txn& t) { return streams::Delete(t, "s", {Id(1)}); }).ok());
  MustAdd("s", Id(4));
  streams::ClaimOptions f;
  f.ids = {Id(1), Id(4)};
  f.force = true;
  auto forced = Run([&](Txn& t) { return streams::Claim(t, "s", "g", "carl", f); });
  ASSERT_TRUE(forced.ok());
  ASSERT_EQ(forced->size(), 1u);
  EXPECT_EQ(forced->front().id, Id(4));
  auto carl = Pending("s", "g", "carl");
  ASSERT_EQ(carl.size(), 1u);
  EXPECT_EQ(carl[0].deliveries, 2u);  // Redis: created with 1, then incremented
  EXPECT_EQ(Pending("s", "g").size(), 3u);
}

TEST_F(StreamsTest, AutoClaimIteratesAndReportsDeletedEntries) {
  for (uint64_t i = 1; i <= 5; ++i) MustAdd("x", Id(i));
  ASSERT_TRUE(Run([](Txn& t) { return streams::CreateGroup(t, "x", "grp", "0", false, -1); }).ok());
  ASSERT_TRUE(ReadNew("x", "grp", "dead"));
  ASSERT_TRUE(Run([](Txn& t) { return streams::Delete(t, "x", {Id(2), Id(4)}); }).ok());
  clock_.Advance(10'000);
  auto r =
      Run([](Txn& t) { return streams::AutoClaim(t, "x", "grp", "live", 5000, Id(0), 2, false); });
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->next, Id(3));
  ASSERT_EQ(r->claimed.size(), 1u);
  EXPECT_EQ(r->claimed[0].id, Id(1));
  EXPECT_EQ(r->deleted, (std::vector<StreamId>{Id(2)}));
  r = Run([](Txn& t) { return streams::AutoClaim(t, "x", "grp", "live", 5000, Id(3), 10, true); });
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->next, StreamId{});
  ASSERT_EQ(r->claimed.size(), 2u);
  EXPECT_EQ(r->deleted, (std::vector<StreamId>{Id(4)}));
  EXPECT_TRUE(Pending("x", "grp", "dead").empty());
  EXPECT_EQ(Pending("x", "grp", "live").size(), 3u);
  EXPECT_TRUE(IsError(Run([](Txn& t) {
                        return streams::AutoClaim(t, "x", "nog", "c", 0, Id(0), 1, false);
                      }).status(),
                      Status::Code::kInvalidArgument,
                      "NOGROUP No such key 'x' or consumer group 'nog'"));
}

TEST_F(StreamsTest, ConsumersAndGroupsAreDeletedWithTheirPendingEntries) {
  for (uint64_t i = 1; i <= 3; ++i) MustAdd("s", Id(i));
  ASSERT_TRUE(Run([](Txn& t) { return streams::CreateGroup(t, "s", "g", "0", false, -1); }).ok());
  ASSERT_TRUE(ReadNew("s", "g", "c1", 2));
  ASSERT_TRUE(ReadNew("s", "g", "c2"));
  EXPECT_EQ(*Run([](Txn& t) { return streams::CreateConsumer(t, "s", "g", "c3"); }), 1);
  EXPECT_EQ(*Run([](Txn& t) { return streams::CreateConsumer(t, "s", "g", "c3"); }), 0);
  EXPECT_EQ(*Run([](Txn& t) { return streams::DeleteConsumer(t, "s", "g", "c1"); }), 2);
  EXPECT_EQ(Pending("s", "g").size(), 1u);
  auto consumers = Run([](Txn& t) { return streams::Consumers(t, "s", "g"); });
  ASSERT_TRUE(consumers.ok());
  ASSERT_EQ(consumers->size(), 2u);
  EXPECT_EQ((*consumers)[0].name, "c2");
  EXPECT_EQ(*Run([](Txn& t) { return streams::DestroyGroup(t, "s", "g"); }), 1);
  EXPECT_EQ(*Run([](Txn& t) { return streams::DestroyGroup(t, "s", "g"); }), 0);
  EXPECT_EQ(Info("s").groups, 0u);
  // Only the entries and their node remain under the key.
  ASSERT_TRUE(store().CompactAll().ok());
  EXPECT_EQ(store().CountElementRecordsForTest(0, "s"), 3 + 1);
  EXPECT_TRUE(IsError(
      Run([](Txn& t) { return streams::CreateConsumer(t, "s", "g", "c"); }).status(),
      Status::Code::kInvalidArgument, "NOGROUP No such consumer group 'g' for key name 's'"));
}

TEST_F(StreamsTest, LagAndEntriesReadFollowRedis) {
  for (uint64_t i = 1; i <= 5; ++i) MustAdd("x", Id(i));
  ASSERT_TRUE(Run([](Txn& t) { return streams::Delete(t, "x", {Id(3)}); }).ok());
  ASSERT_TRUE(Run([](Txn& t) { return streams::CreateGroup(t, "x", "g1", "0", false, -1); }).ok());
  auto g1 = [&] { return (*Run([](Txn& t) { return streams::Groups(t, "x"); }))[0]; };
  EXPECT_FALSE(g1().entries_read);
  EXPECT_FALSE(g1().lag);  // a tombstone ahead: unknown
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(ReadNew("x", "g1", "c", 1));
  EXPECT_FALSE(g1().lag);
  ASSERT_TRUE(ReadNew("x", "g1", "c", 1));
  EXPECT_EQ(g1().entries_read, 5);
  EXPECT_EQ(g1().lag, 0);
  MustAdd("x", Id(6));
  EXPECT_EQ(g1().lag, 1);
}

TEST_F(StreamsTest, GroupsAndPendingEntriesSurviveARestart) {
  for (uint64_t i = 1; i <= 4; ++i) MustAdd("s", Id(i), {"n", std::to_string(i)});
  ASSERT_TRUE(Run([](Txn& t) { return streams::CreateGroup(t, "s", "g", "0", false, -1); }).ok());
  ASSERT_TRUE(ReadNew("s", "g", "c1", 3));
  ASSERT_TRUE(Run([](Txn& t) { return streams::Ack(t, "s", "g", {Id(2)}); }).ok());
  Reopen();
  auto pending = Pending("s", "g");
  ASSERT_EQ(pending.size(), 2u);
  EXPECT_EQ(pending[0].id, Id(1));
  EXPECT_EQ(pending[0].consumer, "c1");
  EXPECT_EQ(pending[1].id, Id(3));
  auto next = ReadNew("s", "g", "c2");
  ASSERT_TRUE(next);
  ASSERT_EQ(next->size(), 1u);  // the group's last delivered id survived too
  EXPECT_EQ(next->front().id, Id(4));
  EXPECT_EQ(Info("s").entries_added, 4u);
}

TEST_F(StreamsTest, DelReclaimsEveryRecordAfterCompaction) {
  for (uint64_t i = 1; i <= 250; ++i) MustAdd("s", Id(i));
  ASSERT_TRUE(Run([](Txn& t) { return streams::CreateGroup(t, "s", "g", "0", false, -1); }).ok());
  ASSERT_TRUE(ReadNew("s", "g", "c"));
  ASSERT_TRUE(store().CompactAll().ok());
  EXPECT_GT(store().CountElementRecordsForTest(0, "s"), 250);
  EXPECT_EQ(Do([](Txn& t) { return keys::Del(t, {"s"}); }), 1);
  ASSERT_TRUE(store().CompactAll().ok());
  EXPECT_EQ(store().CountElementRecordsForTest(0, "s"), 0);
}

TEST_F(StreamsTest, IndependentWaitersAreServedPastAWaiterThatKeepsWaiting) {
  // Two readers of one key (as XREAD BLOCK): the first waits for ids above 100, the second
  // for anything. An entry 6 serves the second; the first stays blocked behind it.
  MustAdd("k", Id(5));
  auto reader = [](StreamId after) {
    BlockRequest req;
    req.keys = {"k"};
    req.serve = [after](Txn& t, const std::string& key) -> std::optional<Result<PopResult>> {
      auto info = streams::Info(t, key);
      if (!info.ok() || info->last_id <= after) return std::nullopt;
      return Result<PopResult>(PopResult{key, {info->last_id.ToString()}});
    };
    return req;
  };
  std::promise<Result<PopResult>> first, second;
  uint64_t first_id = store().BlockAsync(
      reader(Id(100)), [&](Result<PopResult> r) { first.set_value(std::move(r)); });
  store().BlockAsync(reader(Id(5)), [&](Result<PopResult> r) { second.set_value(std::move(r)); });
  EXPECT_EQ(store().GetStats().blocked_clients, 2);
  MustAdd("k", Id(6));
  auto r = second.get_future().get();
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->values, Strings{"6-0"});
  EXPECT_EQ(store().GetStats().blocked_clients, 1);
  MustAdd("k", Id(101));
  auto r1 = first.get_future().get();
  ASSERT_TRUE(r1.ok());
  EXPECT_EQ(r1->values, Strings{"101-0"});
  EXPECT_FALSE(store().CancelBlocked(first_id));
}

}  // namespace
}  // namespace redge::store::testing
