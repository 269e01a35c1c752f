// Argument trees for COMMAND DOCS (what redis-cli 7 uses for its inline hints).
//
// Thread-safety: the syntax table is immutable after first use; both functions may be called
// from any thread.
#ifndef REDGE_EDGE_RESP_COMMAND_DOCS_H_
#define REDGE_EDGE_RESP_COMMAND_DOCS_H_

#include <string_view>

#include "edge/resp/command.h"
#include "edge/resp/protocol.h"

namespace redge::resp {

// Whether `command` (lower case) has documented arguments.
bool HasArgumentDocs(std::string_view command);
// Writes the "arguments" array of COMMAND DOCS for `command` (empty when undocumented).
void WriteArgumentDocs(ReplyWriter& writer, std::string_view command);

}  // namespace redge::resp

#endif  // REDGE_EDGE_RESP_COMMAND_DOCS_H_
