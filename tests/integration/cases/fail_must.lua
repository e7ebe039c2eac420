-- A case that fails a MUST-level assertion on purpose: the exit-code test expects status 1.
case {
  id = "it.fail.must",
  title = "Deliberate MUST-level failure (exit status test)",
  rfc = "RFC 5321 4.2",
  level = "MUST",
  proto = "smtp",
  run = function(t)
    local c = t:connect()
    t:expect(c.greeting, "554", "deliberately expects a 554 greeting from a working server")
    c:cmd("QUIT")
  end,
}
