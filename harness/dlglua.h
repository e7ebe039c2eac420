/* dlglua.h: turning a dialogue (a recorded seed or a fuzz finding) into a Lua suite case. */
#ifndef MH_DLGLUA_H
#define MH_DLGLUA_H

#include "dialogue.h"

/* Appends a case{} declaration (docs/FUZZING.md, "Turning a finding into a Lua test") that
   replays d byte for byte, expects each reply's recorded status, fails when a due reply does not
   come and checks that the server still accepts connections afterwards. The id is
   "<proto>.replay.<file's base name without .dlg>" with characters outside [A-Za-z0-9-] made '_'.
 */
void mh_dlglua_case(const struct mh_dialogue *d, const char *file, struct mh_buf *out);

#endif
