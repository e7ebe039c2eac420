-- IMAP command syntax edges: case-insensitive keywords, tags, spaces, quoted strings with escapes,
-- modified UTF-7 mailbox names, literals as arguments, pipelining (RFC 3501 2.2, 4.3, 5.1.3, 5.5,
-- 9).
local imap = require("mh.imap")

-- is_bad(r): a tagged BAD, or an untagged "* BAD" (RFC 3501 7.1.3: "The untagged form indicates a
-- protocol-level error for which the associated command can not be determined").
local function is_bad(r)
  if not r then return false end
  if r.status == "BAD" then return true end
  return r.class == "untagged" and (r.lines[1] or ""):match("^%* [Bb][Aa][Dd]") ~= nil
end

case {
  id = "imap.syntax.lowercase",
  title = "Command names, keywords and INBOX in lower case are accepted",
  rfc = "RFC 3501 9",
  level = "MUST",
  run = function(t)
    local conn = t:connect()
    -- 9 (1): "Except as noted otherwise, all alphabetic characters are case-insensitive. ...
    -- Implementations MUST accept these strings in a case-insensitive fashion."
    local c = conn:imap("capability")
    t:expect(c, "OK", "\"capability\" completes with OK")
    t:check(#imap.untagged(c, "CAPABILITY") == 1, "\"capability\" returns the untagged CAPABILITY",
      { received = c and c.raw })
    imap.ready_for_login(t, conn)
    if t.user and t.password then
      local qu, qp = imap.quote(t.user), imap.quote(t.password)
      local l = (qu and qp) and conn:imap("login " .. qu .. " " .. qp, { timeout = imap.LOGIN_TIMEOUT }) or imap.login(conn, t.user, t.password)
      local _, ok = t:expect(l, "OK", "\"login\" completes with OK")
      if ok then
        -- 5.1: "The case-insensitive mailbox name INBOX is a special name"
        local e = conn:imap("examine inbox")
        t:expect(e, "OK", "\"examine inbox\" completes with OK")
        if e and e.class == "ok" then
          if (imap.number(e, "EXISTS") or 0) > 0 then
            t:expect(conn:imap("fetch 1 (flags uid)"), "OK", "\"fetch 1 (flags uid)\" completes with OK")
          end
          t:expect(conn:imap("uid search all"), "OK", "\"uid search all\" completes with OK")
        end
      end
    end
    t:expect(conn:imap("logout"), "OK", "\"logout\" completes with OK")
  end,
}

case {
  id = "imap.syntax.tag-punctuation",
  title = "Tags made of any ASTRING-CHAR except \"+\" and \"]\" are echoed exactly",
  rfc = "RFC 3501 2.2.2",
  level = "MUST",
  run = function(t)
    local conn = t:connect()
    -- 9: tag = 1*<any ASTRING-CHAR except "+">; ATOM-CHAR = <any CHAR except atom-specials>.
    -- 2.2.2: the completion "is tagged with the same tag as the client command which began the
    -- operation."
    for _, tag in ipairs({ "x!#$&'", ",-./:;<=>", "?@[^_`|}~", "0", "a1.B2-c3" }) do
      local r = conn:cmd(tag .. " NOOP")
      t:expect(r, "OK", "NOOP with tag " .. tag .. " completes with OK")
      t:check(r and r.tag == tag, "the completion carries the tag " .. tag,
        { received = r and r.lines[#r.lines], expected = tag .. " OK ..." })
    end
    imap.logout(conn)
  end,
}

case {
  id = "imap.syntax.tag-bracket",
  title = "A tag containing \"]\" (an ASTRING-CHAR) is accepted",
  rfc = "RFC 3501 9",
  level = "MUST",
  run = function(t)
    local conn = t:connect()
    -- 9: tag = 1*<any ASTRING-CHAR except "+">; ASTRING-CHAR = ATOM-CHAR / resp-specials;
    -- resp-specials = "]". A tag such as "a]1" is valid, so the command is valid.
    conn:send("a]1 NOOP\r\n")
    local r, err = conn:read({ one = true, timeout = 5000 })
    if not r and err ~= "closed" then error("read failed: " .. tostring(err)) end
    t:check(r and r.status == "OK" and r.tag == "a]1", "NOOP with tag a]1 completes with a]1 OK",
      { received = r and r.raw or err, expected = "a]1 OK ..." })
    if not conn:closed() then imap.logout(conn) end
  end,
}

case {
  id = "imap.syntax.tag-plus",
  title = "A tag containing \"+\" is rejected with BAD",
  rfc = "RFC 3501 9",
  level = "MUST",
  run = function(t)
    local conn = t:connect()
    -- 9: tag = 1*<any ASTRING-CHAR except "+">. 2.2.2: "Any client command with a protocol
    -- syntax error ... SHOULD be rejected, and the client given a BAD server completion
    -- response." With an invalid tag the server cannot name the command: 7.1.3 "The untagged
    -- form indicates a protocol-level error for which the associated command can not be
    -- determined". Executing it (a tagged OK) is the failure.
    conn:send("A+1 NOOP\r\n")
    local r, err = conn:read({ one = true, timeout = 5000 })
    if not r and err ~= "closed" then error("read failed: " .. tostring(err)) end
    t:check(is_bad(r), "the command with tag A+1 gets BAD (tagged or untagged)",
      { received = r and r.raw or err, expected = "* BAD ... or A+1 BAD ..." })
    if not conn:closed() then
      t:expect(conn:imap("NOOP"), "OK", "the session goes on", { rfc = "RFC 3501 6.1.2" })
      imap.logout(conn)
    end
  end,
}

case {
  id = "imap.syntax.tag-star",
  title = "A tag containing \"*\" (a list wildcard) is rejected with BAD",
  rfc = "RFC 3501 9",
  level = "MUST",
  run = function(t)
    local conn = t:connect()
    -- 9: atom-specials = "(" / ")" / "{" / SP / CTL / list-wildcards / quoted-specials /
    -- resp-specials; list-wildcards = "%" / "*". "*" is no ASTRING-CHAR, so "a*1" is no tag.
    conn:send("a*1 NOOP\r\n")
    local r, err = conn:read({ one = true, timeout = 5000 })
    if not r and err ~= "closed" then error("read failed: " .. tostring(err)) end
    t:check(is_bad(r), "the command with tag a*1 gets BAD (tagged or untagged)",
      { received = r and r.raw or err, expected = "* BAD ... or a*1 BAD ..." })
    if not conn:closed() then
      t:expect(conn:imap("NOOP"), "OK", "the session goes on", { rfc = "RFC 3501 6.1.2" })
      imap.logout(conn)
    end
  end,
}

case {
  id = "imap.syntax.trailing-space",
  title = "A command with a trailing space is rejected with BAD",
  rfc = "RFC 3501 2.2.2",
  level = "SHOULD",
  run = function(t)
    local conn = t:connect()
    -- 9 (2): "In all cases, SP refers to exactly one space. It is NOT permitted to substitute
    -- TAB, insert additional spaces, or otherwise treat SP as being equivalent to LWSP."
    -- 2.2.2: "Any client command with a protocol syntax error, including (but not limited to)
    -- missing or extraneous spaces or arguments, SHOULD be rejected, and the client given a BAD
    -- server completion response."
    local r = conn:cmd(conn:tag() .. " NOOP ")
    t:expect(r, "BAD", "\"NOOP \" (trailing space) gets BAD")
    t:expect(conn:imap("NOOP"), "OK", "the session goes on", { rfc = "RFC 3501 6.1.2", level = "MUST" })
    imap.logout(conn)
  end,
}

case {
  id = "imap.syntax.double-space",
  title = "Two spaces between tag and command are rejected with BAD",
  rfc = "RFC 3501 2.2.2",
  level = "SHOULD",
  run = function(t)
    local conn = t:connect()
    -- 2.2.2: "Any client command with a protocol syntax error, including (but not limited to)
    -- missing or extraneous spaces or arguments, SHOULD be rejected, and the client given a BAD
    -- server completion response."
    local r = conn:cmd(conn:tag() .. "  NOOP")
    t:expect(r, "BAD", "\"<tag>  NOOP\" (two spaces) gets BAD")
    t:expect(conn:imap("NOOP"), "OK", "the session goes on", { rfc = "RFC 3501 6.1.2", level = "MUST" })
    imap.logout(conn)
  end,
}

case {
  id = "imap.syntax.extra-argument",
  title = "NOOP with an argument (it takes none) is rejected with BAD",
  rfc = "RFC 3501 2.2.2",
  level = "SHOULD",
  run = function(t)
    local conn = t:connect()
    -- 6.1.2 NOOP "Arguments: none"; 9: command-any = "CAPABILITY" / "LOGOUT" / "NOOP" / x-command.
    -- 2.2.2: "Any client command with a protocol syntax error, including (but not limited to)
    -- missing or extraneous spaces or arguments, SHOULD be rejected, and the client given a BAD
    -- server completion response."
    t:expect(conn:imap("NOOP mailharness-extra"), "BAD", "\"NOOP mailharness-extra\" gets BAD")
    t:expect(conn:imap("NOOP"), "OK", "the session goes on", { rfc = "RFC 3501 6.1.2", level = "MUST" })
    imap.logout(conn)
  end,
}

case {
  id = "imap.syntax.quoted-escapes",
  title = "A mailbox name with \\\" and \\\\ in a quoted string: CREATE, LIST, SELECT, DELETE",
  rfc = "RFC 3501 4.3",
  level = "MUST",
  run = function(t)
    local conn = imap.session(t)
    local base = imap.unique_mailbox(t)
    local name = base .. '-q"x\\y'
    -- 9: quoted = DQUOTE *QUOTED-CHAR DQUOTE; QUOTED-CHAR = <any TEXT-CHAR except
    -- quoted-specials> / "\" quoted-specials; quoted-specials = DQUOTE / "\"
    local quoted = imap.quote(name)
    local c = conn:imap("CREATE " .. quoted)
    t:expect(c, { "OK", "NO" }, "CREATE " .. quoted .. " is understood (OK, or NO when the server refuses the characters)",
      { rfc = "RFC 3501 6.3.3" })
    if c and c.status == "OK" then
      local ok, err = pcall(function()
        local l = conn:imap("LIST \"\" " .. imap.quote(base .. "*"))
        t:expect(l, "OK", "LIST completes with OK", { rfc = "RFC 3501 6.3.8" })
        -- the name comes back as a quoted string with the same escapes, or as a literal
        t:check(imap.listed(l, name), "LIST returns the name with its \" and \\ intact",
          { received = l and l.raw, expected = "* LIST (...) \"/\" " .. quoted })
        t:expect(conn:imap("EXAMINE " .. quoted), "OK", "EXAMINE of the quoted name completes with OK",
          { rfc = "RFC 3501 6.3.2" })
      end)
      imap.cleanup(t, conn, base)
      if not ok then error(err, 0) end
    end
    imap.logout(conn)
  end,
}

case {
  id = "imap.syntax.mutf7-roundtrip",
  title = "A modified UTF-7 mailbox name (&AOQ-, &-) is created and listed in the exact same form",
  rfc = "RFC 3501 5.1.3",
  level = "MUST",
  run = function(t)
    local conn = imap.session(t)
    imap.with_mailbox(t, conn, function(box)
      -- 5.1.3: "The character "&" (0x26) is represented by the two-octet sequence "&-"." ...
      -- "server implementations MUST preserve the exact form of the modified BASE64 portion of a
      -- modified UTF-7 name and treat that text as case-sensitive". "&AOQ-" is U+00E4.
      local name = box .. "-&AOQ-x&-y"
      t:expect(conn:imap("CREATE " .. imap.quote(name)), "OK", "CREATE " .. name .. " completes with OK",
        { rfc = "RFC 3501 6.3.3" })
      local l = conn:imap("LIST \"\" " .. imap.quote(box .. "*"))
      t:expect(l, "OK", "LIST completes with OK", { rfc = "RFC 3501 6.3.8" })
      t:check(imap.listed(l, name), "LIST returns " .. name .. " octet for octet",
        { received = l and l.raw, expected = "* LIST (...) ... " .. name })
      t:expect(imap.examine(conn, name), "OK", "EXAMINE " .. name .. " completes with OK",
        { rfc = "RFC 3501 6.3.2" })
    end)
    imap.logout(conn)
  end,
}

case {
  id = "imap.syntax.mutf7-invalid",
  title = "CREATE of a name with invalid modified UTF-7 (\"&Jjo!\") is refused",
  rfc = "RFC 3501 5.1.3",
  level = "SHOULD",
  run = function(t)
    local conn = imap.session(t)
    local base = imap.unique_mailbox(t)
    -- 5.1.3: "Server implementations SHOULD verify that any mailbox name with an embedded "&"
    -- character, used as an argument to CREATE, is: in the correctly modified UTF-7 syntax" ...
    -- "the string "&Jjo!" is not a valid mailbox name because it does not contain a shift to
    -- US-ASCII before the "!"."
    local r = conn:imap("CREATE " .. imap.quote(base .. "-&Jjo!"))
    t:expect(r, { "NO", "BAD" }, "CREATE " .. base .. "-&Jjo! gets NO or BAD")
    imap.cleanup(t, conn, base)
    imap.logout(conn)
  end,
}

case {
  id = "imap.syntax.literal-argument",
  title = "A mailbox name sent as a synchronizing literal: \"+\", then the command completes",
  rfc = "RFC 3501 4.3",
  level = "MUST",
  run = function(t)
    local conn = imap.session(t)
    imap.with_mailbox(t, conn, function(box)
      -- 4.3: "In the case of literals transmitted from client to server, the client MUST wait to
      -- receive a command continuation request ... before sending the octet data (and the
      -- remainder of the command)." 9: mailbox = "INBOX" / astring; astring = 1*ASTRING-CHAR /
      -- string; string = quoted / literal.
      local r, cont = imap.command_with_literal(conn, "STATUS", box, " (MESSAGES)")
      t:expect(cont, "+", "the literal gets a \"+\" continuation", { rfc = "RFC 3501 7.5" })
      t:expect(r, "OK", "STATUS {n} <name> (MESSAGES) completes with OK", { rfc = "RFC 3501 6.3.10" })
      local st = imap.status(r)
      t:check(st and st.MESSAGES == 0, "the untagged STATUS reports MESSAGES 0 for the new mailbox",
        { rfc = "RFC 3501 6.3.10", received = r and r.raw, expected = "* STATUS ... (MESSAGES 0)" })
      local s, scont = imap.command_with_literal(conn, "SELECT", box)
      t:expect(scont, "+", "SELECT {n}: \"+\" continuation", { rfc = "RFC 3501 7.5" })
      t:expect(s, "OK", "SELECT with the name as a literal completes with OK", { rfc = "RFC 3501 6.3.1" })
    end)
    imap.logout(conn)
  end,
}

case {
  id = "imap.syntax.pipelining",
  title = "Several commands sent at once each get their tagged completion",
  rfc = "RFC 3501 5.5",
  level = "MUST",
  run = function(t)
    local conn = t:connect()
    -- 5.5: "The client MAY send another command without waiting for the completion result
    -- response of a command". 2.2.2: "if more than one command is in progress, the tag in a
    -- server completion response identifies the command to which the response applies."
    local tags = { conn:tag(), conn:tag(), conn:tag() }
    local rs, err = conn:pipeline({ tags[1] .. " NOOP", tags[2] .. " CAPABILITY", tags[3] .. " NOOP" })
    if not rs then error("pipeline failed: " .. tostring(err)) end
    local seen = {}
    for _, r in ipairs(rs) do
      if r.tag then seen[r.tag] = r.status end
    end
    for i, tag in ipairs(tags) do
      t:check(seen[tag] == "OK", "command " .. i .. " (" .. tag .. ") completes with OK",
        { received = tostring(seen[tag]), expected = "OK" })
    end
    imap.logout(conn)
  end,
}
