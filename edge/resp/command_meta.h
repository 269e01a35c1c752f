// What Redis 7.0 says about its commands in COMMAND INFO (generated table:
// edge/resp/command_meta_table.cc, tools/dev/gen_command_meta.py), and the key extraction
// Redis derives from it: COMMAND INFO, COMMAND LIST (FILTERBY ACLCAT/PATTERN/MODULE),
// COMMAND GETKEYS and GETKEYSANDFLAGS answer from it for the commands redge implements.
//
// Thread-safety: immutable after startup; safe from any thread.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "edge/resp/command.h"
#include "edge/resp/protocol.h"

namespace redge::resp {

// One key specification (Redis 7's begin_search + find_keys).
struct KeySpecMeta {
  enum Begin { kIndex, kKeyword, kBeginUnknown };
  enum Find { kRange, kKeynum, kFindUnknown };
  const char* notes;               // "" when none
  std::vector<const char*> flags;  // "RW", "access", ... in Redis's order
  Begin begin;
  int index;            // kIndex: the argument position
  const char* keyword;  // kKeyword: the keyword and where the search starts
  int startfrom;
  Find find;
  int lastkey, keystep, limit;  // kRange
  int keynumidx, firstkey;      // kKeynum (keystep shared)
  int incomplete;
};

struct CommandMeta {
  const char* name;  // "get", "client|list"
  int arity;
  std::vector<const char*> flags;
  int first_key, last_key, step;
  std::vector<const char*> acl_categories;  // "@write", ...
  std::vector<const char*> tips;
  std::vector<KeySpecMeta> key_specs;
  std::vector<const char*> subcommands;  // full names ("client|list"), in Redis's order
};

// The generated table (every Redis 7.0 command and subcommand).
const std::vector<CommandMeta>& RedisCommandMeta();
// The entry of `full_name` ("get", "client|list"; case-insensitive), nullptr if Redis has
// none.
const CommandMeta* FindCommandMeta(std::string_view full_name);
// Whether Redis flags the command (or `argv`'s subcommand) with `flag` ("may_replicate").
bool MetaHasFlag(const CommandSpec& spec, const std::vector<std::string>& argv,
                 std::string_view flag);

// The subcommands of `container` redge implements (full names, in the order Redis lists
// them): those its handler accepts.
std::vector<std::string> ImplementedSubcommands(const CommandSpec& container);

// COMMAND INFO's entry for `full_name` (a registered command or an implemented
// subcommand): Redis's metadata when it has some, redge's own otherwise. False if unknown.
bool WriteCommandInfo(ReplyWriter& reply, std::string_view full_name);

// COMMAND GETKEYS / GETKEYSANDFLAGS over `args` (the command and its arguments): the key
// positions in `args` and their flags, by Redis's rules (key specifications, else the
// command's own extraction). Returns the error line on failure ("" on success).
struct KeyRef {
  size_t pos;
  std::vector<const char*> flags;
};
std::string GetKeys(const std::vector<std::string>& args, std::vector<KeyRef>* keys);

}  // namespace redge::resp
