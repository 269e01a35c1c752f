// The sorted-set commands (ZADD, ZRANGE, BZPOPMIN, ...); store/zsets.h has the semantics.
// Not implemented yet: the group registers no command, so clients get Redis's
// unknown-command error.
#include "edge/resp/command.h"

namespace redge::resp {

void RegisterZSetCommands() {}

}  // namespace redge::resp
