// Store::SetStreamView (store/streams.h: StreamView): stream reads of a matching key come
// from the view, and every other stream operation on it is refused without a write.
#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "store/stream_groups.h"
#include "store/streams.h"
#include "tests/unit/store_fixture.h"

namespace redge::store::testing {
namespace {

using streams::Entry;
using streams::StreamId;

// "view:*" in db 0 shows three entries 1-0, 2-0, 3-0.
class ThreeEntries : public streams::StreamView {
 public:
  bool Matches(int db, std::string_view key) const override {
    return db == 0 && key.substr(0, 5) == "view:";
  }
  Result<streams::StreamInfo> Info(Txn&, std::string_view) override {
    streams::StreamInfo info;
    info.length = 3;
    info.last_id = info.last_valid_id = {3, 0};
    info.first_id = {1, 0};
    info.entries_added = 3;
    return info;
  }
  Result<std::vector<Entry>> Range(Txn&, std::string_view, StreamId start, StreamId end,
                                   uint64_t count, bool reverse) override {
    std::vector<Entry> out;
    for (uint64_t i = 1; i <= 3; ++i) {
      StreamId id{i, 0};
      if (id >= start && id <= end) out.push_back({id, {"n", std::to_string(i)}, false});
    }
    if (reverse) std::reverse(out.begin(), out.end());
    if (count > 0 && out.size() > count) out.resize(count);
    return out;
  }
};

class StreamViewTest : public StoreTest {
 protected:
  void SetUp() override {
    StoreTest::SetUp();
    store_->SetStreamView(std::make_shared<ThreeEntries>());
  }
};

TEST_F(StreamViewTest, ReadsComeFromTheView) {
  auto len = Run([](Txn& t) { return streams::Len(t, "view:a"); });
  ASSERT_TRUE(len.ok());
  EXPECT_EQ(*len, 3);
  auto r = Run([](Txn& t) {
    return streams::Range(t, "view:a", StreamId{2, 0}, StreamId::Max(), 0, false);
  });
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->size(), 2u);
  EXPECT_EQ((*r)[0].id, (StreamId{2, 0}));
  auto info = Run([](Txn& t) { return streams::Info(t, "view:a"); });
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->last_id, (StreamId{3, 0}));
  // Another database: an ordinary (absent) key.
  auto other = Run([](Txn& t) { return streams::Len(t, "view:a"); }, 1);
  ASSERT_TRUE(other.ok());
  EXPECT_EQ(*other, 0);
}

TEST_F(StreamViewTest, WritesAndGroupOperationsAreRefusedAndWriteNothing) {
  const std::string error =
      "ERR view:a is a read-only stream view of a job's events: only XRANGE, XREVRANGE, "
      "XREAD and XLEN work on it";
  streams::AddOptions add;
  auto added = Run([&](Txn& t) { return streams::Add(t, "view:a", add, {"f", "v"}); });
  EXPECT_TRUE(IsError(added.status(), Status::Code::kInvalidArgument, error));
  streams::TrimOptions trim;
  trim.strategy = streams::TrimStrategy::kMaxLen;
  auto trimmed = Run([&](Txn& t) { return streams::Trim(t, "view:a", trim); });
  EXPECT_TRUE(IsError(trimmed.status(), Status::Code::kInvalidArgument, error));
  auto group = Run([](Txn& t) -> Result<int64_t> {
    Status s = streams::CreateGroup(t, "view:a", "g", "0", true, -1);
    if (!s.ok()) return s;
    return 0;
  });
  EXPECT_TRUE(IsError(group.status(), Status::Code::kInvalidArgument, error));
  auto set_id = Run([](Txn& t) -> Result<int64_t> {
    Status s = streams::SetId(t, "view:a", StreamId{9, 0}, std::nullopt, std::nullopt);
    if (!s.ok()) return s;
    return 0;
  });
  EXPECT_TRUE(IsError(set_id.status(), Status::Code::kInvalidArgument, error));
  // Nothing was created under the name.
  auto meta = Run([](Txn& t) { return t.GetMeta("view:a"); });
  EXPECT_TRUE(meta.status().IsNotFound());
}

}  // namespace
}  // namespace redge::store::testing
