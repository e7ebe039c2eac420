-- POP3 USER/PASS (RFC 1939 5, 7).
local pop3 = require("mh.pop3")
local util = require("mh.util")

case {
  id = "pop3.login.good",
  title = "USER/PASS with valid credentials: +OK, then TRANSACTION commands work",
  rfc = "RFC 1939 7",
  level = "MUST",
  run = function(t)
    util.need_credentials(t)
    local conn = t:connect()
    -- USER "+OK name is a valid mailbox"; PASS "+OK maildrop locked and ready"
    local r, _, u = pop3.login_user_pass(conn, t.user, t.password)
    t:expect(u, "+OK", "USER is accepted")
    local _, ok = t:expect(r, "+OK", "PASS with the right password is accepted")
    if ok then
      -- 4: "The POP3 session now enters the TRANSACTION state"
      t:expect(conn:cmd("STAT"), "+OK", "STAT works after login", { rfc = "RFC 1939 5" })
      -- 5: NOOP "The POP3 server does nothing, it merely replies with a positive response."
      t:expect(conn:cmd("NOOP"), "+OK", "NOOP gets +OK", { rfc = "RFC 1939 5" })
      -- 7: USER "may only be given in the AUTHORIZATION state"; 3: wrong state -> negative
      t:expect(conn:cmd("USER " .. t.user), "-ERR", "USER in the TRANSACTION state gets -ERR",
        { rfc = "RFC 1939 3" })
    end
    pop3.quit(conn)
  end,
}

case {
  id = "pop3.login.bad-password",
  title = "PASS with a wrong password gets -ERR and the session stays in AUTHORIZATION",
  rfc = "RFC 1939 7",
  level = "MUST",
  run = function(t)
    util.need_credentials(t)
    local conn = t:connect()
    -- PASS "-ERR invalid password"
    local r = pop3.login_user_pass(conn, t.user, "mailharness-wrong-" .. t:random_hex(6))
    t:expect(r, "-ERR", "PASS with a wrong password gets -ERR")
    -- 4: "After returning a negative status indicator, the server may close the connection."
    if r and not conn:closed() then
      t:expect(conn:cmd("STAT"), "-ERR", "STAT afterwards gets -ERR (still AUTHORIZATION)",
        { rfc = "RFC 1939 3" })
      pop3.quit(conn)
    end
  end,
}

case {
  id = "pop3.login.pass-without-user",
  title = "PASS without a preceding USER gets -ERR; a USER/PASS login still works afterwards",
  rfc = "RFC 1939 7",
  level = "MUST",
  run = function(t)
    util.need_credentials(t)
    local conn = t:connect()
    -- 7: PASS "may only be given in the AUTHORIZATION state immediately after a successful USER
    -- command"; 3: "A server MUST respond to a command issued when the session is in an
    -- incorrect state by responding with a negative status indicator."
    -- (not the real password: there is no USER it could belong to)
    t:expect(pop3.auth_cmd(conn, "PASS mailharness-no-user-" .. t:random_hex(4)), "-ERR",
      "PASS with no USER before it gets -ERR", { rfc = "RFC 1939 3" })
    -- 4: "After returning a negative status indicator, the server may close the connection."
    if conn:closed() then return end
    t:expect(conn:cmd("STAT"), "-ERR", "STAT afterwards gets -ERR (still AUTHORIZATION)",
      { rfc = "RFC 1939 3" })
    t:expect(pop3.login_user_pass(conn, t.user, t.password), "+OK", "USER then PASS logs in afterwards")
    pop3.quit(conn)
  end,
}

case {
  id = "pop3.login.user-twice",
  title = "A second USER gets +OK or -ERR, and USER/PASS still logs in after it",
  rfc = "RFC 1939 7",
  level = "MUST",
  run = function(t)
    util.need_credentials(t)
    local conn = t:connect()
    local u1 = conn:cmd("USER " .. t.user)
    if not (u1 and u1.class == "ok") then
      pop3.quit(conn)
      t:skip("USER " .. t.user .. " is refused here: " .. tostring(u1 and u1.raw))
    end
    -- USER "may only be given in the AUTHORIZATION state after the POP3 greeting or after an
    -- unsuccessful USER or PASS command": a second USER breaks that client rule, RFC 1939 does
    -- not say how the server answers it, so +OK and -ERR are both accepted (the session is
    -- still in the AUTHORIZATION state either way).
    local u2 = conn:cmd("USER " .. t.user)
    t:expect(u2, { "+OK", "-ERR" }, "the second USER gets +OK or -ERR")
    if conn:closed() then return end
    t:expect(conn:cmd("STAT"), "-ERR", "STAT gets -ERR: still AUTHORIZATION", { rfc = "RFC 1939 3" })
    local p
    if u2 and u2.class == "ok" then
      -- PASS "uses the argument pair from the USER and PASS commands": both USERs named t.user
      p = pop3.auth_cmd(conn, "PASS " .. t.password)
    else
      -- after an unsuccessful USER "the client may either issue a new authentication command"
      p = pop3.login_user_pass(conn, t.user, t.password)
    end
    t:expect(p, "+OK", "the login completes with the right password")
    pop3.quit(conn)
  end,
}
