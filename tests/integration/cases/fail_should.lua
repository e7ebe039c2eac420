-- A case that fails a SHOULD-level assertion on purpose: exit 0, or 1 with --strict.
case {
  id = "it.fail.should",
  title = "Deliberate SHOULD-level failure (exit status test)",
  rfc = "RFC 5321 4.2",
  level = "SHOULD",
  proto = "smtp",
  run = function(t)
    local c = t:connect()
    t:expect(c.greeting, "554", "deliberately expects a 554 greeting from a working server")
    c:cmd("QUIT")
  end,
}
