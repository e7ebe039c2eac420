-- mixed-codes: EHLO answered "250-a" then "251 b": a syntax FAIL (RFC 5321 4.2.1).
-- Served by tests/hostile/hostile_server.c --mode mixed-codes; see tests/hostile/run_hostile.sh.
case {
  id = "hostile.mixed_codes",
  title = "a multi-line reply whose lines carry different codes",
  rfc = "RFC 5321 4.2.1",
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
