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
    local victim = uid_of(t, conn, n)
    t:log("DELE " .. n .. (victim and (" (UIDL " .. victim .. ")") or "") .. ", then close without QUIT")
    t:expect(pop3.dele(conn, n), "+OK", "DELE " .. n .. " gets +OK", { rfc = "RFC 1939 5" })
    -- "If a session terminates for some reason other than a client-issued QUIT command, the
    -- POP3 session does NOT enter the UPDATE state and MUST not remove any messages from the
    -- maildrop."
    conn:close()
    t:sleep(500)
    local conn2 = pop3.session(t)
    if victim then
      t:check(has_uid(conn2, victim), "the DELE'd message is still there after a session without QUIT",
        { received = "UIDL listing without " .. victim, expected = victim .. " still listed" })
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
    local victim = uid_of(t, conn, 1)
    t:log("deleting message 1 of " .. n .. (victim and (" (UIDL " .. victim .. ")") or ""))
    t:expect(pop3.dele(conn, 1), "+OK", "DELE 1 gets +OK", { rfc = "RFC 1939 5" })
    -- QUIT: "The POP3 server removes all messages marked as deleted from the maildrop and
    -- replies as to the status of this operation." ... "closes the TCP connection"
    local q = pop3.quit(conn)
    t:expect(q, "+OK", "QUIT in the TRANSACTION state gets +OK (messages removed)")
    util.wait_closed(conn, 3000)
    local conn2 = pop3.session(t)
    if victim then
      t:check(not has_uid(conn2, victim), "the deleted message is gone from the next session",
        { received = victim .. " still listed by UIDL", expected = "no " .. victim })
    else
      -- without UIDL only the counts can tell (other sessions delivering mail disturb this)
      local n2, size2 = pop3.stat(conn2)
      t:check(n2 == n - 1 and size2 == size - list[1], "the next session counts one message less",
        { received = tostring(n2) .. " " .. tostring(size2),
          expected = tostring(n - 1) .. " " .. tostring(size - list[1]) })
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
        { received = "UIDL listing without " .. uids[1], expected = uids[1] .. " still listed" })
    else
      t:log("the maildrop shrank between the sessions (another client deleted mail): " ..
        "persistence not judged")
    end
    pop3.quit(conn2)
  end,
}
