-- Golden: a case that requires a capability the server does not advertise is a SKIP.
case {
  id = "smtp.golden.skip_missing_capability",
  title = "BDAT needs CHUNKING",
  rfc = "RFC 3030 2",
  level = "MUST",
  proto = "smtp",
  requires = "CHUNKING",
  run = function(t)
    local c = t:connect()
    t:expect(c:cmd("EHLO golden.test"), "250", "EHLO is accepted")
    c:close()
  end,
}
