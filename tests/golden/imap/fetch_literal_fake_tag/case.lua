-- Golden: a literal that contains a fake tagged completion must not end the reply.
case {
  id = "imap.golden.fetch_literal_fake_tag",
  title = "literal octets are data, not responses",
  rfc = "RFC 3501 4.3",
  level = "MUST",
  proto = "imap",
  run = function(t)
    local c = t:connect()
    t:expect(c:imap("LOGIN golden secret"), "OK", "LOGIN succeeds")
    t:expect(c:imap("SELECT INBOX"), "OK", "SELECT succeeds")
    t:check(c.state == "selected", "in state selected (state: " .. tostring(c.state) .. ")")
    local r = t:expect(c:imap("FETCH 1 BODY[]"), "OK", "FETCH completes")
    t:check(r ~= nil and r.text == "FETCH completed", "the reply ends at the real tagged line (text: " ..
      tostring(r and r.text) .. ")")
    t:check(r ~= nil and #r.lines == 2 and r.lines[1]:find("A0003 OK fake", 1, true) ~= nil,
      "the literal, fake line included, belongs to the FETCH response")
    t:expect(c:imap("LOGOUT"), "OK", "LOGOUT completes")
    c:close()
  end,
}
