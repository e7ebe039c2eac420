-- Golden: a failed SELECT leaves the session authenticated, so FETCH is out of state and the
-- server's BAD is what the RFC permits. The engine must track the state correctly.
case {
  id = "imap.golden.select_no_then_fetch_bad",
  title = "after a failed SELECT, FETCH is refused",
  rfc = "RFC 3501 6.3.1",
  level = "MUST",
  proto = "imap",
  run = function(t)
    local c = t:connect()
    t:expect(c:imap("LOGIN golden secret"), "OK", "LOGIN succeeds")
    t:check(c.state == "authenticated", "authenticated after LOGIN (state: " .. tostring(c.state) .. ")")
    t:expect(c:imap("SELECT nosuchbox"), "NO", "SELECT of a missing mailbox fails")
    t:check(c.state == "authenticated", "still authenticated after SELECT NO (state: " ..
      tostring(c.state) .. ")")
    t:expect(c:imap("FETCH 1 FLAGS"), { "BAD", "NO" }, "FETCH outside the selected state is refused")
    t:expect(c:imap("LOGOUT"), "OK", "LOGOUT completes")
    c:close()
  end,
}
