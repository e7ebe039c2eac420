-- POP3 maildrop: STAT, LIST, RETR sizes and byte-stuffing, UIDL, DELE/RSET/QUIT and the UPDATE
-- state (RFC 1939 5, 6, 7, 11). Cases that need messages skip on an empty maildrop.
local pop3 = require("mh.pop3")
local util = require("mh.util")

local function nonempty(t, conn)
  local n, size, r = pop3.stat(conn)
  if not n then error("STAT failed: " .. tostring(size)) end
  if n == 0 then
    pop3.quit(conn)
    t:skip("the maildrop of " .. t.user .. " is empty; deliver a message first")
  end
  return n, size, r
end

case {
  id = "pop3.stat.matches-list",
  title = "STAT's drop listing agrees with LIST: count and sum of octets",
  rfc = "RFC 1939 5",
  level = "MUST",
  run = function(t)
    local conn = pop3.session(t)
    -- "The positive response consists of "+OK" followed by a single space, the number of
    -- messages in the maildrop, a single space, and the size of the maildrop in octets."
    local r = conn:cmd("STAT")
    local n, size = t:expect_match(r and r.raw, "^%+OK (%d+) (%d+)", "STAT gives a drop listing")
    if n then
      local list, lr = pop3.list(conn)
      t:check(list ~= nil, "LIST gives scan listings \"msg octets\"", { received = lr and lr.raw })
      if list then
        local count, sum = 0, 0
        for i, octets in pairs(list) do
          count = count + 1
          sum = sum + octets
          t:check(i >= 1 and i <= tonumber(n), "message number " .. i .. " is within 1.." .. n,
            { received = tostring(i) })
        end
        t:check(count == tonumber(n), "LIST lists as many messages as STAT counts",
          { received = tostring(count), expected = n })
        t:check(sum == tonumber(size), "the LIST sizes add up to the STAT size",
          { received = tostring(sum), expected = size })
      end
    end
    pop3.quit(conn)
  end,
}

