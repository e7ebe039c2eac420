-- mh.imap: IMAP4rev1 helpers (RFC 3501). Tagged commands go through conn:imap, literals through
-- conn:send / conn:read, so the engine judges every exchange.
local util = require("mh.util")

local M = {}

-- NIL: what parse() returns for the IMAP NIL (RFC 3501 4.5), distinct from the string "NIL".
M.NIL = setmetatable({}, { __tostring = function() return "NIL" end, __name = "imap.NIL" })

-- quote(s) -> s as an IMAP quoted string (RFC 3501 4.3), or nil when s cannot be quoted
-- (CR, LF, NUL or 8-bit octets need a literal).
function M.quote(s)
  if s:find("[%z\r\n\128-\255]") then return nil end
  return '"' .. s:gsub('[\\"]', "\\%0") .. '"'
end

-- mailbox(name) -> name as a quoted string; raises when it needs a literal (the suites never
-- create such names).
function M.mailbox(name)
  return assert(M.quote(name), "mailbox name needs a literal")
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

-- LOGIN_TIMEOUT: milliseconds the helpers wait for the completion of LOGIN or AUTHENTICATE.
-- Servers delay authentication after failures from the same address (Dovecot: up to 15 s), also
-- failures of other clients, so the usual per-operation timeout is too short.
M.LOGIN_TIMEOUT = 30000

-- login(conn, user, pass) -> reply | nil, err. LOGIN with quoted strings, or with literals
-- when user or password cannot be quoted; waits up to LOGIN_TIMEOUT for the completion.
function M.login(conn, user, pass)
  local qu, qp = M.quote(user), M.quote(pass)
  local slow = { timeout = M.LOGIN_TIMEOUT }
  if qu and qp then
    return conn:imap("LOGIN " .. qu .. " " .. qp, slow)
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
  return conn:read(slow)
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

