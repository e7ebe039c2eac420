-- Cases limited to profiles, for check_cli.py (never run against a server: the target is closed).
local function nothing(t) end

case { id = "prof.any", title = "runs under every profile", rfc = "RFC 5321 4.1.1.1",
       level = "MUST", run = nothing }
case { id = "prof.mx", title = "MX only", rfc = "RFC 5321 4.1.1.1", level = "MUST",
       profile = "mx", run = nothing }
case { id = "prof.submission", title = "submission only", rfc = "RFC 6409 4", level = "MUST",
       profile = "submission", run = nothing }
case { id = "prof.both", title = "MX and submission", rfc = "RFC 5321 4.1.1.1", level = "MUST",
       profiles = { "mx", "submission" }, run = nothing }
