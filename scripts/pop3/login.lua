-- POP3 USER/PASS and STLS (RFC 1939 5, 7; RFC 2595 4).
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
  id = "pop3.stls.capa-again",
  title = "STLS: +OK, handshake, CAPA again; the session stays in AUTHORIZATION",
  rfc = "RFC 2595 4",
  level = "MUST",
  requires = "STLS",
  run = function(t)
    local conn = util.plain_connect(t)
    -- "A TLS negotiation begins immediately after the CRLF at the end of the +OK response"
    local r = conn:cmd("STLS")
    local _, ok = t:expect(r, "+OK", "STLS gets +OK")
    if not ok then return end
    local tls, err = conn:starttls()
    t:check(tls, "the TLS handshake completes", { received = err })
    if not tls then return end
    -- "Once TLS has been started, the client MUST discard cached information about server
    -- capabilities and SHOULD re-issue the CAPA command."
    local c, tags = pop3.capa(conn)
    t:expect(c, "+OK", "CAPA under TLS gets +OK", { rfc = "RFC 2449 5" })
    -- "the server remains in AUTHORIZATION state, even if client credentials are supplied
    -- during the TLS negotiation"
    t:expect(conn:cmd("STAT"), "-ERR", "STAT after STLS gets -ERR: still AUTHORIZATION")
    if tags and tags.STLS then
      -- "The capability name "STLS" indicates this command is present and permitted in the
      -- current state." ... "A -ERR response MAY result if a security layer is already active."
      t:check(false, "STLS is not advertised once TLS is active",
        { level = "SHOULD", received = c.raw, expected = "no STLS tag after the upgrade" })
    end
    if t.user and t.password then
      t:expect(pop3.login_user_pass(conn, t.user, t.password), "+OK", "USER/PASS under TLS works",
        { rfc = "RFC 1939 7" })
    end
    pop3.quit(conn)
  end,
}
