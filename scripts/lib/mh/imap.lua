-- mh.imap: IMAP4rev1 helpers (RFC 3501). Tagged commands go through conn:imap, literals through
-- conn:send / conn:read, so the engine judges every exchange.
local util = require("mh.util")

local M = {}

-- quote(s) -> s as an IMAP quoted string (RFC 3501 4.3), or nil when s cannot be quoted
-- (CR, LF, NUL or 8-bit octets need a literal).
function M.quote(s)
  if s:find("[%z\r\n\128-\255]") then return nil end
  return '"' .. s:gsub('[\\"]', "\\%0") .. '"'
end

-- command_with_literal(conn, head, data [, tail]) -> reply, continuation | nil, err, cont.
-- Sends "<tag> head {n}", waits for the "+" continuation (RFC 3501 7.5), then sends the n octets
-- of data followed by tail and CRLF, and reads the tagged reply. When the server refuses the
-- literal (tagged NO/BAD instead of "+"), that reply is returned.
function M.command_with_literal(conn, head, data, tail)
  local tag = conn:tag()
  local ok, err = conn:send(tag .. " " .. head .. " {" .. #data .. "}\r\n")
  if not ok then return nil, err end
  local cont
  cont, err = conn:read()
  if not cont then return nil, err end
  if cont.status ~= "+" then return cont, nil end
  ok, err = conn:send(data .. (tail or "") .. "\r\n")
  if not ok then return nil, err, cont end
  local r
  r, err = conn:read()
  if not r then return nil, err, cont end
  return r, cont
end

-- login(conn, user, pass) -> reply | nil, err. LOGIN with quoted strings, or with literals
-- when user or password cannot be quoted.
function M.login(conn, user, pass)
  local qu, qp = M.quote(user), M.quote(pass)
  if qu and qp then
    return conn:imap("LOGIN " .. qu .. " " .. qp)
  end
  -- user as a literal inside the command, then the password as a second literal
  local tag = conn:tag()
  local ok, err = conn:send(tag .. " LOGIN {" .. #user .. "}\r\n")
  if not ok then return nil, err end
  local cont
  cont, err = conn:read()
  if not cont or cont.status ~= "+" then return cont, err end
  ok, err = conn:send(user .. " {" .. #pass .. "}\r\n")
  if not ok then return nil, err end
  cont, err = conn:read()
  if not cont or cont.status ~= "+" then return cont, err end
  ok, err = conn:send(pass .. "\r\n")
  if not ok then return nil, err end
  return conn:read()
end

-- untagged(reply, name) -> list of the untagged responses in reply whose name (after an
-- optional number) is name: untagged(r, "EXISTS") -> { "* 3 EXISTS" }.
function M.untagged(reply, name)
  local out = {}
  name = name:upper()
  for _, line in ipairs(reply and reply.lines or {}) do
    local w1, w2 = line:match("^%* (%S+) ?(%S*)")
    if w1 then
      if w1:upper() == name or (w1:match("^%d+$") and w2:upper() == name) then
        out[#out + 1] = line
      end
    end
  end
  return out
end

-- number(reply, name) -> n of "* n NAME" (EXISTS, RECENT), or nil.
function M.number(reply, name)
  local line = M.untagged(reply, name)[1]
  return line and tonumber(line:match("^%* (%d+) ")) or nil
end

-- resp_code(reply, code) -> the argument of an untagged "* OK [CODE arg]" (or "" when the code
-- has none), or nil when absent: resp_code(r, "UIDVALIDITY") -> "3857529045".
function M.resp_code(reply, code)
  code = code:upper()
  for _, line in ipairs(M.untagged(reply, "OK")) do
    local c, arg = line:match("^%* OK %[([%w%-%.]+) ?([^%]]*)%]")
    if c and c:upper() == code then return arg end
  end
  return nil
end

-- capability_set(reply) -> { ["IMAP4REV1"] = true, ... } from an untagged CAPABILITY response.
function M.capability_set(reply)
  local line = M.untagged(reply, "CAPABILITY")[1]
  local set = {}
  if line then
    for cap in line:gsub("^%* %S+", ""):gmatch("%S+") do set[cap:upper()] = true end
  end
  return set, line
end

-- listed(reply, mailbox) -> true if a "* LIST (...) delim name" response names mailbox.
function M.listed(reply, mailbox)
  for _, line in ipairs(M.untagged(reply, "LIST")) do
    local name = line:match('^%* LIST %b() %S+ (.+)$')
    if name then
      name = name:gsub('^"(.*)"$', "%1"):gsub('\\(.)', "%1")
      if name == mailbox then return true end
    end
  end
  return false
end

-- select(conn, mailbox) / examine(conn, mailbox) -> reply | nil, err
function M.select(conn, mailbox)
  return conn:imap("SELECT " .. assert(M.quote(mailbox), "mailbox name needs a literal"))
end

function M.examine(conn, mailbox)
  return conn:imap("EXAMINE " .. assert(M.quote(mailbox), "mailbox name needs a literal"))
end

-- append(conn, mailbox, message [, flags]) -> reply, continuation | nil, err. APPEND with a
-- synchronizing literal; message line ends are normalised to CRLF. flags: "\\Seen" etc.
function M.append(conn, mailbox, message, flags)
  local head = "APPEND " .. assert(M.quote(mailbox), "mailbox name needs a literal")
  if flags then head = head .. " (" .. flags .. ")" end
  return M.command_with_literal(conn, head, util.crlf(message))
end

-- fetch(conn, set, items) -> reply | nil, err: FETCH set items
function M.fetch(conn, set, items)
  return conn:imap("FETCH " .. set .. " " .. items)
end

-- logout(conn) -> reply | nil, err
function M.logout(conn)
  return conn:imap("LOGOUT")
end

-- ready_for_login(t, conn) -> conn. When the server advertises LOGINDISABLED (RFC 2595 3.2) and
-- offers STARTTLS, upgrades first; when LOGIN stays disabled the case is skipped.
function M.ready_for_login(t, conn)
  local caps = conn.caps
  if next(caps) == nil then
    conn:capabilities()
    caps = conn.caps
  end
  if caps.LOGINDISABLED and caps.STARTTLS and not conn.tls then
    local r, err = conn:tls_upgrade()
    if not r then error("STARTTLS before LOGIN failed: " .. tostring(err), 2) end
    caps = conn.caps
  end
  if caps.LOGINDISABLED then
    t:skip("server advertises LOGINDISABLED and offers no STARTTLS")
  end
  return conn
end

-- session(t [, opts]) -> conn, login_reply. Connects, makes LOGIN possible (see
-- ready_for_login) and logs in as t.user; skips without credentials; raises when the login
-- fails (the case needs an authenticated session to test anything).
function M.session(t, opts)
  util.need_credentials(t)
  local conn = M.ready_for_login(t, t:connect(opts))
  local r, err = M.login(conn, t.user, t.password)
  if not r then error("LOGIN failed: " .. tostring(err), 2) end
  if r.class ~= "ok" then error("LOGIN refused: " .. r.status .. " " .. r.text, 2) end
  return conn, r
end

-- unique_mailbox(t) -> "mailharness-<16 hex digits>": a fresh name for a test mailbox.
function M.unique_mailbox(t)
  return "mailharness-" .. t:random_hex(8)
end

return M
