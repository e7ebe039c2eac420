-- SMTP AUTH (RFC 4954): PLAIN and LOGIN, good and bad credentials, AUTH after success.
local smtp = require("mh.smtp")
local util = require("mh.util")

-- A session ready for AUTH: EHLO, and STARTTLS first when AUTH is only offered under TLS.
local function auth_session(t)
  util.need_credentials(t)
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
    local r = conn:cmd("AUTH LOGIN")
    local _, ok = t:expect(r, "334", "AUTH LOGIN gets a 334 challenge")
    if not ok then return end
    t:check(t.unbase64(r.text) ~= nil, "the challenge text is base64",
      { received = r.text, expected = "334 SP [base64]", rfc = "RFC 4954 8" })
    r = conn:cmd(t.base64(t.user))
    _, ok = t:expect(r, "334", "the user name is answered with the next 334 challenge")
    if not ok then return end
    t:expect(conn:cmd(t.base64(t.password)), "235", "the password completes the exchange: 235")
    smtp.quit(conn)
  end,
}
