-- POP3 STLS (RFC 2595 4): the upgrade, the state it leaves the session in, where it is refused,
-- and the plaintext-injection check (commands pipelined after STLS must not run under TLS).
local pop3 = require("mh.pop3")
local util = require("mh.util")

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

case {
  id = "pop3.stls.in-transaction",
  title = "STLS in the TRANSACTION state gets -ERR",
  rfc = "RFC 2595 4",
  level = "MUST",
  run = function(t)
    util.need_credentials(t)
    -- on a plain connection, so that only the state can be the reason for the refusal
    local conn = t.tls == "implicit" and t:connect() or util.plain_connect(t)
    local p = pop3.login_user_pass(conn, t.user, t.password)
    if not (p and p.class == "ok") then
      if not conn:closed() then pop3.quit(conn) end
      t:skip("USER/PASS is refused without TLS here: " .. tostring(p and p.raw))
    end
    -- "Restrictions: Only permitted in AUTHORIZATION state." RFC 1939 3: "A server MUST respond
    -- to a command issued when the session is in an incorrect state by responding with a
    -- negative status indicator."
    local r = conn:cmd("STLS")
    t:expect(r, "-ERR", "STLS after login gets -ERR")
    if r and r.class == "ok" then
      -- the server wants a handshake now; the session cannot go on in plaintext
      conn:close()
      return
    end
    t:expect(conn:cmd("NOOP"), "+OK", "NOOP afterwards gets +OK in plaintext", { rfc = "RFC 1939 5" })
    pop3.quit(conn)
  end,
}

case {
  id = "pop3.stls.injection",
  title = "A command sent in plaintext right after STLS is not executed after the TLS handshake",
  rfc = "RFC 2595 4",
  level = "MUST",
  requires = "STLS",
  run = function(t)
    local conn = util.plain_connect(t)
    -- "A TLS negotiation begins immediately after the CRLF at the end of the +OK response from
    -- the server." Bytes the client sent before the handshake are plaintext that an attacker
    -- could have inserted (9: "Any protocol interactions prior to the TLS handshake are
    -- performed in the clear and can be modified by a man-in-the-middle attacker"); a server
    -- that reads "CAPA" below as a command under TLS executes injected input (the
    -- CVE-2011-0411 class).
    local ok, err = conn:send("STLS\r\nCAPA\r\n")
    if not ok then error("send failed: " .. tostring(err)) end
    local r = conn:read()
    local _, go = t:expect(r, { "+OK", "-ERR" }, "STLS gets +OK or -ERR")
    if not go or r.class ~= "ok" then
      t:skip("STLS was refused: " .. tostring(r and r.raw))
    end
    -- nothing may follow the +OK in plaintext: the next bytes belong to the TLS handshake
    local plain = pop3.drain(conn, 300)
    t:check(plain == "", "no plaintext reply to the injected CAPA before the handshake",
      { received = plain, expected = "only the TLS handshake after +OK" })
    local tls, terr = conn:starttls()
    if not tls then
      -- refusing the handshake because of the stray bytes protects the client as well
      t:log("the TLS handshake did not complete (" .. tostring(terr) .. "): the injected bytes were not run under TLS")
      return
    end
    local late = pop3.drain(conn, 1000)
    t:check(late == "", "no reply to the injected CAPA arrives under TLS",
      { received = late, expected = "nothing until the client sends a command under TLS" })
    if late ~= "" then
      conn:close()
      return
    end
    local c = conn:cmd("NOOP")
    -- NOOP in AUTHORIZATION gets -ERR (RFC 1939 3): a +OK here would be the injected CAPA's reply
    t:expect(c, "-ERR", "the first command under TLS gets its own reply (NOOP in AUTHORIZATION: -ERR)",
      { rfc = "RFC 1939 3" })
    pop3.quit(conn)
  end,
}

case {
  id = "pop3.stls.after-user",
  title = "STLS after a successful USER gets +OK (and a handshake) or -ERR",
  rfc = "RFC 2595 4",
  level = "MUST",
  requires = "STLS",
  run = function(t)
    util.need_credentials(t)
    local conn = util.plain_connect(t)
    local u = conn:cmd("USER " .. t.user)
    if not (u and u.class == "ok") then
      if not conn:closed() then pop3.quit(conn) end
      t:skip("USER is refused without TLS here: " .. tostring(u and u.raw))
    end
    -- "Only permitted in AUTHORIZATION state": after USER the session is still in it, so the
    -- server may start TLS or refuse ("Possible Responses: +OK -ERR").
    local r = conn:cmd("STLS")
    t:expect(r, { "+OK", "-ERR" }, "STLS after USER gets +OK or -ERR")
    if r and r.class == "ok" then
      local tls, err = conn:starttls()
      t:check(tls, "the TLS handshake completes after the +OK", { received = err })
      if not tls then return end
      -- "the server remains in AUTHORIZATION state"
      t:expect(conn:cmd("STAT"), "-ERR", "STAT under TLS gets -ERR: still AUTHORIZATION",
        { rfc = "RFC 1939 3" })
    end
    if not conn:closed() then pop3.quit(conn) end
  end,
}

case {
  id = "pop3.stls.under-tls",
  title = "STLS when TLS is already active gets +OK or -ERR, and the session goes on after -ERR",
  rfc = "RFC 2595 4",
  level = "MUST",
  run = function(t)
    if t.tls == "none" then
      t:skip("the target URL uses no TLS (pop3s:// or ?starttls needed)")
    end
    local conn = t:connect()
    local _, tags = pop3.capa(conn)
    -- "A -ERR response MAY result if a security layer is already active." ... "The capability
    -- name "STLS" indicates this command is present and permitted in the current state."
    -- Unadvertised commands may still be accepted (RFC 1939 3: "There is no general method for
    -- a client to distinguish between a server which does not implement an optional command and
    -- a server which is unwilling or unable to process the command"), so both replies pass;
    -- after -ERR the session goes on under the existing TLS layer.
    local r = conn:cmd("STLS")
    t:expect(r, { "+OK", "-ERR" }, "STLS under TLS gets +OK or -ERR" ..
      (tags.STLS and " (STLS is still advertised)" or " (STLS is not advertised)"))
    if r and r.class ~= "ok" and not conn:closed() then
      t:expect(conn:cmd("CAPA"), { "+OK", "-ERR" }, "the session goes on after the refusal",
        { rfc = "RFC 2449 5" })
      if t.user then
        -- after a successful USER the session is still in AUTHORIZATION: the same two replies
        local u = conn:cmd("USER " .. t.user)
        if u and u.class == "ok" then
          r = conn:cmd("STLS")
          t:expect(r, { "+OK", "-ERR" }, "STLS under TLS after USER gets +OK or -ERR")
        end
      end
    end
    if r and r.class == "ok" then
      conn:close() -- a second handshake inside TLS is not something this case does
      return
    end
    if not conn:closed() then pop3.quit(conn) end
  end,
}
