-- IMAP LOGIN and STARTTLS (RFC 3501 6.2.1, 6.2.3; RFC 2595 3; RFC 9051 6.2.1).
local imap = require("mh.imap")
local util = require("mh.util")

case {
  id = "imap.login.good",
  title = "LOGIN with valid credentials: OK, authenticated; a second LOGIN is refused",
  rfc = "RFC 3501 6.2.3",
  level = "MUST",
  run = function(t)
    util.need_credentials(t)
    local conn = imap.ready_for_login(t, t:connect())
    -- "OK - login completed, now in authenticated state"
    local _, ok = t:expect(imap.login(conn, t.user, t.password), "OK", "LOGIN is accepted")
    if ok then
      -- 6.2: "Once authenticated (including as anonymous), it is not possible to re-enter not
      -- authenticated state." LOGIN is valid only in the not authenticated state.
      t:expect(imap.login(conn, t.user, t.password), { "BAD", "NO" },
        "LOGIN in the authenticated state is refused", { rfc = "RFC 3501 6.2" })
      t:expect(imap.examine(conn, "INBOX"), "OK", "EXAMINE INBOX works after LOGIN",
        { rfc = "RFC 3501 6.3.2" })
    end
    imap.logout(conn)
  end,
}

case {
  id = "imap.login.bad-password",
  title = "LOGIN with a wrong password gets NO and the session stays unauthenticated",
  rfc = "RFC 3501 6.2.3",
  level = "MUST",
  run = function(t)
    util.need_credentials(t)
    local conn = imap.ready_for_login(t, t:connect())
    -- "NO - login failure: user name or password rejected"
    local r = imap.login(conn, t.user, "mailharness-wrong-" .. t:random_hex(6))
    t:expect(r, "NO", "LOGIN with a wrong password gets NO")
    if r and not conn:closed() then
      t:expect(imap.select(conn, "INBOX"), { "BAD", "NO" },
        "SELECT afterwards is refused: still not authenticated", { rfc = "RFC 3501 6.2" })
      imap.logout(conn)
    end
  end,
}

case {
  id = "imap.starttls.capability-again",
  title = "STARTTLS: OK, handshake, CAPABILITY again; still not authenticated",
  rfc = "RFC 3501 6.2.1",
  level = "MUST",
  requires = "STARTTLS",
  run = function(t)
    local conn = util.plain_connect(t)
    -- "A [TLS] negotiation begins immediately after the CRLF at the end of the tagged OK response"
    local r = conn:imap("STARTTLS")
    local _, ok = t:expect(r, "OK", "STARTTLS completes with OK")
    if not ok then return end
    local tls, err = conn:starttls()
    t:check(tls, "the TLS handshake completes", { received = err })
    if not tls then return end
    -- "Once [TLS] has been started, the client MUST discard cached information about server
    -- capabilities and SHOULD re-issue the CAPABILITY command."
    local c = conn:imap("CAPABILITY")
    local _, cok = t:expect(c, "OK", "CAPABILITY under TLS completes with OK")
    if cok then
      local caps, line = imap.capability_set(c)
      t:check(caps.IMAP4REV1 or caps.IMAP4REV2, "CAPABILITY under TLS lists IMAP4rev1",
        { rfc = "RFC 3501 6.1.1", received = line })
      -- RFC 9051 6.2.1: "The server ... SHOULD NOT advertise the STARTTLS capability, after a
      -- successful STARTTLS command."
      t:check(not caps.STARTTLS, "STARTTLS is no longer advertised",
        { rfc = "RFC 9051 6.2.1", level = "SHOULD", received = line })
    end
    -- "The server remains in the non-authenticated state, even if client credentials are
    -- supplied during the [TLS] negotiation."
    t:expect(imap.select(conn, "INBOX"), { "BAD", "NO" },
      "SELECT after STARTTLS is refused: still not authenticated")
    if t.user and t.password then
      t:expect(imap.login(conn, t.user, t.password), "OK", "LOGIN under TLS is accepted",
        { rfc = "RFC 3501 6.2.3" })
    end
    imap.logout(conn)
  end,
}

case {
  id = "imap.starttls.injection",
  title = "A command pipelined after STARTTLS in plaintext is not executed after the handshake",
  rfc = "RFC 9051 6.2.1",
  level = "MUST",
  requires = "STARTTLS",
  run = function(t)
    local conn = util.plain_connect(t)
    -- "server implementations MUST do one of the following if any data is received in the same
    -- TCP buffer after the CRLF that starts the STARTTLS command: 1. Extra data from the TCP
    -- buffer is interpreted as the beginning of the TLS handshake. ... 2. Extra data from the
    -- TCP buffer is thrown away."
    local tag1, tag2 = conn:tag(), conn:tag()
    local ok, err = conn:send(tag1 .. " STARTTLS\r\n" .. tag2 .. " NOOP\r\n")
    if not ok then error("send failed: " .. tostring(err)) end
    local r = conn:read()
    local _, go = t:expect(r, "OK", "STARTTLS completes with OK", { rfc = "RFC 3501 6.2.1" })
    if not go then return end
    local tls, terr = conn:starttls()
    if not tls then
      t:check(true, "the handshake failed on the injected plaintext (option 1)", { received = terr })
      return
    end
    local n, perr = conn:poll(1500)
    if not n then error("poll failed: " .. tostring(perr)) end
    local early = n > 0 and conn:recv_raw() or nil
    t:check(early == nil, "nothing arrives inside TLS before the client speaks (option 2)",
      { received = early, expected = "no reply to the injected " .. tag2 .. " NOOP" })
    if early == nil then
      t:expect(conn:imap("NOOP"), "OK", "the TLS session works", { rfc = "RFC 3501 6.1.2" })
      imap.logout(conn)
    end
  end,
}
