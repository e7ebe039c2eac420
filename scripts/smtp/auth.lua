-- SMTP AUTH (RFC 4954): PLAIN, LOGIN, CRAM-MD5 (RFC 2195) and SCRAM-SHA-256 (RFC 5802,
-- RFC 7677) with good credentials, a wrong password, AUTH after success and inside a
-- transaction, cancellation, unknown mechanisms, undecodable and misplaced initial responses,
-- and the AUTH parameter of MAIL (RFC 4954 5).
local smtp = require("mh.smtp")
local util = require("mh.util")
local crypto = require("mh.crypto")

local A = smtp.AUTH -- { timeout = 30 s }: failed logins delay later ones (mh.smtp AUTH_TIMEOUT)

-- A session ready for AUTH: EHLO, and STARTTLS first when AUTH is only offered under TLS.
-- Needs credentials unless anonymous is true.
local function auth_session(t, anonymous)
  if not anonymous then util.need_credentials(t) end
  local conn = smtp.session(t)
  if not conn.caps.AUTH and conn.caps.STARTTLS and not conn.tls then
    local r, err = conn:tls_upgrade()
    if not r then error("STARTTLS before AUTH failed: " .. tostring(err)) end
  end
  if not conn.caps.AUTH then
    t:skip("the server does not offer AUTH on this connection")
  end
  return conn
end

local function need_mech(t, conn, mech)
  if not smtp.mechanisms(conn)[mech] then
    t:skip("AUTH " .. mech .. " is not offered (AUTH " .. (conn.caps.AUTH or "") .. ")")
  end
end

-- After a case made an authentication fail, a successful login (when credentials are given)
-- clears the delay some servers then put on every later login from the same address (Dovecot
-- behind Postfix: 2^n seconds, up to 15 s), so that neither the next case nor a suite running
-- beside this one inherits it: the case cleans up the state it caused.
local function clear_failure_delay(t, conn)
  if not t.user or not t.password or conn:closed() then return end
  if smtp.authenticate(t, conn) then
    t:log("logged in successfully after the failure, clearing the server's delay for later logins")
  end
end

-- The mechanism used where any one that takes a client response will do: PLAIN, else LOGIN.
local function some_mech(t, conn)
  local m = smtp.mechanisms(conn)
  if m.PLAIN then return "PLAIN" end
  if m.LOGIN then return "LOGIN" end
  t:skip("neither PLAIN nor LOGIN is offered (AUTH " .. (conn.caps.AUTH or "") .. ")")
end

-- Cases that end in a failed login come last, and each clears the delay it caused
-- (clear_failure_delay).

case {
  id = "smtp.auth.plain.good",
  title = "AUTH PLAIN with valid credentials gets 235; a second AUTH then gets 503",
  rfc = "RFC 4954 4",
  level = "MUST",
  requires = "AUTH",
  run = function(t)
    local conn = auth_session(t)
    need_mech(t, conn, "PLAIN")
    -- "Should the client successfully complete the exchange, the SMTP server issues a 235 reply."
    local _, ok = t:expect(smtp.login_plain(conn, t.user, t.password), "235",
      "AUTH PLAIN with valid credentials gets 235")
    if ok then
      -- "After a successful AUTH command completes, a server MUST reject any further AUTH
      -- commands with a 503 reply."
      t:expect(smtp.login_plain(conn, t.user, t.password), "503", "a second AUTH gets 503")
    end
    smtp.quit(conn)
  end,
}

