#include "store/encoding.h"

#include <cstring>

namespace redge::store::encoding {

void PutFixed64BE(std::string* dst, uint64_t v) {
  char buf[8];
  for (int i = 7; i >= 0; --i) {
    buf[i] = static_cast<char>(v & 0xff);
    v >>= 8;
  }
  dst->append(buf, 8);
}

uint64_t DecodeFixed64BE(const char* p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | static_cast<uint8_t>(p[i]);
  return v;
}

void PutFixed64LE(std::string* dst, uint64_t v) {
  char buf[8];
  for (int i = 0; i < 8; ++i) {
    buf[i] = static_cast<char>(v & 0xff);
    v >>= 8;
  }
  dst->append(buf, 8);
}

uint64_t DecodeFixed64LE(const char* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | static_cast<uint8_t>(p[i]);
  return v;
}

std::string MetaKey(int db, std::string_view key) {
  std::string out;
  out.reserve(1 + key.size());
  out.push_back(static_cast<char>(db));
  out.append(key);
  return out;
}

bool ParseMetaKey(std::string_view raw, int* db, std::string_view* key) {
  if (raw.empty() || static_cast<uint8_t>(raw[0]) == kInternalDb) return false;
  *db = static_cast<uint8_t>(raw[0]);
  *key = raw.substr(1);
  return true;
}

std::string DataKeyPrefixAnyVersion(int db, std::string_view key) {
  std::string out;
  out.reserve(5 + key.size() + 8);
  out.push_back(static_cast<char>(db));
  uint32_t n = static_cast<uint32_t>(key.size());
  char len[4] = {static_cast<char>(n >> 24), static_cast<char>(n >> 16), static_cast<char>(n >> 8),
                 static_cast<char>(n)};
  out.append(len, 4);
  out.append(key);
  return out;
}

std::string DataPrefix(int db, std::string_view key, uint64_t version) {
  std::string out = DataKeyPrefixAnyVersion(db, key);
  PutFixed64BE(&out, version);
  return out;
}

std::string DataKey(int db, std::string_view key, uint64_t version, std::string_view sub) {
  std::string out = DataPrefix(db, key, version);
  out.append(sub);
  return out;
}

bool ParseDataKey(std::string_view raw, int* db, std::string_view* key, uint64_t* version,
                  std::string_view* sub) {
  if (raw.size() < 5) return false;
  *db = static_cast<uint8_t>(raw[0]);
  uint32_t n = (uint32_t{static_cast<uint8_t>(raw[1])} << 24) |
               (uint32_t{static_cast<uint8_t>(raw[2])} << 16) |
               (uint32_t{static_cast<uint8_t>(raw[3])} << 8) | static_cast<uint8_t>(raw[4]);
  if (raw.size() < 5 + size_t{n} + 8) return false;
  *key = raw.substr(5, n);
  *version = DecodeFixed64BE(raw.data() + 5 + n);
  *sub = raw.substr(5 + n + 8);
  return true;
}

std::string ExpireKey(int64_t deadline_ms, int db, std::string_view key) {
  std::string out;
  out.reserve(9 + key.size());
  PutFixed64BE(&out, static_cast<uint64_t>(deadline_ms));
  out.push_back(static_cast<char>(db));
  out.append(key);
  return out;
}

bool ParseExpireKey(std::string_view raw, int64_t* deadline_ms, int* db, std::string_view* key) {
  if (raw.size() < 9) return false;
  *deadline_ms = static_cast<int64_t>(DecodeFixed64BE(raw.data()));
  *db = static_cast<uint8_t>(raw[8]);
  *key = raw.substr(9);
  return true;
}

std::string EncodeMeta(const Meta& meta) {
  std::string out;
  out.reserve(17 + 16 + meta.value.size());
  out.push_back(static_cast<char>(meta.type));
  PutFixed64LE(&out, static_cast<uint64_t>(meta.expire_at_ms));
  PutFixed64LE(&out, meta.version);
  switch (meta.type) {
    case KeyType::kString:
    case KeyType::kStream:
      out.append(meta.value);
      break;
    case KeyType::kList:
      PutFixed64LE(&out, meta.head);
      PutFixed64LE(&out, meta.tail);
      break;
    case KeyType::kHash:
    case KeyType::kSet:
    case KeyType::kZSet:
      PutFixed64LE(&out, meta.count);
      out.append(meta.value);  // the type's own extras, if any
      break;
    case KeyType::kNone:
      break;
  }
  return out;
}

bool DecodeMeta(std::string_view raw, Meta* meta) {
  if (raw.size() < 17) return false;
  meta->type = static_cast<KeyType>(static_cast<uint8_t>(raw[0]));
  meta->expire_at_ms = static_cast<int64_t>(DecodeFixed64LE(raw.data() + 1));
  meta->version = DecodeFixed64LE(raw.data() + 9);
  meta->value.clear();
  meta->head = meta->tail = 0;
  meta->count = 0;
  switch (meta->type) {
    case KeyType::kString:
    case KeyType::kStream:
      meta->value.assign(raw.substr(17));
      return true;
    case KeyType::kList:
      if (raw.size() != 33) return false;
      meta->head = DecodeFixed64LE(raw.data() + 17);
      meta->tail = DecodeFixed64LE(raw.data() + 25);
      return meta->head <= meta->tail;
    case KeyType::kHash:
    case KeyType::kSet:
    case KeyType::kZSet:
      if (raw.size() < 25) return false;
      meta->count = DecodeFixed64LE(raw.data() + 17);
      meta->value.assign(raw.substr(25));
      return true;
    default:
      return false;
  }
}

std::string ListSubKey(uint64_t index) {
  std::string out;
  PutFixed64BE(&out, index);
  return out;
}

}  // namespace redge::store::encoding
