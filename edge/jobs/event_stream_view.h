// EventStreamView: a job's event log read as a Redis stream, so a backend in any language
// can wait for a job with XREAD BLOCK instead of SUBSCRIBE (which misses what was published
// before it subscribed).
//
// The view is virtual: nothing is stored twice. For a key of database 0 that has the shape
// of --events-stream-template (default `redge:events:{id}`), XRANGE, XREVRANGE, XLEN and
// XREAD read job {id}'s event list: event n is the entry `n-0` with the fields `event`
// (its type) and `data` (its data as compact JSON). Writes and the other stream commands
// get an error (store/streams.h: StreamView). The jobs layer's append signals the key, so
// a blocked XREAD is served by the write that appends the event.
//
// Thread-safety: immutable after construction; Info/Range run inside store operations.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "edge/jobs/key_template.h"
#include "store/streams.h"

namespace redge::jobs {

class EventStreamView : public store::streams::StreamView {
 public:
  // `tmpl` contains "{id}" exactly once.
  explicit EventStreamView(std::string tmpl);

  bool Matches(int db, std::string_view key) const override;
  store::Result<store::streams::StreamInfo> Info(store::Txn& txn, std::string_view key) override;
  store::Result<std::vector<store::streams::Entry>> Range(store::Txn& txn, std::string_view key,
                                                          store::streams::StreamId start,
                                                          store::streams::StreamId end,
                                                          uint64_t count, bool reverse) override;

  // The view's key for job `id`.
  std::string KeyOf(std::string_view id) const { return tmpl_.Format(id); }

 private:
  KeyTemplate tmpl_;
};

}  // namespace redge::jobs
