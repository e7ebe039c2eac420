-- IMAP extensions, each only where advertised: IDLE (RFC 2177), ENABLE (RFC 5161), UIDPLUS
-- (RFC 4315), MOVE (RFC 6851), ID (RFC 2971), NAMESPACE and UNSELECT (RFC 9051 6.3.10, 6.4.2).
-- Many servers announce extensions only after login, so cases that need one the target did not
-- announce before login check conn.caps after login (imap.need_cap) instead of `requires`.
local imap = require("mh.imap")

local function list(nums)
  return table.concat(nums, ",")
end

-- expand("304,319:320") -> { 304, 319, 320 } (a UID set as in RFC 4315 3; no "*")
local function expand(set)
  local out = {}
  for item in tostring(set):gmatch("[^,]+") do
    local a, b = item:match("^(%d+):(%d+)$")
    if a then
      a, b = tonumber(a), tonumber(b)
      if a > b then a, b = b, a end
      for n = a, b do out[#out + 1] = n end
    elseif item:match("^%d+$") then
      out[#out + 1] = tonumber(item)
    else
      return nil
    end
  end
  return out
end

local function uidvalidity(conn, box)
  return (imap.status(conn:imap("STATUS " .. imap.mailbox(box) .. " (UIDVALIDITY)")) or {}).UIDVALIDITY
end

-- ---- IDLE ----

case {
  id = "imap.idle.exists",
  title = "IDLE: \"+\", an untagged EXISTS when another session appends, DONE gives OK",
  rfc = "RFC 2177 3",
  level = "SHOULD",
  requires = "IDLE",
  run = function(t)
    local conn = imap.session(t)
    imap.need_cap(t, conn, "IDLE")
    imap.with_mailbox(t, conn, function(box)
      t:expect(imap.select(conn, box), "OK", "SELECT of the empty mailbox", { rfc = "RFC 3501 6.3.1", level = "MUST" })
      local tag = conn:tag()
      conn:send(tag .. " IDLE\r\n")
      -- "The server requests a response to the IDLE command using the continuation ("+")
      -- response."
      local _, ok = t:expect(conn:read({ one = true }), "+", "IDLE gets a \"+\" continuation", { level = "MUST" })
      if not ok then return end
      local other = imap.session(t)
      t:expect(imap.append(other, box, imap.test_message(t)), "OK", "a second session appends a message",
        { rfc = "RFC 3501 6.3.11", level = "MUST" })
      imap.logout(other)
      -- "as long as an IDLE command is active, the server is now free to send untagged EXISTS,
      -- EXPUNGE, and other messages at any time." Telling the idling client about new mail is
      -- what IDLE is for; the RFC words it as a freedom, so this check is a SHOULD.
      local exists, err
      local deadline = 35000
      while not exists do
        local r
        r, err = conn:read({ one = true, timeout = deadline })
        if not r then break end
        if (r.lines[1] or ""):match("^%* 1 EXISTS") then exists = r.lines[1] end
        if r.class ~= "untagged" then break end
      end
      t:check(exists ~= nil, "an untagged * 1 EXISTS arrives while idling",
        { received = exists or tostring(err), expected = "* 1 EXISTS within 35 s" })
      -- "The IDLE command is terminated by the receipt of a "DONE" continuation from the client
      -- ... At that point, the server MAY send any remaining queued untagged responses and then
      -- MUST immediately send the tagged response to the IDLE command"
      conn:send("DONE\r\n")
      local d = conn:read()
      t:expect(d, "OK", "DONE ends IDLE with a tagged OK", { level = "MUST" })
      t:check(d and d.tag == tag, "the OK carries the IDLE command's tag", { level = "MUST", received = d and d.raw })
      if not exists then
        -- RFC 3501 5.2: "A server MUST send mailbox size updates automatically if a mailbox size
        -- change is observed during the processing of a command."
        local n = conn:imap("NOOP")
        t:check((d and imap.number(d, "EXISTS") == 1) or imap.number(n, "EXISTS") == 1,
          "the new size comes with the IDLE completion or the next NOOP",
          { rfc = "RFC 3501 5.2", level = "MUST", received = n and n.raw })
      end
    end)
    imap.logout(conn)
  end,
}

case {
  id = "imap.idle.done",
  title = "IDLE in the authenticated state, then DONE: tagged OK, the session goes on",
  rfc = "RFC 2177 3",
  level = "MUST",
  requires = "IDLE",
  run = function(t)
    local conn = imap.session(t)
    local tag = conn:tag()
    conn:send(tag .. " IDLE\r\n")
    local c = conn:read({ one = true })
    -- "Result: OK - IDLE completed after client sent "DONE"; NO - failure: the server will not
    -- allow the IDLE command at this time"
    t:expect(c, { "+", "NO" }, "IDLE without a selected mailbox gets \"+\" (or NO: not allowed now)")
    if c and c.status == "+" then
      conn:send("DONE\r\n")
      local d = conn:read()
      -- "... and then MUST immediately send the tagged response to the IDLE command and prepare to
      -- process other commands."
      t:expect(d, "OK", "DONE gets the tagged OK")
      t:check(d and d.tag == tag, "the OK carries the IDLE command's tag", { received = d and d.raw })
    end
    t:expect(conn:imap("NOOP"), "OK", "the next command is processed", { rfc = "RFC 3501 6.1.2" })
    imap.logout(conn)
  end,
}

-- ---- ENABLE ----

case {
  id = "imap.enable.condstore",
  title = "ENABLE CONDSTORE: untagged ENABLED CONDSTORE, OK; CAPABILITY unchanged",
  rfc = "RFC 5161 3.1",
  level = "MUST",
  requires = "ENABLE",
  run = function(t)
    local conn = imap.session(t)
    imap.need_cap(t, conn, "CONDSTORE")
    local before = imap.capability_set(conn:imap("CAPABILITY"))
    -- "If the argument is an extension that is supported by the server and that needs to be
    -- enabled, the server MUST enable the extension for the duration of the connection. At
    -- present, this applies only to CONDSTORE" ... "If the ENABLE command is successful, the
    -- server MUST send an untagged ENABLED response"
    local r = conn:imap("ENABLE CONDSTORE")
    t:expect(r, "OK", "ENABLE CONDSTORE completes with OK")
    local line = imap.untagged(r, "ENABLED")[1]
    t:check(line and (" " .. line:upper() .. " "):find(" CONDSTORE ", 1, true), "* ENABLED lists CONDSTORE",
      { rfc = "RFC 5161 3.2", received = r and r.raw, expected = "* ENABLED CONDSTORE" })
    -- "The server MUST NOT change the CAPABILITY list as a result of executing ENABLE"
    local after = imap.capability_set(conn:imap("CAPABILITY"))
    local diff = {}
    for k in pairs(before) do if not after[k] then diff[#diff + 1] = "-" .. k end end
    for k in pairs(after) do if not before[k] then diff[#diff + 1] = "+" .. k end end
    t:check(#diff == 0, "CAPABILITY after ENABLE lists the same capabilities", { received = table.concat(diff, " "), expected = "no change" })
    imap.logout(conn)
  end,
}

case {
  id = "imap.enable.unknown",
  title = "ENABLE of an unknown extension is ignored: OK and an ENABLED response without it",
  rfc = "RFC 5161 3.1",
  level = "MUST",
  requires = "ENABLE",
  run = function(t)
    local conn = imap.session(t)
    -- "If the argument is not an extension known to the server, the server MUST ignore the
    -- argument." "If the ENABLE command is successful, the server MUST send an untagged ENABLED
    -- response" (3.2: "The ENABLED response may contain no capabilities")
    local r = conn:imap("ENABLE X-MAILHARNESS-UNKNOWN")
    t:expect(r, "OK", "ENABLE X-MAILHARNESS-UNKNOWN completes with OK")
    local line = imap.untagged(r, "ENABLED")[1]
    t:check(line ~= nil, "an untagged ENABLED response", { received = r and r.raw, expected = "* ENABLED" })
    t:check(line == nil or not line:upper():find("X-MAILHARNESS-UNKNOWN", 1, true), "it does not list the unknown name",
      { received = line })
    imap.logout(conn)
  end,
}

-- ---- UIDPLUS ----

case {
  id = "imap.uidplus.appenduid",
  title = "APPEND answers OK [APPENDUID uidvalidity uid] naming the stored message",
  rfc = "RFC 4315 3",
  level = "SHOULD",
  run = function(t)
    local conn = imap.session(t)
    imap.need_cap(t, conn, "UIDPLUS")
    imap.with_mailbox(t, conn, function(box)
      local msg = imap.test_message(t)
      -- 3: "server implementations that advertise the UIDPLUS extension SHOULD return these
      -- response codes." "APPENDUID Followed by the UIDVALIDITY of the destination mailbox and
      -- the UID assigned to the appended message in the destination mailbox"
      local r = imap.append(conn, box, msg)
      t:expect(r, "OK", "APPEND completes with OK", { rfc = "RFC 3501 6.3.11", level = "MUST" })
      local code = imap.tagged_code(r, "APPENDUID")
      t:check(code ~= nil, "the OK carries [APPENDUID ...]", { received = r and r.raw, expected = "tag OK [APPENDUID v u] ..." })
      if not code then return end
      local v, u = code:match("^(%d+) (%d+)$")
      -- "the UID set form of the APPENDUID response code MUST NOT be used if only a single
      -- message was appended."
      t:check(v ~= nil, "APPENDUID has a UIDVALIDITY and a single UID", { level = "MUST", received = code })
      t:check(tonumber(v) == uidvalidity(conn, box), "its UIDVALIDITY is the mailbox's", { level = "MUST", received = code })
      t:expect(imap.examine(conn, box), "OK", "EXAMINE the mailbox", { rfc = "RFC 3501 6.3.2", level = "MUST" })
      local f = imap.fetch_map(conn:imap("UID FETCH " .. tostring(u) .. " (BODY.PEEK[])"))[1]
      t:check(f and f["BODY[]"] == msg, "the UID names the appended message", { level = "MUST", received = f and f["BODY[]"] })
    end)
    imap.logout(conn)
  end,
}

case {
  id = "imap.uidplus.copyuid",
  title = "COPY answers OK [COPYUID uidvalidity source-uids destination-uids]",
  rfc = "RFC 4315 3",
  level = "SHOULD",
  run = function(t)
    local conn = imap.session(t)
    imap.need_cap(t, conn, "UIDPLUS")
    imap.with_mailbox(t, conn, function(box)
      local dest = box .. "-dest"
      t:expect(conn:imap("CREATE " .. dest), "OK", "CREATE the destination", { rfc = "RFC 3501 6.3.3", level = "MUST" })
      local msgs = imap.populate(t, conn, box, 3)
      t:expect(imap.select(conn, box), "OK", "SELECT the source", { rfc = "RFC 3501 6.3.1", level = "MUST" })
      local uids = imap.uids(conn)
      -- "COPYUID Followed by the UIDVALIDITY of the destination mailbox, a UID set containing the
      -- UIDs of the message(s) in the source mailbox that were copied to the destination mailbox
      -- and containing the UIDs assigned to the copied message(s) in the destination mailbox"
      local r = conn:imap("COPY 2:3 " .. dest)
      t:expect(r, "OK", "COPY completes with OK", { rfc = "RFC 3501 6.4.7", level = "MUST" })
      local code = imap.tagged_code(r, "COPYUID")
      t:check(code ~= nil, "the OK carries [COPYUID ...]", { received = r and r.raw, expected = "tag OK [COPYUID v src dst] ..." })
      if not code then return end
      local v, src, dst = code:match("^(%d+) (%S+) (%S+)$")
      local s, d = expand(src), expand(dst)
      t:check(tonumber(v) == uidvalidity(conn, dest), "its UIDVALIDITY is the destination's", { level = "MUST", received = code })
      t:check(s and list(s) == list({ uids[2], uids[3] }), "the source set is the UIDs of messages 2 and 3",
        { level = "MUST", received = src, expected = list({ uids[2], uids[3] }) })
      t:expect(imap.examine(conn, dest), "OK", "EXAMINE the destination", { rfc = "RFC 3501 6.3.2", level = "MUST" })
      local ok = d and #d == 2
      for i = 1, 2 do
        local f = ok and imap.fetch_map(conn:imap("UID FETCH " .. d[i] .. " (BODY.PEEK[])"))
        local got = f and next(f) and select(2, next(f))
        ok = ok and got and got["BODY[]"] == msgs[i + 1]
      end
      t:check(ok, "the destination UIDs name the copies, in the same order", { level = "MUST", received = dst })
    end)
    imap.logout(conn)
  end,
}

case {
  id = "imap.uidplus.uid-expunge",
  title = "UID EXPUNGE removes only the \\Deleted messages with the given UIDs",
  rfc = "RFC 4315 2.1",
  level = "MUST",
  run = function(t)
    local conn = imap.session(t)
    imap.need_cap(t, conn, "UIDPLUS")
    imap.with_mailbox(t, conn, function(box)
      imap.populate(t, conn, box, 3, "\\Deleted")
      t:expect(imap.select(conn, box), "OK", "SELECT", { rfc = "RFC 3501 6.3.1" })
      local uids = imap.uids(conn)
      -- "The UID EXPUNGE command permanently removes all messages that both have the \Deleted flag
      -- set and have a UID that is included in the specified sequence set from the currently
      -- selected mailbox. If a message either does not have the \Deleted flag set or has a UID
      -- that is not included in the specified sequence set, it is not affected."
      local r = conn:imap("UID EXPUNGE " .. uids[2])
      t:expect(r, "OK", "UID EXPUNGE completes with OK")
      local left = imap.apply_expunges(uids, r)
      t:check(left and list(left) == list({ uids[1], uids[3] }), "one untagged EXPUNGE, for message 2",
        { received = r and r.raw, expected = "* 2 EXPUNGE" })
      local now = imap.uids(conn)
      t:check(list(now) == list({ uids[1], uids[3] }), "messages 1 and 3 remain though \\Deleted",
        { received = list(now), expected = list({ uids[1], uids[3] }) })
    end)
    imap.logout(conn)
  end,
}

-- ---- MOVE ----

local function move_case(t, uid_form)
  local conn = imap.session(t)
  imap.need_cap(t, conn, "MOVE")
  imap.with_mailbox(t, conn, function(box)
    local dest = box .. "-dest"
    t:expect(conn:imap("CREATE " .. dest), "OK", "CREATE the destination", { rfc = "RFC 3501 6.3.3" })
    local msgs = imap.populate(t, conn, box, 3)
    t:expect(imap.select(conn, box), "OK", "SELECT the source", { rfc = "RFC 3501 6.3.1" })
    local uids = imap.uids(conn)
    -- 3.3: "Each message included in the set is moved, rather than copied, from the selected
    -- (source) mailbox to the named (target) mailbox. This means that a new message is created in
    -- the target mailbox with a new UID, the original message is removed from the source mailbox,
    -- and it appears to the client as a single action." "response codes for a STORE MUST NOT be
    -- generated and the \DELETED flag MUST NOT be set for any message."
    local cmd = uid_form and ("UID MOVE " .. uids[2] .. " " .. dest) or ("MOVE 2 " .. dest)
    local r = conn:imap(cmd)
    t:expect(r, "OK", cmd .. " completes with OK")
    local left = imap.apply_expunges(uids, r)
    t:check(left and list(left) == list({ uids[1], uids[3] }), "an untagged EXPUNGE removes message 2 from the source",
      { received = r and r.raw, expected = "* 2 EXPUNGE" })
    t:check(#imap.fetches(r) == 0, "no untagged FETCH (no STORE happens)", { received = r and r.raw })
    if conn.caps.UIDPLUS then
      -- 4.3: "Servers supporting UIDPLUS [RFC4315] SHOULD send COPYUID in response to a UID MOVE
      -- command." (in an untagged OK before the EXPUNGEs, or in the tagged OK)
      local code = imap.resp_code(r, "COPYUID") or imap.tagged_code(r, "COPYUID")
      t:check(code ~= nil, "a COPYUID response code reports the new UID", { rfc = "RFC 6851 4.3", level = "SHOULD",
        received = r and r.raw, expected = "* OK [COPYUID v " .. uids[2] .. " n]" })
      if code then
        local src = code:match("^%d+ (%S+) %S+$")
        t:check(src == tostring(uids[2]), "COPYUID names the moved message's source UID", { rfc = "RFC 4315 3", received = code })
      end
    end
    t:expect(imap.examine(conn, dest), "OK", "EXAMINE the destination", { rfc = "RFC 3501 6.3.2" })
    local f = imap.fetch_map(conn:imap("FETCH 1:* (FLAGS BODY.PEEK[])"))
    t:check(f[1] and f[1]["BODY[]"] == msgs[2] and not f[2], "the destination holds exactly the moved message",
      { received = f[1] and f[1]["BODY[]"], expected = msgs[2] })
    t:check(f[1] and not imap.flags(f[1].FLAGS)["\\DELETED"], "the moved message is not \\Deleted",
      { received = f[1] and table.concat(f[1].FLAGS or {}, " ") })
  end)
  imap.logout(conn)
end

case {
  id = "imap.move.basic",
  title = "MOVE: the message leaves the source (EXPUNGE) and arrives in the target, not \\Deleted",
  rfc = "RFC 6851 3.3",
  level = "MUST",
  run = function(t) move_case(t, false) end,
}

case {
  id = "imap.move.uid",
  title = "UID MOVE moves the message with that UID, with COPYUID where UIDPLUS is offered",
  rfc = "RFC 6851 3.2",
  level = "MUST",
  run = function(t) move_case(t, true) end,
}

-- ---- ID, NAMESPACE, UNSELECT ----

-- check_id(t, r, where): the untagged ID response of reply r is well-formed (RFC 2971 3.2, 3.3).
local function check_id(t, r, where)
  t:expect(r, "OK", "ID " .. where .. " completes with OK")
  local line = imap.untagged(r, "ID")[1]
  -- 3.2: "A server MUST send a tagged ID response to an ID command. However, a server MAY send
  -- NIL in place of the list." (the response is the untagged "* ID ...", 4: id_response)
  t:check(line ~= nil, "an untagged ID response " .. where, { rfc = "RFC 2971 3.2", received = r and r.raw, expected = "* ID (...) or * ID NIL" })
  if not line then return end
  local items = imap.parse_all(line, 6)
  local params = items and items[1]
  t:check(params == imap.NIL or type(params) == "table", "the ID data is a list or NIL", { rfc = "RFC 2971 3.2", received = line })
  if type(params) ~= "table" or params == imap.NIL then return end
  -- 3.3: "Field strings MUST NOT be longer than 30 octets. Value strings MUST NOT be longer than
  -- 1024 octets. Implementations MUST NOT send more than 30 field-value pairs." "Implementations
  -- MUST NOT send the same field name more than once."
  local seen, bad = {}, {}
  t:check(#params % 2 == 0 and #params <= 60, "an even list of at most 30 field-value pairs", { rfc = "RFC 2971 3.3", received = line })
  for i = 1, #params - 1, 2 do
    local k, v = params[i], params[i + 1]
    if type(k) ~= "string" or #k > 30 then bad[#bad + 1] = "field " .. tostring(k) end
    if v ~= imap.NIL and (type(v) ~= "string" or #v > 1024) then bad[#bad + 1] = "value of " .. tostring(k) end
    if type(k) == "string" then
      if seen[k:lower()] then bad[#bad + 1] = "repeated " .. k end
      seen[k:lower()] = true
    end
  end
  t:check(#bad == 0, "fields of at most 30 octets, values of at most 1024, no field twice",
    { rfc = "RFC 2971 3.3", received = table.concat(bad, "; ") })
end

case {
  id = "imap.id.response",
  title = "ID before login, after login and with a mailbox selected: * ID (well-formed) then OK",
  rfc = "RFC 2971 3.1",
  level = "MUST",
  requires = "ID",
  run = function(t)
    local conn = t:connect()
    -- 3.1: "This command is valid in any state." "The client may also send NIL instead of the
    -- list, indicating that it wants to send no information, but would still accept a server
    -- response."
    check_id(t, conn:imap("ID NIL"), "before login")
    if t.user and t.password then
      imap.ready_for_login(t, conn)
      local l = imap.login(conn, t.user, t.password)
      if l and l.status == "OK" then
        check_id(t, conn:imap('ID ("name" "mailharness" "version" "0")'), "after login")
        local e = imap.examine(conn, "INBOX")
        if e and e.status == "OK" then
          check_id(t, conn:imap("ID NIL"), "with INBOX selected")
        end
      end
    end
    imap.logout(conn)
  end,
}

case {
  id = "imap.namespace.response",
  title = "NAMESPACE: one untagged NAMESPACE with three namespace lists (or NIL), also when selected",
  rfc = "RFC 9051 6.3.10",
  level = "MUST",
  run = function(t)
    local conn = imap.session(t)
    imap.need_cap(t, conn, "NAMESPACE")
    local function check(where)
      -- "Responses: REQUIRED untagged responses: NAMESPACE" "The untagged NAMESPACE response
      -- contains the prefix and hierarchy delimiter to the server's Personal Namespace(s), Other
      -- Users' Namespace(s), and Shared Namespace(s) that the server wishes to expose. The
      -- response will contain a NIL for any namespace class that is not available."
      local r = conn:imap("NAMESPACE")
      t:expect(r, "OK", "NAMESPACE " .. where .. " completes with OK")
      local lines = imap.untagged(r, "NAMESPACE")
      t:check(#lines == 1, "one untagged NAMESPACE response " .. where, { received = r and r.raw })
      local items = lines[1] and imap.parse_all(lines[1], 13)
      local good = items and #items >= 3
      for i = 1, 3 do
        local ns = good and items[i]
        if ns ~= imap.NIL then
          good = good and type(ns) == "table" and #ns >= 1
          for _, d in ipairs(type(ns) == "table" and ns or {}) do
            -- 7.3.2 / 9: Namespace-Descr = "(" string SP (DQUOTE QUOTED-CHAR DQUOTE / nil) ...")"
            good = good and type(d) == "table" and type(d[1]) == "string"
              and (d[2] == imap.NIL or (type(d[2]) == "string" and #d[2] == 1))
          end
        end
      end
      t:check(good, "three namespace classes, each NIL or a list of (prefix delimiter)", { received = lines[1] })
    end
    check("when authenticated")
    local e = imap.examine(conn, "INBOX")
    if e and e.status == "OK" then check("with INBOX selected") end
    imap.logout(conn)
  end,
}

case {
  id = "imap.unselect.no-expunge",
  title = "UNSELECT leaves the selected state without expunging \\Deleted messages",
  rfc = "RFC 9051 6.4.2",
  level = "MUST",
  run = function(t)
    local conn = imap.session(t)
    imap.need_cap(t, conn, "UNSELECT")
    imap.with_mailbox(t, conn, function(box)
      imap.populate(t, conn, box, 2, "\\Deleted")
      t:expect(imap.select(conn, box), "OK", "SELECT", { rfc = "RFC 3501 6.3.1" })
      -- "The UNSELECT command frees a session's resources associated with the selected mailbox and
      -- returns the server to the authenticated state. This command performs the same actions as
      -- CLOSE, except that no messages are permanently removed from the currently selected
      -- mailbox."
      local r = conn:imap("UNSELECT")
      t:expect(r, "OK", "UNSELECT completes with OK")
      t:check(#imap.untagged(r, "EXPUNGE") == 0, "no untagged EXPUNGE", { received = r and r.raw })
      t:expect(conn:imap("CHECK"), { "BAD", "NO" }, "CHECK afterwards is refused: authenticated state", { rfc = "RFC 3501 3" })
      local st = imap.status(conn:imap("STATUS " .. box .. " (MESSAGES)")) or {}
      t:check(st.MESSAGES == 2, "both \\Deleted messages remain", { received = tostring(st.MESSAGES), expected = "2" })
    end)
    imap.logout(conn)
  end,
}
