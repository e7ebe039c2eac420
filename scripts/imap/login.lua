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
      -- RFC 9051 6.2.1: "The server MAY advertise different capabilities and, in particular,
      -- SHOULD NOT advertise the STARTTLS capability, after a successful STARTTLS command."
      -- (IMAP4rev2 only: RFC 3501 6.2.1 just says "The server MAY advertise different
      -- capabilities after STARTTLS.")
      if imap.is_rev2(t, conn) then
        t:check(not caps.STARTTLS, "STARTTLS is no longer advertised",
          { rfc = "RFC 9051 6.2.1", level = "SHOULD", received = line })
      end
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

-- loopback(t): the target is on this host, so a password sent in clear stays on it.
local function loopback(t)
  local h = (t.host or ""):lower()
  return h == "localhost" or h == "::1" or h:match("^127%.") ~= nil
end

-- plain_caps(t): a connection without TLS (skips on implicit-TLS targets) and its capabilities.
local function plain_caps(t)
  local conn = util.plain_connect(t)
  if next(conn.caps) == nil then conn:capabilities() end
  return conn, conn.caps
end

-- ready_for_mech(t, conn, mech) -> conn: STARTTLS first when the mechanism is only offered under
-- TLS; skips when the server never offers it.
local function ready_for_mech(t, conn, mech)
  local want = "AUTH=" .. mech
  if next(conn.caps) == nil then conn:capabilities() end
  if not conn.caps[want] and conn.caps.STARTTLS and not conn.tls then
    local r, err = conn:tls_upgrade()
    if not r then error("STARTTLS failed: " .. tostring(err)) end
  end
  if not conn.caps[want] then t:skip("server does not advertise " .. want) end
  return conn
end

-- plain_response(t [, password]) -> base64 of "\0user\0password" (RFC 4616 2).
local function plain_response(t, password)
  return t.base64("\0" .. t.user .. "\0" .. (password or t.password))
end

case {
  id = "imap.login.logindisabled",
  title = "With LOGINDISABLED advertised, LOGIN gets NO and the session stays unauthenticated",
  rfc = "RFC 3501 7.2.1",
  level = "MUST",
  run = function(t)
    util.need_credentials(t)
    local conn, caps = plain_caps(t)
    if not caps.LOGINDISABLED then
      t:skip("server does not advertise LOGINDISABLED on this connection (e.g. loopback counts as secure)")
    end
    -- 7.2.1: "The LOGINDISABLED capability indicates that the LOGIN command is disabled, and that
    -- the server will respond with a tagged NO response to any attempt to use the LOGIN command
    -- even if the user name and password are valid." 6.2.3: a server "MUST implement a
    -- configuration in which it advertises the LOGINDISABLED capability and does NOT permit the
    -- LOGIN command". The real password is only sent in clear to a loopback target.
    local password = loopback(t) and t.password or ("mailharness-wrong-" .. t:random_hex(6))
    local r = imap.login(conn, t.user, password)
    t:expect(r, "NO", "LOGIN while LOGINDISABLED is advertised gets NO")
    if r and not conn:closed() then
      t:expect(imap.examine(conn, "INBOX"), { "BAD", "NO" }, "EXAMINE afterwards is refused: not authenticated",
        { rfc = "RFC 3501 3" })
      imap.logout(conn)
    end
  end,
}

case {
  id = "imap.login.literals",
  title = "LOGIN with user name and password as synchronizing literals",
  rfc = "RFC 3501 7.5",
  level = "MUST",
  run = function(t)
    util.need_credentials(t)
    local conn = imap.ready_for_login(t, t:connect())
    -- 7.5 example: "C: A001 LOGIN {11} / S: + Ready for additional command text / C: FRED FOOBAR
    -- {7} / S: + Ready for additional command text / C: fat man / S: A001 OK LOGIN completed"
    local tag = conn:tag()
    conn:send(tag .. " LOGIN {" .. #t.user .. "}\r\n")
    local c1 = conn:read()
    local _, ok1 = t:expect(c1, "+", "the first literal gets a \"+\" continuation")
    if not ok1 then return end
    conn:send(t.user .. " {" .. #t.password .. "}\r\n")
    local c2 = conn:read()
    local _, ok2 = t:expect(c2, "+", "the second literal gets a \"+\" continuation")
    if not ok2 then return end
    conn:send(t.password .. "\r\n")
    t:expect(conn:read({ timeout = imap.LOGIN_TIMEOUT }), "OK", "LOGIN with literals completes with OK", { rfc = "RFC 3501 6.2.3" })
    imap.logout(conn)
  end,
}

case {
  id = "imap.login.literal-plus",
  title = "LOGIN with non-synchronizing literals {n+}: no continuation, OK",
  rfc = "RFC 7888 3",
  level = "MUST",
  run = function(t)
    util.need_credentials(t)
    local conn = imap.ready_for_login(t, t:connect())
    if not (conn.caps["LITERAL+"] or conn.caps["LITERAL-"]) then
      t:skip("server does not advertise LITERAL+ or LITERAL-")
    end
    -- 3: "The server does not generate a command continuation request in response to a
    -- non-synchronizing literal" ... "the server MUST treat the specified number of following
    -- octets and the following line (as defined in [RFC3501]) as part of the same command."
    -- Example: "C: A001 LOGIN {11+} / C: FRED FOOBAR {7+} / C: fat man / S: A001 OK LOGIN
    -- completed". (LITERAL-: at most 4096 octets, far more than these.)
    local tag = conn:tag()
    conn:send(tag .. " LOGIN {" .. #t.user .. "+}\r\n" .. t.user .. " {" .. #t.password .. "+}\r\n"
      .. t.password .. "\r\n")
    local r = conn:read({ timeout = imap.LOGIN_TIMEOUT })
    t:check(r and r.status ~= "+", "no \"+\" continuation for a non-synchronizing literal",
      { received = r and r.raw, expected = tag .. " OK ..." })
    t:expect(r, "OK", "LOGIN with {n+} literals completes with OK", { rfc = "RFC 3501 6.2.3" })
    imap.logout(conn)
  end,
}

case {
  id = "imap.authenticate.plain",
  title = "AUTHENTICATE PLAIN: \"+\" challenge, base64 response, OK",
  rfc = "RFC 3501 6.2.2",
  level = "MUST",
  requires = "AUTH=PLAIN",
  run = function(t)
    util.need_credentials(t)
    local conn = ready_for_mech(t, t:connect(), "PLAIN")
    -- 6.2.2: "A server challenge consists of a command continuation request response with the
    -- "+" token followed by a BASE64 encoded string. The client response consists of a single
    -- line consisting of a BASE64 encoded string." RFC 4616 2: message = [authzid] UTF8NUL
    -- authcid UTF8NUL passwd.
    local tag = conn:tag()
    conn:send(tag .. " AUTHENTICATE PLAIN\r\n")
    local c = conn:read()
    local _, ok = t:expect(c, "+", "AUTHENTICATE PLAIN gets a \"+\" challenge")
    if not ok then return end
    conn:send(plain_response(t) .. "\r\n")
    -- "OK - authenticate completed, now in authenticated state"
    local _, aok = t:expect(conn:read({ timeout = imap.LOGIN_TIMEOUT }), "OK", "the PLAIN response is accepted with OK")
    if aok then
      t:expect(imap.examine(conn, "INBOX"), "OK", "EXAMINE INBOX works: authenticated",
        { rfc = "RFC 3501 6.3.2" })
    end
    imap.logout(conn)
  end,
}

case {
  id = "imap.authenticate.sasl-ir",
  title = "AUTHENTICATE PLAIN with an initial response (SASL-IR): OK without a challenge",
  rfc = "RFC 9051 6.2.2",
  level = "MUST",
  requires = "SASL-IR",
  run = function(t)
    util.need_credentials(t)
    local conn = ready_for_mech(t, t:connect(), "PLAIN")
    if not conn.caps["SASL-IR"] then t:skip("server does not advertise SASL-IR on this connection") end
    -- RFC 9051 6.2.2: "The AUTHENTICATE command supports the optional "initial response" feature
    -- defined in Section 4 of [SASL]." ... "As with any other client response, the initial
    -- response MUST be encoded as base64. It also MUST be transmitted outside of a quoted string
    -- or literal."
    local r = conn:imap("AUTHENTICATE PLAIN " .. plain_response(t), { timeout = imap.LOGIN_TIMEOUT })
    t:expect(r, "OK", "AUTHENTICATE PLAIN <initial response> completes with OK")
    if r and r.status == "OK" then
      t:expect(imap.examine(conn, "INBOX"), "OK", "EXAMINE INBOX works: authenticated",
        { rfc = "RFC 3501 6.3.2" })
    end
    imap.logout(conn)
  end,
}

case {
  id = "imap.authenticate.cancel",
  title = "AUTHENTICATE cancelled with \"*\" gets a tagged BAD; still not authenticated",
  rfc = "RFC 3501 6.2.2",
  level = "MUST",
  requires = "AUTH=PLAIN",
  run = function(t)
    local conn = t:connect()
    if next(conn.caps) == nil then conn:capabilities() end
    if not conn.caps["AUTH=PLAIN"] and conn.caps.STARTTLS and not conn.tls then conn:tls_upgrade() end
    local tag = conn:tag()
    conn:send(tag .. " AUTHENTICATE PLAIN\r\n")
    local c = conn:read()
    local _, ok = t:expect(c, "+", "AUTHENTICATE PLAIN gets a \"+\" challenge")
    if not ok then return end
    -- "If the client wishes to cancel an authentication exchange, it issues a line consisting of
    -- a single "*". If the server receives such a response, it MUST reject the AUTHENTICATE
    -- command by sending a tagged BAD response."
    conn:send("*\r\n")
    local r = conn:read()
    t:expect(r, "BAD", "the cancelled AUTHENTICATE gets a tagged BAD")
    t:check(r and r.tag == tag, "the BAD carries the AUTHENTICATE command's tag",
      { received = r and r.raw, expected = tag .. " BAD ..." })
    if r and not conn:closed() then
      t:expect(imap.examine(conn, "INBOX"), { "BAD", "NO" }, "EXAMINE afterwards is refused: not authenticated",
        { rfc = "RFC 3501 3" })
      imap.logout(conn)
    end
  end,
}

case {
  id = "imap.authenticate.unknown-mechanism",
  title = "AUTHENTICATE with a mechanism the server does not support gets NO",
  rfc = "RFC 3501 6.2.2",
  level = "SHOULD",
  run = function(t)
    local conn = t:connect()
    -- "If the requested authentication mechanism is not supported, the server SHOULD reject the
    -- AUTHENTICATE command by sending a tagged NO response."
    local r = conn:imap("AUTHENTICATE X-MAILHARNESS-UNKNOWN")
    if r and r.status == "+" then
      conn:send("*\r\n")
      conn:read()
    end
    t:expect(r, "NO", "AUTHENTICATE X-MAILHARNESS-UNKNOWN gets NO")
    if not conn:closed() then
      t:expect(conn:imap("NOOP"), "OK", "the session goes on", { rfc = "RFC 3501 6.1.2", level = "MUST" })
      imap.logout(conn)
    end
  end,
}

case {
  id = "imap.authenticate.bad-base64",
  title = "An AUTHENTICATE response that is not base64 is rejected (BAD in IMAP4rev2)",
  rfc = "RFC 9051 6.2.2",
  level = "MUST",
  requires = "AUTH=PLAIN",
  run = function(t)
    local conn = t:connect()
    if next(conn.caps) == nil then conn:capabilities() end
    if not conn.caps["AUTH=PLAIN"] and conn.caps.STARTTLS and not conn.tls then conn:tls_upgrade() end
    local tag = conn:tag()
    conn:send(tag .. " AUTHENTICATE PLAIN\r\n")
    local _, ok = t:expect(conn:read(), "+", "AUTHENTICATE PLAIN gets a \"+\" challenge",
      { rfc = "RFC 3501 6.2.2" })
    if not ok then return end
    conn:send("!!!mailharness-not-base64!!!\r\n")
    local r = conn:read({ timeout = imap.LOGIN_TIMEOUT })
    if imap.is_rev2(t, conn) then
      -- RFC 9051 6.2.2: "If the server receives such a response, or if it receives an invalid
      -- base64 string (e.g., characters outside the base64 alphabet or non-terminal "="), it
      -- MUST reject the AUTHENTICATE command by sending a tagged BAD response."
      t:expect(r, "BAD", "the invalid base64 response gets a tagged BAD")
    else
      -- RFC 3501 6.2.2 (IMAP4rev1) names no reply for this: "NO - authenticate failure ...
      -- credentials rejected", "BAD - command unknown or arguments invalid"; it must not succeed.
      t:expect(r, { "BAD", "NO" }, "the invalid base64 response is rejected (BAD or NO)",
        { rfc = "RFC 3501 6.2.2" })
    end
    if r and not conn:closed() then
      t:expect(imap.examine(conn, "INBOX"), { "BAD", "NO" }, "EXAMINE afterwards is refused: not authenticated",
        { rfc = "RFC 3501 3" })
      imap.logout(conn)
    end
  end,
}

case {
  id = "imap.authenticate.bad-credentials",
  title = "AUTHENTICATE PLAIN with a wrong password gets NO",
  rfc = "RFC 3501 6.2.2",
  level = "MUST",
  requires = "AUTH=PLAIN",
  run = function(t)
    util.need_credentials(t)
    local conn = ready_for_mech(t, t:connect(), "PLAIN")
    -- "NO - authenticate failure: unsupported authentication mechanism, credentials rejected"
    local tag = conn:tag()
    conn:send(tag .. " AUTHENTICATE PLAIN\r\n")
    local _, ok = t:expect(conn:read(), "+", "AUTHENTICATE PLAIN gets a \"+\" challenge")
    if not ok then return end
    conn:send(plain_response(t, "mailharness-wrong-" .. t:random_hex(6)) .. "\r\n")
    local r = conn:read({ timeout = imap.LOGIN_TIMEOUT })
    t:expect(r, "NO", "the wrong password is rejected with NO")
    if r and not conn:closed() then
      t:expect(imap.examine(conn, "INBOX"), { "BAD", "NO" }, "EXAMINE afterwards is refused: not authenticated",
        { rfc = "RFC 3501 3" })
      imap.logout(conn)
    end
  end,
}

case {
  id = "imap.starttls.under-tls",
  title = "STARTTLS on a connection that already uses TLS gets BAD",
  rfc = "RFC 9051 6.2.1",
  level = "MUST",
  run = function(t)
    local conn = t:connect()
    if not conn.tls then
      if next(conn.caps) == nil then conn:capabilities() end
      if not conn.caps.STARTTLS then t:skip("plaintext target without STARTTLS") end
      local r, err = conn:tls_upgrade()
      if not r then error("STARTTLS failed: " .. tostring(err)) end
    end
    -- RFC 9051 6.2.1: "BAD - STARTTLS received after a successful TLS negotiation or arguments
    -- invalid" ... "The server MUST always respond with a tagged BAD response when the STARTTLS
    -- command is received on an Implicit TLS port." (RFC 3501 6.2.1 lists only OK and BAD.)
    local r = conn:imap("STARTTLS")
    t:expect(r, "BAD", "STARTTLS under TLS gets BAD")
    if r and r.status == "OK" then
      conn:close() -- the server now expects a second handshake inside TLS
      return
    end
    t:expect(conn:imap("NOOP"), "OK", "the TLS session goes on", { rfc = "RFC 3501 6.1.2" })
    imap.logout(conn)
  end,
}

case {
  id = "imap.authenticate.cram-md5",
  title = "AUTHENTICATE CRAM-MD5: base64 msg-id challenge, HMAC-MD5 response, OK",
  rfc = "RFC 2195 2",
  level = "MUST",
  requires = "AUTH=CRAM-MD5",
  run = function(t)
    util.need_credentials(t)
    local crypto = require("mh.crypto")
    crypto.selftest({ quick = true })
    local conn = ready_for_mech(t, t:connect(), "CRAM-MD5")
    -- RFC 2195 2: "The data encoded in the first ready response contains an presumptively
    -- arbitrary string of random digits, a timestamp, and the fully-qualified primary host name
    -- of the server. The syntax of the unencoded form must correspond to that of an [RFC-822]
    -- 'msg-id'" ... "The client makes note of the data and then responds with a string
    -- consisting of the user name, a space, and a 'digest'."
    local tag = conn:tag()
    conn:send(tag .. " AUTHENTICATE CRAM-MD5\r\n")
    local c = conn:read()
    local _, ok = t:expect(c, "+", "AUTHENTICATE CRAM-MD5 gets a \"+\" challenge", { rfc = "RFC 3501 6.2.2" })
    if not ok then return end
    local challenge = t.unbase64(c.text)
    t:check(challenge ~= nil, "the challenge is base64", { rfc = "RFC 3501 6.2.2", received = c.text })
    if not challenge then
      conn:send("*\r\n")
      conn:read()
      return
    end
    t:check(challenge:match("^<.+>$") ~= nil, "the decoded challenge is an angle-bracketed msg-id",
      { received = challenge, expected = "<digits.timestamp@host>" })
    conn:send(t.base64(crypto.cram_md5_response(t.user, t.password, challenge)) .. "\r\n")
    t:expect(conn:read({ timeout = imap.LOGIN_TIMEOUT }), "OK", "the HMAC-MD5 response is accepted with OK",
      { rfc = "RFC 3501 6.2.2" })
    imap.logout(conn)
  end,
}

case {
  id = "imap.authenticate.scram-sha-256",
  title = "AUTHENTICATE SCRAM-SHA-256: the server proves itself (v=) and accepts the client proof",
  rfc = "RFC 5802 5",
  level = "MUST",
  requires = "AUTH=SCRAM-SHA-256",
  run = function(t)
    util.need_credentials(t)
    local crypto = require("mh.crypto")
    crypto.selftest() -- includes the RFC 7677 example exchange
    local conn = ready_for_mech(t, t:connect(), "SCRAM-SHA-256")
    local nonce = t.base64(t:random_hex(18)):gsub("[=,]", "")
    local first, bare = crypto.scram_client_first(t.user, nonce)
    local tag = conn:tag()
    -- RFC 3501 6.2.2: without an initial response the exchange starts with an (empty) "+"
    -- challenge; each client response is one base64 line.
    conn:send(tag .. " AUTHENTICATE SCRAM-SHA-256\r\n")
    local _, ok = t:expect(conn:read(), "+", "AUTHENTICATE SCRAM-SHA-256 gets a \"+\"", { rfc = "RFC 3501 6.2.2" })
    if not ok then return end
    conn:send(t.base64(first) .. "\r\n")
    local r = conn:read({ timeout = imap.LOGIN_TIMEOUT })
    _, ok = t:expect(r, "+", "the client-first-message gets the server-first-message", { rfc = "RFC 3501 6.2.2" })
    if not ok then return end
    local server_first = t.unbase64(r.text)
    -- RFC 5802 5.1: "r: ... the server MUST append to the client nonce"; s: the salt; i: the
    -- iteration count
    local final, ssig = nil, nil
    if server_first then final, ssig = crypto.scram_client_final(t.password, bare, server_first, nonce) end
    t:check(final ~= nil, "the server-first-message is well formed (r= extends our nonce, s=, i=)",
      { received = server_first or r.text, expected = "r=<client nonce><server nonce>,s=<salt>,i=<count>" })
    if not final then
      conn:send("*\r\n")
      conn:read()
      return
    end
    conn:send(t.base64(final) .. "\r\n")
    r = conn:read({ timeout = imap.LOGIN_TIMEOUT })
    _, ok = t:expect(r, "+", "the client proof gets the server-final-message in a \"+\"", { rfc = "RFC 3501 6.2.2" })
    if not ok then return end
    -- RFC 5802 3: "The client then authenticates the server by computing the ServerSignature and
    -- comparing it to the value sent by the server. If the two are different, the client MUST
    -- consider the authentication exchange to be unsuccessful"
    local v = crypto.parse_scram(t.unbase64(r.text) or "").v
    t:check(v ~= nil and v == t.base64(ssig), "the server signature (v=) is the one the password gives",
      { received = t.unbase64(r.text) or r.text, expected = "v=<ServerSignature>" })
    if v == nil or v ~= t.base64(ssig) then
      conn:send("*\r\n")
      conn:read()
      return
    end
    -- an empty client response acknowledges the server-final-message
    conn:send("\r\n")
    t:expect(conn:read({ timeout = imap.LOGIN_TIMEOUT }), "OK", "the empty response ends the exchange with OK",
      { rfc = "RFC 3501 6.2.2" })
    imap.logout(conn)
  end,
}
