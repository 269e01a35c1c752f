#include "store/dump.h"

#include <algorithm>
#include <utility>
#include <vector>

#include "store/encoding.h"
#include "store/zsets.h"

namespace redge::store::dump {
namespace {

constexpr char kMagic = '\xD7';
constexpr char kFormat1 = '\x01';
constexpr uint16_t kRdbVersion = 10;  // Redis 7.0's RDB_VERSION
constexpr size_t kFooter = 10;

void PutVarint(std::string* out, uint64_t v) {
  while (v >= 0x80) {
    out->push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out->push_back(static_cast<char>(v));
}

bool GetVarint(std::string_view* in, uint64_t* v) {
  uint64_t result = 0;
  for (int shift = 0; shift <= 63 && !in->empty(); shift += 7) {
    const auto byte = static_cast<uint8_t>(in->front());
    in->remove_prefix(1);
    result |= static_cast<uint64_t>(byte & 0x7f) << shift;
    if (!(byte & 0x80)) {
      *v = result;
      return true;
    }
  }
  return false;
}

bool GetBytes(std::string_view* in, std::string_view* out) {
  uint64_t n;
  if (!GetVarint(in, &n) || n > in->size()) return false;
  *out = in->substr(0, n);
  in->remove_prefix(n);
  return true;
}

Status BadFormat() { return Status::InvalidArgument("Bad data format"); }

}  // namespace

uint64_t Crc64(uint64_t crc, std::string_view data) {
  constexpr uint64_t kPolyReflected = 0x95ac9329ac4bc9b5ULL;  // 0xad93d23594c935a9 reversed
  static const auto table = [] {
    std::vector<uint64_t> t(256);
    for (uint64_t i = 0; i < 256; ++i) {
      uint64_t c = i;
      for (int k = 0; k < 8; ++k) c = (c & 1) ? (c >> 1) ^ kPolyReflected : c >> 1;
      t[i] = c;
    }
    return t;
  }();
  for (unsigned char b : data) crc = table[(crc ^ b) & 0xff] ^ (crc >> 8);
  return crc;
}

Result<std::string> Dump(Txn& txn, std::string_view key) {
  auto meta = txn.GetMeta(key);
  if (!meta.ok()) return meta.status();
  Meta m = *meta;
  m.expire_at_ms = 0;
  if (IsCollection(m.type)) m.version = 0;
  if (m.type == KeyType::kZSet) zsets::PrepareDumpMeta(&m);
  std::string out{kMagic, kFormat1};
  const std::string record = encoding::EncodeMeta(m);
  PutVarint(&out, record.size());
  out.append(record);
  std::string elements;
  uint64_t n = 0;
  if (IsCollection(meta->type)) {
    Status s =
        txn.ScanElements(key, meta->version, "", [&](std::string_view sub, std::string_view value) {
          if (meta->type == KeyType::kZSet && !zsets::DumpsRecord(sub)) return true;
          PutVarint(&elements, sub.size());
          elements.append(sub);
          PutVarint(&elements, value.size());
          elements.append(value);
          n++;
          return true;
        });
    if (!s.ok()) return s;
  }
  PutVarint(&out, n);
  out.append(elements);
  out.push_back(static_cast<char>(kRdbVersion & 0xff));
  out.push_back(static_cast<char>(kRdbVersion >> 8));
  uint64_t crc = Crc64(0, out);
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>((crc >> (8 * i)) & 0xff));
  return out;
}

bool VerifyFooter(std::string_view payload) {
  if (payload.size() < kFooter) return false;
  const std::string_view footer = payload.substr(payload.size() - kFooter);
  const uint16_t rdbver = static_cast<uint16_t>(static_cast<uint8_t>(footer[0]) |
                                                (static_cast<uint8_t>(footer[1]) << 8));
  if (rdbver > kRdbVersion) return false;
  const uint64_t crc = Crc64(0, payload.substr(0, payload.size() - 8));
  for (int i = 0; i < 8; ++i) {
    if (static_cast<uint8_t>(footer[2 + i]) != ((crc >> (8 * i)) & 0xff)) return false;
  }
  return true;
}

Status Restore(Txn& txn, std::string_view key, std::string_view payload, int64_t expire_at_ms) {
  // Parse and check everything before anything is written.
  std::string_view in = payload.substr(0, payload.size() - kFooter);
  if (in.size() < 2 || in[0] != kMagic || in[1] != kFormat1) return BadFormat();
  in.remove_prefix(2);
  std::string_view record;
  Meta meta;
  if (!GetBytes(&in, &record) || !encoding::DecodeMeta(record, &meta)) return BadFormat();
  uint64_t n;
  if (!GetVarint(&in, &n)) return BadFormat();
  std::vector<std::pair<std::string_view, std::string_view>> elements;
  elements.reserve(std::min<uint64_t>(n, 1 << 16));
  for (uint64_t i = 0; i < n; ++i) {
    std::string_view sub, value;
    if (!GetBytes(&in, &sub) || !GetBytes(&in, &value)) return BadFormat();
    // DUMP writes elements in sub-key order: a repeated or out-of-order sub-key is a
    // forged payload (a repeated one would leave the count above the elements stored).
    if (!elements.empty() && sub <= elements.back().first) return BadFormat();
    elements.emplace_back(sub, value);
  }
  if (!in.empty()) return BadFormat();
  switch (meta.type) {
    case KeyType::kString:
      if (n != 0) return BadFormat();
      break;
    case KeyType::kList:
      if (meta.size() == 0 || n != meta.size()) return BadFormat();
      for (uint64_t i = 0; i < n; ++i) {
        if (elements[i].first != encoding::ListSubKey(meta.head + i)) return BadFormat();
      }
      break;
    case KeyType::kHash:
      if (meta.count == 0 || n != meta.count) return BadFormat();
      break;
    case KeyType::kSet:  // members are sub-keys with empty values
      if (meta.count == 0 || n != meta.count) return BadFormat();
      for (const auto& e : elements) {
        if (!e.second.empty()) return BadFormat();
      }
      break;
    case KeyType::kZSet:  // a member record and a score-index record per member
      if (meta.count == 0 || !zsets::ValidDumpRecords(elements, meta.count)) return BadFormat();
      break;
    case KeyType::kStream:
      break;
    default:
      return BadFormat();
  }

  auto old = txn.GetMeta(key);
  if (!old.ok() && !old.status().IsNotFound()) return old.status();
  if (old.ok()) txn.DeleteKey(key);
  if (expire_at_ms != 0 && expire_at_ms <= txn.now_ms()) {
    if (old.ok()) txn.Notify(key, "del");
    return Status::OK();
  }
  meta.expire_at_ms = expire_at_ms;
  if (IsCollection(meta.type)) {
    meta.version = txn.NewVersion();
    for (const auto& [sub, value] : elements) txn.PutElement(key, meta.version, sub, value);
    if (meta.type == KeyType::kZSet) {
      Status s = zsets::FinishRestore(txn, key, &meta);
      if (!s.ok()) return s;
    }
  }
  txn.PutMeta(key, meta);
  txn.Notify(key, "restore");
  return Status::OK();
}

}  // namespace redge::store::dump