case {
  id = "smtp.auth.plain.continuation",
  title = "AUTH PLAIN without an initial response gets an empty 334 challenge, then 235",
  rfc = "RFC 4954 4",
  level = "MUST",
  requires = "AUTH",
  run = function(t)
    local conn = auth_session(t)
    need_mech(t, conn, "PLAIN")
    -- "If the initial response argument is omitted and the chosen mechanism requires an initial
    -- client response, the server MUST proceed as defined in Section 5.1 of [SASL]. In SMTP, a
    -- server challenge that contains no data is defined as a 334 reply with no text part. Note
    -- that there is still a space following the reply code, so the complete response line is
    -- "334 "."
    local r = conn:cmd("AUTH PLAIN", A)
    local _, ok = t:expect(r, "334", "AUTH PLAIN without an initial response gets 334")
    if not ok then smtp.quit(conn) return end
    t:check(r.raw == "334 \r\n", "the empty challenge is exactly \"334 \" CRLF",
      { received = r.raw, expected = "334 SP CRLF" })
    t:expect(conn:cmd(t.base64("\0" .. t.user .. "\0" .. t.password), A), "235",
      "the PLAIN response completes the exchange: 235")
    smtp.quit(conn)
  end,
}

case {
  id = "smtp.auth.login.good",
  title = "AUTH LOGIN: two 334 challenges, then 235",
  rfc = "RFC 4954 4",
  level = "MUST",
  requires = "AUTH",
  run = function(t)
    local conn = auth_session(t)
    need_mech(t, conn, "LOGIN")
    -- "A server challenge is sent as a 334 reply with the text part containing the [BASE64]
    -- encoded string supplied by the SASL mechanism."
    local r = conn:cmd("AUTH LOGIN", A)
    local _, ok = t:expect(r, "334", "AUTH LOGIN gets a 334 challenge")
    if not ok then return end
    t:check(t.unbase64(r.text) ~= nil, "the challenge text is base64",
      { received = r.text, expected = "334 SP [base64]", rfc = "RFC 4954 8" })
    r = conn:cmd(t.base64(t.user), A)
    _, ok = t:expect(r, "334", "the user name is answered with the next 334 challenge")
    if not ok then return end
    t:expect(conn:cmd(t.base64(t.password), A), "235", "the password completes the exchange: 235")
    smtp.quit(conn)
  end,
}

case {
  id = "smtp.auth.cram-md5.good",
  title = "AUTH CRAM-MD5: a base64 challenge, the HMAC-MD5 response, then 235",
  rfc = "RFC 2195 2",
  level = "MUST",
  requires = "AUTH",
  run = function(t)
    crypto.selftest({ quick = true })
    local conn = auth_session(t)
    need_mech(t, conn, "CRAM-MD5")
    -- RFC 2195 2: "the data encoded in the first ready response contains an presumptively
    -- arbitrary string of random digits, a timestamp, and the fully-qualified primary host name
    -- of the server" ... "The client makes note of the data and then responds with a string
    -- consisting of the user name, a space, and a 'digest'. The latter is computed by applying
    -- the keyed MD5 algorithm from [KEYED-MD5] where the key is a shared secret and the digested
    -- text is the timestamp (including angle-brackets)." RFC 4954 4: "This challenge MUST NOT
    -- contain any text other than the BASE64 encoded challenge."
    local r = conn:cmd("AUTH CRAM-MD5", A)
    local _, ok = t:expect(r, "334", "AUTH CRAM-MD5 gets a 334 challenge", { rfc = "RFC 4954 4" })
    if not ok then smtp.quit(conn) return end
    local challenge = t.unbase64(r.text)
    t:check(challenge ~= nil, "the challenge is base64 and nothing else",
      { received = r.text, expected = "334 SP base64", rfc = "RFC 4954 4" })
    if not challenge then conn:cmd("*", A) smtp.quit(conn) return end
    t:check(challenge:match("^<.+>$") ~= nil, "the decoded challenge is an angle-bracketed msg-id",
      { received = challenge, expected = "<digits.timestamp@host>", level = "SHOULD" })
    local resp = crypto.cram_md5_response(t.user, t.password, challenge)
    t:expect(conn:cmd(t.base64(resp), A), "235", "the HMAC-MD5 response completes the exchange: 235",
      { rfc = "RFC 4954 4" })
    smtp.quit(conn)
  end,
}

