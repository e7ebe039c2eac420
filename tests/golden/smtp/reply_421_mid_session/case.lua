-- Golden: 421 in the middle of a session, then the server closes. 421 is permitted to any
-- command (specs/smtp.json "always", RFC 5321 3.8) and moves the session to closed.
case {
  id = "smtp.golden.reply_421",
  title = "421 mid-session closes the session",
  rfc = "RFC 5321 3.8",
  level = "MUST",
  proto = "smtp",
  run = function(t)
    local c = t:connect()
    t:expect(c:cmd("EHLO golden.test"), "250", "EHLO is accepted")
    t:expect(c:cmd("MAIL FROM:<sender@example.test>"), "421", "the server announces its shutdown")
    t:check(c.state == "closed", "the engine moved to closed after 421 (state: " ..
      tostring(c.state) .. ")")
    local r, err = c:cmd("RSET")
    t:check(r == nil, "no reply once the server has closed (" .. tostring(err) .. ")")
    t:check(c:closed(), "the connection is seen as closed")
    c:close()
  end,
}