-- number(reply, name) -> n of "* n NAME" (EXISTS, RECENT), or nil. With several, the last one
-- counts (the newest size of the mailbox).
function M.number(reply, name)
  local lines = M.untagged(reply, name)
  local line = lines[#lines]
  return line and tonumber(line:match("^%* (%d+) ")) or nil
end

-- resp_code(reply, code) -> the argument of an untagged "* OK [CODE arg]" (or "" when the code
-- has none), or nil when absent: resp_code(r, "UIDVALIDITY") -> "3857529045".
function M.resp_code(reply, code)
  code = code:upper()
  for _, line in ipairs(M.untagged(reply, "OK")) do
    local c, arg = line:match("^%* [Oo][Kk] %[([%w%-%.]+) ?([^%]]*)%]")
    if c and c:upper() == code then return arg end
  end
  return nil
end

-- tagged_code(reply, code) -> the argument of the response code of the tagged completion
-- ("[APPENDUID 38505 3955]" -> "38505 3955"), "" when the code has none, nil when absent.
function M.tagged_code(reply, code)
  local rc = reply and reply.resp_code
  if not rc then return nil end
  local c, arg = rc:match("^([%w%-%.]+) ?(.*)$")
  if c and c:upper() == code:upper() then return arg end
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

-- ---- response data parser (RFC 3501 4 and 9) ----

-- parse(s [, i]) -> value, next_i | nil, err. Parses one data item at s[i]: a parenthesized
-- list (a Lua list), a quoted string or a literal "{n}\r\n..." (a Lua string), NIL (M.NIL), or
-- an atom or number (a Lua string). An atom may carry a section and a partial, as fetch keys
-- do: BODY[HEADER.FIELDS (DATE FROM)]<0>.
function M.parse(s, i)
  i = i or 1
  local c = s:sub(i, i)
  if c == "(" then
    local list = {}
    i = i + 1
    while true do
      while s:sub(i, i) == " " do i = i + 1 end
      local d = s:sub(i, i)
      if d == ")" then return list, i + 1 end
      if d == "" or d == "\r" or d == "\n" then return nil, "unterminated parenthesized list" end
      local v, ni = M.parse(s, i)
      if v == nil then return nil, ni end
      list[#list + 1] = v
      i = ni
    end
  elseif c == '"' then
    local out = {}
    i = i + 1
    while true do
      local d = s:sub(i, i)
      if d == "" or d == "\r" or d == "\n" then return nil, "unterminated quoted string" end
      if d == "\\" then
        out[#out + 1] = s:sub(i + 1, i + 1)
        i = i + 2
      elseif d == '"' then
        return table.concat(out), i + 1
      else
        out[#out + 1] = d
        i = i + 1
      end
    end
  elseif c == "{" then
    local n, e = s:match("^{(%d+)}\r\n()", i)
    if not n then return nil, "malformed literal at offset " .. i end
    n = tonumber(n)
    if e + n - 1 > #s then return nil, "literal runs past the end of the response" end
    return s:sub(e, e + n - 1), e + n
  end
  local j = i
  while j <= #s do
    local d = s:sub(j, j)
    if d == "[" then
      local close = s:find("]", j, true)
      if not close then return nil, "unterminated \"[\" at offset " .. j end
      j = close + 1
    elseif d == " " or d == "(" or d == ")" or d == "\r" or d == "\n" then
      break
    else
      j = j + 1
    end
  end
  if j == i then return nil, "expected a data item at offset " .. i end
  local atom = s:sub(i, j - 1)
  if atom:upper() == "NIL" then return M.NIL, j end
  return atom, j
end

-- parse_all(s [, i]) -> list of the SP-separated data items from s[i] to the end of the line
-- | nil, err.
function M.parse_all(s, i)
  local out = {}
  i = i or 1
  while true do
    while s:sub(i, i) == " " do i = i + 1 end
    local d = s:sub(i, i)
    if d == "" or d == "\r" or d == "\n" then return out end
    local v, ni = M.parse(s, i)
    if v == nil then return nil, ni end
    out[#out + 1] = v
    i = ni
  end
end

-- flags(list) -> { ["\\SEEN"] = true, ... }: a parsed flag list as an upper-cased set.
function M.flags(list)
  local set = {}
  if type(list) == "table" and list ~= M.NIL then
    for _, f in ipairs(list) do
      if type(f) == "string" then set[f:upper()] = true end
    end
  end
  return set
end

-- fetches(reply) -> list of { seq = n, att = { ["FLAGS"] = {...}, ["UID"] = "4", ... },
-- line = ... }, one per untagged FETCH response, in order. Keys are upper-cased
-- ("BODY[]<0>", "BODY[HEADER.FIELDS (SUBJECT)]"). A response that does not parse gives
-- { seq = n, err = msg, line = ... }.
function M.fetches(reply)
  local out = {}
  for _, line in ipairs(reply and reply.lines or {}) do
    local seq, pos = line:match("^%* (%d+) [Ff][Ee][Tt][Cc][Hh] ()")
    if seq then
      local list, err = M.parse(line, pos)
      local entry = { seq = tonumber(seq), line = line }
      if type(list) ~= "table" or list == M.NIL then
        entry.err = err or "FETCH data is not a parenthesized list"
      else
        entry.att = {}
        for k = 1, #list - 1, 2 do
          if type(list[k]) == "string" then entry.att[list[k]:upper()] = list[k + 1] end
        end
        if #list % 2 == 1 then entry.err = "odd number of items in FETCH data" end
      end
      out[#out + 1] = entry
    end
  end
  return out
end

-- fetch_map(reply) -> { [seq] = att }: the FETCH data per message, several responses for the
-- same message merged.
function M.fetch_map(reply)
  local map = {}
  for _, f in ipairs(M.fetches(reply)) do
    map[f.seq] = map[f.seq] or {}
    for k, v in pairs(f.att or {}) do map[f.seq][k] = v end
  end
  return map
end

-- search(reply) -> list of the numbers of the untagged SEARCH response(s), and the lines. An
-- IMAP4rev2 server answers with ESEARCH instead (RFC 9051 7.3.4): its ALL set is used then.
function M.search(reply)
  local nums, lines = {}, M.untagged(reply, "SEARCH")
  for _, line in ipairs(lines) do
    for n in line:gsub("^%* %S+", ""):gmatch("%d+") do nums[#nums + 1] = tonumber(n) end
  end
  if #lines == 0 then
    lines = M.untagged(reply, "ESEARCH")
    for _, line in ipairs(lines) do
      local set = line:match(" [Aa][Ll][Ll] ([%d:,]+)")
      for item in (set or ""):gmatch("[^,]+") do
        local a, b = item:match("^(%d+):(%d+)$")
        if a then
          a, b = tonumber(a), tonumber(b)
          if a > b then a, b = b, a end
          for n = a, b do nums[#nums + 1] = n end
        else
          nums[#nums + 1] = tonumber(item)
        end
      end
    end
  end
  table.sort(nums)
  return nums, lines
end

-- status(reply) -> { MESSAGES = n, UIDNEXT = n, ... }, mailbox name | nil, err: the untagged
-- STATUS response.
function M.status(reply)
  local line = M.untagged(reply, "STATUS")[1]
  if not line then return nil, "no untagged STATUS response" end
  local items, err = M.parse_all(line, (line:find(" ", 3, true) or #line) + 1)
  if not items then return nil, err end
  local name, list = items[1], items[2]
  if type(list) ~= "table" or list == M.NIL then return nil, "no status item list" end
  local map = {}
  for k = 1, #list - 1, 2 do
    map[tostring(list[k]):upper()] = tonumber(list[k + 1])
  end
  return map, name
end

-- entries(reply [, kind]) -> list of { attrs = set, delim = "/" | nil, name = ... } from the
-- untagged LIST (or LSUB) responses; names are unquoted and unescaped.
function M.entries(reply, kind)
  local out = {}
  for _, line in ipairs(M.untagged(reply, kind or "LIST")) do
    local items = M.parse_all(line, (line:find(" ", 3, true) or #line) + 1)
    if items and type(items[1]) == "table" and items[3] ~= nil then
      local delim = items[2]
      out[#out + 1] = {
        attrs = M.flags(items[1]),
        delim = delim ~= M.NIL and delim or nil,
        name = items[3] ~= M.NIL and items[3] or "NIL",
        line = line,
      }
    end
  end
  return out
end

-- listed(reply, mailbox [, kind]) -> the entry of a "* LIST (...) delim name" response naming
-- mailbox, or nil.
function M.listed(reply, mailbox, kind)
  for _, e in ipairs(M.entries(reply, kind)) do
    if e.name == mailbox then return e end
  end
  return nil
end

-- apply_expunges(list, reply) -> list | nil, err: applies the untagged "* n EXPUNGE" responses
-- of reply, in order, to a copy of list (one entry per message sequence number; RFC 3501 7.4.1:
-- each EXPUNGE renumbers the messages after it).
function M.apply_expunges(list, reply)
  local cur = table.move(list, 1, #list, 1, {})
  for _, line in ipairs(M.untagged(reply, "EXPUNGE")) do
    local n = tonumber(line:match("^%* (%d+) "))
    if not n or n < 1 or n > #cur then
      return nil, "\"" .. line .. "\" names no message (" .. #cur .. " left)"
    end
    table.remove(cur, n)
  end
  return cur
end

-- date_time(s) -> seconds since 1970-01-01 UTC of an IMAP date-time ("02-Jan-2020 03:04:05
-- +0100", with or without the quotes; RFC 3501 9), or nil when s is not one.
local MONTHS = { JAN = 1, FEB = 2, MAR = 3, APR = 4, MAY = 5, JUN = 6, JUL = 7, AUG = 8, SEP = 9,
  OCT = 10, NOV = 11, DEC = 12 }
function M.date_time(s)
  if type(s) ~= "string" then return nil end
  s = s:gsub('^"(.*)"$', "%1")
  local d, mon, y, hh, mm, ss, sign, zh, zm =
    s:match("^ ?(%d?%d)%-(%a%a%a)%-(%d%d%d%d) (%d%d):(%d%d):(%d%d) ([%+%-])(%d%d)(%d%d)$")
  local m = mon and MONTHS[mon:upper()]
  if not m then return nil end
  y, d = tonumber(y), tonumber(d)
  -- days from civil (proleptic Gregorian)
  local yy = m <= 2 and y - 1 or y
  local era = yy // 400
  local yoe = yy - era * 400
  local mp = (m + 9) % 12
  local doy = (153 * mp + 2) // 5 + d - 1
  local doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
  local days = era * 146097 + doe - 719468
  local off = (tonumber(zh) * 3600 + tonumber(zm) * 60) * (sign == "-" and -1 or 1)
  return days * 86400 + tonumber(hh) * 3600 + tonumber(mm) * 60 + tonumber(ss) - off
end

-- ---- commands ----

-- select(conn, mailbox) / examine(conn, mailbox) -> reply | nil, err
function M.select(conn, mailbox)
  return conn:imap("SELECT " .. M.mailbox(mailbox))
end

function M.examine(conn, mailbox)
  return conn:imap("EXAMINE " .. M.mailbox(mailbox))
end

-- append(conn, mailbox, message [, flags [, date]]) -> reply, continuation | nil, err. APPEND
-- with a synchronizing literal; message line ends are normalised to CRLF. flags: "\\Seen" etc.
-- (without parentheses); date: a date-time without quotes, "21-Nov-2026 07:18:00 +0000".
function M.append(conn, mailbox, message, flags, date)
  local head = "APPEND " .. M.mailbox(mailbox)
  if flags then head = head .. " (" .. flags .. ")" end
  if date then head = head .. ' "' .. date .. '"' end
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

-- need_cap(t, conn, name): skips the case unless the connection's current capabilities (after
-- login: many servers announce extensions only then, RFC 3501 7.2.1) include name. Queries
-- CAPABILITY when the connection has none recorded.
function M.need_cap(t, conn, name)
  name = name:upper()
  if next(conn.caps) == nil then conn:capabilities() end
  if not conn.caps[name] then
    t:skip("server does not advertise " .. name .. " (checked after login)")
  end
end

-- is_rev2(t, conn) -> true when the target is tested as IMAP4rev2 (--profile rev2) or the
-- server announces IMAP4rev2 but not IMAP4rev1.
function M.is_rev2(t, conn)
  if t.profile == "rev2" then return true end
  local caps = conn and conn.caps or t.caps or {}
  return (caps.IMAP4REV2 ~= nil) and caps.IMAP4REV1 == nil
end

-- unique_mailbox(t) -> "mailharness-<16 hex digits>": a fresh name for a test mailbox.
function M.unique_mailbox(t)
  return "mailharness-" .. t:random_hex(8)
end

-- delimiter(conn) -> the hierarchy delimiter from LIST "" "" (RFC 3501 6.3.8), or nil (flat).
function M.delimiter(conn)
  local r = conn:imap('LIST "" ""')
  local e = M.entries(r)[1]
  return e and e.delim or nil, r
end

local function usable(conn)
  return conn ~= nil and not conn:closed()
    and (conn.state == "authenticated" or conn.state == "selected")
end

-- cleanup(t, conn, prefix): unsubscribes and deletes every mailbox whose name begins with
-- prefix (inferiors first), leaving a selected mailbox first; opens a new session when conn is
-- no longer usable. Records a failed check when a selectable one is still listed afterwards.
function M.cleanup(t, conn, prefix)
  local c = conn
  if not usable(c) then c = M.session(t) end
  if c.state == "selected" then
    c:imap(c.caps.UNSELECT and "UNSELECT" or "CLOSE")
  end
  local pat = M.mailbox(prefix .. "*")
  for _, e in ipairs(M.entries(c:imap('LSUB "" ' .. pat), "LSUB")) do
    if M.quote(e.name) then c:imap("UNSUBSCRIBE " .. M.quote(e.name)) end
  end
  local names = {}
  for _, e in ipairs(M.entries(c:imap('LIST "" ' .. pat))) do names[#names + 1] = e.name end
  table.sort(names, function(a, b) return #a > #b end)
  for _, name in ipairs(names) do
    if M.quote(name) then c:imap("DELETE " .. M.quote(name)) end
  end
  local after = c:imap('LIST "" ' .. pat)
  local left = {}
  for _, e in ipairs(M.entries(after)) do
    if not e.attrs["\\NOSELECT"] then left[#left + 1] = e.name end
  end
  t:check(#left == 0, "the test mailboxes are deleted again",
    { rfc = "RFC 3501 6.3.4", received = table.concat(left, " "), expected = "none left" })
  if c ~= conn then M.logout(c) end
end

-- with_mailbox(t, conn, body) -> what body returned. CREATEs a fresh mailharness-<hex>
-- mailbox, runs body(box), and cleans up (see cleanup: the mailbox and every name beginning
-- with it, so body may create box .. "-2" or box .. "/child" too), also when body raises.
function M.with_mailbox(t, conn, body)
  local box = M.unique_mailbox(t)
  local r = conn:imap("CREATE " .. box)
  local _, ok = t:expect(r, "OK", "CREATE " .. box .. " completes with OK", { rfc = "RFC 3501 6.3.3" })
  if not ok then return end
  local res = table.pack(pcall(body, box))
  local cok, cerr = pcall(M.cleanup, t, conn, box)
  if not res[1] then error(res[2], 0) end
  if not cok then error(cerr, 0) end
  return table.unpack(res, 2, res.n)
end

-- test_message(t [, opts]) -> message: an RFC 5322 message with CRLF line ends whose Subject
-- and X-Mailharness-Marker header carry a marker (opts.marker, else a fresh one). opts: subject
-- (text before the marker), from, to, headers, body, marker.
function M.test_message(t, opts)
  opts = opts or {}
  local marker = opts.marker or t:random_hex(6)
  local headers = { "X-Mailharness-Marker: " .. marker }
  for _, h in ipairs(opts.headers or {}) do headers[#headers + 1] = h end
  return (util.message {
    from = opts.from,
    to = opts.to,
    subject = (opts.subject or "mailharness test") .. " [" .. marker .. "]",
    headers = headers,
    body = opts.body or ("Test message " .. marker .. ".\n"),
  })
end

-- populate(t, conn, box, n_or_list [, flags]) -> list of the messages appended. Appends n test
-- messages (or the given message strings) to box, each checked for OK (RFC 3501 6.3.11).
function M.populate(t, conn, box, what, flags)
  local msgs = {}
  if type(what) == "number" then
    for i = 1, what do msgs[i] = M.test_message(t, { subject = "mailharness message " .. i }) end
  else
    msgs = what
  end
  for i, m in ipairs(msgs) do
    local r = M.append(conn, box, m, flags)
    t:expect(r, "OK", "APPEND of test message " .. i .. " completes with OK",
      { rfc = "RFC 3501 6.3.11" })
  end
  return msgs
end

-- uids(conn) -> list of the UIDs of the selected mailbox in sequence order (UID FETCH 1:* UID).
function M.uids(conn)
  local r = conn:imap("FETCH 1:* (UID)")
  local map = M.fetch_map(r)
  local out = {}
  for seq = 1, #map do out[seq] = map[seq] and tonumber(map[seq].UID) end
  return out, r
end

return M
