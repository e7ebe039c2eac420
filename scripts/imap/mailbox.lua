-- IMAP mailboxes: SELECT, EXAMINE, failed SELECT, CREATE/LIST/DELETE, APPEND with a literal
-- (RFC 3501 6.3.1-6.3.4, 6.3.8, 6.3.11, 7.5). Test mailboxes are named mailharness-<hex> and
-- deleted again.
local imap = require("mh.imap")
local util = require("mh.util")

-- Runs body(box) with a freshly created test mailbox and deletes it afterwards, also when body
-- raises. Returns what body returned.
local function with_mailbox(t, conn, body)
  local box = imap.unique_mailbox(t)
  local r = conn:imap("CREATE " .. box)
  local _, ok = t:expect(r, "OK", "CREATE " .. box .. " completes with OK", { rfc = "RFC 3501 6.3.3" })
  if not ok then return end
  local done, err = pcall(body, box)
  conn:imap("UNSELECT")
  local d = conn:imap("DELETE " .. box)
  if not d or d.class ~= "ok" then
    conn:imap("CLOSE")
    d = conn:imap("DELETE " .. box)
  end
  t:expect(d, "OK", "the test mailbox is deleted again", { rfc = "RFC 3501 6.3.4" })
  if not done then error(err, 0) end
end

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
    with_mailbox(t, conn, function(box)
      -- 6.3.3 "OK - create completed"; 6.3.8 LIST returns the names that match
      local l = conn:imap('LIST "" ' .. box)
      local _, ok = t:expect(l, "OK", "LIST completes with OK", { rfc = "RFC 3501 6.3.8" })
      if ok then
        t:check(imap.listed(l, box), "LIST shows the new mailbox",
          { rfc = "RFC 3501 6.3.8", received = l.raw, expected = "* LIST (...) \"/\" " .. box })
      end
      t:expect(conn:imap("CREATE " .. box), "NO", "CREATE of an existing name gets NO",
        { rfc = "RFC 3501 6.3.3" })
    end)
    local box_gone = conn:imap('LIST "" mailharness-*')
    t:expect(box_gone, "OK", "LIST after DELETE completes with OK", { rfc = "RFC 3501 6.3.8" })
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
