-- mh.pop3: POP3 helpers (RFC 1939, RFC 2449, RFC 5034). Everything goes through conn:cmd, so the
-- engine judges every exchange (and knows which replies are multi-line).
local base64 = require("mh.base64")
local crypto = require("mh.crypto")
local util = require("mh.util")

local M = {}

-- Servers delay the answer to failed logins, and some (Dovecot's auth penalty) delay every login
-- from an address after failures, up to 15 s: commands that authenticate get this timeout (ms).
M.AUTH_TIMEOUT = 30000

-- auth_cmd(conn, line) -> reply | nil, err: conn:cmd with AUTH_TIMEOUT, for PASS, APOP, AUTH and
-- SASL responses.
function M.auth_cmd(conn, line)
  return conn:cmd(line, { timeout = M.AUTH_TIMEOUT })
end

-- login_user_pass(conn, user, pass) -> pass_reply | nil, err, user_reply. USER then PASS
-- (RFC 1939 7); when USER is refused its reply is returned.
function M.login_user_pass(conn, user, pass)
  local r, err = conn:cmd("USER " .. user)
  if not r then return nil, err end
  if r.class ~= "ok" then return r, nil, r end
  local p
  p, err = M.auth_cmd(conn, "PASS " .. pass)
  if not p then return nil, err, r end
  return p, nil, r
end

-- parse_capa(reply) -> tags: { ["UIDL"] = "", ["SASL"] = "PLAIN LOGIN", ... } from the body of a
-- +OK CAPA reply (tags upper-cased: "CAPA response tags are case-insensitive", RFC 2449 5).
function M.parse_capa(r)
  local tags = {}
  if not r or r.class ~= "ok" then return tags end
  for line in util.lines(r.body or "") do
    local tag, rest = line:match("^(%S+) ?(.*)$")
    if tag then tags[tag:upper()] = rest end
  end
  return tags
end

-- capa(conn) -> reply, tags | nil, err. tags as parse_capa (RFC 2449 5).
function M.capa(conn)
  local r, err = conn:cmd("CAPA")
  if not r then return nil, err end
  return r, M.parse_capa(r)
end

-- mechanisms(tags) -> { PLAIN = true, ... } from the SASL tag of a CAPA reply (RFC 5034 3)
function M.mechanisms(tags)
  local set = {}
  for mech in ((tags or {}).SASL or ""):gmatch("%S+") do
    set[mech:upper()] = true
  end
  return set
end

-- stat(conn) -> count, octets, reply | nil, err, reply. Parses the drop listing "+OK nn mm"
-- (RFC 1939 5).
function M.stat(conn)
  local r, err = conn:cmd("STAT")
  if not r then return nil, err end
  local n, size = r.raw:match("^%+OK (%d+) (%d+)")
  if not n then return nil, "no drop listing in the STAT reply", r end
  return tonumber(n), tonumber(size), r
end

-- list(conn) -> { [msgno] = octets, ... }, reply | nil, err, reply. The multi-line LIST scan
-- listings (RFC 1939 5); a line that is not "n size" makes it fail.
function M.list(conn)
  local r, err = conn:cmd("LIST")
  if not r then return nil, err end
  if r.class ~= "ok" then return nil, "LIST refused", r end
  local out = {}
  for line in util.lines(r.body or "") do
    local n, size = line:match("^(%d+) (%d+)")
    if not n then return nil, "bad scan listing: " .. line, r end
    out[tonumber(n)] = tonumber(size)
  end
  return out, r
end

-- uidl(conn) -> { [msgno] = "uid", ... }, reply | nil, err, reply (RFC 1939 7)
function M.uidl(conn)
  local r, err = conn:cmd("UIDL")
  if not r then return nil, err end
  if r.class ~= "ok" then return nil, "UIDL refused", r end
  local out = {}
  for line in util.lines(r.body or "") do
    local n, uid = line:match("^(%d+) (%S+)$")
    if not n then return nil, "bad unique-id listing: " .. line, r end
    out[tonumber(n)] = uid
  end
  return out, r
end

-- retr(conn, n) / dele(conn, n) / quit(conn) -> reply | nil, err. A RETR reply carries the
-- un-byte-stuffed message in reply.body.
function M.retr(conn, n) return conn:cmd("RETR " .. n) end
function M.dele(conn, n) return conn:cmd("DELE " .. n) end
function M.quit(conn) return conn:cmd("QUIT") end

-- top(conn, n, lines) -> reply | nil, err. TOP msg n (RFC 1939 7); the reply's body holds the
-- header, the blank line and the first `lines` body lines.
function M.top(conn, n, lines) return conn:cmd("TOP " .. n .. " " .. lines) end

-- split_message(text) -> header, body_lines | nil. Splits a message (CRLF line ends, as in
-- reply.body) at the first empty line: header is everything up to and including that empty
-- line, body_lines the list of the following lines, each with its CRLF. nil when the message has
-- no empty line (no body).
function M.split_message(text)
  local s, e
  if text:sub(1, 2) == "\r\n" then
    s, e = 1, 2
  else
    s, e = text:find("\r\n\r\n", 1, true)
    if s then e = s + 3 end
  end
  if not s then return nil end
  local header, rest = text:sub(1, e), text:sub(e + 1)
  local lines = {}
  for line in rest:gmatch("[^\n]*\n") do
    lines[#lines + 1] = line
  end
  local tail = rest:match("[^\n]+$")
  if tail then lines[#lines + 1] = tail end
  return header, lines
end

-- greeting_timestamp(reply) -> "<...>" | nil: the APOP timestamp of a greeting (RFC 1939 7:
-- "A POP3 server which implements the APOP command will include a timestamp in its banner
-- greeting"; RFC 2449 3: timestamp = "<" *VCHAR ">").
function M.greeting_timestamp(g)
  if not g or not g.raw then return nil end
  local line = g.raw:match("^[^\r\n]*")
  return line:match("(<[\33-\126]->)")
end

-- apop_digest(timestamp, secret) -> 32 lower-case hex digits: MD5 of the timestamp (with its
-- angle brackets) followed by the shared secret (RFC 1939 7).
function M.apop_digest(timestamp, secret)
  crypto.selftest({ quick = true })
  return crypto.hex(crypto.md5(timestamp .. secret))
end

-- valid_resp_code(code) -> bool: resp-code = "[" resp-level *("/" resp-level) "]",
-- resp-level = 1*rchar, rchar = %x21-2E / %x30-5C / %x5E-7F (RFC 2449 3); code without brackets.
function M.valid_resp_code(code)
  if not code or code == "" then return false end
  for level in (code .. "/"):gmatch("([^/]*)/") do
    if level == "" or level:find("[^\33-\46\48-\92\94-\127]") then return false end
  end
  return true
end

-- plain_response(user, pass [, authzid]) -> base64 of authzid NUL authcid NUL passwd
-- (RFC 4616 2)
function M.plain_response(user, pass, authzid)
  return base64.encode((authzid or "") .. "\0" .. user .. "\0" .. pass)
end

-- auth_plain(conn, user, pass [, opts]) -> reply, challenge_reply | nil, err. AUTH PLAIN (RFC
-- 5034 4, RFC 4616 2) with the initial response on the command line, or, with
-- opts.initial == false, after the server's empty "+ " challenge (then challenge_reply is that
-- "+" reply). opts.mech overrides the mechanism word (e.g. "plain").
function M.auth_plain(conn, user, pass, opts)
  opts = opts or {}
  local mech = opts.mech or "PLAIN"
  local resp = M.plain_response(user, pass, opts.authzid)
  if opts.initial ~= false then
    return M.auth_cmd(conn, "AUTH " .. mech .. " " .. resp)
  end
  local c, err = M.auth_cmd(conn, "AUTH " .. mech)
  if not c then return nil, err end
  if c.status ~= "+" then return c end
  local r
  r, err = M.auth_cmd(conn, resp)
  if not r then return nil, err end
  return r, c
end

-- auth_login(conn, user, pass) -> reply, {challenges} | nil, err. AUTH LOGIN: answers each "+"
-- challenge, the first with the user name, then the password (draft-murchison-sasl-login);
-- returns the first reply that is not a "+".
function M.auth_login(conn, user, pass)
  local challenges = {}
  local r, err = M.auth_cmd(conn, "AUTH LOGIN")
  local answers = { user, pass }
  local i = 1
  while r and r.status == "+" and i <= #answers do
    challenges[#challenges + 1] = r
    r, err = M.auth_cmd(conn, base64.encode(answers[i]))
    i = i + 1
  end
  if not r then return nil, err end
  return r, challenges
end

-- auth_cram_md5(conn, user, pass) -> reply, challenge_text | nil, err. AUTH CRAM-MD5: the
-- response is base64(user SP lower-hex HMAC-MD5(pass, challenge)) (RFC 2195 2).
function M.auth_cram_md5(conn, user, pass)
  crypto.selftest({ quick = true })
  local c, err = M.auth_cmd(conn, "AUTH CRAM-MD5")
  if not c then return nil, err end
  if c.status ~= "+" then return c end
  local challenge = base64.decode(c.text)
  if not challenge then
    conn:cmd("*")
    return c, nil
  end
  local r
  r, err = M.auth_cmd(conn, base64.encode(crypto.cram_md5_response(user, pass, challenge)))
  if not r then return nil, err end
  return r, challenge
end

-- auth_scram(conn, user, pass, hash, nonce) -> reply, info | nil, err. AUTH SCRAM-<hash> (RFC
-- 5802 5, without channel binding: gs2 header "n,,") with the client-first message as the
-- initial response. hash is "sha1" or "sha256". info = { server_first =, server_final =,
-- server_signature_ok = bool|nil, iterations = }. The user name must not contain "," or "=".
function M.auth_scram(conn, user, pass, hash, nonce)
  crypto.selftest() -- includes the RFC 5802 and RFC 7677 example exchanges
  local mech = hash == "sha1" and "SCRAM-SHA-1" or "SCRAM-SHA-256"
  local info = {}
  local first_bare = "n=" .. user .. ",r=" .. nonce
  local c, err = M.auth_cmd(conn, "AUTH " .. mech .. " " .. base64.encode("n,," .. first_bare))
  if not c then return nil, err end
  if c.status ~= "+" then return c, info end
  local sf = base64.decode(c.text)
  info.server_first = sf
  local r_nonce = sf and sf:match("^r=([^,]+)")
  local salt = sf and sf:match(",s=([^,]+)")
  local iter = sf and tonumber(sf:match(",i=(%d+)"))
  info.iterations = iter
  if not (r_nonce and salt and iter and r_nonce:sub(1, #nonce) == nonce and base64.decode(salt)) then
    info.error = "unusable server-first-message"
    return conn:cmd("*"), info
  end
  if iter > 100000 then
    info.error = "iteration count " .. iter .. " too large for the Lua implementation"
    return conn:cmd("*"), info
  end
  local final_wo_proof = "c=biws,r=" .. r_nonce
  local proof, server_sig = crypto.scram_proof(hash, pass, base64.decode(salt), iter,
    first_bare .. "," .. sf .. "," .. final_wo_proof)
  local r
  r, err = M.auth_cmd(conn, base64.encode(final_wo_proof .. ",p=" .. base64.encode(proof)))
  if not r then return nil, err end
  if r.status == "+" then
    -- RFC 5034 4: POP3 has no additional data with success: the server-final-message comes as
    -- a challenge and the client answers it with an empty response
    info.server_final = base64.decode(r.text)
    info.server_signature_ok = info.server_final == "v=" .. base64.encode(server_sig)
    r, err = M.auth_cmd(conn, "")
    if not r then return nil, err end
  end
  return r, info
end

-- drain(conn, ms) -> bytes, err: whatever unparsed bytes arrive within ms (not judged by the
-- engine); err is set when the connection failed meanwhile (e.g. reset by the server).
function M.drain(conn, ms)
  local got = {}
  local n, err = conn:poll(ms)
  while n and n > 0 do
    got[#got + 1] = conn:recv_raw(n, 0) or ""
    n, err = conn:poll(100)
  end
  return table.concat(got), err
end

-- gone(conn [, ms]) -> bool: whether the server has ended the connection (EOF or a reset seen
-- within ms, default 30). Servers may close after a negative reply (RFC 1939 4).
function M.gone(conn, ms)
  if conn:closed() then return true end
  local n = conn:poll(ms or 30)
  return n == nil or conn:closed()
end

-- session(t [, opts]) -> conn, pass_reply. Connects, logs in with USER/PASS as t.user; skips
-- without credentials or when USER is refused (e.g. no plaintext login without TLS: RFC 1939 7
-- "The server may return a negative response if mailbox exists, but does not permit plaintext
-- password authentication"); raises when PASS fails (wrong credentials are not a verdict).
function M.session(t, opts)
  util.need_credentials(t)
  local conn = t:connect(opts)
  local r, err, u = M.login_user_pass(conn, t.user, t.password)
  if not r then error("login failed: " .. tostring(err), 2) end
  if r == u and r.class ~= "ok" then
    conn:close()
    t:skip("USER " .. t.user .. " is refused on this connection: " .. r.raw:gsub("\r\n$", ""))
  end
  if r.class ~= "ok" then error("login refused: " .. r.status .. " " .. r.text, 2) end
  return conn, r
end

-- nonempty(t, conn [, min]) -> count, octets, stat_reply. STAT; when the maildrop holds fewer
-- than min (default 1) messages, QUITs (nothing is marked) and skips the case.
function M.nonempty(t, conn, min)
  min = min or 1
  local n, size, r = M.stat(conn)
  if not n then error("STAT failed: " .. tostring(size), 2) end
  if n < min then
    M.quit(conn)
    t:skip("the maildrop of " .. t.user .. " holds " .. n .. " message(s), the case needs " ..
      min .. "; deliver mail to it first")
  end
  return n, size, r
end

return M
