-- reset: EHLO answered by half a multi-line reply, then RST; the read fails (ERROR).
-- Served by tests/hostile/hostile_server.c --mode reset; see tests/hostile/run_hostile.sh.
case {
  id = "hostile.reset",
  title = "half a reply, then a TCP reset",
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
