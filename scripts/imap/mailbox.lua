-- IMAP mailboxes: SELECT, EXAMINE, failed SELECT, CREATE/LIST/DELETE, APPEND with a literal
-- (RFC 3501 6.3.1-6.3.4, 6.3.8, 6.3.11, 7.5). Test mailboxes are named mailharness-<hex> and
-- deleted again.
local imap = require("mh.imap")
local util = require("mh.util")

-- with_mailbox(t, conn, body): a fresh mailharness-<hex> mailbox for body(box), deleted again
-- (with everything named box...) also when body raises. See mh.imap.
local with_mailbox = imap.with_mailbox

case {
  id = "imap.select.inbox",
  title = "SELECT INBOX sends FLAGS, EXISTS, RECENT, UIDVALIDITY, UIDNEXT, PERMANENTFLAGS, READ-WRITE",
  rfc = "RFC 3501 6.3.1",
  level = "MUST",
  run = function(t)
    local conn = imap.session(t)
    local r = imap.select(conn, "INBOX")
    local _, ok = t:expect(r, "OK", "SELECT INBOX completes with OK")
    if ok then
      -- "Before returning an OK to the client, the server MUST send the following untagged data":
      -- FLAGS, <n> EXISTS, <n> RECENT, OK [UNSEEN], OK [PERMANENTFLAGS], OK [UIDNEXT],
      -- OK [UIDVALIDITY]. UNSEEN is not checked: it names the first unseen message and cannot be
      -- sent when there is none (RFC 9051 6.3.2 dropped it).
      t:check(#imap.untagged(r, "FLAGS") == 1, "an untagged FLAGS response", { received = r.raw })
      t:check(imap.number(r, "EXISTS") ~= nil, "an untagged <n> EXISTS response", { received = r.raw })
      local rev2_only = conn.caps.IMAP4REV2 and not conn.caps.IMAP4REV1
      if not rev2_only then
        t:check(imap.number(r, "RECENT") ~= nil, "an untagged <n> RECENT response (IMAP4rev1)",
          { received = r.raw })
      end
      local uv = imap.resp_code(r, "UIDVALIDITY")
      t:check(uv ~= nil and uv:match("^[1-9]%d*$") ~= nil, "OK [UIDVALIDITY n] with a non-zero number",
        { received = r.raw, expected = "* OK [UIDVALIDITY nz-number]" })
      local un = imap.resp_code(r, "UIDNEXT")
      t:check(un ~= nil and un:match("^[1-9]%d*$") ~= nil, "OK [UIDNEXT n]",
        { received = r.raw, expected = "* OK [UIDNEXT nz-number]" })
      t:check(imap.resp_code(r, "PERMANENTFLAGS") ~= nil, "OK [PERMANENTFLAGS (...)]",
        { received = r.raw, expected = "* OK [PERMANENTFLAGS (flags)]" })
      -- "If the client is permitted to modify the mailbox, the server SHOULD prefix the text of
      -- the tagged OK response with the "[READ-WRITE]" response code."
      t:check((r.resp_code or ""):upper() == "READ-WRITE", "the tagged OK carries [READ-WRITE]",
        { level = "SHOULD", received = r.lines[#r.lines], expected = "tag OK [READ-WRITE] ..." })
    end
    imap.logout(conn)
  end,
}

case {
  id = "imap.examine.read-only",
  title = "EXAMINE INBOX: the tagged OK begins with [READ-ONLY]",
  rfc = "RFC 3501 6.3.2",
  level = "MUST",
  run = function(t)
    local conn = imap.session(t)
    local r = imap.examine(conn, "INBOX")
    local _, ok = t:expect(r, "OK", "EXAMINE INBOX completes with OK")
    if ok then
      -- "The text of the tagged OK response to the EXAMINE command MUST begin with the
      -- "[READ-ONLY]" response code."
      t:check((r.resp_code or ""):upper() == "READ-ONLY", "the tagged OK begins with [READ-ONLY]",
        { received = r.lines[#r.lines], expected = "tag OK [READ-ONLY] ..." })
      t:check(#imap.untagged(r, "FLAGS") == 1 and imap.number(r, "EXISTS") ~= nil,
        "EXAMINE returns the same untagged data as SELECT (FLAGS, EXISTS)", { received = r.raw })
    end
    imap.logout(conn)
  end,
}

case {
  id = "imap.select.failed-deselects",
  title = "A failed SELECT gets NO and leaves no mailbox selected",
  rfc = "RFC 3501 6.3.1",
  level = "MUST",
  run = function(t)
    local conn = imap.session(t)
    local _, ok = t:expect(imap.select(conn, "INBOX"), "OK", "SELECT INBOX completes with OK")
    if not ok then return end
    t:expect(conn:imap("UID SEARCH ALL"), "OK", "UID SEARCH works while INBOX is selected",
      { rfc = "RFC 3501 6.4.4" })
    local missing = "mailharness-missing-" .. t:random_hex(8)
    -- "NO - select failure, now in authenticated state: no such mailbox"
    t:expect(imap.select(conn, missing), "NO", "SELECT of a mailbox that does not exist gets NO")
    -- "The SELECT command automatically deselects any currently selected mailbox before
    -- attempting the new selection. Consequently, if a mailbox is selected and a SELECT command
    -- that fails is attempted, no mailbox is selected."
    t:expect(conn:imap("UID SEARCH ALL"), { "BAD", "NO" },
      "UID SEARCH after the failed SELECT is refused: no mailbox is selected")
    imap.logout(conn)
  end,
}

case {
  id = "imap.mailbox.create-delete",
  title = "CREATE makes a mailbox LIST shows; DELETE removes it",
  rfc = "RFC 3501 6.3.3",
  level = "MUST",
  run = function(t)
    local conn = imap.session(t)
    local created
    with_mailbox(t, conn, function(box)
      created = box
      -- 6.3.3 "OK - create completed"; 6.3.8 LIST returns the names that match
      local l = conn:imap('LIST "" ' .. box)
      local _, ok = t:expect(l, "OK", "LIST completes with OK", { rfc = "RFC 3501 6.3.8" })
      if ok then
        t:check(imap.listed(l, box), "LIST shows the new mailbox",
          { rfc = "RFC 3501 6.3.8", received = l.raw, expected = "* LIST (...) \"/\" " .. box })
      end
      -- "It is an error to attempt to create INBOX or a mailbox with a name that refers to an
      -- extant mailbox. Any error in creation will return a tagged NO response."
      t:expect(conn:imap("CREATE " .. box), "NO", "CREATE of an existing name gets NO",
        { rfc = "RFC 3501 6.3.3" })
    end)
    if created then
      -- 6.3.4: "A tagged OK response is returned only if the mailbox has been deleted."
      local l = conn:imap('LIST "" ' .. created)
      t:check(l and not imap.listed(l, created), "LIST no longer shows the deleted mailbox",
        { rfc = "RFC 3501 6.3.4", received = l and l.raw, expected = "no * LIST for " .. created })
    end
    imap.logout(conn)
  end,
}

case {
  id = "imap.append.literal",
  title = "APPEND with a synchronizing literal: \"+\" continuation, OK, the message is stored intact",
  rfc = "RFC 3501 6.3.11",
  level = "MUST",
  run = function(t)
    local conn = imap.session(t)
    with_mailbox(t, conn, function(box)
      local marker = t:random_hex(12)
      local message = util.message {
        subject = "mailharness APPEND test [" .. marker .. "]",
        headers = { "X-Mailharness-Marker: " .. marker },
        body = "Appended by mailharness.\n.a line starting with a period\n",
      }
      -- 7.5: "The command continuation request response is indicated by a "+" token instead of a
      -- tag. This form of response indicates that the server is ready to accept the continuation
      -- of a command from the client."
      local r, cont = imap.append(conn, box, message, "\\Seen")
      t:expect(cont, "+", "the literal gets a \"+\" continuation request", { rfc = "RFC 3501 7.5" })
      local _, ok = t:expect(r, "OK", "APPEND completes with OK")
      if not ok then return end
      local s = imap.select(conn, box)
      t:expect(s, "OK", "SELECT of the test mailbox", { rfc = "RFC 3501 6.3.1" })
      t:check(imap.number(s, "EXISTS") == 1, "the mailbox holds the one appended message",
        { received = s and s.raw, expected = "* 1 EXISTS" })
      -- RFC 3501 2.3.4: "the number of octets in the message, as expressed in [RFC-2822] format"
      local f = imap.fetch(conn, "1", "(RFC822.SIZE BODY.PEEK[])")
      local _, fok = t:expect(f, "OK", "FETCH of the appended message", { rfc = "RFC 3501 6.4.5" })
      if fok then
        local size = f.raw:match("RFC822%.SIZE (%d+)")
        t:check(tonumber(size) == #message, "RFC822.SIZE equals the octets appended",
          { rfc = "RFC 3501 2.3.4", received = tostring(size), expected = tostring(#message) })
        local _, e, n = f.raw:find("BODY%[%] {(%d+)}\r\n")
        local got = e and f.raw:sub(e + 1, e + tonumber(n)) or nil
        t:check(got == message, "BODY[] returns the appended message octet for octet",
          { received = got, expected = message })
      end
    end)
    imap.logout(conn)
  end,
}

-- delimiter_or_skip(t, conn) -> the hierarchy delimiter; skips when the server has none (flat).
local function delimiter_or_skip(t, conn)
  local d, r = imap.delimiter(conn)
  t:expect(r, "OK", 'LIST "" "" completes with OK', { rfc = "RFC 3501 6.3.8" })
  if not d then t:skip("the server has no hierarchy delimiter (flat names)") end
  return d
end

-- names(reply [, kind]) -> set of the mailbox names in the LIST (or LSUB) responses of reply.
local function names(reply, kind)
  local set = {}
  for _, e in ipairs(imap.entries(reply, kind)) do set[e.name] = e end
  return set
end

local function keys(set)
  local out = {}
  for k in pairs(set) do out[#out + 1] = k end
  table.sort(out)
  return table.concat(out, " ")
end

local function messages(conn, box)
  return (imap.status(conn:imap("STATUS " .. imap.mailbox(box) .. " (MESSAGES)")) or {}).MESSAGES
end

case {
  id = "imap.mailbox.create-inbox",
  title = "CREATE INBOX gets NO",
  rfc = "RFC 3501 6.3.3",
  level = "MUST",
  run = function(t)
    local conn = imap.session(t)
    -- "It is an error to attempt to create INBOX or a mailbox with a name that refers to an
    -- extant mailbox. Any error in creation will return a tagged NO response." (9: create =
    -- "CREATE" SP mailbox ; Use of INBOX gives a NO error)
    t:expect(conn:imap("CREATE INBOX"), "NO", "CREATE INBOX gets NO")
    t:expect(conn:imap("CREATE inbox"), "NO", "CREATE inbox (any case is INBOX) gets NO", { rfc = "RFC 3501 9" })
    imap.logout(conn)
  end,
}

case {
  id = "imap.mailbox.delete-inbox",
  title = "DELETE INBOX gets NO and INBOX stays",
  rfc = "RFC 3501 6.3.4",
  level = "MUST",
  destructive = true, -- a server that wrongly obeys deletes the user's INBOX
  run = function(t)
    local conn = imap.session(t)
    -- "It is an error to attempt to delete INBOX or a mailbox name that does not exist."
    -- "NO - delete failure: can't delete mailbox with that name"; 9: "Use of INBOX gives a NO error"
    t:expect(conn:imap("DELETE INBOX"), "NO", "DELETE INBOX gets NO")
    t:expect(imap.examine(conn, "INBOX"), "OK", "INBOX can still be examined", { rfc = "RFC 3501 6.3.2" })
    imap.logout(conn)
  end,
}

case {
  id = "imap.mailbox.delete-missing",
  title = "DELETE of a mailbox that does not exist gets NO",
  rfc = "RFC 3501 6.3.4",
  level = "MUST",
  run = function(t)
    local conn = imap.session(t)
    -- "It is an error to attempt to delete INBOX or a mailbox name that does not exist."
    t:expect(conn:imap("DELETE mailharness-missing-" .. t:random_hex(8)), "NO", "DELETE of a missing mailbox gets NO")
    imap.logout(conn)
  end,
}

case {
  id = "imap.mailbox.inbox-any-case",
  title = "INBOX in any case names the same mailbox (same UIDVALIDITY and size)",
  rfc = "RFC 3501 5.1",
  level = "MUST",
  run = function(t)
    local conn = imap.session(t)
    -- 5.1: "The case-insensitive mailbox name INBOX is a special name reserved to mean "the
    -- primary mailbox for this user on this server"." 9: "All case variants of INBOX (e.g.,
    -- "iNbOx") MUST be interpreted as INBOX not as an astring."
    local seen = {}
    for _, name in ipairs({ "INBOX", "inbox", "iNbOx" }) do
      local r = conn:imap("STATUS " .. name .. " (UIDVALIDITY)")
      t:expect(r, "OK", "STATUS " .. name .. " completes with OK", { rfc = "RFC 3501 6.3.10" })
      seen[#seen + 1] = (imap.status(r) or {}).UIDVALIDITY
    end
    t:check(seen[1] ~= nil and seen[1] == seen[2] and seen[2] == seen[3],
      "INBOX, inbox and iNbOx report the same UIDVALIDITY",
      { received = table.concat({ tostring(seen[1]), tostring(seen[2]), tostring(seen[3]) }, " "),
        expected = "three equal values" })
    t:expect(imap.examine(conn, "iNbOx"), "OK", "EXAMINE iNbOx completes with OK", { rfc = "RFC 3501 6.3.2" })
    imap.logout(conn)
  end,
}

case {
  id = "imap.mailbox.create-hierarchy",
  title = "CREATE a/b/c creates the superior names a and a/b",
  rfc = "RFC 3501 6.3.3",
  level = "SHOULD",
  run = function(t)
    local conn = imap.session(t)
    local d = delimiter_or_skip(t, conn)
    local base = imap.unique_mailbox(t)
    local leaf = base .. d .. "b" .. d .. "c"
    local ok, err = pcall(function()
      -- "If the server's hierarchy separator character appears elsewhere in the name, the server
      -- SHOULD create any superior hierarchical names that are needed for the CREATE command to
      -- be successfully completed."
      t:expect(conn:imap("CREATE " .. imap.mailbox(leaf)), "OK", "CREATE " .. leaf .. " completes with OK",
        { level = "MUST" })
      local l = conn:imap('LIST "" ' .. imap.mailbox(base .. "*"))
      local got = names(l)
      t:check(got[base] and got[base .. d .. "b"] and got[leaf],
        "LIST shows " .. base .. ", " .. base .. d .. "b and the leaf",
        { received = keys(got), expected = base .. " " .. base .. d .. "b " .. leaf })
    end)
    imap.cleanup(t, conn, base)
    if not ok then error(err, 0) end
    imap.logout(conn)
  end,
}

case {
  id = "imap.mailbox.create-trailing-delimiter",
  title = "CREATE name/ creates name, without the trailing delimiter",
  rfc = "RFC 3501 6.3.3",
  level = "MUST",
  run = function(t)
    local conn = imap.session(t)
    local d = delimiter_or_skip(t, conn)
    local base = imap.unique_mailbox(t)
    local ok, err = pcall(function()
      -- "If the mailbox name is suffixed with the server's hierarchy separator character ...,
      -- this is a declaration that the client intends to create mailbox names under this name in
      -- the hierarchy. Server implementations that do not require this declaration MUST ignore
      -- the declaration. In any case, the name created is without the trailing hierarchy
      -- delimiter."
      t:expect(conn:imap("CREATE " .. imap.mailbox(base .. d)), "OK", "CREATE " .. base .. d .. " completes with OK")
      local got = names(conn:imap('LIST "" ' .. imap.mailbox(base .. "*")))
      t:check(got[base] ~= nil and got[base .. d] == nil, "LIST shows " .. base .. " without a trailing " .. d,
        { received = keys(got), expected = base })
      t:expect(conn:imap("CREATE " .. imap.mailbox(base .. d .. "child")), "OK",
        "a mailbox under the declared name can be created", { level = "SHOULD" })
    end)
    imap.cleanup(t, conn, base)
    if not ok then error(err, 0) end
    imap.logout(conn)
  end,
}

case {
  id = "imap.mailbox.delete-keeps-inferiors",
  title = "DELETE of a mailbox with an inferior leaves the inferior and its messages",
  rfc = "RFC 3501 6.3.4",
  level = "MUST",
  run = function(t)
    local conn = imap.session(t)
    local d = delimiter_or_skip(t, conn)
    with_mailbox(t, conn, function(box)
      local child = box .. d .. "child"
      t:expect(conn:imap("CREATE " .. imap.mailbox(child)), "OK", "CREATE " .. child, { rfc = "RFC 3501 6.3.3" })
      imap.populate(t, conn, box, 1)
      imap.populate(t, conn, child, 1)
      -- "The DELETE command MUST NOT remove inferior hierarchical names." ... "It is permitted to
      -- delete a name that has inferior hierarchical names and does not have the \Noselect
      -- mailbox name attribute. In this case, all messages in that mailbox are removed, and the
      -- name will acquire the \Noselect mailbox name attribute."
      local r = conn:imap("DELETE " .. imap.mailbox(box))
      t:expect(r, { "OK", "NO" }, "DELETE of the superior completes (OK, or NO if the server refuses)")
      local got = names(conn:imap('LIST "" ' .. imap.mailbox(box .. "*")))
      t:check(got[child] ~= nil, "the inferior " .. child .. " still exists",
        { received = keys(got), expected = child })
      t:check(messages(conn, child) == 1, "the inferior still holds its message",
        { received = tostring(messages(conn, child)), expected = "1" })
      if r and r.status == "OK" then
        local s = imap.examine(conn, box)
        t:check(not s or s.status ~= "OK" or imap.number(s, "EXISTS") == 0,
          "the deleted superior holds no messages any more",
          { received = s and s.raw, expected = "NO (\\Noselect), or 0 EXISTS" })
      end
    end)
    imap.logout(conn)
  end,
}

case {
  id = "imap.rename.basic",
  title = "RENAME moves a mailbox with its messages to the new name",
  rfc = "RFC 3501 6.3.5",
  level = "MUST",
  run = function(t)
    local conn = imap.session(t)
    with_mailbox(t, conn, function(box)
      imap.populate(t, conn, box, 2)
      local new = box .. "-renamed"
      -- "The RENAME command changes the name of a mailbox. A tagged OK response is returned only
      -- if the mailbox has been renamed."
      local _, ok = t:expect(conn:imap("RENAME " .. box .. " " .. new), "OK", "RENAME completes with OK")
      if not ok then return end
      local got = names(conn:imap('LIST "" ' .. imap.mailbox(box .. "*")))
      t:check(got[new] and not got[box], "LIST shows the new name and not the old one",
        { rfc = "RFC 3501 6.3.8", received = keys(got), expected = new })
      t:check(messages(conn, new) == 2, "the renamed mailbox holds both messages",
        { received = tostring(messages(conn, new)), expected = "2" })
      t:expect(imap.examine(conn, box), "NO", "EXAMINE of the old name gets NO", { rfc = "RFC 3501 6.3.2" })
    end)
    imap.logout(conn)
  end,
}

case {
  id = "imap.rename.inferiors",
  title = "RENAME of a mailbox renames its inferior names too",
  rfc = "RFC 3501 6.3.5",
  level = "MUST",
  run = function(t)
    local conn = imap.session(t)
    local d = delimiter_or_skip(t, conn)
    with_mailbox(t, conn, function(box)
      local child = box .. d .. "child"
      t:expect(conn:imap("CREATE " .. imap.mailbox(child)), "OK", "CREATE " .. child, { rfc = "RFC 3501 6.3.3" })
      imap.populate(t, conn, child, 1)
      local new = box .. "-renamed"
      local _, ok = t:expect(conn:imap("RENAME " .. box .. " " .. new), "OK", "RENAME completes with OK")
      if not ok then return end
      -- "If the name has inferior hierarchical names, then the inferior hierarchical names MUST
      -- also be renamed. For example, a rename of "foo" to "zap" will rename "foo/bar" ... to
      -- "zap/bar"."
      local got = names(conn:imap('LIST "" ' .. imap.mailbox(box .. "*")))
      t:check(got[new .. d .. "child"] and not got[child], "the inferior moved to " .. new .. d .. "child",
        { received = keys(got), expected = new .. d .. "child" })
      t:check(messages(conn, new .. d .. "child") == 1, "the renamed inferior holds its message",
        { received = tostring(messages(conn, new .. d .. "child")), expected = "1" })
    end)
    imap.logout(conn)
  end,
}

case {
  id = "imap.rename.errors",
  title = "RENAME from a missing name or to an existing name gets NO",
  rfc = "RFC 3501 6.3.5",
  level = "MUST",
  run = function(t)
    local conn = imap.session(t)
    with_mailbox(t, conn, function(box)
      local other = box .. "-other"
      t:expect(conn:imap("CREATE " .. other), "OK", "CREATE " .. other, { rfc = "RFC 3501 6.3.3" })
      -- "It is an error to attempt to rename from a mailbox name that does not exist or to a
      -- mailbox name that already exists. Any error in renaming will return a tagged NO
      -- response."
      t:expect(conn:imap("RENAME " .. box .. "-missing " .. box .. "-new"), "NO",
        "RENAME of a name that does not exist gets NO")
      t:expect(conn:imap("RENAME " .. box .. " " .. other), "NO", "RENAME onto an existing name gets NO")
      local got = names(conn:imap('LIST "" ' .. imap.mailbox(box .. "*")))
      t:check(got[box] and got[other] and not got[box .. "-new"], "both mailboxes are unchanged",
        { received = keys(got), expected = box .. " " .. other })
    end)
    imap.logout(conn)
  end,
}

case {
  id = "imap.rename.inbox",
  title = "RENAME INBOX moves all INBOX messages to the new name and leaves INBOX empty (or NO)",
  rfc = "RFC 3501 6.3.5",
  level = "MUST",
  destructive = true, -- moves the user's INBOX messages (and back again: they get new UIDs)
  run = function(t)
    local conn = imap.session(t)
    local box = imap.unique_mailbox(t)
    local before = messages(conn, "INBOX")
    -- RFC 3501: "Renaming INBOX is permitted, and has special behavior. It moves all messages in
    -- INBOX to a new mailbox with the given name, leaving INBOX empty." RFC 9051 6.3.6:
    -- "Renaming INBOX is permitted and does not result in a tagged BAD response" ... "(Note that
    -- some servers disallow renaming INBOX by returning a tagged NO response ...)"
    local r = conn:imap("RENAME INBOX " .. box)
    t:expect(r, { "OK", "NO" }, "RENAME INBOX gets OK (or NO, RFC 9051 6.3.6), never BAD")
    if r and r.status == "OK" then
      local ok, err = pcall(function()
        local now = messages(conn, "INBOX")
        t:check(now == 0, "INBOX is empty after the rename",
          { received = tostring(now), expected = "0" })
        local moved = messages(conn, box)
        t:check(moved ~= nil and moved >= (before or 0), "the new mailbox holds the INBOX messages",
          { received = tostring(moved), expected = ">= " .. tostring(before) })
        -- restore: copy everything back into INBOX
        if moved and moved > 0 then
          t:expect(imap.select(conn, box), "OK", "SELECT of the new mailbox", { rfc = "RFC 3501 6.3.1" })
          t:expect(conn:imap("COPY 1:* INBOX"), "OK", "the messages are copied back into INBOX",
            { rfc = "RFC 3501 6.4.7" })
        end
      end)
      imap.cleanup(t, conn, box)
      if not ok then error(err, 0) end
    end
    imap.logout(conn)
  end,
}

case {
  id = "imap.list.delimiter",
  title = 'LIST "" "" returns the hierarchy delimiter, the one LIST shows for real mailboxes',
  rfc = "RFC 3501 6.3.8",
  level = "MUST",
  run = function(t)
    local conn = imap.session(t)
    -- "An empty ("" string) mailbox name argument is a special request to return the hierarchy
    -- delimiter and the root name of the name given in the reference. ... In all cases, a
    -- hierarchy delimiter (or NIL if there is no hierarchy) is returned."
    local r = conn:imap('LIST "" ""')
    t:expect(r, "OK", 'LIST "" "" completes with OK')
    local es = imap.entries(r)
    t:check(#es == 1, 'LIST "" "" returns one LIST response', { received = r and r.raw, expected = '* LIST (\\Noselect) "/" ""' })
    local d = es[1] and es[1].delim
    t:check(es[1] ~= nil and (d == nil or #d == 1), "the delimiter is one character or NIL",
      { received = es[1] and es[1].line, expected = "a quoted character or NIL" })
    with_mailbox(t, conn, function(box)
      local e = imap.listed(conn:imap('LIST "" ' .. box), box)
      t:check(e and e.delim == d, "LIST of a mailbox shows the same delimiter",
        { received = e and e.line, expected = tostring(d) })
    end)
    imap.logout(conn)
  end,
}

case {
  id = "imap.list.wildcards",
  title = 'LIST with "*" matches every level, "%" only one; no name outside the pattern',
  rfc = "RFC 3501 6.3.8",
  level = "MUST",
  run = function(t)
    local conn = imap.session(t)
    local d = delimiter_or_skip(t, conn)
    with_mailbox(t, conn, function(box)
      for _, n in ipairs({ box .. d .. "a", box .. d .. "b", box .. d .. "b" .. d .. "c" }) do
        t:expect(conn:imap("CREATE " .. imap.mailbox(n)), "OK", "CREATE " .. n, { rfc = "RFC 3501 6.3.3" })
      end
      -- "The character "*" is a wildcard, and matches zero or more characters at this position.
      -- The character "%" is similar to "*", but it does not match a hierarchy delimiter."
      -- "The returned mailbox names MUST match the supplied mailbox name pattern."
      local star = names(conn:imap('LIST "" ' .. imap.mailbox(box .. d .. "*")))
      t:check(keys(star) == keys({ [box .. d .. "a"] = 1, [box .. d .. "b"] = 1, [box .. d .. "b" .. d .. "c"] = 1 }),
        "\"*\" returns the three inferior names", { received = keys(star),
          expected = box .. d .. "a " .. box .. d .. "b " .. box .. d .. "b" .. d .. "c" })
      local pct = names(conn:imap('LIST "" ' .. imap.mailbox(box .. d .. "%")))
      t:check(keys(pct) == keys({ [box .. d .. "a"] = 1, [box .. d .. "b"] = 1 }),
        "\"%\" returns only the names one level down", { received = keys(pct),
          expected = box .. d .. "a " .. box .. d .. "b" })
      local top = names(conn:imap('LIST "" ' .. imap.mailbox(box .. "%")))
      t:check(top[box] ~= nil and top[box .. d .. "a"] == nil, "\"" .. box .. "%\" returns " .. box .. " and no inferior",
        { received = keys(top), expected = box })
    end)
    imap.logout(conn)
  end,
}

case {
  id = "imap.list.reference",
  title = "LIST with a reference ending in the delimiter returns names prefixed by the reference",
  rfc = "RFC 3501 6.3.8",
  level = "SHOULD",
  run = function(t)
    local conn = imap.session(t)
    local d = delimiter_or_skip(t, conn)
    with_mailbox(t, conn, function(box)
      for _, n in ipairs({ box .. d .. "a", box .. d .. "b" }) do
        t:expect(conn:imap("CREATE " .. imap.mailbox(n)), "OK", "CREATE " .. n, { rfc = "RFC 3501 6.3.3" })
      end
      -- "If a server implementation has no concept of break out characters, the canonical form is
      -- normally the reference name appended with the mailbox name." "Any part of the reference
      -- argument that is included in the interpreted form SHOULD prefix the interpreted form."
      local r = conn:imap("LIST " .. imap.mailbox(box .. d) .. ' "%"')
      t:expect(r, "OK", "LIST <box/> % completes with OK", { level = "MUST" })
      local got = names(r)
      t:check(keys(got) == keys({ [box .. d .. "a"] = 1, [box .. d .. "b"] = 1 }),
        "the names come back as reference + name", { received = keys(got),
          expected = box .. d .. "a " .. box .. d .. "b" })
    end)
    imap.logout(conn)
  end,
}

case {
  id = "imap.list.inbox",
  title = "LIST includes INBOX when the pattern matches it",
  rfc = "RFC 3501 6.3.8",
  level = "MUST",
  run = function(t)
    local conn = imap.session(t)
    local _, ok = t:expect(imap.examine(conn, "INBOX"), "OK", "EXAMINE INBOX", { rfc = "RFC 3501 6.3.2" })
    if not ok then return end
    -- "The special name INBOX is included in the output from LIST, if INBOX is supported by this
    -- server for this user and if the uppercase string "INBOX" matches the interpreted reference
    -- and mailbox name arguments with wildcards as described above."
    for _, pat in ipairs({ "INBOX", "IN%", "*" }) do
      local r = conn:imap('LIST "" "' .. pat .. '"')
      local found
      for _, e in ipairs(imap.entries(r)) do
        if e.name:upper() == "INBOX" then found = e end
      end
      t:check(found ~= nil, 'LIST "" "' .. pat .. '" includes INBOX', { received = r and r.raw, expected = "* LIST (...) ... INBOX" })
    end
    imap.logout(conn)
  end,
}

case {
  id = "imap.lsub.subscribe",
  title = "SUBSCRIBE adds a name LSUB returns; UNSUBSCRIBE removes it",
  rfc = "RFC 3501 6.3.6",
  level = "MUST",
  run = function(t)
    local conn = imap.session(t)
    if imap.is_rev2(t, conn) then t:skip("IMAP4rev2 deprecated LSUB (RFC 9051 appendix E)") end
    with_mailbox(t, conn, function(box)
      -- 6.3.6: "The SUBSCRIBE command adds the specified mailbox name to the server's set of
      -- "active" or "subscribed" mailboxes as returned by the LSUB command."
      t:expect(conn:imap("SUBSCRIBE " .. box), "OK", "SUBSCRIBE completes with OK")
      local l = conn:imap('LSUB "" ' .. box)
      t:expect(l, "OK", "LSUB completes with OK", { rfc = "RFC 3501 6.3.9" })
      t:check(imap.listed(l, box, "LSUB"), "LSUB returns the subscribed name",
        { rfc = "RFC 3501 6.3.9", received = l and l.raw, expected = "* LSUB (...) ... " .. box })
      -- 6.3.7: "The UNSUBSCRIBE command removes the specified mailbox name from the server's set
      -- of "active" or "subscribed" mailboxes as returned by the LSUB command."
      t:expect(conn:imap("UNSUBSCRIBE " .. box), "OK", "UNSUBSCRIBE completes with OK", { rfc = "RFC 3501 6.3.7" })
      local l2 = conn:imap('LSUB "" ' .. box)
      t:check(l2 and not imap.listed(l2, box, "LSUB"), "LSUB no longer returns the name",
        { rfc = "RFC 3501 6.3.7", received = l2 and l2.raw, expected = "no * LSUB for " .. box })
    end)
    imap.logout(conn)
  end,
}

case {
  id = "imap.lsub.percent-noselect",
  title = 'LSUB "%" with only an inferior subscribed returns the superior flagged \\Noselect',
  rfc = "RFC 3501 6.3.9",
  level = "MUST",
  run = function(t)
    local conn = imap.session(t)
    if imap.is_rev2(t, conn) then t:skip("IMAP4rev2 deprecated LSUB (RFC 9051 appendix E)") end
    local d = delimiter_or_skip(t, conn)
    with_mailbox(t, conn, function(box)
      local child = box .. d .. "child"
      t:expect(conn:imap("CREATE " .. imap.mailbox(child)), "OK", "CREATE " .. child, { rfc = "RFC 3501 6.3.3" })
      t:expect(conn:imap("SUBSCRIBE " .. imap.mailbox(child)), "OK", "SUBSCRIBE " .. child, { rfc = "RFC 3501 6.3.6" })
      -- "Consider what happens if "foo/bar" (with a hierarchy delimiter of "/") is subscribed but
      -- "foo" is not. A "%" wildcard to LSUB must return foo, not foo/bar, in the LSUB response,
      -- and it MUST be flagged with the \Noselect attribute."
      local r = conn:imap('LSUB "" ' .. imap.mailbox(box .. "%"))
      t:expect(r, "OK", "LSUB completes with OK")
      local got = names(r, "LSUB")
      t:check(got[box] ~= nil and got[child] == nil, "LSUB returns " .. box .. ", not " .. child,
        { received = keys(got), expected = box })
      t:check(got[box] and got[box].attrs["\\NOSELECT"], box .. " is flagged \\Noselect",
        { received = got[box] and got[box].line, expected = "* LSUB (\\Noselect) ... " .. box })
    end)
    imap.logout(conn)
  end,
}

case {
  id = "imap.subscribe.survives-delete",
  title = "A subscription stays after its mailbox is deleted",
  rfc = "RFC 3501 6.3.6",
  level = "MUST",
  run = function(t)
    local conn = imap.session(t)
    if imap.is_rev2(t, conn) then t:skip("IMAP4rev2 deprecated LSUB (RFC 9051 appendix E)") end
    with_mailbox(t, conn, function(box)
      local sub = box .. "-sub"
      t:expect(conn:imap("CREATE " .. sub), "OK", "CREATE " .. sub, { rfc = "RFC 3501 6.3.3" })
      t:expect(conn:imap("SUBSCRIBE " .. sub), "OK", "SUBSCRIBE " .. sub)
      t:expect(conn:imap("DELETE " .. sub), "OK", "DELETE " .. sub, { rfc = "RFC 3501 6.3.4" })
      -- "A server MAY validate the mailbox argument to SUBSCRIBE to verify that it exists.
      -- However, it MUST NOT unilaterally remove an existing mailbox name from the subscription
      -- list even if a mailbox by that name no longer exists." (6.3.9 repeats it for LSUB.)
      local r = conn:imap('LSUB "" ' .. sub)
      t:check(imap.listed(r, sub, "LSUB"), "LSUB still returns the deleted mailbox's name",
        { received = r and r.raw, expected = "* LSUB (...) ... " .. sub })
    end)
    imap.logout(conn)
  end,
}

case {
  id = "imap.status.items",
  title = "STATUS MESSAGES, RECENT, UIDNEXT, UIDVALIDITY, UNSEEN agree with SELECT and SEARCH",
  rfc = "RFC 3501 6.3.10",
  level = "MUST",
  run = function(t)
    local conn = imap.session(t)
    local rev2 = imap.is_rev2(t, conn)
    with_mailbox(t, conn, function(box)
      imap.populate(t, conn, box, { imap.test_message(t) }, "\\Seen")
      imap.populate(t, conn, box, 2)
      -- "MESSAGES The number of messages in the mailbox. RECENT The number of messages with the
      -- \Recent flag set. UIDNEXT The next unique identifier value of the mailbox. UIDVALIDITY The
      -- unique identifier validity value of the mailbox. UNSEEN The number of messages which do
      -- not have the \Seen flag set." (RFC 9051 dropped RECENT.)
      local items = rev2 and "(MESSAGES UIDNEXT UIDVALIDITY UNSEEN)" or "(MESSAGES RECENT UIDNEXT UIDVALIDITY UNSEEN)"
      local r = conn:imap("STATUS " .. box .. " " .. items)
      t:expect(r, "OK", "STATUS completes with OK")
      local st, name = imap.status(r)
      t:check(st ~= nil and name == box, "an untagged STATUS response for the mailbox",
        { received = r and r.raw, expected = "* STATUS " .. box .. " (...)" })
      st = st or {}
      t:check(st.MESSAGES == 3, "MESSAGES 3", { received = tostring(st.MESSAGES), expected = "3" })
      t:check(st.UNSEEN == 2, "UNSEEN 2 (one of three was appended \\Seen)", { received = tostring(st.UNSEEN), expected = "2" })
      if not rev2 then
        t:check(st.RECENT == 3, "RECENT 3 (no session has seen them yet)", { received = tostring(st.RECENT), expected = "3" })
      end
      local s = imap.select(conn, box)
      t:expect(s, "OK", "SELECT of the mailbox", { rfc = "RFC 3501 6.3.1" })
      t:check(tostring(st.UIDVALIDITY) == imap.resp_code(s, "UIDVALIDITY"), "UIDVALIDITY equals the one SELECT reports",
        { received = tostring(st.UIDVALIDITY), expected = tostring(imap.resp_code(s, "UIDVALIDITY")) })
      t:check(tostring(st.UIDNEXT) == imap.resp_code(s, "UIDNEXT"), "UIDNEXT equals the one SELECT reports",
        { received = tostring(st.UIDNEXT), expected = tostring(imap.resp_code(s, "UIDNEXT")) })
      t:check(st.MESSAGES == imap.number(s, "EXISTS"), "MESSAGES equals SELECT's EXISTS",
        { received = tostring(st.MESSAGES), expected = tostring(imap.number(s, "EXISTS")) })
      if not rev2 then
        -- 6.3.10: "STATUS MUST NOT cause messages to lose the \Recent flag"
        t:check(imap.number(s, "RECENT") == st.RECENT, "SELECT still sees the RECENT count (STATUS kept \\Recent)",
          { received = tostring(imap.number(s, "RECENT")), expected = tostring(st.RECENT) })
      end
      local uids = imap.uids(conn)
      t:check(#uids == 3 and st.UIDNEXT and st.UIDNEXT > uids[3], "UIDNEXT is above every UID",
        { rfc = "RFC 3501 2.3.1.1", received = table.concat(uids, ","), expected = "< " .. tostring(st.UIDNEXT) })
      local unseen = imap.search(conn:imap("SEARCH UNSEEN"))
      t:check(#unseen == st.UNSEEN, "UNSEEN equals the count SEARCH UNSEEN finds",
        { received = #unseen .. " found", expected = tostring(st.UNSEEN) })
    end)
    imap.logout(conn)
  end,
}

case {
  id = "imap.status.missing",
  title = "STATUS of a mailbox that does not exist gets NO",
  rfc = "RFC 3501 6.3.10",
  level = "MUST",
  run = function(t)
    local conn = imap.session(t)
    -- "NO - status failure: no status for that name"
    local r = conn:imap("STATUS mailharness-missing-" .. t:random_hex(8) .. " (MESSAGES)")
    t:expect(r, "NO", "STATUS of a missing mailbox gets NO")
    t:check(#imap.untagged(r, "STATUS") == 0, "no untagged STATUS response for it", { received = r and r.raw })
    imap.logout(conn)
  end,
}

case {
  id = "imap.append.trycreate",
  title = "APPEND to a missing mailbox gets NO [TRYCREATE] and creates nothing",
  rfc = "RFC 3501 6.3.11",
  level = "MUST",
  run = function(t)
    local conn = imap.session(t)
    with_mailbox(t, conn, function(box)
      local missing = box .. "-missing"
      -- "If the destination mailbox does not exist, a server MUST return an error, and MUST NOT
      -- automatically create the mailbox. Unless it is certain that the destination mailbox can
      -- not be created, the server MUST send the response code "[TRYCREATE]" as the prefix of the
      -- text of the tagged NO response."
      local r = imap.append(conn, missing, imap.test_message(t))
      t:expect(r, "NO", "APPEND to a missing mailbox gets NO")
      t:check(imap.tagged_code(r, "TRYCREATE") ~= nil, "the NO carries [TRYCREATE]",
        { received = r and r.raw, expected = "tag NO [TRYCREATE] ..." })
      local got = names(conn:imap('LIST "" ' .. imap.mailbox(missing)))
      t:check(got[missing] == nil, "the mailbox was not created", { received = keys(got), expected = "nothing" })
      -- the name can be created, as TRYCREATE promised
      t:expect(conn:imap("CREATE " .. missing), "OK", "CREATE of the name succeeds", { rfc = "RFC 3501 6.3.3" })
    end)
    imap.logout(conn)
  end,
}

case {
  id = "imap.append.literal-plus",
  title = "APPEND with a non-synchronizing literal {n+}: no continuation, OK, message intact",
  rfc = "RFC 7888 3",
  level = "MUST",
  run = function(t)
    local conn = imap.session(t)
    if not (conn.caps["LITERAL+"] or conn.caps["LITERAL-"]) then
      t:skip("server does not advertise LITERAL+ or LITERAL-")
    end
    with_mailbox(t, conn, function(box)
      local msg = imap.test_message(t, { body = "Sent as a non-synchronizing literal.\n" })
      -- "The server does not generate a command continuation request in response to a
      -- non-synchronizing literal, and clients are not required to wait before sending the octets
      -- of a non-synchronizing literal." (LITERAL-: at most 4096 octets; this one is smaller.)
      local tag = conn:tag()
      conn:send(tag .. " APPEND " .. box .. " {" .. #msg .. "+}\r\n" .. msg .. "\r\n")
      local r = conn:read()
      t:check(r and r.status ~= "+", "no \"+\" continuation", { received = r and r.raw, expected = tag .. " OK ..." })
      t:expect(r, "OK", "APPEND with {n+} completes with OK", { rfc = "RFC 3501 6.3.11" })
      t:expect(imap.select(conn, box), "OK", "SELECT of the mailbox", { rfc = "RFC 3501 6.3.1" })
      local f = imap.fetch_map(imap.fetch(conn, "1", "(BODY.PEEK[])"))
      t:check(f[1] and f[1]["BODY[]"] == msg, "the stored message equals the literal",
        { rfc = "RFC 3501 6.4.5", received = f[1] and f[1]["BODY[]"], expected = msg })
    end)
    imap.logout(conn)
  end,
}

case {
  id = "imap.append.flags-date",
  title = "APPEND with a flag list and a date-time sets the flags and the internal date",
  rfc = "RFC 3501 6.3.11",
  level = "SHOULD",
  run = function(t)
    local conn = imap.session(t)
    with_mailbox(t, conn, function(box)
      local date = "02-Jan-2020 03:04:05 +0100"
      -- "If a flag parenthesized list is specified, the flags SHOULD be set in the resulting
      -- message" ... "If a date-time is specified, the internal date SHOULD be set in the
      -- resulting message"
      local r = imap.append(conn, box, imap.test_message(t), "\\Flagged \\Seen", date)
      local _, ok = t:expect(r, "OK", "APPEND with flags and date-time completes with OK", { level = "MUST" })
      if not ok then return end
      t:expect(imap.examine(conn, box), "OK", "EXAMINE of the mailbox", { rfc = "RFC 3501 6.3.2", level = "MUST" })
      local f = imap.fetch_map(imap.fetch(conn, "1", "(FLAGS INTERNALDATE)"))[1] or {}
      local flags = imap.flags(f.FLAGS)
      t:check(flags["\\FLAGGED"] and flags["\\SEEN"], "FLAGS include \\Flagged and \\Seen",
        { received = f.FLAGS and table.concat(f.FLAGS, " "), expected = "\\Flagged \\Seen" })
      -- the same instant; the server may render it in another zone
      t:check(imap.date_time(f.INTERNALDATE) == imap.date_time(date), "INTERNALDATE is the APPEND date-time",
        { received = tostring(f.INTERNALDATE), expected = date })
    end)
    imap.logout(conn)
  end,
}

case {
  id = "imap.append.selected-exists",
  title = "APPEND to the selected mailbox announces the new size with an untagged EXISTS",
  rfc = "RFC 3501 6.3.11",
  level = "SHOULD",
  run = function(t)
    local conn = imap.session(t)
    with_mailbox(t, conn, function(box)
      t:expect(imap.select(conn, box), "OK", "SELECT of the empty mailbox", { rfc = "RFC 3501 6.3.1" })
      -- 6.3.11: "If the mailbox is currently selected, the normal new message actions SHOULD
      -- occur. Specifically, the server SHOULD notify the client immediately via an untagged
      -- EXISTS response."
      local r = imap.append(conn, box, imap.test_message(t))
      t:expect(r, "OK", "APPEND completes with OK", { level = "MUST" })
      local now = imap.number(r, "EXISTS")
      t:check(now == 1, "the APPEND reply carries * 1 EXISTS", { received = r and r.raw, expected = "* 1 EXISTS" })
      if now ~= 1 then
        -- 5.2: "A server MUST send mailbox size updates automatically if a mailbox size change is
        -- observed during the processing of a command."
        local n = conn:imap("NOOP")
        t:check(imap.number(n, "EXISTS") == 1, "at the latest NOOP reports * 1 EXISTS",
          { rfc = "RFC 3501 5.2", level = "MUST", received = n and n.raw, expected = "* 1 EXISTS" })
      end
    end)
    imap.logout(conn)
  end,
}

case {
  id = "imap.examine.no-changes",
  title = "EXAMINE: STORE, FETCH BODY[] and EXPUNGE change nothing in the mailbox",
  rfc = "RFC 3501 6.3.2",
  level = "MUST",
  run = function(t)
    local conn = imap.session(t)
    with_mailbox(t, conn, function(box)
      imap.populate(t, conn, box, 1, "\\Deleted")
      t:expect(imap.examine(conn, box), "OK", "EXAMINE of the mailbox")
      -- "No changes to the permanent state of the mailbox, including per-user state, are
      -- permitted"; 6.4.5 BODY[]: "The \Seen flag is implicitly set" (not here); 6.4.3 EXPUNGE
      -- "NO - expunge failure: can't expunge (e.g., permission denied)".
      t:expect(conn:imap("STORE 1 +FLAGS (\\Flagged)"), { "OK", "NO", "BAD" }, "STORE is answered",
        { rfc = "RFC 3501 6.4.6" })
      t:expect(imap.fetch(conn, "1", "(BODY[])"), "OK", "FETCH BODY[] completes with OK", { rfc = "RFC 3501 6.4.5" })
      t:expect(conn:imap("EXPUNGE"), { "OK", "NO" }, "EXPUNGE is answered", { rfc = "RFC 3501 6.4.3" })
      -- look from a second session while the first one still has the mailbox examined
      local other = imap.session(t)
      t:expect(imap.examine(other, box), "OK", "a second session examines the mailbox")
      local f = imap.fetch_map(imap.fetch(other, "1", "(FLAGS)"))[1] or {}
      local flags = imap.flags(f.FLAGS)
      t:check(f.FLAGS ~= nil and flags["\\DELETED"], "the \\Deleted message was not expunged",
        { received = f.FLAGS and table.concat(f.FLAGS, " ") or "no message 1", expected = "message 1 with \\Deleted" })
      t:check(f.FLAGS ~= nil and not flags["\\FLAGGED"], "STORE did not set \\Flagged",
        { received = f.FLAGS and table.concat(f.FLAGS, " "), expected = "no \\Flagged" })
      t:check(f.FLAGS ~= nil and not flags["\\SEEN"], "FETCH BODY[] did not set \\Seen",
        { received = f.FLAGS and table.concat(f.FLAGS, " "), expected = "no \\Seen" })
      imap.logout(other)
    end)
    imap.logout(conn)
  end,
}

case {
  id = "imap.examine.keeps-recent",
  title = "EXAMINE does not take the \\Recent flag: a later SELECT still sees RECENT",
  rfc = "RFC 3501 6.3.2",
  level = "MUST",
  run = function(t)
    local conn = imap.session(t)
    if imap.is_rev2(t, conn) then t:skip("IMAP4rev2 has no \\Recent flag (RFC 9051)") end
    with_mailbox(t, conn, function(box)
      imap.populate(t, conn, box, 1)
      -- "EXAMINE MUST NOT cause messages to lose the \Recent flag."
      local other = imap.session(t)
      local e = imap.examine(other, box)
      t:expect(e, "OK", "a second session examines the mailbox")
      t:check(imap.number(e, "RECENT") == 1, "EXAMINE reports * 1 RECENT", { rfc = "RFC 3501 6.3.1", received = e and e.raw })
      imap.logout(other)
      local s = imap.select(conn, box)
      t:expect(s, "OK", "SELECT of the mailbox", { rfc = "RFC 3501 6.3.1" })
      t:check(imap.number(s, "RECENT") == 1, "the later SELECT still reports * 1 RECENT",
        { received = s and s.raw, expected = "* 1 RECENT" })
    end)
    imap.logout(conn)
  end,
}

case {
  id = "imap.examine.failed-deselects",
  title = "A failed EXAMINE gets NO and leaves no mailbox selected",
  rfc = "RFC 3501 6.3.2",
  level = "MUST",
  run = function(t)
    local conn = imap.session(t)
    local _, ok = t:expect(imap.examine(conn, "INBOX"), "OK", "EXAMINE INBOX completes with OK")
    if not ok then return end
    -- "NO - examine failure, now in authenticated state: no such mailbox, can't access mailbox"
    t:expect(imap.examine(conn, "mailharness-missing-" .. t:random_hex(8)), "NO", "EXAMINE of a missing mailbox gets NO")
    t:expect(conn:imap("CHECK"), { "BAD", "NO" }, "CHECK afterwards is refused: no mailbox is selected",
      { rfc = "RFC 3501 3" })
    imap.logout(conn)
  end,
}

case {
  id = "imap.select.switch-no-expunge",
  title = "SELECT of another mailbox closes the current one without expunging",
  rfc = "RFC 3501 6.4.2",
  level = "MUST",
  run = function(t)
    local conn = imap.session(t)
    with_mailbox(t, conn, function(box)
      imap.populate(t, conn, box, 2, "\\Deleted")
      t:expect(imap.select(conn, box), "OK", "SELECT of the mailbox", { rfc = "RFC 3501 6.3.1" })
      t:expect(conn:imap("CREATE " .. box .. "-2"), "OK", "CREATE a second mailbox", { rfc = "RFC 3501 6.3.3" })
      -- "The SELECT, EXAMINE, and LOGOUT commands implicitly close the currently selected mailbox
      -- without doing an expunge."
      t:expect(imap.select(conn, box .. "-2"), "OK", "SELECT of the second mailbox", { rfc = "RFC 3501 6.3.1" })
      t:expect(imap.examine(conn, box .. "-2"), "OK", "EXAMINE of the second mailbox", { rfc = "RFC 3501 6.3.2" })
      t:check(messages(conn, box) == 2, "both \\Deleted messages are still in the first mailbox",
        { received = tostring(messages(conn, box)), expected = "2" })
    end)
    imap.logout(conn)
  end,
}

case {
  id = "imap.select.unseen",
  title = "SELECT reports OK [UNSEEN n] with the first message without \\Seen",
  rfc = "RFC 3501 6.3.1",
  level = "MUST",
  run = function(t)
    local conn = imap.session(t)
    if imap.is_rev2(t, conn) then t:skip("IMAP4rev2 dropped the UNSEEN response code (RFC 9051)") end
    with_mailbox(t, conn, function(box)
      imap.populate(t, conn, box, 1, "\\Seen")
      imap.populate(t, conn, box, 2)
      -- "REQUIRED OK untagged responses: UNSEEN, PERMANENTFLAGS, UIDNEXT, UIDVALIDITY" ...
      -- "OK [UNSEEN <n>] The message sequence number of the first unseen message in the mailbox."
      local s = imap.select(conn, box)
      t:expect(s, "OK", "SELECT of the mailbox")
      local u = imap.resp_code(s, "UNSEEN")
      t:check(u == "2", "OK [UNSEEN 2]: message 1 is \\Seen, message 2 is not",
        { received = s and s.raw, expected = "* OK [UNSEEN 2] ..." })
    end)
    imap.logout(conn)
  end,
}
