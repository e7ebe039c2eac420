-- Golden: a server that accepts RCPT before MAIL. The engine's table (specs/smtp.json, RCPT
-- "disallowed") must turn the 250 into a failed spec check citing RFC 5321 3.3.
case {
  id = "smtp.golden.rcpt_before_mail",
  title = "RCPT without a previous MAIL is refused with 503",
  rfc = "RFC 5321 3.3",
  level = "MUST",
  proto = "smtp",
  run = function(t)
    local c = t:connect()
    assert(c:cmd("EHLO golden.test"))
    assert(c:cmd("RCPT TO:<rcpt@example.test>")) -- judged by the engine, not by the script
    assert(c:cmd("QUIT"))
    c:close()
  end,
}