case {
  id = "pop3.retr.size",
  title = "RETR returns the message, un-byte-stuffed, exactly as many octets as LIST says",
  rfc = "RFC 1939 11",
  level = "MUST",
  run = function(t)
    local conn = pop3.session(t)
    nonempty(t, conn)
    local list = pop3.list(conn)
    if not list then error("LIST failed") end
    local max = tonumber(t:param("max_retr", "5"))
    for i = 1, max do
      local octets = list[i]
      if not octets then break end
      local r = pop3.retr(conn, i)
      -- 5: RETR "If the POP3 server issues a positive response, then the response given is
      -- multi-line. ... being careful to byte-stuff the termination character"
      local _, ok = t:expect(r, "+OK", "RETR " .. i .. " gets +OK and the message", { rfc = "RFC 1939 5" })
      if ok then
        -- 11: the size counts each line end as two octets (CRLF) and byte-stuffed termination
        -- characters once: "lines in the message which start with the termination octet need
        -- not (and must not) be counted twice". 5: the scan listing gives "the exact size of
        -- the message in octets".
        t:check(#r.body == octets, "RETR " .. i .. " delivers exactly the LIST size in octets",
          { received = tostring(#r.body) .. " octets", expected = tostring(octets) .. " octets" })
      end
    end
    pop3.quit(conn)
  end,
}

case {
  id = "pop3.list.no-such-message",
  title = "LIST, RETR and DELE of a message number past the end get -ERR",
  rfc = "RFC 1939 5",
  level = "MUST",
  run = function(t)
    local conn = pop3.session(t)
    local n = pop3.stat(conn)
    if not n then error("STAT failed") end
    -- LIST "-ERR no such message"; RETR and DELE likewise
    t:expect(conn:cmd("LIST " .. (n + 1)), "-ERR", "LIST " .. (n + 1) .. " gets -ERR")
    t:expect(conn:cmd("RETR " .. (n + 1)), "-ERR", "RETR " .. (n + 1) .. " gets -ERR")
    t:expect(conn:cmd("DELE " .. (n + 1)), "-ERR", "DELE " .. (n + 1) .. " gets -ERR")
    pop3.quit(conn)
  end,
}

case {
  id = "pop3.dele.rset",
  title = "DELE marks a message (gone from LIST/STAT), RSET unmarks it",
  rfc = "RFC 1939 5",
  level = "MUST",
  run = function(t)
    local conn = pop3.session(t)
    local n, size = nonempty(t, conn)
    local list = pop3.list(conn)
    if not list then error("LIST failed") end
    t:expect(pop3.dele(conn, 1), "+OK", "DELE 1 gets +OK")
    -- DELE: "Any future reference to the message-number associated with the message in a POP3
    -- command generates an error."
    t:expect(conn:cmd("LIST 1"), "-ERR", "LIST 1 of the deleted message gets -ERR")
    t:expect(conn:cmd("RETR 1"), "-ERR", "RETR 1 of the deleted message gets -ERR")
    t:expect(pop3.dele(conn, 1), "-ERR", "a second DELE 1 gets -ERR")
    -- STAT: "Note that messages marked as deleted are not counted in either total."
    local n2, size2 = pop3.stat(conn)
    t:check(n2 == n - 1 and size2 == size - list[1], "STAT no longer counts the deleted message",
      { received = tostring(n2) .. " " .. tostring(size2),
        expected = tostring(n - 1) .. " " .. tostring(size - list[1]) })
    -- RSET: "If any messages have been marked as deleted by the POP3 server, they are unmarked."
    local r = conn:cmd("RSET")
    t:expect(r, "+OK", "RSET gets +OK")
    local n3, size3 = pop3.stat(conn)
    t:check(n3 == n and size3 == size, "after RSET STAT counts the message again",
      { received = tostring(n3) .. " " .. tostring(size3), expected = n .. " " .. size })
    if r and r.class == "ok" and n3 == n then
      pop3.quit(conn)
    else
      conn:close() -- no QUIT: the session must not enter UPDATE (RFC 1939 6)
    end
  end,
}

-- The unique-id of message n, when the server offers UIDL (identifies a message even while other
-- sessions add or remove mail).
local function uid_of(t, conn, n)
  if not t:has_cap("UIDL") then return nil end
  local uids = pop3.uidl(conn)
  return uids and uids[n]
end

local function has_uid(conn, uid)
  for _, u in pairs(pop3.uidl(conn) or {}) do
    if u == uid then return true end
  end
  return false
end

case {
  id = "pop3.dele.no-quit-keeps",
  title = "A session that ends without QUIT removes nothing, even after DELE",
  rfc = "RFC 1939 6",
  level = "MUST",
  run = function(t)
    local conn = pop3.session(t)
    local n, size = nonempty(t, conn)
    -- message 1: the destructive cases remove the newest messages, never the oldest
    local victim = uid_of(t, conn, 1)
    t:log("DELE 1" .. (victim and (" (UIDL " .. victim .. ")") or "") .. ", then close without QUIT")
    t:expect(pop3.dele(conn, 1), "+OK", "DELE 1 gets +OK", { rfc = "RFC 1939 5" })
    -- "If a session terminates for some reason other than a client-issued QUIT command, the
    -- POP3 session does NOT enter the UPDATE state and MUST not remove any messages from the
    -- maildrop."
    conn:close()
    t:sleep(500)
    local conn2 = pop3.session(t)
    if victim then
      local still = has_uid(conn2, victim)
      t:check(still, "the DELE'd message is still there after a session without QUIT",
        { received = still and (victim .. " listed") or ("UIDL listing without " .. victim),
          expected = victim .. " still listed" })
    else
      -- without UIDL only the counts can tell (other sessions deleting mail disturb this)
      local n2, size2 = pop3.stat(conn2)
      t:check(n2 == n and size2 == size, "the maildrop is unchanged after a session without QUIT",
        { received = tostring(n2) .. " " .. tostring(size2), expected = n .. " " .. size })
    end
    pop3.quit(conn2)
  end,
}

case {
  id = "pop3.dele.quit-commits",
  title = "DELE then QUIT removes the message: a new session no longer sees it",
  rfc = "RFC 1939 6",
  level = "MUST",
  destructive = true,
  run = function(t)
    local conn = pop3.session(t)
    local n, size = nonempty(t, conn)
    local list = pop3.list(conn)
    if not (list and list[n]) then error("LIST failed") end
    -- the newest message: cases that read messages start at 1
    local victim = uid_of(t, conn, n)
    t:log("deleting message " .. n .. " of " .. n .. (victim and (" (UIDL " .. victim .. ")") or ""))
    t:expect(pop3.dele(conn, n), "+OK", "DELE " .. n .. " gets +OK", { rfc = "RFC 1939 5" })
    -- QUIT: "The POP3 server removes all messages marked as deleted from the maildrop and
    -- replies as to the status of this operation." ... "closes the TCP connection"
    local q = pop3.quit(conn)
    t:expect(q, "+OK", "QUIT in the TRANSACTION state gets +OK (messages removed)")
    util.wait_closed(conn, 3000)
    local conn2 = pop3.session(t)
    if victim then
      local still = has_uid(conn2, victim)
      t:check(not still, "the deleted message is gone from the next session",
        { received = still and (victim .. " still listed by UIDL") or (victim .. " not listed"),
          expected = "no " .. victim })
    else
      -- without UIDL only the counts can tell (other sessions delivering mail disturb this)
      local n2, size2 = pop3.stat(conn2)
      t:check(n2 == n - 1 and size2 == size - list[n], "the next session counts one message less",
        { received = tostring(n2) .. " " .. tostring(size2),
          expected = tostring(n - 1) .. " " .. tostring(size - list[n]) })
    end
    pop3.quit(conn2)
  end,
}

case {
  id = "pop3.uidl.syntax",
  title = "UIDL: unique-ids of 1-70 printable characters, unique, stable across sessions",
  rfc = "RFC 1939 7",
  level = "MUST",
  requires = "UIDL",
  run = function(t)
    local conn = pop3.session(t)
    nonempty(t, conn)
    local uids, r = pop3.uidl(conn)
    t:check(uids ~= nil, "UIDL gives unique-id listings \"msg uid\"", { received = r and r.raw })
    if not uids then return end
    -- "The unique-id of a message is an arbitrary server-determined string, consisting of one
    -- to 70 characters in the range 0x21 to 0x7E, which uniquely identifies a message within a
    -- maildrop and which persists across sessions."
    local seen = {}
    for i, uid in pairs(uids) do
      t:check(#uid >= 1 and #uid <= 70 and not uid:find("[^\33-\126]"),
        "unique-id of message " .. i .. " is 1-70 characters 0x21-0x7E", { received = uid })
      t:check(not seen[uid], "unique-id of message " .. i .. " is unique in the maildrop",
        { level = "SHOULD", received = uid, expected = "not also the id of message " .. tostring(seen[uid]) })
      seen[uid] = i
    end
    -- "UIDL msg" gives the same listing on one line: "+OK msg uid"
    local one = conn:cmd("UIDL 1")
    t:expect_match(one and one.raw, "^%+OK 1 " .. uids[1]:gsub("%p", "%%%0") .. "\r\n",
      "UIDL 1 repeats message 1's unique-id")
    pop3.quit(conn)
    -- "This persistence is required even if a session ends without entering the UPDATE state."
    local conn2 = pop3.session(t)
    local n2 = pop3.stat(conn2)
    local persisted = has_uid(conn2, uids[1])
    if persisted or (n2 and n2 >= #uids) then
      t:check(persisted, "message 1's unique-id persists across sessions",
        { received = persisted and (uids[1] .. " listed") or ("UIDL listing without " .. uids[1]),
          expected = uids[1] .. " still listed" })
    else
      t:log("the maildrop shrank between the sessions (another client deleted mail): " ..
        "persistence not judged")
    end
    pop3.quit(conn2)
  end,
}

case {
  id = "pop3.list.one",
  title = "LIST n gives the scan listing \"+OK n size\" that the LIST listing has for n",
  rfc = "RFC 1939 5",
  level = "MUST",
  run = function(t)
    local conn = pop3.session(t)
    local n = nonempty(t, conn)
    local list = pop3.list(conn)
    if not list then error("LIST failed") end
    -- "If an argument was given and the POP3 server issues a positive response with a line
    -- containing information for that message. This line is called a "scan listing" for that
    -- message." ... "A scan listing consists of the message-number of the message, followed by
    -- a single space and the exact size of the message in octets."
    for i = 1, math.min(n, 20) do
      local r = conn:cmd("LIST " .. i)
      local num, size = t:expect_match(r and r.raw, "^%+OK (%d+) (%d+)", "LIST " .. i .. " gives a scan listing")
      if num then
        t:check(tonumber(num) == i and tonumber(size) == list[i],
          "LIST " .. i .. " agrees with the LIST listing",
          { received = num .. " " .. size, expected = i .. " " .. tostring(list[i]) })
      end
    end
    pop3.quit(conn)
  end,
}

case {
  id = "pop3.msgno.zero",
  title = "Message number 0 does not exist: LIST 0, RETR 0, DELE 0, TOP 0 0 and UIDL 0 get -ERR",
  rfc = "RFC 1939 5",
  level = "MUST",
  run = function(t)
    local conn = pop3.session(t)
    -- 4: "The first message in the maildrop is assigned a message-number of "1""; 5: "Possible
    -- Responses: ... -ERR no such message"
    local cmds = { "LIST 0", "RETR 0", "DELE 0" }
    if t:has_cap("TOP") then cmds[#cmds + 1] = "TOP 0 0" end
    if t:has_cap("UIDL") then cmds[#cmds + 1] = "UIDL 0" end
    for _, cmd in ipairs(cmds) do
      t:expect(conn:cmd(cmd), "-ERR", cmd .. " gets -ERR")
    end
    t:expect(conn:cmd("RSET"), "+OK", "RSET gets +OK") -- nothing may stay marked
    pop3.quit(conn)
  end,
}

case {
  id = "pop3.msgno.non-numeric",
  title = "Message numbers that are not decimal numbers (abc, 1x, empty) get -ERR",
  rfc = "RFC 1939 3",
  level = "MUST",
  run = function(t)
    local conn = pop3.session(t)
    -- 4: "all message-numbers and message sizes are expressed in base-10 (i.e., decimal)"; 3: "A
    -- server MUST respond to an unrecognized, unimplemented, or syntactically invalid command by
    -- responding with a negative status indicator."
    for _, cmd in ipairs({ "LIST abc", "RETR abc", "DELE abc", "LIST 1x", "RETR 1x", "DELE 1x" }) do
      t:expect(conn:cmd(cmd), "-ERR", cmd .. " gets -ERR")
    end
    t:expect(conn:cmd("RSET"), "+OK", "RSET gets +OK") -- nothing may stay marked
    pop3.quit(conn)
  end,
}

case {
  id = "pop3.msgno.negative",
  title = "Negative message numbers (LIST -1, RETR -1, DELE -1) get -ERR",
  rfc = "RFC 1939 5",
  level = "MUST",
  run = function(t)
    local conn = pop3.session(t)
    -- 4: message numbers run from "1"; 5: "-ERR no such message"; 3: "A server MUST respond to
    -- an unrecognized, unimplemented, or syntactically invalid command by responding with a
    -- negative status indicator."
    local cmds = { "LIST -1", "RETR -1", "DELE -1" }
    if t:has_cap("TOP") then cmds[#cmds + 1] = "TOP -1 0" end
    if t:has_cap("UIDL") then cmds[#cmds + 1] = "UIDL -1" end
    for _, cmd in ipairs(cmds) do
      t:expect(conn:cmd(cmd), "-ERR", cmd .. " gets -ERR")
    end
    t:expect(conn:cmd("RSET"), "+OK", "RSET gets +OK") -- nothing may stay marked
    pop3.quit(conn)
  end,
}

case {
  id = "pop3.msgno.huge",
  title = "Huge message numbers (2^32, 2^32+1, 2^64+1) get -ERR, not a wrapped-around message",
  rfc = "RFC 1939 5",
  level = "MUST",
  run = function(t)
    local conn = pop3.session(t)
    local n = pop3.stat(conn)
    if not n then error("STAT failed") end
    -- LIST/RETR/DELE: "-ERR no such message". A server that parses into 32 or 64 bits wraps
    -- 4294967297 to 1 and hands out message 1.
    for _, cmd in ipairs({ "LIST 4294967296", "LIST 4294967297", "RETR 4294967297",
        "DELE 4294967297", "LIST 18446744073709551617", "RETR 18446744073709551617",
        "LIST 99999999999999999999999999" }) do
      t:expect(conn:cmd(cmd), "-ERR", cmd .. " gets -ERR")
    end
    t:expect(conn:cmd("RSET"), "+OK", "RSET gets +OK") -- in case a DELE wrapped around
    local n2 = pop3.stat(conn)
    t:check(n2 == n, "the maildrop is unchanged", { received = tostring(n2), expected = tostring(n) })
    pop3.quit(conn)
  end,
}

case {
  id = "pop3.msgno.past-end-top-uidl",
  title = "TOP and UIDL of a message number past the end get -ERR",
  rfc = "RFC 1939 7",
  level = "MUST",
  run = function(t)
    if not (t:has_cap("TOP") or t:has_cap("UIDL")) then
      t:skip("server advertises neither TOP nor UIDL")
    end
    local conn = pop3.session(t)
    local n = pop3.stat(conn)
    if not n then error("STAT failed") end
    -- TOP: "-ERR no such message" (example "C: TOP 100 3 / S: -ERR no such message"); UIDL:
    -- "-ERR no such message" (example "C: UIDL 3 / S: -ERR no such message, only 2 messages in
    -- maildrop")
    if t:has_cap("TOP") then
      t:expect(conn:cmd("TOP " .. (n + 1) .. " 0"), "-ERR", "TOP " .. (n + 1) .. " 0 gets -ERR")
    end
    if t:has_cap("UIDL") then
      t:expect(conn:cmd("UIDL " .. (n + 1)), "-ERR", "UIDL " .. (n + 1) .. " gets -ERR")
    end
    pop3.quit(conn)
  end,
}

-- Messages 1..max (at most `max`) that have a body: { {n=, header=, lines=, body=}, ... },
-- with their RETR bodies.
local function messages_with_body(t, conn, n, max)
  local out = {}
  for i = 1, math.min(n, max) do
    local r = pop3.retr(conn, i)
    if r and r.class == "ok" and r.body then
      local header, lines = pop3.split_message(r.body)
      if header then out[#out + 1] = { n = i, header = header, lines = lines, body = r.body } end
    end
  end
  return out
end

case {
  id = "pop3.top.headers-only",
  title = "TOP n 0 returns the header and the blank line, nothing of the body",
  rfc = "RFC 1939 7",
  level = "MUST",
  requires = "TOP",
  run = function(t)
    local conn = pop3.session(t)
    local n = nonempty(t, conn)
    local msgs = messages_with_body(t, conn, n, 3)
    if #msgs == 0 then
      pop3.quit(conn)
      t:skip("none of the first messages has a header/body separator")
    end
    for _, m in ipairs(msgs) do
      -- "After the initial +OK, the POP3 server sends the headers of the message, the blank line
      -- separating the headers from the body, and then the number of lines of the indicated
      -- message's body"
      local r = pop3.top(conn, m.n, 0)
      local _, ok = t:expect(r, "+OK", "TOP " .. m.n .. " 0 gets +OK")
      if ok then
        t:check(r.body == m.header, "TOP " .. m.n .. " 0 is the header of RETR " .. m.n .. " up to the blank line",
          { received = #r.body .. " octets", expected = #m.header .. " octets (the RETR header and blank line)" })
      end
    end
    pop3.quit(conn)
  end,
}

case {
  id = "pop3.top.lines",
  title = "TOP n k returns the header, the blank line and exactly the first k body lines",
  rfc = "RFC 1939 7",
  level = "MUST",
  requires = "TOP",
  run = function(t)
    local conn = pop3.session(t)
    local n = nonempty(t, conn)
    local msgs = messages_with_body(t, conn, n, 5)
    local tried = 0
    for _, m in ipairs(msgs) do
      if #m.lines >= 2 then
        for _, k in ipairs({ 1, #m.lines - 1 }) do
          tried = tried + 1
          -- "and then the number of lines of the indicated message's body"
          local want = m.header .. table.concat(m.lines, "", 1, k)
          local r = pop3.top(conn, m.n, k)
          local _, ok = t:expect(r, "+OK", "TOP " .. m.n .. " " .. k .. " gets +OK")
          if ok then
            t:check(r.body == want, "TOP " .. m.n .. " " .. k .. " is the header and the first " .. k .. " body line(s)",
              { received = #r.body .. " octets", expected = #want .. " octets" })
          end
        end
      end
    end
    if tried == 0 then
      pop3.quit(conn)
      t:skip("none of the first messages has two or more body lines")
    end
    pop3.quit(conn)
  end,
}

case {
  id = "pop3.top.all-lines",
  title = "TOP n with more lines than the body has returns the entire message",
  rfc = "RFC 1939 7",
  level = "MUST",
  requires = "TOP",
  run = function(t)
    local conn = pop3.session(t)
    local n = nonempty(t, conn)
    for i = 1, math.min(n, 3) do
      local whole = pop3.retr(conn, i)
      if whole and whole.class == "ok" then
        -- "Note that if the number of lines requested by the POP3 client is greater than than the
        -- number of lines in the body, then the POP3 server sends the entire message."
        local r = pop3.top(conn, i, 1000000)
        local _, ok = t:expect(r, "+OK", "TOP " .. i .. " 1000000 gets +OK")
        if ok then
          t:check(r.body == whole.body, "TOP " .. i .. " 1000000 equals RETR " .. i,
            { received = #r.body .. " octets", expected = #whole.body .. " octets" })
        end
      end
    end
    pop3.quit(conn)
  end,
}

case {
  id = "pop3.top.bad-args",
  title = "TOP with a negative or non-numeric line count gets -ERR",
  rfc = "RFC 1939 7",
  level = "MUST",
  requires = "TOP",
  run = function(t)
    local conn = pop3.session(t)
    nonempty(t, conn)
    -- TOP takes "a message-number (required) ... and a non-negative number of lines
    -- (required)"; RFC 1939 3: "A server MUST respond to an unrecognized, unimplemented, or
    -- syntactically invalid command by responding with a negative status indicator."
    t:expect(conn:cmd("TOP 1 -1"), "-ERR", "TOP 1 -1 gets -ERR")
    t:expect(conn:cmd("TOP 1 x"), "-ERR", "TOP 1 x gets -ERR")
    pop3.quit(conn)
  end,
}

-- Lines of a multi-line reply's raw bytes that begin with the termination octet but were not
-- byte-stuffed (the final "." line excluded).
local function unstuffed(raw)
  local bad, first = {}, true
  for line in raw:gmatch("([^\n]*)\n") do
    if first then
      first = false
    elseif line == ".\r" then
      break
    elseif line:sub(1, 1) == "." and line:sub(2, 2) ~= "." then
      bad[#bad + 1] = line
    end
  end
  return bad
end

case {
  id = "pop3.retr.byte-stuffing",
  title = "RETR byte-stuffs lines that begin with \".\" and the un-stuffed message has the LIST size",
  rfc = "RFC 1939 3",
  level = "MUST",
  run = function(t)
    local conn = pop3.session(t)
    local n = nonempty(t, conn)
    local list = pop3.list(conn)
    if not list then error("LIST failed") end
    local found = 0
    for i = 1, math.min(n, 20) do
      local r = pop3.retr(conn, i)
      if r and r.class == "ok" and r.body then
        -- "If any line of the multi-line response begins with the termination octet, the line is
        -- "byte-stuffed" by pre-pending the termination octet to that line of the response."
        -- On the wire every such line therefore starts with "..".
        local bad = unstuffed(r.raw)
        t:check(#bad == 0, "RETR " .. i .. ": every line beginning with \".\" is byte-stuffed",
          { received = bad[1], expected = "\"..\" at the start of such lines" })
        if ("\r\n" .. r.body):find("\r\n%.") then
          found = found + 1
          -- 11: "lines in the message which start with the termination octet need not (and must
          -- not) be counted twice"; 5: the scan listing gives "the exact size of the message"
          t:check(#r.body == list[i], "RETR " .. i .. " (with dot lines): the un-stuffed size is the LIST size",
            { rfc = "RFC 1939 11", received = #r.body .. " octets", expected = tostring(list[i]) .. " octets" })
          if t:has_cap("TOP") then
            local top = pop3.top(conn, i, 1000000)
            if top and top.class == "ok" then
              local tbad = unstuffed(top.raw)
              t:check(#tbad == 0, "TOP " .. i .. ": every line beginning with \".\" is byte-stuffed",
                { rfc = "RFC 1939 7", received = tbad[1], expected = "\"..\" at the start of such lines" })
            end
          end
          if found >= 2 then break end
        end
      end
    end
    pop3.quit(conn)
    if found == 0 then
      t:skip("no message among the first 20 has a line beginning with \".\"; deliver one")
    end
  end,
}

case {
  id = "pop3.dele.hidden",
  title = "A message marked by DELE is gone from LIST and UIDL listings and from TOP/UIDL n until RSET",
  rfc = "RFC 1939 5",
  level = "MUST",
  run = function(t)
    local conn = pop3.session(t)
    nonempty(t, conn)
    local n = 1 -- the destructive cases remove the newest messages, never the oldest
    t:expect(pop3.dele(conn, n), "+OK", "DELE " .. n .. " gets +OK")
    -- LIST: "Note that messages marked as deleted are not listed."
    local list = pop3.list(conn)
    t:check(list ~= nil and list[n] == nil, "the LIST listing omits message " .. n,
      { received = list and list[n] and (n .. " " .. list[n]) or "omitted", expected = "no line for " .. n })
    if t:has_cap("UIDL") then
      -- UIDL: "Note that messages marked as deleted are not listed."
      local uids = pop3.uidl(conn)
      t:check(uids ~= nil and uids[n] == nil, "the UIDL listing omits message " .. n,
        { rfc = "RFC 1939 7", received = uids and uids[n] or "omitted", expected = "no line for " .. n })
      -- UIDL [msg]: "a message-number (optional), which, if present, may NOT refer to a message
      -- marked as deleted"; DELE: "Any future reference to the message-number associated with the
      -- message in a POP3 command generates an error."
      t:expect(conn:cmd("UIDL " .. n), "-ERR", "UIDL " .. n .. " gets -ERR", { rfc = "RFC 1939 7" })
    end
    if t:has_cap("TOP") then
      t:expect(conn:cmd("TOP " .. n .. " 0"), "-ERR", "TOP " .. n .. " 0 gets -ERR", { rfc = "RFC 1939 7" })
    end
    local r = conn:cmd("RSET")
    t:expect(r, "+OK", "RSET gets +OK")
    -- RSET: "If any messages have been marked as deleted by the POP3 server, they are unmarked."
    local again = pop3.list(conn)
    t:check(again ~= nil and again[n] ~= nil, "after RSET LIST lists message " .. n .. " again",
      { received = (again and again[n]) and (n .. " " .. again[n]) or "omitted", expected = "a line for " .. n })
    if r and r.class == "ok" and again and again[n] then
      pop3.quit(conn)
    else
      conn:close() -- no QUIT: the session must not enter UPDATE (RFC 1939 6)
    end
  end,
}

case {
  id = "pop3.dele.numbers-stable",
  title = "DELE does not renumber: the other messages keep their numbers, sizes and unique-ids",
  rfc = "RFC 1939 4",
  level = "MUST",
  run = function(t)
    local conn = pop3.session(t)
    local n = pop3.nonempty(t, conn, 2)
    local list = pop3.list(conn)
    if not list then error("LIST failed") end
    local uids = t:has_cap("UIDL") and pop3.uidl(conn) or nil
    t:expect(pop3.dele(conn, 1), "+OK", "DELE 1 gets +OK", { rfc = "RFC 1939 5" })
    -- 4: "After the POP3 server has opened the maildrop, it assigns a message-number to each
    -- message" ... "the nth message in a maildrop is assigned a message-number of "n"." 5: DELE
    -- affects only the message it names ("Any future reference to the message-number associated
    -- with the message in a POP3 command generates an error").
    for i = 2, math.min(n, 10) do
      local r = conn:cmd("LIST " .. i)
      local num, size = t:expect_match(r and r.raw, "^%+OK (%d+) (%d+)", "LIST " .. i .. " still works")
      if num then
        t:check(tonumber(size) == list[i], "message " .. i .. " keeps its size",
          { received = size, expected = tostring(list[i]) })
      end
      if uids and uids[i] then
        local u = conn:cmd("UIDL " .. i)
        t:expect_match(u and u.raw, "^%+OK " .. i .. " " .. uids[i]:gsub("%p", "%%%0") .. "%s*\r\n",
          "message " .. i .. " keeps its unique-id", { rfc = "RFC 1939 7" })
      end
    end
    local r = conn:cmd("RSET")
    t:expect(r, "+OK", "RSET gets +OK", { rfc = "RFC 1939 5" })
    local n2 = pop3.stat(conn)
    if r and r.class == "ok" and n2 == n then
      pop3.quit(conn)
    else
      conn:close() -- no QUIT: the session must not enter UPDATE (RFC 1939 6)
    end
  end,
}

case {
  id = "pop3.rset.quit-keeps",
  title = "DELE, RSET, QUIT: the unmarked message survives the UPDATE state",
  rfc = "RFC 1939 6",
  level = "MUST",
  destructive = true,
  run = function(t)
    local conn = pop3.session(t)
    local n, size = nonempty(t, conn)
    local victim = uid_of(t, conn, 1) -- the oldest: no other case removes it
    t:expect(pop3.dele(conn, 1), "+OK", "DELE 1 gets +OK", { rfc = "RFC 1939 5" })
    -- RSET: "If any messages have been marked as deleted by the POP3 server, they are unmarked."
    t:expect(conn:cmd("RSET"), "+OK", "RSET gets +OK", { rfc = "RFC 1939 5" })
    -- QUIT: "The POP3 server removes all messages marked as deleted from the maildrop" ... "In no
    -- case may the server remove any messages not marked as deleted."
    t:expect(pop3.quit(conn), "+OK", "QUIT gets +OK")
    util.wait_closed(conn, 3000)
    local conn2 = pop3.session(t)
    if victim then
      local still = has_uid(conn2, victim)
      t:check(still, "the unmarked message is still in the maildrop",
        { received = still and (victim .. " listed") or ("UIDL listing without " .. victim),
          expected = victim .. " still listed" })
    else
      local n2, size2 = pop3.stat(conn2)
      t:check(n2 ~= nil and n2 >= n and size2 >= size, "the maildrop still has all its messages",
        { received = tostring(n2) .. " " .. tostring(size2), expected = ">= " .. n .. " " .. size })
    end
    pop3.quit(conn2)
  end,
}

-- The maildrop lock (RFC 1939 4): "the POP3 server then acquires an exclusive-access lock on the
-- maildrop, as necessary to prevent messages from being modified or removed before the session
-- enters the UPDATE state." A server may refuse a second session ("-ERR unable to lock
-- maildrop", RFC 2449 8.1.2 [IN-USE]) or admit it and keep the sessions from harming each other.

case {
  id = "pop3.lock.second-session",
  title = "A second session for the same user is refused (-ERR), or it does not see the first one's DELE as a removal",
  rfc = "RFC 1939 4",
  level = "MUST",
  run = function(t)
    local a = pop3.session(t)
    local n = nonempty(t, a)
    local b = t:connect()
    local p = pop3.login_user_pass(b, t.user, t.password)
    -- PASS: "+OK maildrop locked and ready" / "-ERR unable to lock maildrop"
    t:expect(p, { "+OK", "-ERR" }, "the second login gets +OK or -ERR", { rfc = "RFC 1939 7" })
    if p and p.class ~= "ok" then
      t:log("second session refused (" .. p.raw:gsub("\r\n$", "") .. "): the lock is exclusive")
      if p.resp_code then
        -- RFC 2449 8.1.2: IN-USE "indicates the authentication was successful, but the user's
        -- maildrop is currently in use (probably by another POP3 client)."
        t:log("response code: " .. p.resp_code)
      end
      if not b:closed() then pop3.quit(b) end
      pop3.quit(a)
      return
    end
    -- both sessions are in TRANSACTION: A marks message 1, B must still have it
    t:expect(pop3.dele(a, 1), "+OK", "session 1: DELE 1 gets +OK", { rfc = "RFC 1939 5" })
    -- DELE: "The POP3 server does not actually delete the message until the POP3 session enters
    -- the UPDATE state."
    local r = pop3.retr(b, 1)
    t:expect(r, "+OK", "session 2: RETR 1 still gets the message", { rfc = "RFC 1939 5" })
    local nb = pop3.stat(b)
    t:check(nb ~= nil and nb >= n, "session 2 still counts message 1",
      { rfc = "RFC 1939 5", received = tostring(nb), expected = ">= " .. n })
    t:expect(a:cmd("RSET"), "+OK", "session 1: RSET gets +OK", { rfc = "RFC 1939 5" })
    pop3.quit(b)
    pop3.quit(a)
  end,
}

case {
  id = "pop3.lock.removal-under-session",
  title = "A message another session of the same user deletes stays retrievable in a session that has it listed",
  rfc = "RFC 1939 4",
  level = "MUST",
  destructive = true,
  run = function(t)
    local a = pop3.session(t)
    local count = nonempty(t, a)
    -- one of the newest messages (pop3.dele.quit-commits takes the newest)
    local n = math.max(1, count - 1)
    local victim = uid_of(t, a, n)
    local before = pop3.retr(a, n)
    if not (before and before.class == "ok") then error("RETR " .. n .. " failed in session 1") end
    local b = t:connect()
    local p = pop3.login_user_pass(b, t.user, t.password)
    t:expect(p, { "+OK", "-ERR" }, "the second login gets +OK or -ERR", { rfc = "RFC 1939 7" })
    if p and p.class ~= "ok" then
      -- the exclusive lock keeps the second session out: nothing to remove
      t:log("second session refused: " .. p.raw:gsub("\r\n$", ""))
      if not b:closed() then pop3.quit(b) end
      pop3.quit(a)
      return
    end
    -- session 2 deletes the message session 1 has as number n (found by unique-id if possible)
    local bn = n
    if victim then
      bn = nil
      for i, u in pairs(pop3.uidl(b) or {}) do
        if u == victim then bn = i end
      end
      if not bn then
        pop3.quit(b)
        pop3.quit(a)
        t:skip("session 2 does not list " .. victim .. " (another client removed it)")
      end
    end
    t:log("session 2 deletes message " .. bn .. (victim and (" (UIDL " .. victim .. ")") or "") .. " and QUITs")
    t:expect(pop3.dele(b, bn), "+OK", "session 2: DELE " .. bn .. " gets +OK", { rfc = "RFC 1939 5" })
    t:expect(pop3.quit(b), "+OK", "session 2: QUIT gets +OK", { rfc = "RFC 1939 6" })
    util.wait_closed(b, 3000)
    -- 4: the lock is there "to prevent messages from being modified or removed before the
    -- session enters the UPDATE state": session 1 has not entered it, so message n is still
    -- its message n.
    local after = pop3.retr(a, n)
    t:expect(after, "+OK", "session 1: RETR " .. n .. " still gets the message")
    if after and after.class == "ok" then
      t:check(after.body == before.body, "session 1: RETR " .. n .. " gives the same message as before",
        { received = #after.body .. " octets", expected = #before.body .. " octets" })
    end
    if not a:closed() then pop3.quit(a) end
  end,
}
