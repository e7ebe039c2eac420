-- Golden: MAIL then RCPT, both accepted; every exchange is permitted by specs/smtp.json.
case {
  id = "smtp.golden.rcpt_after_mail",
  title = "RCPT after MAIL is accepted",
  rfc = "RFC 5321 4.1.1.3",
  level = "MUST",
  proto = "smtp",
  run = function(t)
    local c = t:connect()
    t:expect(c:cmd("EHLO golden.test"), "250", "EHLO is accepted")
    t:expect(c:cmd("MAIL FROM:<sender@example.test>"), "250", "MAIL is accepted")
    t:check(c.state == "mail", "the engine is in state mail after MAIL 250")
    t:expect(c:cmd("RCPT TO:<rcpt@example.test>"), "250", "RCPT is accepted")
    t:check(c.state == "rcpt", "the engine is in state rcpt after RCPT 250")
    t:expect(c:cmd("RSET"), "250", "RSET is accepted")
    t:expect(c:cmd("QUIT"), "221", "QUIT is answered with 221")
    c:close()
  end,
}
