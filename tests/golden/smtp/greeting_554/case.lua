-- Golden: a 554 greeting puts the session in state rejected; QUIT is still answered with 221.
case {
  id = "smtp.golden.greeting_554",
  title = "after a 554 greeting the server still answers QUIT",
  rfc = "RFC 5321 3.1",
  level = "MUST",
  proto = "smtp",
  run = function(t)
    local c = t:connect()
    t:expect(c.greeting, "554", "the server refuses service in its greeting")
    t:check(c.state == "rejected", "in state rejected (state: " .. tostring(c.state) .. ")")
    t:expect(c:cmd("QUIT"), "221", "QUIT is answered with 221")
    c:close()
  end,
}
