-- first-conn-endless: two cases against one server whose first case connection is an endless
-- greeting line and whose later connections behave. The first case ends in ERROR at the line
-- cap; the run goes on and the second case gets its own verdict (PASS).
-- Served by tests/hostile/hostile_server.c --mode first-conn-endless --normal-first 1.
case {
  id = "hostile.first_conn_endless.victim",
  title = "a greeting line that never ends (first connection only)",
  rfc = "RFC 5321 4.2",
  level = "MUST",
  proto = "smtp",
  run = function(t)
    local c = t:connect()
    -- a failed read ends the case: the script cannot go on (ERROR, docs/SCRIPTING.md)
    t:expect(assert(c:cmd("EHLO hostile.test")), "250", "EHLO is accepted")
    t:expect(assert(c:cmd("QUIT")), "221", "QUIT is answered with 221")
    c:close()
  end,
}

case {
  id = "hostile.first_conn_endless.next",
  title = "the next case runs against the now well-behaved server",
  rfc = "RFC 5321 4.3.2",
  level = "MUST",
  proto = "smtp",
  run = function(t)
    local c = t:connect()
    t:expect(c.greeting, "220", "the greeting is 220")
    -- a failed read ends the case: the script cannot go on (ERROR, docs/SCRIPTING.md)
    t:expect(assert(c:cmd("EHLO hostile.test")), "250", "EHLO is accepted")
    t:expect(assert(c:cmd("QUIT")), "221", "QUIT is answered with 221")
    c:close()
  end,
}
