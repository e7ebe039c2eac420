-- mh.smtp: SMTP helpers (RFC 5321, RFC 4954, RFC 3207). Everything goes through conn:cmd,
-- conn:send and conn:read, so the engine judges every exchange.
local base64 = require("mh.base64")
local util = require("mh.util")

local M = {}

-- ehlo(conn [, name]) -> reply, caps | nil, err. name defaults to conn.helo (--param helo=...).
-- conn.caps is refreshed by the engine from a 250 reply.
function M.ehlo(conn, name)
  local r, err = conn:cmd("EHLO " .. (name or conn.helo))
  if not r then return nil, err end
  return r, conn.caps
end

-- mechanisms(conn) -> { PLAIN = true, LOGIN = true, ... } from the AUTH EHLO keyword.
function M.mechanisms(conn)
  local set = {}
  for mech in ((conn.caps or {}).AUTH or ""):gmatch("%S+") do
    set[mech:upper()] = true
  end
  return set
end

-- login_plain(conn, user, pass [, authzid]) -> reply | nil, err.
-- AUTH PLAIN with an initial response (RFC 4954 4, RFC 4616 2): base64(authzid NUL user NUL pass).
function M.login_plain(conn, user, pass, authzid)
  local ir = base64.encode((authzid or "") .. "\0" .. user .. "\0" .. pass)
  return conn:cmd("AUTH PLAIN " .. ir)
end

-- login_login(conn, user, pass) -> reply | nil, err. AUTH LOGIN: answers the two 334
-- challenges (user name, password) with base64 lines (RFC 4954 4: "334" SP [base64]).
-- Returns the first reply that is not a 334 (235 on success).
function M.login_login(conn, user, pass)
  local r, err = conn:cmd("AUTH LOGIN")
  if not r or r.status ~= "334" then return r, err end
  r, err = conn:cmd(base64.encode(user))
  if not r or r.status ~= "334" then return r, err end
  return conn:cmd(base64.encode(pass))
end

-- dot_stuff(body) -> body with CRLF line ends, every line that starts with "." prefixed with
-- another "." (RFC 5321 4.5.2), and the end-of-data line ".\r\n" appended.
function M.dot_stuff(body)
  local s = util.crlf(body)
  if s:sub(1, 1) == "." then s = "." .. s end
  s = s:gsub("\r\n%.", "\r\n..")
  return s .. ".\r\n"
end

-- mail_transaction(conn, from, rcpts, message) -> final_reply, steps | nil, err, steps.
-- MAIL FROM:<from>, RCPT TO:<r> for each of rcpts (a string or a list), DATA, then the
-- dot-stuffed message and the final reply. steps = {mail=, rcpt={...}, data=, final=}.
-- Stops (nil, "MAIL refused" ...) at the first step that does not succeed.
function M.mail_transaction(conn, from, rcpts, message)
  if type(rcpts) == "string" then rcpts = { rcpts } end
  local steps = { rcpt = {} }
  local r, err = conn:cmd("MAIL FROM:<" .. from .. ">")
  steps.mail = r
  if not r then return nil, err, steps end
  if r.class ~= "ok" then return nil, "MAIL refused", steps end
  local accepted = 0
  for i, rcpt in ipairs(rcpts) do
    r, err = conn:cmd("RCPT TO:<" .. rcpt .. ">")
    steps.rcpt[i] = r
    if not r then return nil, err, steps end
    if r.class == "ok" then accepted = accepted + 1 end
  end
  if accepted == 0 then return nil, "no recipient accepted", steps end
  r, err = conn:cmd("DATA")
  steps.data = r
  if not r then return nil, err, steps end
  if r.status ~= "354" then return nil, "DATA refused", steps end
  local ok
  ok, err = conn:send(M.dot_stuff(message))
  if not ok then return nil, err, steps end
  r, err = conn:read()
  steps.final = r
  if not r then return nil, err, steps end
  return r, steps
end

-- session(t [, opts]) -> conn, ehlo_reply. Connects (t:connect(opts)) and sends EHLO; raises
-- when either fails (not a server verdict: the case cannot run).
function M.session(t, opts)
  local conn = t:connect(opts)
  local r, err = M.ehlo(conn)
  if not r then error("EHLO failed: " .. tostring(err), 2) end
  return conn, r
end

-- unless_blocked(t, reply) -> reply. Ends the case as SKIP when reply is 530: the server wants
-- STARTTLS (RFC 3207 4: "530 Must issue a STARTTLS command first" to every command other than
-- NOOP, EHLO, STARTTLS, or QUIT) or authentication (RFC 4954 6) before this command, so the
-- requirement under test cannot be observed on this connection.
function M.unless_blocked(t, reply)
  if reply and reply.status == "530" then
    t:skip("the server requires STARTTLS or AUTH first (530 " .. reply.text ..
      "); test the ?starttls URL or give credentials")
  end
  return reply
end

-- quit(conn) -> reply | nil, err
function M.quit(conn)
  return conn:cmd("QUIT")
end

return M
