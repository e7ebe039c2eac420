-- Golden: an untagged BYE followed by the close ends the session (state logout); the script
-- sees the BYE as the reply to the command the shutdown interrupted.
case {
  id = "imap.golden.bye_then_close",
  title = "an untagged BYE and a close end the session",
  rfc = "RFC 3501 7.1.5",
  level = "MUST",
  proto = "imap",
  run = function(t)
    local c = t:connect()
    t:expect(c:imap("LOGIN golden secret"), "OK", "LOGIN succeeds")
    local r, err = c:imap("NOOP")
    t:log("NOOP: " .. tostring(r and r.status) .. " / " .. tostring(err))
    t:expect(r, { "OK", "BYE" }, "NOOP completes, or the server says BYE and closes")
    t:check(c.state == "logout", "in state logout (state: " .. tostring(c.state) .. ")")
    c:close()
  end,
}
