// The Celery and kombu wire formats the Celery bridge (celery_bridge.h) reads and writes,
// as Celery 5.2 with kombu 5.2's Redis transport and Celery's Redis result backend use
// them:
//
//  - A task message (protocol 2) is a JSON envelope LPUSHed to the queue's list:
//    {"body": base64(JSON [args, kwargs, embed]), "content-type", "content-encoding",
//     "headers": {"lang", "task", "id", "root_id", "parent_id", "group", "retries", "eta",
//                 "expires", "ignore_result", ...},
//     "properties": {"correlation_id", "reply_to", "delivery_mode", "delivery_info":
//                    {"exchange", "routing_key"}, "priority", "body_encoding",
//                    "delivery_tag"}}.
//    Priorities 0-9 go to sub-queues "<queue>\x06\x16<step>" (steps 0, 3, 6, 9; step 0 is
//    the queue itself, consumed first).
//  - A result is the JSON {"status", "result", "traceback", "children", "date_done",
//    "task_id", ...} SET (SETEX) at "celery-task-meta-<id>" and PUBLISHed on the same name.
//  - `app.control.revoke(id, terminate=...)` PUBLISHes a kombu message on the fanout
//    channel "/<db>.<control exchange>.pidbox" whose body is {"method": "revoke",
//    "arguments": {"task_id", "terminate", "signal"}, "destination": null, ...}.
//
// Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

namespace redge::jobs::celery {

// kombu's Redis transport: the separator of priority sub-queues and the priority steps.
inline constexpr std::string_view kPrioritySep{"\x06\x16", 2};
inline constexpr int kPrioritySteps[] = {0, 3, 6, 9};

// What the bridge keeps of a task message. Never the arguments themselves: their sizes.
struct TaskMessage {
  std::string id, task;
  std::string correlation_id;  // headers.correlation_id when a string, else empty
  std::string parent_id, root_id, group_id;
  int retries = 0;
  std::string eta, expires;  // ISO 8601 as Celery wrote them, or empty
  bool ignore_result = false;
  bool redelivered = false;  // kombu restored it (a worker died or gave it back)
  int priority = 0;
  std::string delivery_tag;
  std::string routing_key;
  std::string content_type;
  int64_t body_bytes = 0;  // decoded body
  // Sizes of args and kwargs as compact JSON (JSON bodies only; -1 otherwise).
  int64_t args_bytes = -1, kwargs_bytes = -1;
  // Task ids of what runs after it, when the message names them: a chord's callback,
  // linked callbacks, the next task of a chain.
  std::string chord_callback_id;
  nlohmann::json callback_ids = nlohmann::json::array();
};

// Parses `raw` when it is a protocol-2 task message (headers.id and headers.task
// strings); nullopt for anything else, cheaply for values that cannot be one.
// `with_body` false skips decoding the body (the sizes and callback ids stay unset): what
// a reservation needs, the task id, costs less.
std::optional<TaskMessage> ParseTaskMessage(std::string_view raw, bool with_body = true);
// The same for a message already parsed (an entry of kombu's `unacked` hash holds
// [message, exchange, routing_key]).
std::optional<TaskMessage> TaskMessageFromJson(const nlohmann::json& message,
                                               bool with_body = true);

// "celery\x06\x163" -> {"celery", 3}; a name without a sub-queue suffix has step 0.
std::pair<std::string_view, int> SplitPriorityKey(std::string_view list);
// kombu's _q_for_pri: the list of `queue` for `priority` (0-9).
std::string PriorityKey(std::string_view queue, int priority);

struct ResultMeta {
  std::string status;
  nlohmann::json result;
  std::string traceback;
  std::string task_id;
  std::string group_id, parent_id;
  nlohmann::json children;
};
std::optional<ResultMeta> ParseResultMeta(std::string_view raw);

// An exception result {"exc_type", "exc_message", "exc_module"} as one line:
// "KeyError: nope" ("exc_message" is the exception's args; strings are joined with ", ",
// other values written as JSON). Anything else is written as JSON.
std::string ExceptionText(const nlohmann::json& result);

// The `celery` object of POST /v1/queues/{queue}/jobs.
struct NewTask {
  std::string task;
  nlohmann::json args = nlohmann::json::array();
  nlohmann::json kwargs = nlohmann::json::object();
  double countdown_s = 0;
  int priority = 0;
};
// Checks `spec`: {"task": non-empty string (<= 256 bytes), "args": list, "kwargs":
// object, "countdown": seconds >= 0, "priority": integer 0-9}; only "task" is required.
// Returns "" or what is wrong, for a 400.
std::string ParseNewTask(const nlohmann::json& spec, NewTask* out);

// The message a Celery client (`send_task`) would LPUSH for `task`: protocol 2, JSON
// body, base64 body encoding. `correlation_id` (may be empty) becomes a message header.
std::string BuildTaskMessage(const NewTask& task, const std::string& id,
                             const std::string& routing_key, const std::string& correlation_id,
                             const std::string& origin, int64_t now_ms);

// What app.control.revoke(task_id, terminate=terminate, signal=signal) PUBLISHes.
std::string BuildRevokeMessage(const std::string& task_id, bool terminate,
                               const std::string& signal, const std::string& exchange,
                               int64_t clock, int64_t now_ms);
// The result a worker stores for a task it dropped because it was revoked.
std::string BuildRevokedMeta(const std::string& task_id, const std::string& reason, int64_t now_ms);

// A random (version 4) UUID, as Celery's task ids are.
std::string NewTaskId();
// UTC "YYYY-MM-DDTHH:MM:SS.ffffff" (Python's isoformat of a naive UTC datetime).
std::string IsoTime(int64_t ms);

std::string Base64Encode(std::string_view in);
// nullopt when `in` is not base64 (padding optional; no whitespace).
std::optional<std::string> Base64Decode(std::string_view in);
// json.dumps as Python writes it (", " and ": " separators, ASCII with \u escapes), which
// is what kombu's JSON serializer produces: messages redge writes look like Celery's own.
std::string PyDumps(const nlohmann::ordered_json& j);

}  // namespace redge::jobs::celery
