-- Golden: ENHANCEDSTATUSCODES advertised, then a 250 without an enhanced status code. The
-- engine's grammar check must fail, citing RFC 2034.
case {
  id = "smtp.golden.enhanced_code_missing",
  title = "replies carry enhanced status codes once ENHANCEDSTATUSCODES is advertised",
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
