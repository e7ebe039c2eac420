-- binary: random bytes forever, never an LF; the harness stops at its line cap (ERROR).
-- Served by tests/hostile/hostile_server.c --mode binary; see tests/hostile/run_hostile.sh.
case {
  id = "hostile.binary",
  title = "random binary bytes without any line end",
  rfc = "RFC 5321 4.2",
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
