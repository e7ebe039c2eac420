-- POP3 SASL AUTH (RFC 5034) with PLAIN (RFC 4616), LOGIN, CRAM-MD5 (RFC 2195) and SCRAM
-- (RFC 5802), and APOP (RFC 1939 7). Mechanisms are used only when the connection's CAPA lists
-- them; MD5, HMAC and SCRAM come from mh.crypto (self-tested before use).
local base64 = require("mh.base64")
local pop3 = require("mh.pop3")
local util = require("mh.util")

-- sasl_conn(t, mech) -> conn, mechs. A connection whose CAPA lists the SASL mechanism mech (any
-- mechanism when mech is nil); skips otherwise.
local function sasl_conn(t, mech)
  util.need_credentials(t)
  local conn = t:connect()
  local _, tags = pop3.capa(conn)
  local mechs = pop3.mechanisms(tags)
  if mech and not mechs[mech] then
    pop3.quit(conn)
    t:skip("the SASL capability does not list " .. mech .. " on this connection (" ..
      tostring(tags.SASL) .. ")")
  end
  if not mech and next(mechs) == nil then
    pop3.quit(conn)
    t:skip("the SASL capability lists no mechanism on this connection")
  end
  return conn, mechs
end

-- A mechanism to start and abandon: PLAIN if listed, else the first one listed.
local function any_mech(mechs)
  if mechs.PLAIN then return "PLAIN" end
  local names = {}
  for m in pairs(mechs) do names[#names + 1] = m end
  table.sort(names)
  return names[1]
end

-- Sends "AUTH mech" and expects the exchange to start with "+"; skips the case otherwise (after
-- checking that the reply is "+" or -ERR).
local function start_exchange(t, conn, mech)
  local c = pop3.auth_cmd(conn, "AUTH " .. mech)
  if not (c and c.status == "+") then
    t:expect(c, { "+", "-ERR" }, "AUTH " .. mech .. " gets a challenge or -ERR")
    if not conn:closed() then pop3.quit(conn) end
    t:skip("AUTH " .. mech .. " started no exchange: " .. tostring(c and c.raw))
  end
end

-- Checks that STAT gets -ERR: the session is still in AUTHORIZATION.
local function still_authorization(t, conn)
  t:expect(conn:cmd("STAT"), "-ERR", "STAT afterwards gets -ERR: still AUTHORIZATION",
    { rfc = "RFC 1939 3" })
end

-- Checks that the session is in the TRANSACTION state after a successful AUTH.
local function in_transaction(t, conn, what)
  local n, _, r = pop3.stat(conn)
  t:check(n ~= nil, "STAT works after " .. what .. ": the session is in TRANSACTION",
    { rfc = "RFC 5034 4", received = r and r.raw or "no reply", expected = "+OK nn mm" })
end

case {
  id = "pop3.auth.plain",
  title = "AUTH PLAIN with an initial response logs in",
  rfc = "RFC 5034 4",
  level = "MUST",
  requires = "SASL",
  run = function(t)
    local conn = sasl_conn(t, "PLAIN")
    -- "The optional initial-response argument to the AUTH command is used to save a round trip
    -- when using authentication mechanisms that support an initial client response." ... "Should
    -- the client successfully complete the exchange, the server issues a +OK reply.
    -- Additionally, upon success, the POP3 session enters the TRANSACTION state."
    -- RFC 4616 2: message = [authzid] UTF8NUL authcid UTF8NUL passwd
    local _, ok = t:expect(pop3.auth_plain(conn, t.user, t.password), "+OK",
      "AUTH PLAIN <initial response> gets +OK")
    if ok then in_transaction(t, conn, "AUTH PLAIN") end
    pop3.quit(conn)
  end,
}

case {
  id = "pop3.auth.plain-empty-challenge",
  title = "AUTH PLAIN without an initial response gets an empty \"+ \" challenge, then logs in",
  rfc = "RFC 5034 4",
  level = "MUST",
  requires = "SASL",
  run = function(t)
    local conn = sasl_conn(t, "PLAIN")
    local c, err = pop3.auth_cmd(conn, "AUTH PLAIN")
    -- "If the initial response argument is omitted and the chosen mechanism requires an initial
    -- client response, the server MUST proceed by issuing an empty challenge ... In POP3, an
    -- empty server challenge is defined as a line with only a "+", followed by a single space.
    -- It MUST NOT contain any other data."
    local _, ok = t:expect(c, "+", "AUTH PLAIN without a response gets a \"+\" challenge")
    if not ok then
      if c and not conn:closed() then pop3.quit(conn) end
      return
    end
    t:check(c.raw == "+ \r\n", "the challenge is exactly \"+\" SP CRLF",
      { received = c.raw, expected = "+ \\r\\n" })
    local r = pop3.auth_cmd(conn, pop3.plain_response(t.user, t.password))
    local _, ok2 = t:expect(r, "+OK", "the PLAIN response after the challenge gets +OK")
    if ok2 then in_transaction(t, conn, "AUTH PLAIN") end
    pop3.quit(conn)
  end,
}

case {
  id = "pop3.auth.login",
  title = "AUTH LOGIN: two \"+\" challenges answered with user name and password, then +OK",
  rfc = "RFC 5034 4",
  level = "MUST",
  requires = "SASL",
  run = function(t)
    local conn = sasl_conn(t, "LOGIN")
    -- LOGIN (draft-murchison-sasl-login) asks for the user name and the password in two
    -- challenges. RFC 5034 4: "A server challenge is sent as a line consisting of a "+"
    -- character, followed by a single space and a string encoded using Base64" ... "Should the
    -- client successfully complete the exchange, the server issues a +OK reply."
    local r, challenges = pop3.auth_login(conn, t.user, t.password)
    t:check(challenges and #challenges == 2, "the server sends two challenges",
      { received = tostring(challenges and #challenges), expected = "2" })
    local _, ok = t:expect(r, "+OK", "AUTH LOGIN with the right password gets +OK")
    if ok then in_transaction(t, conn, "AUTH LOGIN") end
    pop3.quit(conn)
  end,
}

case {
  id = "pop3.auth.cram-md5",
  title = "AUTH CRAM-MD5: a msg-id challenge, the HMAC-MD5 response logs in",
  rfc = "RFC 2195 2",
  level = "MUST",
  requires = "SASL",
  run = function(t)
    local conn = sasl_conn(t, "CRAM-MD5")
    local r, challenge = pop3.auth_cram_md5(conn, t.user, t.password)
    -- "The data encoded in the first ready response contains an presumptively arbitrary string
    -- of random digits, a timestamp, and the fully-qualified primary host name of the server.
    -- The syntax of the unencoded form must correspond to that of an RFC 822 'msg-id'"
    t:expect_match(challenge, "^<[^<>]+@[^<>]+>$", "the decoded challenge has the msg-id form <...@...>")
    -- "If the digest is correct, the server should consider the client authenticated and
    -- respond appropriately." RFC 5034 4: "Should the client successfully complete the
    -- exchange, the server issues a +OK reply."
    local _, ok = t:expect(r, "+OK", "the keyed-MD5 digest of the right secret gets +OK",
      { rfc = "RFC 5034 4" })
    if ok then in_transaction(t, conn, "AUTH CRAM-MD5") end
    pop3.quit(conn)
  end,
}

case {
  id = "pop3.auth.scram",
  title = "AUTH SCRAM-SHA-256 (or SCRAM-SHA-1): the proof logs in and the server signature verifies",
  rfc = "RFC 5802 5",
  level = "MUST",
  requires = "SASL",
  run = function(t)
    local conn, mechs = sasl_conn(t)
    local hash = mechs["SCRAM-SHA-256"] and "sha256" or (mechs["SCRAM-SHA-1"] and "sha1")
    if not hash then
      pop3.quit(conn)
      t:skip("the SASL capability lists neither SCRAM-SHA-256 nor SCRAM-SHA-1")
    end
    if t.user:find("[,=]") or t.user:find("[\128-\255]") then
      pop3.quit(conn)
      t:skip("the user name needs SASLprep or =2C/=3D escaping, which this case does not do")
    end
    local r, info = pop3.auth_scram(conn, t.user, t.password, hash, t:random_hex(12))
    if info and info.error then t:log("SCRAM: " .. info.error) end
    -- 5: "The server verifies the nonce and the proof ... and, finally, it responds with a
    -- "server-final-message", concluding the authentication exchange." RFC 5034 4: "Should the
    -- client successfully complete the exchange, the server issues a +OK reply."
    local _, ok = t:expect(r, "+OK", "the SCRAM exchange with the right password ends in +OK",
      { rfc = "RFC 5034 4" })
    if info and info.server_final then
      -- "The client then authenticates the server by computing the ServerSignature and
      -- comparing it to the value sent by the server. If the two are different, the client MUST
      -- consider the authentication exchange to be unsuccessful"
      t:check(info.server_signature_ok, "the server-final-message carries the right ServerSignature",
        { received = info.server_final, expected = "v=<base64 ServerSignature>" })
    elseif ok then
      t:check(false, "the server sent a server-final-message before +OK",
        { received = r.raw, expected = "+ <base64 v=...>, then +OK after an empty response" })
    end
    if ok then in_transaction(t, conn, "AUTH SCRAM") end
    pop3.quit(conn)
  end,
}

case {
  id = "pop3.auth.lowercase-mechanism",
  title = "\"auth plain\" in lower case logs in: AUTH and mechanism names are case-insensitive",
  rfc = "RFC 5034 5",
  level = "MUST",
  requires = "SASL",
  run = function(t)
    local conn = sasl_conn(t, "PLAIN")
    -- "Except as noted otherwise, all alphabetic characters are case-insensitive. ...
    -- Implementations MUST accept these strings in a case-insensitive fashion."
    local r = pop3.auth_cmd(conn, "auth plain " .. pop3.plain_response(t.user, t.password))
    local _, ok = t:expect(r, "+OK", "\"auth plain <initial response>\" gets +OK")
    if ok then in_transaction(t, conn, "auth plain") end
    pop3.quit(conn)
  end,
}

case {
  id = "pop3.auth.cancel",
  title = "\"*\" cancels an AUTH exchange with -ERR; the session stays in AUTHORIZATION",
  rfc = "RFC 5034 4",
  level = "MUST",
  requires = "SASL",
  run = function(t)
    local conn, mechs = sasl_conn(t)
    local mech = any_mech(mechs)
    start_exchange(t, conn, mech)
    -- "If the client wishes to cancel the authentication exchange, it issues a line with a
    -- single "*". If the server receives such a response, it MUST reject the AUTH command by
    -- sending an -ERR reply."
    t:expect(pop3.auth_cmd(conn, "*"), "-ERR", "\"*\" gets -ERR")
    if conn:closed() then return end
    -- "If an AUTH command fails, ... the server MUST behave as if the client had not issued the
    -- AUTH command."
    still_authorization(t, conn)
    local r = mechs.PLAIN and pop3.auth_plain(conn, t.user, t.password)
      or pop3.login_user_pass(conn, t.user, t.password)
    t:expect(r, "+OK", "a login after the cancelled exchange works")
    pop3.quit(conn)
  end,
}

case {
  id = "pop3.auth.unknown-mechanism",
  title = "AUTH with a mechanism the server does not support gets -ERR",
  rfc = "RFC 5034 4",
  level = "MUST",
  run = function(t)
    local conn = t:connect()
    -- "If the requested authentication mechanism is not supported, the server rejects the AUTH
    -- command with an -ERR reply." (Without the SASL capability AUTH itself is unimplemented:
    -- RFC 1939 3, -ERR as well.)
    t:expect(pop3.auth_cmd(conn, "AUTH X-MAILHARNESS-NONE"), "-ERR",
      "AUTH X-MAILHARNESS-NONE gets -ERR")
    if conn:closed() then return end
    still_authorization(t, conn)
    pop3.quit(conn)
  end,
}

case {
  id = "pop3.auth.bad-base64",
  title = "A SASL response that is not base64 (\"!!!!\", a pad inside \"AAA=BBBB\") gets -ERR",
  rfc = "RFC 5034 4",
  level = "MUST",
  requires = "SASL",
  run = function(t)
    local conn, mechs = sasl_conn(t)
    local mech = any_mech(mechs)
    start_exchange(t, conn, mech)
    -- "If the server cannot Base64 decode a client response, it MUST reject the AUTH command
    -- with an -ERR reply." ... "servers and clients MUST reject (and not ignore) any character
    -- not explicitly allowed by the Base64 alphabet, and MUST reject any sequence of Base64
    -- characters that contains the pad character ('=') anywhere other than the end of the string
    -- (e.g., "=AAA" and "AAA=BBB" are not allowed)."
    t:expect(pop3.auth_cmd(conn, "!!!!"), "-ERR", "the response \"!!!!\" gets -ERR")
    if conn:closed() then return end
    if mechs.PLAIN then
      t:expect(pop3.auth_cmd(conn, "AUTH PLAIN AAA=BBBB"), "-ERR",
        "the initial response \"AAA=BBBB\" gets -ERR")
      if conn:closed() then return end
    end
    still_authorization(t, conn)
    pop3.quit(conn)
  end,
}

case {
  id = "pop3.auth.bad-password",
  title = "AUTH PLAIN with a wrong password gets -ERR; a correct AUTH afterwards logs in",
  rfc = "RFC 5034 4",
  level = "MUST",
  requires = "SASL",
  run = function(t)
    local conn = sasl_conn(t, "PLAIN")
    -- "If the server is unable to authenticate the client, it MUST reject the AUTH command with
    -- an -ERR reply."
    t:expect(pop3.auth_plain(conn, t.user, "mailharness-wrong-" .. t:random_hex(6)), "-ERR",
      "AUTH PLAIN with a wrong password gets -ERR")
    -- RFC 1939 4: "After returning a negative status indicator, the server may close the
    -- connection."
    if conn:closed() then return end
    -- "If an AUTH command fails, the client may try another authentication mechanism or
    -- present different credentials by issuing another AUTH command ... Likewise, the server
    -- MUST behave as if the client had not issued the AUTH command."
    still_authorization(t, conn)
    local _, ok = t:expect(pop3.auth_plain(conn, t.user, t.password), "+OK",
      "AUTH PLAIN with the right password then gets +OK")
    if ok then in_transaction(t, conn, "AUTH PLAIN") end
    pop3.quit(conn)
  end,
}

case {
  id = "pop3.auth.twice",
  title = "AUTH after a successful AUTH gets -ERR and the session stays in TRANSACTION",
  rfc = "RFC 5034 4",
  level = "MUST",
  requires = "SASL",
  run = function(t)
    local conn = sasl_conn(t, "PLAIN")
    local r = pop3.auth_plain(conn, t.user, t.password)
    if not (r and r.class == "ok") then
      error("AUTH PLAIN login failed: " .. tostring(r and r.raw))
    end
    -- "After an AUTH command has been successfully completed, no more AUTH commands may be
    -- issued in the same session. After a successful AUTH command completes, a server MUST
    -- reject any further AUTH commands with an -ERR reply."
    t:expect(pop3.auth_plain(conn, t.user, t.password), "-ERR", "a second AUTH PLAIN gets -ERR")
    t:expect(conn:cmd("NOOP"), "+OK", "NOOP still gets +OK (TRANSACTION)", { rfc = "RFC 1939 5" })
    pop3.quit(conn)
  end,
}

case {
  id = "pop3.auth.initial-response-server-first",
  title = "AUTH CRAM-MD5 with an initial response (a server-first mechanism) gets -ERR",
  rfc = "RFC 5034 4",
  level = "MUST",
  requires = "SASL",
  run = function(t)
    local conn = sasl_conn(t, "CRAM-MD5")
    -- "If the client uses an initial-response argument to the AUTH command with a SASL mechanism
    -- that does not support an initial client send, the server MUST reject the AUTH command with
    -- an -ERR reply." CRAM-MD5 starts with the server's challenge (RFC 2195 2).
    local ir = base64.encode(t.user .. " " .. string.rep("0", 32))
    local r = pop3.auth_cmd(conn, "AUTH CRAM-MD5 " .. ir)
    if r and r.status == "+" then
      conn:cmd("*")
    end
    t:expect(r, "-ERR", "AUTH CRAM-MD5 <initial response> gets -ERR")
    if not conn:closed() then pop3.quit(conn) end
  end,
}

case {
  id = "pop3.auth.after-user",
  title = "AUTH after a successful USER: +OK enters TRANSACTION, -ERR leaves the session in AUTHORIZATION",
  rfc = "RFC 5034 4",
  level = "MUST",
  requires = "SASL",
  run = function(t)
    local conn = sasl_conn(t, "PLAIN")
    local u = conn:cmd("USER " .. t.user)
    if not (u and u.class == "ok") then
      pop3.quit(conn)
      t:skip("USER " .. t.user .. " is refused here: " .. tostring(u and u.raw))
    end
    -- RFC 1939 7 expects PASS or QUIT after USER; RFC 5034 4 allows AUTH "during the
    -- AUTHORIZATION state". Either reply is allowed; each has its consequence: "upon success,
    -- the POP3 session enters the TRANSACTION state"; after a failure "the server MUST behave as
    -- if the client had not issued the AUTH command".
    local r = pop3.auth_plain(conn, t.user, t.password)
    t:expect(r, { "+OK", "-ERR" }, "AUTH PLAIN after USER gets +OK or -ERR")
    if conn:closed() then return end
    if r and r.class == "ok" then
      in_transaction(t, conn, "AUTH PLAIN")
    else
      t:expect(conn:cmd("STAT"), "-ERR", "STAT after the refused AUTH gets -ERR: still AUTHORIZATION",
        { rfc = "RFC 1939 3" })
    end
    pop3.quit(conn)
  end,
}

case {
  id = "pop3.capa.sasl-after-auth",
  title = "CAPA after a successful AUTH still lists the SASL capability",
  rfc = "RFC 5034 3",
  level = "MUST",
  requires = "SASL",
  run = function(t)
    local conn = sasl_conn(t, "PLAIN")
    local r = pop3.auth_plain(conn, t.user, t.password)
    if not (r and r.class == "ok") then
      error("AUTH PLAIN login failed: " .. tostring(r and r.raw))
    end
    local c, tags = pop3.capa(conn)
    local _, ok = t:expect(c, "+OK", "CAPA after AUTH gets +OK", { rfc = "RFC 2449 5" })
    if ok then
      -- "as required by [RFC2449], implementations MUST continue to include the SASL capability
      -- even after a successful AUTH command has been completed (even though no further AUTH
      -- commands may be issued)."
      t:check(tags.SASL ~= nil, "the TRANSACTION-state CAPA still lists SASL",
        { received = c.raw, expected = "a SASL line" })
    end
    pop3.quit(conn)
  end,
}

-- APOP ----------------------------------------------------------------------------------------

case {
  id = "pop3.apop.no-timestamp",
  title = "Without a greeting timestamp, APOP gets -ERR (before and after USER)",
  rfc = "RFC 1939 7",
  level = "MUST",
  run = function(t)
    local conn = t:connect()
    if pop3.greeting_timestamp(conn.greeting) then
      pop3.quit(conn)
      t:skip("the greeting carries a timestamp: the server offers APOP")
    end
    -- 7: "A POP3 server which implements the APOP command will include a timestamp in its
    -- banner greeting." Without one APOP is unimplemented, and 3: "A server MUST respond to an
    -- unrecognized, unimplemented, or syntactically invalid command by responding with a
    -- negative status indicator."
    local user = t.user or "mailharness"
    local digest = string.rep("0", 32)
    t:expect(pop3.auth_cmd(conn, "APOP " .. user .. " " .. digest), "-ERR", "APOP gets -ERR")
    if conn:closed() then return end
    local u = conn:cmd("USER " .. user)
    if u and u.class == "ok" then
      t:expect(pop3.auth_cmd(conn, "APOP " .. user .. " " .. digest), "-ERR", "APOP after USER gets -ERR")
    end
    if not conn:closed() then pop3.quit(conn) end
  end,
}

case {
  id = "pop3.apop.login",
  title = "APOP with the MD5 digest of timestamp and secret logs in (or -ERR keeps AUTHORIZATION)",
  rfc = "RFC 1939 7",
  level = "MUST",
  run = function(t)
    util.need_credentials(t)
    local conn = t:connect()
    local ts = pop3.greeting_timestamp(conn.greeting)
    if not ts then
      pop3.quit(conn)
      t:skip("the greeting carries no <timestamp>: the server does not offer APOP")
    end
    -- "The `digest' parameter is calculated by applying the MD5 algorithm [RFC1321] to a string
    -- consisting of the timestamp (including angle-brackets) followed by a shared secret." ...
    -- "sent in hexadecimal format, using lower-case ASCII characters."
    local r = pop3.auth_cmd(conn, "APOP " .. t.user .. " " .. pop3.apop_digest(ts, t.password))
    t:expect(r, { "+OK", "-ERR" }, "APOP gets +OK or -ERR")
    if r and r.class == "ok" then
      -- "If the digest is correct, the POP3 server issues a positive response, and the POP3
      -- session enters the TRANSACTION state."
      local s = conn:cmd("STAT")
      t:expect_match(s and s.raw, "^%+OK %d+ %d+", "STAT works after APOP")
    elseif r and not conn:closed() then
      -- the APOP shared secret need not be the login password
      t:log("APOP refused: the shared secret for " .. t.user .. " may differ from the password")
      -- "Otherwise, a negative response is issued and the POP3 session remains in the
      -- AUTHORIZATION state."
      t:expect(conn:cmd("STAT"), "-ERR", "STAT after the refused APOP gets -ERR")
    end
    if not conn:closed() then pop3.quit(conn) end
  end,
}

case {
  id = "pop3.apop.bad-digest",
  title = "APOP with a wrong digest gets -ERR and the session remains in AUTHORIZATION",
  rfc = "RFC 1939 7",
  level = "MUST",
  run = function(t)
    local conn = t:connect()
    local ts = pop3.greeting_timestamp(conn.greeting)
    if not ts then
      pop3.quit(conn)
      t:skip("the greeting carries no <timestamp>: the server does not offer APOP")
    end
    local user = t.user or "mailharness"
    -- "If the digest is correct, the POP3 server issues a positive response ... Otherwise, a
    -- negative response is issued and the POP3 session remains in the AUTHORIZATION state."
    local wrong = pop3.apop_digest(ts, "mailharness-wrong-" .. t:random_hex(6))
    t:expect(pop3.auth_cmd(conn, "APOP " .. user .. " " .. wrong), "-ERR", "APOP with a wrong digest gets -ERR")
    if conn:closed() then return end
    t:expect(conn:cmd("STAT"), "-ERR", "STAT afterwards gets -ERR (still AUTHORIZATION)",
      { rfc = "RFC 1939 3" })
    pop3.quit(conn)
  end,
}
