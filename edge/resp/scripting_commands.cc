// The scripting: EVAL, EVALSHA, SCRIPT, FUNCTION, FCALL (Lua 5.1).
// Not implemented yet: the group registers no command, so clients get Redis's
// unknown-command error.
#include "edge/resp/command.h"

namespace redge::resp {

void RegisterScriptingCommands() {}

}  // namespace redge::resp
