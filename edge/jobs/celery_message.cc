#include "edge/jobs/celery_message.h"

#include <sys/random.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <ctime>

#include "edge/json_input.h"

namespace redge::jobs::celery {

using nlohmann::json;
using nlohmann::ordered_json;

namespace {

std::string StringField(const json& obj, const char* name) {
  auto it = obj.find(name);
  return it != obj.end() && it->is_string() ? it->get<std::string>() : std::string();
}

void RandomBytes(unsigned char* out, size_t n) {
  size_t got = 0;
  while (got < n) {
    ssize_t r = getrandom(out + got, n - got, 0);
    if (r > 0) got += static_cast<size_t>(r);
  }
}

// The task id a signature (a serialized Signature dict) will run under, if it names one.
std::string SignatureTaskId(const json& sig) {
  if (!sig.is_object()) return "";
  auto opts = sig.find("options");
  if (opts == sig.end() || !opts->is_object()) return "";
  return StringField(*opts, "task_id");
}

void PyDumpString(std::string_view s, std::string* out) {
  // json.dumps(ensure_ascii=True): every non-ASCII code point as \uXXXX (surrogate pairs
  // above U+FFFF). Invalid UTF-8 cannot reach here: the strings come from parsed JSON or
  // from redge's own ASCII.
  static const char kHex[] = "0123456789abcdef";
  auto u16 = [&](unsigned v) {
    out->append("\\u");
    for (int shift = 12; shift >= 0; shift -= 4) out->push_back(kHex[(v >> shift) & 15]);
  };
  out->push_back('"');
  for (size_t i = 0; i < s.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    switch (c) {
      case '"':
        out->append("\\\"");
        continue;
      case '\\':
        out->append("\\\\");
        continue;
      case '\n':
        out->append("\\n");
        continue;
      case '\r':
        out->append("\\r");
        continue;
      case '\t':
        out->append("\\t");
        continue;
      case '\b':
        out->append("\\b");
        continue;
      case '\f':
        out->append("\\f");
        continue;
      default:
        break;
    }
    if (c < 0x20) {
      u16(c);
    } else if (c < 0x80) {
      out->push_back(static_cast<char>(c));
    } else {
      int extra = c >= 0xF0 ? 3 : c >= 0xE0 ? 2 : 1;
      unsigned cp = c & (0x3F >> extra);
      for (int k = 0; k < extra && i + 1 < s.size(); ++k) {
        cp = (cp << 6) | (static_cast<unsigned char>(s[++i]) & 0x3F);
      }
      if (cp >= 0x10000) {
        cp -= 0x10000;
        u16(0xD800 + (cp >> 10));
        u16(0xDC00 + (cp & 0x3FF));
      } else {
        u16(cp);
      }
    }
  }
  out->push_back('"');
}

void PyDumpTo(const ordered_json& j, std::string* out) {
  switch (j.type()) {
    case ordered_json::value_t::object: {
      out->push_back('{');
      bool first = true;
      for (auto it = j.begin(); it != j.end(); ++it) {
        if (!first) out->append(", ");
        first = false;
        PyDumpString(it.key(), out);
        out->append(": ");
        PyDumpTo(it.value(), out);
      }
      out->push_back('}');
      return;
    }
    case ordered_json::value_t::array: {
      out->push_back('[');
      bool first = true;
      for (const auto& v : j) {
        if (!first) out->append(", ");
        first = false;
        PyDumpTo(v, out);
      }
      out->push_back(']');
      return;
    }
    case ordered_json::value_t::string:
      PyDumpString(j.get_ref<const std::string&>(), out);
      return;
    default:
      // Numbers, booleans and null are written alike (shortest round-trip doubles).
      out->append(j.dump(-1, ' ', false, ordered_json::error_handler_t::replace));
      return;
  }
}

// Seconds since the epoch with microseconds, as Python's time.time() prints.
double EpochSeconds(int64_t ms) { return static_cast<double>(ms) / 1000.0; }

}  // namespace

std::optional<TaskMessage> ParseTaskMessage(std::string_view raw, bool with_body) {
  // Cheap refusals first: most list values (job envelopes, events, application data) are
  // not task messages and must cost next to nothing.
  if (raw.size() < 40 || raw.front() != '{' || raw.find("\"headers\"") == std::string_view::npos ||
      raw.find("\"task\"") == std::string_view::npos) {
    return std::nullopt;
  }
  json m;
  if (ParseJson(raw, &m) != JsonError::kNone) return std::nullopt;
  return TaskMessageFromJson(m, with_body);
}

std::optional<TaskMessage> TaskMessageFromJson(const json& m, bool with_body) {
  if (!m.is_object()) return std::nullopt;
  auto headers = m.find("headers");
  auto props = m.find("properties");
  if (headers == m.end() || !headers->is_object() || props == m.end() || !props->is_object()) {
    return std::nullopt;
  }
  TaskMessage t;
  t.id = StringField(*headers, "id");
  t.task = StringField(*headers, "task");
  if (t.id.empty() || t.task.empty()) return std::nullopt;
  t.correlation_id = StringField(*headers, "correlation_id");
  t.parent_id = StringField(*headers, "parent_id");
  t.root_id = StringField(*headers, "root_id");
  t.group_id = StringField(*headers, "group");
  t.eta = StringField(*headers, "eta");
  t.expires = StringField(*headers, "expires");
  if (auto r = headers->find("retries"); r != headers->end() && r->is_number_integer()) {
    t.retries = static_cast<int>(std::clamp<int64_t>(r->get<int64_t>(), 0, 1'000'000));
  }
  if (auto r = headers->find("ignore_result"); r != headers->end() && r->is_boolean()) {
    t.ignore_result = r->get<bool>();
  }
  if (auto r = headers->find("redelivered"); r != headers->end() && r->is_boolean()) {
    t.redelivered = r->get<bool>();
  }
  if (auto p = props->find("priority"); p != props->end() && p->is_number_integer()) {
    t.priority = static_cast<int>(std::clamp<int64_t>(p->get<int64_t>(), 0, 9));
  }
  t.delivery_tag = StringField(*props, "delivery_tag");
  if (auto di = props->find("delivery_info"); di != props->end() && di->is_object()) {
    t.routing_key = StringField(*di, "routing_key");
  }
  t.content_type = StringField(m, "content-type");
  if (!with_body) return t;
  std::string body = StringField(m, "body");
  std::optional<std::string> decoded;
  if (StringField(*props, "body_encoding") == "base64") {
    decoded = Base64Decode(body);
  } else {
    decoded = body;
  }
  if (decoded) {
    t.body_bytes = static_cast<int64_t>(decoded->size());
    json b;
    if (t.content_type == "application/json" && ParseJson(*decoded, &b) == JsonError::kNone &&
        b.is_array() && b.size() == 3) {
      t.args_bytes = static_cast<int64_t>(DumpJson(b[0]).size());
      t.kwargs_bytes = static_cast<int64_t>(DumpJson(b[1]).size());
      const json& embed = b[2];
      if (embed.is_object()) {
        if (auto c = embed.find("chord"); c != embed.end())
          t.chord_callback_id = SignatureTaskId(*c);
        if (auto cbs = embed.find("callbacks"); cbs != embed.end() && cbs->is_array()) {
          for (const auto& cb : *cbs) {
            if (std::string id = SignatureTaskId(cb); !id.empty()) t.callback_ids.push_back(id);
          }
        }
        // Celery keeps a chain's remaining tasks in reverse: the next one is the last.
        if (auto chain = embed.find("chain");
            chain != embed.end() && chain->is_array() && !chain->empty()) {
          if (std::string id = SignatureTaskId(chain->back()); !id.empty()) {
            t.callback_ids.push_back(id);
          }
        }
      }
    }
  }
  return t;
}

std::pair<std::string_view, int> SplitPriorityKey(std::string_view list) {
  size_t at = list.rfind(kPrioritySep);
  if (at == std::string_view::npos || at + kPrioritySep.size() != list.size() - 1) {
    return {list, 0};
  }
  char d = list.back();
  if (d < '0' || d > '9') return {list, 0};
  return {list.substr(0, at), d - '0'};
}

std::string PriorityKey(std::string_view queue, int priority) {
  int step = 0;
  for (int s : kPrioritySteps) {
    if (s <= priority) step = s;
  }
  if (step == 0) return std::string(queue);
  return std::string(queue) + std::string(kPrioritySep) + std::to_string(step);
}

std::optional<ResultMeta> ParseResultMeta(std::string_view raw) {
  json m;
  if (ParseJson(raw, &m) != JsonError::kNone || !m.is_object()) return std::nullopt;
  ResultMeta r;
  r.status = StringField(m, "status");
  if (r.status.empty()) return std::nullopt;
  r.result = m.value("result", json());
  r.traceback = StringField(m, "traceback");
  r.task_id = StringField(m, "task_id");
  r.group_id = StringField(m, "group_id");
  r.parent_id = StringField(m, "parent_id");
  r.children = m.value("children", json::array());
  return r;
}

std::string ExceptionText(const json& result) {
  if (!result.is_object() || !result.contains("exc_type")) return DumpJson(result);
  std::string type = result["exc_type"].is_string() ? result["exc_type"].get<std::string>()
                                                    : DumpJson(result["exc_type"]);
  const json msg = result.value("exc_message", json());
  std::string text;
  if (msg.is_string()) {
    text = msg.get<std::string>();
  } else if (msg.is_array()) {
    for (const auto& part : msg) {
      if (!text.empty()) text += ", ";
      text += part.is_string() ? part.get<std::string>() : DumpJson(part);
    }
  } else if (!msg.is_null()) {
    text = DumpJson(msg);
  }
  return text.empty() ? type : type + ": " + text;
}

std::string ParseNewTask(const json& spec, NewTask* out) {
  if (!spec.is_object()) {
    return "\"celery\" must be an object {\"task\", \"args\", \"kwargs\", \"countdown\", "
           "\"priority\"}";
  }
  for (auto it = spec.begin(); it != spec.end(); ++it) {
    const std::string& k = it.key();
    if (k != "task" && k != "args" && k != "kwargs" && k != "countdown" && k != "priority") {
      return "unknown field \"celery." + k +
             "\" (allowed: task, args, kwargs, countdown, priority)";
    }
  }
  auto task = spec.find("task");
  if (task == spec.end() || !task->is_string() || task->get<std::string>().empty()) {
    return "\"celery.task\" is required: the task's registered name, e.g. \"app.tasks.add\"";
  }
  out->task = task->get<std::string>();
  if (out->task.size() > 256) return "\"celery.task\" must be at most 256 bytes";
  for (unsigned char c : out->task) {
    if (c < 0x20 || c == 0x7f) return "\"celery.task\" must not contain control characters";
  }
  if (auto a = spec.find("args"); a != spec.end()) {
    if (!a->is_array()) return "\"celery.args\" must be a list (JSON array)";
    out->args = *a;
  }
  if (auto k = spec.find("kwargs"); k != spec.end()) {
    if (!k->is_object()) return "\"celery.kwargs\" must be an object";
    out->kwargs = *k;
  }
  if (auto c = spec.find("countdown"); c != spec.end()) {
    if (!c->is_number() || !std::isfinite(c->get<double>()) || c->get<double>() < 0 ||
        c->get<double>() > 365.0 * 86400) {
      return "\"celery.countdown\" must be a number of seconds, 0 to 31536000";
    }
    out->countdown_s = c->get<double>();
  }
  if (auto p = spec.find("priority"); p != spec.end()) {
    if (!p->is_number_integer() || p->get<int64_t>() < 0 || p->get<int64_t>() > 9) {
      return "\"celery.priority\" must be an integer 0-9 (kombu's Redis transport: 0 is "
             "served first)";
    }
    out->priority = static_cast<int>(p->get<int64_t>());
  }
  return "";
}

std::string BuildTaskMessage(const NewTask& task, const std::string& id,
                             const std::string& routing_key, const std::string& correlation_id,
                             const std::string& origin, int64_t now_ms) {
  ordered_json body = ordered_json::array();
  body.push_back(ordered_json::parse(DumpJson(task.args)));
  body.push_back(ordered_json::parse(DumpJson(task.kwargs)));
  body.push_back(ordered_json{
      {"callbacks", nullptr}, {"errbacks", nullptr}, {"chain", nullptr}, {"chord", nullptr}});
  // Celery writes Python reprs here for its logs; the JSON text serves the same purpose.
  auto repr = [](const json& v) {
    std::string s = DumpJson(v);
    return s.size() > 1024 ? s.substr(0, 1021) + "..." : s;
  };
  ordered_json eta = nullptr;
  if (task.countdown_s > 0) {
    eta = IsoTime(now_ms + static_cast<int64_t>(std::llround(task.countdown_s * 1000))) + "+00:00";
  }
  ordered_json headers = {{"lang", "py"},
                          {"task", task.task},
                          {"id", id},
                          {"shadow", nullptr},
                          {"eta", eta},
                          {"expires", nullptr},
                          {"group", nullptr},
                          {"group_index", nullptr},
                          {"retries", 0},
                          {"timelimit", ordered_json::array({nullptr, nullptr})},
                          {"root_id", id},
                          {"parent_id", nullptr},
                          {"argsrepr", repr(task.args)},
                          {"kwargsrepr", repr(task.kwargs)},
                          {"origin", origin},
                          {"ignore_result", false}};
  if (!correlation_id.empty()) headers["correlation_id"] = correlation_id;
  ordered_json props = {{"correlation_id", id},
                        {"reply_to", NewTaskId()},
                        {"delivery_mode", 2},
                        {"delivery_info", {{"exchange", ""}, {"routing_key", routing_key}}},
                        {"priority", task.priority},
                        {"body_encoding", "base64"},
                        {"delivery_tag", NewTaskId()}};
  ordered_json m = {{"body", Base64Encode(PyDumps(body))},
                    {"content-encoding", "utf-8"},
                    {"content-type", "application/json"},
                    {"headers", std::move(headers)},
                    {"properties", std::move(props)}};
  return PyDumps(m);
}

std::string BuildRevokeMessage(const std::string& task_id, bool terminate,
                               const std::string& signal, const std::string& exchange,
                               int64_t clock, int64_t now_ms) {
  ordered_json body = {
      {"method", "revoke"},
      {"arguments", {{"task_id", task_id}, {"terminate", terminate}, {"signal", signal}}},
      {"destination", nullptr},
      {"pattern", nullptr},
      {"matcher", nullptr}};
  // broadcast()'s default reply timeout is 1 s: kombu stamps expires = now + 1.
  ordered_json m = {{"body", Base64Encode(PyDumps(body))},
                    {"content-encoding", "utf-8"},
                    {"content-type", "application/json"},
                    {"headers", {{"clock", clock}, {"expires", EpochSeconds(now_ms) + 1.0}}},
                    {"properties",
                     {{"delivery_mode", 2},
                      {"delivery_info", {{"exchange", exchange + ".pidbox"}, {"routing_key", ""}}},
                      {"priority", 0},
                      {"body_encoding", "base64"},
                      {"delivery_tag", NewTaskId()}}}};
  return PyDumps(m);
}

std::string BuildRevokedMeta(const std::string& task_id, const std::string& reason,
                             int64_t now_ms) {
  ordered_json m = {{"status", "REVOKED"},
                    {"result",
                     {{"exc_type", "TaskRevokedError"},
                      {"exc_message", ordered_json::array({reason})},
                      {"exc_module", "celery.exceptions"}}},
                    {"traceback", nullptr},
                    {"children", ordered_json::array()},
                    {"date_done", IsoTime(now_ms)},
                    {"task_id", task_id}};
  return PyDumps(m);
}

std::string NewTaskId() {
  unsigned char b[16];
  RandomBytes(b, sizeof(b));
  b[6] = static_cast<unsigned char>((b[6] & 0x0F) | 0x40);  // version 4
  b[8] = static_cast<unsigned char>((b[8] & 0x3F) | 0x80);  // RFC 4122 variant
  static const char kHex[] = "0123456789abcdef";
  std::string s;
  for (int i = 0; i < 16; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) s += '-';
    s += kHex[b[i] >> 4];
    s += kHex[b[i] & 15];
  }
  return s;
}

