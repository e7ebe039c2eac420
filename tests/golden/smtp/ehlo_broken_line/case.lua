-- Golden: a multi-line EHLO reply with a control character in one line's text; the grammar
-- check must fail (RFC 5321 4.2) while the reply code itself is permitted.
case {
  id = "smtp.golden.ehlo_broken_line",
  title = "EHLO reply lines follow the reply grammar",
  rfc = "RFC 5321 4.2",
  level = "MUST",
  proto = "smtp",
  run = function(t)
    local c = t:connect()
    t:expect(c.greeting, "220", "the greeting is 220")
    t:expect(c:cmd("EHLO golden.test"), "250", "EHLO is accepted")
    t:expect(c:cmd("QUIT"), "221", "QUIT is answered with 221")
    c:close()
  end,
}
