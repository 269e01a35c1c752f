// Cursor paging over the elements of one collection (HSCAN, SSCAN; usable for ZSCAN),
// shared by the type modules.
//
// Cursor scheme: 0 starts at the first element; a page that stops early saves the sub-key
// of the next element it did not look at in the store's SCAN cursor table (the one SCAN
// uses) and returns that entry's number as the cursor. A later call resumes at that
// sub-key, so every element present for the whole iteration is returned exactly once in
// sub-key order, whatever is added or removed meanwhile (elements added behind the
// cursor are not returned, ones added ahead are). (The type modules answer a collection
// Redis would keep compact in one page whatever the cursor, as Redis does; one that
// shrinks to that size mid-iteration is then returned whole once more.) The saved entry also names
// the database and key; a cursor that is unknown, evicted (the table keeps the latest 10000 pages)
// or saved by another key ends the iteration (reply cursor 0, no elements) rather than restarting
// it, so a client can never loop forever.
//
// Thread-safety: call only inside Store::Exec / Store::Run.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "store/status.h"
#include "store/txn.h"

namespace redge::store {

struct ElementScanPage {
  uint64_t next_cursor = 0;
  // (sub without the namespace, value) in sub-key order, MATCH applied.
  std::vector<std::pair<std::string, std::string>> items;
};

// One page of the elements of (key, version) whose sub starts with `ns`: looks at up to
// `count` elements (>= 1) from `cursor` and keeps those whose sub matches the glob
// `pattern` ("" = all).
Result<ElementScanPage> ScanElementPage(Txn& txn, std::string_view key, uint64_t version,
                                        std::string_view ns, uint64_t cursor,
                                        std::string_view pattern, uint64_t count);

}  // namespace redge::store