std::string IsoTime(int64_t ms) {
  time_t secs = static_cast<time_t>(ms / 1000);
  struct tm tm;
  gmtime_r(&secs, &tm);
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%04d-%02d-%02dT%02d:%02d:%02d.%06d", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<int>(ms % 1000) * 1000);
  return buf;
}

std::string Base64Encode(std::string_view in) {
  static const char kChars[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((in.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    uint32_t v = (static_cast<unsigned char>(in[i]) << 16) |
                 (static_cast<unsigned char>(in[i + 1]) << 8) |
                 static_cast<unsigned char>(in[i + 2]);
    out += kChars[(v >> 18) & 63];
    out += kChars[(v >> 12) & 63];
    out += kChars[(v >> 6) & 63];
    out += kChars[v & 63];
  }
  if (i < in.size()) {
    uint32_t v = static_cast<unsigned char>(in[i]) << 16;
    if (i + 1 < in.size()) v |= static_cast<unsigned char>(in[i + 1]) << 8;
    out += kChars[(v >> 18) & 63];
    out += kChars[(v >> 12) & 63];
    out += i + 1 < in.size() ? kChars[(v >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

std::optional<std::string> Base64Decode(std::string_view in) {
  while (!in.empty() && in.back() == '=') in.remove_suffix(1);
  if (in.size() % 4 == 1) return std::nullopt;
  auto value = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+' || c == '-') return 62;
    if (c == '/' || c == '_') return 63;
    return -1;
  };
  std::string out;
  out.reserve(in.size() * 3 / 4);
  uint32_t acc = 0;
  int bits = 0;
  for (char c : in) {
    int v = value(c);
    if (v < 0) return std::nullopt;
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xFF));
    }
  }
  return out;
}

std::string PyDumps(const ordered_json& j) {
  std::string out;
  PyDumpTo(j, &out);
  return out;
}

}  // namespace redge::jobs::celery
