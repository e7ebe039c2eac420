-- Golden: a multi-line RETR reply with byte-stuffed lines; reply.body holds the message with
-- the stuffing removed and without the terminating ".".
case {
  id = "pop3.golden.retr_byte_stuffing",
  title = "RETR returns the byte-stuffed message",
  rfc = "RFC 1939 3",
  level = "MUST",
  proto = "pop3",
  run = function(t)
    local c = t:connect()
    t:expect(c:cmd("USER golden"), "+OK", "USER is accepted")
    t:expect(c:cmd("PASS secret"), "+OK", "PASS is accepted")
    t:check(c.state == "transaction", "in the TRANSACTION state (state: " .. tostring(c.state) .. ")")
    local r = t:expect(c:cmd("RETR 1"), "+OK", "RETR 1 succeeds")
    local want = "Subject: stuffing\r\n\r\n.leading dot\r\n..two dots\r\nlast line\r\n"
    t:check(r ~= nil and r.body == want, "the body is un-byte-stuffed")
    t:log("RETR body: " .. tostring(r and r.body))
    t:expect(c:cmd("QUIT"), "+OK", "QUIT is answered")
    c:close()
  end,
}
