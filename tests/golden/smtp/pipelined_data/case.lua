-- Golden: a pipelined MAIL / RCPT / DATA, the message with a dot-stuffed line, and a final reply
-- split across two TCP segments.
case {
  id = "smtp.golden.pipelined_data",
  title = "a pipelined transaction is judged reply by reply",
  rfc = "RFC 2920 3.1",
  level = "MUST",
  proto = "smtp",
  requires = "PIPELINING",
  run = function(t)
    local c = t:connect()
    t:expect(c:cmd("EHLO golden.test"), "250", "EHLO is accepted")
    local rs, err = c:pipeline({ "MAIL FROM:<sender@example.test>", "RCPT TO:<rcpt@example.test>",
      "DATA" })
    t:check(rs ~= nil, "three replies to the pipelined commands (" .. tostring(err) .. ")")
    t:expect(rs and rs[1], "250", "MAIL is accepted")
    t:expect(rs and rs[2], "250", "RCPT is accepted")
    t:expect(rs and rs[3], "354", "DATA is accepted")
    t:check(c.state == "data", "in state data after 354 (state: " .. tostring(c.state) .. ")")
    assert(c:send("Subject: pipelined\r\n\r\n..a line that starts with a dot\r\n.\r\n"))
    local r = t:expect(c:read(), "250", "the message is accepted")
    t:check(r ~= nil and #r.lines == 2 and r.text == "2.0.0 as GOLDEN1",
      "the split final reply is read whole")
    t:check(c.state == "ready", "back in state ready (state: " .. tostring(c.state) .. ")")
    t:expect(c:cmd("QUIT"), "221", "QUIT is answered with 221")
    c:close()
  end,
}
