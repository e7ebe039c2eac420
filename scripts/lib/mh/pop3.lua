-- mh.pop3: POP3 helpers (RFC 1939, RFC 2449). Everything goes through conn:cmd, so the engine
-- judges every exchange (and knows which replies are multi-line).
local util = require("mh.util")

local M = {}

-- login_user_pass(conn, user, pass) -> pass_reply | nil, err, user_reply. USER then PASS
-- (RFC 1939 7); when USER is refused its reply is returned.
function M.login_user_pass(conn, user, pass)
  local r, err = conn:cmd("USER " .. user)
  if not r then return nil, err end
  if r.class ~= "ok" then return r, nil, r end
  local p
  p, err = conn:cmd("PASS " .. pass)
  if not p then return nil, err, r end
  return p, nil, r
end

-- capa(conn) -> reply, tags | nil, err. tags: { ["UIDL"] = "" , ["SASL"] = "PLAIN LOGIN", ... }
-- parsed from the multi-line body (RFC 2449 5).
function M.capa(conn)
  local r, err = conn:cmd("CAPA")
  if not r then return nil, err end
  local tags = {}
  for line in util.lines(r.body or "") do
    local tag, rest = line:match("^(%S+) ?(.*)$")
    if tag then tags[tag:upper()] = rest end
  end
  return r, tags
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

-- session(t [, opts]) -> conn, pass_reply. Connects, logs in with USER/PASS as t.user; skips
-- without credentials; raises when the login fails.
function M.session(t, opts)
  util.need_credentials(t)
  local conn = t:connect(opts)
  local r, err = M.login_user_pass(conn, t.user, t.password)
  if not r then error("login failed: " .. tostring(err), 2) end
  if r.class ~= "ok" then error("login refused: " .. r.status .. " " .. r.text, 2) end
  return conn, r
end

return M
