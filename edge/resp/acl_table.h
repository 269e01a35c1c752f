// The command table ACL rules are written against: every command and subcommand of Redis
// 7.0 with its ACL categories, the flags ACL checks depend on and its key specifications,
// generated from a real redis-server 7.0 by tools/dev/gen_acl_table.py (acl_table.cc).
//
// It is Redis's table, not redge's: rules written for Redis (`-geoadd`, `+@bitmap`,
// `+client|list`) are accepted as Redis accepts them, and ACL CAT lists what Redis lists.
// A unit test checks that every command redge implements has an entry.
//
// Thread-safety: constant data.
#pragma once

#include <cstddef>
#include <cstdint>

namespace redge::resp {

// ACL categories, in the order of Redis's ACL CAT (the order ACL rules are described in).
enum AclCategory : uint32_t {
  kAclKeyspace = 1u << 0,
  kAclRead = 1u << 1,
  kAclWrite = 1u << 2,
  kAclSet = 1u << 3,
  kAclSortedset = 1u << 4,
  kAclList = 1u << 5,
  kAclHash = 1u << 6,
  kAclString = 1u << 7,
  kAclBitmap = 1u << 8,
  kAclHyperloglog = 1u << 9,
  kAclGeo = 1u << 10,
  kAclStream = 1u << 11,
  kAclPubsub = 1u << 12,
  kAclAdmin = 1u << 13,
  kAclFast = 1u << 14,
  kAclSlow = 1u << 15,
  kAclBlocking = 1u << 16,
  kAclDangerous = 1u << 17,
  kAclConnection = 1u << 18,
  kAclTransaction = 1u << 19,
  kAclScripting = 1u << 20,
};
inline constexpr int kAclCategoryCount = 21;
extern const char* const kAclCategoryNames[kAclCategoryCount];

enum AclCommandFlag : uint32_t {
  kAclCmdNoAuth = 1u << 0,       // runs before AUTH; never refused by command rules
  kAclCmdMovablekeys = 1u << 1,  // key positions depend on the arguments
};

struct AclCommandInfo {
  const char* name;  // lower case; "parent|sub" for a subcommand
  int arity;
  uint32_t categories;  // AclCategory bits
  uint32_t flags;       // AclCommandFlag bits
  // Redis's key specifications, '|'-separated, each "FLAGS;BEGIN;FIND" (acl_keys.cc).
  const char* key_specs;
  bool container;  // has subcommands
};

extern const AclCommandInfo kAclCommands[];
extern const size_t kAclCommandCount;

}  // namespace redge::resp