case {
  id = "smtp.auth.scram-sha-256.good",
  title = "AUTH SCRAM-SHA-256: the server proves itself (v=) and accepts the client proof with 235",
  rfc = "RFC 5802 5",
  level = "MUST",
  requires = "AUTH",
  run = function(t)
    crypto.selftest() -- includes the RFC 7677 example exchange
    local conn = auth_session(t)
    need_mech(t, conn, "SCRAM-SHA-256")
    local nonce = t.base64(t:random_hex(18)):gsub("[=,]", "")
    local first, bare = crypto.scram_client_first(t.user, nonce)
    -- RFC 4954 4: the initial response carries SCRAM's client-first-message (the client begins)
    local r = conn:cmd("AUTH SCRAM-SHA-256 " .. t.base64(first), A)
    local _, ok = t:expect(r, "334", "the client-first-message gets a 334 server-first-message",
      { rfc = "RFC 4954 4" })
    if not ok then smtp.quit(conn) return end
    local server_first = t.unbase64(r.text)
    t:check(server_first ~= nil, "the server-first-message is base64",
      { received = r.text, rfc = "RFC 4954 4" })
    if not server_first then conn:cmd("*", A) smtp.quit(conn) return end
    -- RFC 5802 5.1: "r: ... the client supplies an initial value in its first message, and the
    -- server augments that value with its own nonce in its first response. ... The client MUST
    -- verify that the initial part of the nonce used in subsequent messages is the same as the
    -- nonce it initially specified."; "s: This attribute specifies the base64-encoded salt";
    -- "i: This attribute specifies an iteration count ... and MUST be sent by the server along
    -- with the user's salt."
    local final, ssig_or_err = crypto.scram_client_final(t.password, bare, server_first, nonce)
    t:check(final ~= nil, "the server-first-message is well formed (r= extends our nonce, s=, i=)",
      { received = server_first, expected = "r=<client nonce><server nonce>,s=<salt>,i=<count>" })
    if not final then conn:cmd("*", A) smtp.quit(conn) return end
    r = conn:cmd(t.base64(final), A)
    -- RFC 4954 4: "the SMTP protocol doesn't support the SASL feature of returning additional
    -- data with a successful outcome": the server-final-message comes as a 334 challenge.
    _, ok = t:expect(r, "334", "the client proof gets the server-final-message in a 334",
      { rfc = "RFC 4954 4" })
    if not ok then smtp.quit(conn) return end
    local server_final = t.unbase64(r.text) or ""
    -- RFC 5802 5.1: "v: This attribute specifies a base64-encoded ServerSignature." 5: "The
    -- client then authenticates the server by computing the ServerSignature and comparing it to
    -- the value sent by the server. If the two are different, the client MUST consider the
    -- authentication exchange to be unsuccessful"
    local v = crypto.parse_scram(server_final).v
    t:check(v ~= nil and v == t.base64(ssig_or_err),
      "the server signature (v=) is the one the password gives: the server knows the password",
      { received = server_final, expected = "v=<ServerSignature>" })
    if v == nil or v ~= t.base64(ssig_or_err) then conn:cmd("*", A) smtp.quit(conn) return end
    -- an empty client response acknowledges the server-final-message
    t:expect(conn:cmd("", A), "235", "the empty response ends the exchange with 235",
      { rfc = "RFC 4954 4" })
    smtp.quit(conn)
  end,
}

case {
  id = "smtp.auth.mail-parameter",
  title = "MAIL FROM with AUTH=<> is accepted also from an unauthenticated client",
  rfc = "RFC 4954 5",
  level = "MUST",
  requires = "AUTH",
  run = function(t)
    local conn = auth_session(t, true)
    -- RFC 4954 5: "servers that advertise support for this extension MUST support the AUTH
    -- parameter to the MAIL FROM command even when the client has not authenticated itself to
    -- the server." ... "A MAIL FROM parameter of AUTH=<> indicates that the original submitter
    -- of the message is not known." Compared with the same MAIL without the parameter.
    local plain = smtp.unless_blocked(t, conn:cmd("MAIL FROM:<" .. smtp.from(t) .. ">"))
    if not plain or plain.class ~= "ok" then
      t:skip("MAIL is not accepted before AUTH here (" .. (plain and plain.status or "no reply") .. ")")
    end
    conn:cmd("RSET")
    local r = conn:cmd("MAIL FROM:<" .. smtp.from(t) .. "> AUTH=<>")
    t:expect(r, "250", "MAIL FROM with AUTH=<> gets 250 like the same MAIL without it")
    conn:cmd("RSET")
    smtp.quit(conn)
  end,
}

