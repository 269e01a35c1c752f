// The text/event-stream writer of every SSE response redge sends (job events, heartbeats,
// `retry:` hints).
//
// What it promises: whatever the bytes given, the output is a well-formed stream in which
// each call produces exactly the fields it names. No value can start a new field or a new
// event: `data` is split at CR, LF and CRLF into one `data:` line per line (the reader
// joins them with LF, as the SSE specification says), and CR or LF inside an `event` name
// or a comment become spaces. Event ids are numbers. So a worker-chosen event name or a
// stored record someone overwrote can never forge an `id:` (moving a browser's
// Last-Event-ID) or a `completed` event.
//
// Thread-safety: free functions without state.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace redge::http {

// Appends "id: <id>\nevent: <event>\ndata: ...\n\n" (no `event:` line when `event` is empty,
// which readers treat as "message"; no `id:` line when `id` < 0, for an event that is not
// one of the job's stored events, so the reader's Last-Event-ID stays as it was).
void AppendSseEvent(std::string* out, int64_t id, std::string_view event, std::string_view data);
// Appends ": <text>\n\n", a comment line readers ignore (heartbeats).
void AppendSseComment(std::string* out, std::string_view text);
// Appends "retry: <ms>\n\n": the reconnection delay EventSource uses.
void AppendSseRetry(std::string* out, int64_t ms);

}  // namespace redge::http
