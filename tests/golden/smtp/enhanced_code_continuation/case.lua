-- Golden: with ENHANCEDSTATUSCODES every line of a multi-line reply starts with the status
-- code; here the first line lacks it.
case {
  id = "smtp.golden.enhanced_code_continuation",
  title = "each line of a multi-line reply carries the enhanced status code",
  rfc = "RFC 2034 4",
  level = "MUST",
  proto = "smtp",
  requires = "ENHANCEDSTATUSCODES",
  run = function(t)
    local c = t:connect()
    t:expect(c:cmd("EHLO golden.test"), "250", "EHLO is accepted")
    t:expect(c:cmd("MAIL FROM:<sender@example.test>"), "250", "MAIL is accepted")
    t:expect(c:cmd("QUIT"), "221", "QUIT is answered with 221")
    c:close()
  end,
}