case {
  id = "smtp.auth.in-transaction",
  title = "AUTH during a mail transaction (after MAIL, after RCPT, between BDAT chunks) gets 503",
  rfc = "RFC 4954 4",
  level = "MUST",
  requires = "AUTH",
  run = function(t)
    smtp.each_state(t, function(conn, st)
      -- "The AUTH command is not permitted during a mail transaction. An AUTH command issued
      -- during a mail transaction MUST be rejected with a 503 reply." (The credentials are never
      -- checked: a made-up pair will do. Where the server insisted on AUTH before taking mail
      -- for rcpt, the session is authenticated already, which also gets 503.)
      local r = smtp.login_plain(conn, "mailharness-nobody", "mailharness-" .. t:random_hex(6))
      t:expect(r, "503", "AUTH in state " .. st .. " gets 503")
      if r and r.status == "334" then conn:cmd("*", A) end
    end, { "mail", "rcpt", "bdat" })
  end,
}

case {
  id = "smtp.auth.cancel",
  title = "A \"*\" line cancels the exchange and gets 501",
  rfc = "RFC 4954 4",
  level = "MUST",
  requires = "AUTH",
  run = function(t)
    local conn = auth_session(t, true)
    local mech = some_mech(t, conn)
    -- "If the client wishes to cancel the authentication exchange, it issues a line with a
    -- single "*". If the server receives such a response, it MUST reject the AUTH command by
    -- sending a 501 reply."
    local r = conn:cmd("AUTH " .. mech, A)
    local _, ok = t:expect(r, "334", "AUTH " .. mech .. " without an initial response gets 334")
    if not ok then smtp.quit(conn) return end
    t:expect(conn:cmd("*", A), "501", "the \"*\" cancellation gets 501")
    t:expect(conn:cmd("NOOP"), "250", "the session is back in command mode",
      { rfc = "RFC 5321 4.1.1.9" })
    smtp.quit(conn)
  end,
}

case {
  id = "smtp.auth.cram-md5.initial-response",
  title = "An initial response with CRAM-MD5 (where the server speaks first) is rejected with 501",
  rfc = "RFC 4954 4",
  level = "MUST",
  requires = "AUTH",
  run = function(t)
    local conn = auth_session(t, true)
    need_mech(t, conn, "CRAM-MD5")
    -- "If the client uses an initial-response argument to the AUTH command with a SASL mechanism
    -- in which the client does not begin the authentication exchange, the server MUST reject
    -- the AUTH command with a 501 reply. Servers using the enhanced status codes extension
    -- [ESMTP-CODES] SHOULD return an enhanced status code of 5.7.0 in this case." In CRAM-MD5
    -- the server begins (RFC 2195 2: the challenge comes first).
    local r = conn:cmd("AUTH CRAM-MD5 " .. t.base64("mailharness 00000000000000000000000000000000"), A)
    t:expect(r, "501", "AUTH CRAM-MD5 with an initial response gets 501")
    if r and r.status == "334" then
      t:expect(conn:cmd("*", A), "501", "cancelling the challenge that came instead gets 501")
    end
    smtp.quit(conn)
  end,
}

