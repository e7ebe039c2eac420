-- bare-lf: every reply line ends in LF without CR: a syntax FAIL (RFC 5321 2.3.8).
-- Served by tests/hostile/hostile_server.c --mode bare-lf; see tests/hostile/run_hostile.sh.
case {
  id = "hostile.bare_lf",
  title = "replies ending in bare LF",
  rfc = "RFC 5321 2.3.8",
  level = "MUST",
  proto = "smtp",
  run = function(t)
    local c = t:connect() -- reads the greeting; raises (ERROR) when it cannot be read
    -- a failed read ends the case: the script cannot go on (ERROR, docs/SCRIPTING.md)
    t:expect(assert(c:cmd("EHLO hostile.test")), "250", "EHLO is accepted")
    t:expect(assert(c:cmd("QUIT")), "221", "QUIT is answered with 221")
    c:close()
  end,
}
