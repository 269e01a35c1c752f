#include "store/element_scan.h"

#include <optional>

#include "store/encoding.h"
#include "store/glob.h"

namespace redge::store {
namespace {

// Saved cursor entries: a tag naming the collection, then the sub-key to resume at. The
// marker keeps them apart from SCAN's entries (plain key names) in practice; the tag makes
// a cursor of another key end the iteration instead of resuming somewhere else.
std::string CursorTag(int db, std::string_view key) {
  std::string tag(
      "\x01"
      "elements:");
  tag.push_back(static_cast<char>(db));
  encoding::PutFixed64BE(&tag, key.size());
  tag.append(key);
  return tag;
}

}  // namespace

Result<ElementScanPage> ScanElementPage(Txn& txn, std::string_view key, uint64_t version,
                                        std::string_view ns, uint64_t cursor,
                                        std::string_view pattern, uint64_t count) {
  ElementScanPage page;
  std::string tag = CursorTag(txn.db(), key);
  std::string start(ns);
  if (cursor != 0) {
    std::optional<std::string> saved = txn.LookupScanCursor(cursor);
    if (!saved || saved->compare(0, tag.size(), tag) != 0) return page;
    start.append(saved->substr(tag.size()));
  }
  bool match_all = pattern.empty() || pattern == "*";
  uint64_t looked = 0;
  std::optional<std::string> resume;
  Status s =
      txn.ScanElements(key, version, start, [&](std::string_view sub, std::string_view value) {
        if (sub.substr(0, ns.size()) != ns) return false;
        std::string_view name = sub.substr(ns.size());
        if (looked == count) {
          resume.emplace(name);
          return false;
        }
        ++looked;
        if (match_all || GlobMatch(pattern, name)) page.items.emplace_back(name, value);
        return true;
      });
  if (!s.ok()) return s;
  if (resume) page.next_cursor = txn.SaveScanCursor(tag + *resume);
  return page;
}

}  // namespace redge::store
