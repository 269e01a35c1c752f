// Internal to the Celery bridge (celery_*.cc): database scoping and the `celery` object of
// a job record.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "store/txn.h"

namespace redge::jobs::celery_internal {

// Switches `txn` to `db` for a scope (the jobs live in database 0; a Celery broker or
// result backend may use another one).
class DbScope {
 public:
  DbScope(store::Txn& txn, int db) : txn_(txn), saved_(txn.db()) { txn.SwitchDb(db); }
  ~DbScope() { txn_.SwitchDb(saved_); }
  DbScope(const DbScope&) = delete;
  DbScope& operator=(const DbScope&) = delete;

 private:
  store::Txn& txn_;
  int saved_;
};

inline std::string Str(const nlohmann::json& c, const char* field) {
  auto it = c.find(field);
  return it != c.end() && it->is_string() ? it->get<std::string>() : std::string();
}

inline int64_t Int(const nlohmann::json& c, const char* field, int64_t fallback = 0) {
  auto it = c.find(field);
  return it != c.end() && it->is_number_integer() ? it->get<int64_t>() : fallback;
}

inline bool Bool(const nlohmann::json& c, const char* field) {
  auto it = c.find(field);
  return it != c.end() && it->is_boolean() && it->get<bool>();
}

// Empty strings are stored as null: a record says "no parent" the way Celery does.
inline nlohmann::json OrNull(const std::string& s) {
  return s.empty() ? nlohmann::json(nullptr) : nlohmann::json(s);
}

}  // namespace redge::jobs::celery_internal
