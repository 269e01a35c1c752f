// The set commands (SADD, SMEMBERS, ...); store/sets.h has the semantics.
// Not implemented yet: the group registers no command, so clients get Redis's
// unknown-command error.
#include "edge/resp/command.h"

namespace redge::resp {

void RegisterSetCommands() {}

}  // namespace redge::resp
