-- binary-lines: random bytes forever with LFs: every reply is framed and judged, a syntax FAIL
-- (RFC 5321 4.2).
-- Served by tests/hostile/hostile_server.c --mode binary-lines; see tests/hostile/run_hostile.sh.
case {
  id = "hostile.binary_lines",
  title = "random binary lines",
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
