#include "edge/jobs/event_stream_view.h"

#include <algorithm>

#include "edge/jobs/job.h"
#include "edge/jobs/job_txn.h"
#include "edge/json_input.h"
#include "store/lists.h"

namespace redge::jobs {

namespace st = redge::store;
namespace ss = redge::store::streams;

namespace {

// The event list behind a view key: its metadata, NotFound when absent (or, should someone
// have replaced it over RESP, of another type: there are no events to show then).
st::Result<st::Meta> EventList(st::Txn& txn, std::string_view id) {
  auto meta = txn.GetTyped(EventsKey(id), st::KeyType::kList);
  if (!meta.ok() && meta.status().code() == st::Status::Code::kWrongType) {
    return st::Status::NotFound();
  }
  return meta;
}

ss::Entry ToEntry(uint64_t n, const std::string& record) {
  ss::Entry e;
  e.id = {n, 0};
  if (auto ev = Event::FromRecord(record)) {
    e.fields = {"event", ev->type, "data", DumpJson(ev->data)};
  } else {
    e.fields = {"event", "", "data", record};  // a record someone overwrote: shown raw
  }
  return e;
}

}  // namespace

EventStreamView::EventStreamView(std::string tmpl) : tmpl_(std::move(tmpl), "{id}") {}

bool EventStreamView::Matches(int db, std::string_view key) const {
  return db == 0 && tmpl_.Match(key).has_value();
}

st::Result<ss::StreamInfo> EventStreamView::Info(st::Txn& txn, std::string_view key) {
  auto id = tmpl_.Match(key);
  if (!id) return st::Status::NotFound();
  auto meta = EventList(txn, *id);
  if (!meta.ok()) return meta.status();
  const uint64_t n = meta->size();
  ss::StreamInfo info;
  info.origin = meta->version;
  info.length = n;
  info.nodes = 0;
  info.last_id = {n, 0};
  info.last_valid_id = {n, 0};
  info.first_id = n > 0 ? ss::StreamId{1, 0} : ss::StreamId{};
  info.entries_added = n;
  return info;
}

st::Result<std::vector<ss::Entry>> EventStreamView::Range(st::Txn& txn, std::string_view key,
                                                          ss::StreamId start, ss::StreamId end,
                                                          uint64_t count, bool reverse) {
  auto id = tmpl_.Match(key);
  if (!id) return st::Status::NotFound();
  auto meta = EventList(txn, *id);
  if (!meta.ok()) return meta.status();
  const uint64_t n = meta->size();
  // Entry k is k-0: it is >= start when k > start.ms, or k == start.ms and start.seq == 0;
  // it is <= end when k <= end.ms.
  std::vector<ss::Entry> out;
  if (start.seq > 0 && start.ms == UINT64_MAX) return out;
  const uint64_t lo = std::max<uint64_t>(1, start.ms + (start.seq > 0 ? 1 : 0));
  const uint64_t hi = std::min<uint64_t>(n, end.ms);
  if (lo > hi) return out;
  uint64_t first = lo, last = hi;
  if (count > 0 && hi - lo + 1 > count) {
    if (reverse) {
      first = hi - count + 1;
    } else {
      last = lo + count - 1;
    }
  }
  // A window at a time: a job's events can be many and large.
  constexpr uint64_t kWindow = 64;
  for (uint64_t from = first; from <= last; from += kWindow) {
    const uint64_t to = std::min(last, from + kWindow - 1);
    auto raw = st::lists::Range(txn, EventsKey(*id), static_cast<int64_t>(from - 1),
                                static_cast<int64_t>(to - 1));
    if (!raw.ok()) return raw.status();
    for (size_t i = 0; i < raw->size(); ++i) out.push_back(ToEntry(from + i, (*raw)[i]));
  }
  if (reverse) std::reverse(out.begin(), out.end());
  return out;
}

}  // namespace redge::jobs
