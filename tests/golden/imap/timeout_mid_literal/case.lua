-- Golden: a read that times out in the middle of a literal leaves the stream unframeable; what
-- arrives later must not be judged as the reply to the next command.
case {
  id = "imap.golden.timeout_mid_literal",
  title = "no judging after a timeout in the middle of a reply",
  rfc = "RFC 3501 4.3",
  level = "MUST",
  proto = "imap",
  run = function(t)
    local c = t:connect()
    local r, err = c:imap("NOOP", { timeout = 1000 })
    t:check(r == nil, "NOOP times out in the middle of the literal (" .. tostring(err) .. ")")
    local r2, err2 = c:imap("LOGOUT")
    t:log("LOGOUT after the timeout: " .. tostring(r2 and r2.status) .. " / " .. tostring(err2))
    if r2 then
      t:expect(r2, "OK", "LOGOUT completes")
    end
    c:close()
  end,
}
