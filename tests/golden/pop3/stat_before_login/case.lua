-- Golden: STAT before USER/PASS must get -ERR; the server answers +OK.
case {
  id = "pop3.golden.stat_before_login",
  title = "STAT in the AUTHORIZATION state is refused",
  rfc = "RFC 1939 3",
  level = "MUST",
  proto = "pop3",
  run = function(t)
    local c = t:connect()
    assert(c:cmd("STAT")) -- judged by the engine
    assert(c:cmd("QUIT"))
    c:close()
  end,
}
