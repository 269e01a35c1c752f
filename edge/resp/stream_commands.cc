// The stream commands (XADD, XREAD, XREADGROUP, ...); store/streams.h has the semantics.
// Not implemented yet: the group registers no command, so clients get Redis's
// unknown-command error.
#include "edge/resp/command.h"

namespace redge::resp {

void RegisterStreamCommands() {}

}  // namespace redge::resp