case {
  id = "smtp.auth.unknown-mechanism",
  title = "AUTH with a mechanism the server does not offer is refused with 504",
  rfc = "RFC 4954 4",
  level = "SHOULD",
  requires = "AUTH",
  run = function(t)
    local conn = auth_session(t, true)
    -- "If the requested authentication mechanism is invalid (e.g., is not supported or requires
    -- an encryption layer), the server rejects the AUTH command with a 504 reply. If the server
    -- supports the [ESMTP-CODES] extension, it SHOULD return a 5.5.4 enhanced response code."
    -- (The sentence has no RFC 2119 keyword: SHOULD level here.)
    local r = conn:cmd("AUTH MAILHARNESS-NO-SUCH-MECH", A)
    local _, refused = t:expect(r, "5xx", "AUTH with an unknown mechanism is refused",
      { level = "MUST" })
    if refused then
      t:expect(r, "504", "the refusal is 504 (unrecognized authentication type)")
    end
    smtp.quit(conn)
  end,
}

case {
  id = "smtp.auth.bad-base64",
  title = "An initial response that is not base64 is rejected with 501",
  rfc = "RFC 4954 4",
  level = "MUST",
  requires = "AUTH",
  run = function(t)
    local conn = auth_session(t, true)
    local mech = some_mech(t, conn)
    -- "If the server cannot [BASE64] decode any client response, it MUST reject the AUTH command
    -- with a 501 reply (and an enhanced status code of 5.5.2). ... servers and clients MUST
    -- reject (and not ignore) any character not explicitly allowed by the BASE64 alphabet, and
    -- MUST reject any sequence of BASE64 characters that contains the pad character ('=')
    -- anywhere other than the end of the string (e.g., "=AAA" and "AAA=BBB" are not allowed)."
    local r = conn:cmd("AUTH " .. mech .. " =AAA", A)
    t:expect(r, "501", "AUTH " .. mech .. " =AAA (pad before data) gets 501")
    if r and r.status == "334" then conn:cmd("*", A) end
    r = conn:cmd("AUTH " .. mech .. " !!!!", A)
    t:expect(r, "501", "AUTH " .. mech .. " !!!! (outside the alphabet) gets 501")
    if r and r.status == "334" then conn:cmd("*", A) end
    smtp.quit(conn)
  end,
}

case {
  id = "smtp.auth.plain.bad-password",
  title = "AUTH PLAIN with a wrong password fails, with 535",
  rfc = "RFC 4954 4",
  level = "MUST",
  requires = "AUTH",
  run = function(t)
    local conn = auth_session(t)
    need_mech(t, conn, "PLAIN")
    local wrong = "mailharness-wrong-" .. t:random_hex(6)
    local r = smtp.login_plain(conn, t.user, wrong)
    -- The credentials are invalid, so the exchange must not succeed.
    local _, failed = t:expect(r, { "4xx", "5xx" }, "AUTH with a wrong password is refused")
    if failed then
      -- "If the server is unable to authenticate the client, it SHOULD reject the AUTH command
      -- with a 535 reply unless a more specific error code is appropriate."
      t:expect(r, "535", "the refusal is 535 (credentials invalid)", { level = "SHOULD" })
    end
    clear_failure_delay(t, conn)
    smtp.quit(conn)
  end,
}

case {
  id = "smtp.auth.empty-initial-response",
  title = "AUTH PLAIN = (a zero-length initial response) is taken as a response and fails",
  rfc = "RFC 4954 4",
  level = "MUST",
  requires = "AUTH",
  run = function(t)
    local conn = auth_session(t, true)
    need_mech(t, conn, "PLAIN")
    -- "If the client is transmitting an initial response of zero length, it MUST instead
    -- transmit the response as a single equals sign ("="). This indicates that the response is
    -- present, but contains no data." A zero-length PLAIN message has no authcid and no password
    -- (RFC 4616 2: message = [authzid] UTF8NUL authcid UTF8NUL passwd), so the exchange fails;
    -- a 334 would mean the "=" was ignored, a 235 that empty credentials were accepted.
    local r = conn:cmd("AUTH PLAIN =", A)
    t:expect(r, { "535", "501" }, "AUTH PLAIN = fails with 535 (or 501)")
    if r and r.status == "334" then conn:cmd("*", A) end
    clear_failure_delay(t, conn)
    smtp.quit(conn)
  end,
}
