-- Golden: a script that throws is an ERROR for its case only; the next case in the same file
-- runs and gets its own verdict.
case {
  id = "smtp.golden.script_error.boom",
  title = "a script error ends this case in ERROR",
  rfc = "RFC 5321 4.3.1",
  level = "MUST",
  proto = "smtp",
  run = function(t)
    local c = t:connect()
    t:expect(c.greeting, "220", "the greeting is 220")
    error("boom")
  end,
}

case {
  id = "smtp.golden.script_error.after",
  title = "the next case still runs",
  rfc = "RFC 5321 4.3.2",
  level = "MUST",
  proto = "smtp",
  run = function(t)
    local c = t:connect()
    t:expect(c:cmd("EHLO golden.test"), "250", "EHLO is accepted")
    t:expect(c:cmd("QUIT"), "221", "QUIT is answered with 221")
    c:close()
  end,
}
