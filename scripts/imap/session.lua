-- IMAP session basics: greeting, CAPABILITY, NOOP, LOGOUT, unknown commands and commands in a
-- state where they are not valid (RFC 3501 3, 6.1, 6.2, 6.4, 7.1).
local imap = require("mh.imap")
local util = require("mh.util")

case {
  id = "imap.greeting.status",
  title = "The greeting is an untagged OK, PREAUTH or BYE",
  rfc = "RFC 3501 7.1",
  level = "MUST",
  run = function(t)
    local conn = t:connect()
    local g = conn.greeting
    -- 7.1.1 OK "as a greeting", 7.1.4 PREAUTH "one of three possible greetings", 7.1.5 BYE
    -- "as one of three possible greetings at connection startup"; greeting = "*" SP
    -- (resp-cond-auth / resp-cond-bye) CRLF (RFC 3501 9).
    t:expect(g, { "OK", "PREAUTH", "BYE" }, "the greeting is * OK, * PREAUTH or * BYE")
    t:expect_match(g.lines[1], "^%* ", "the greeting is untagged", { rfc = "RFC 3501 9" })
    if g.status ~= "BYE" then imap.logout(conn) end
  end,
}

case {
  id = "imap.capability.imap4rev1",
  title = "CAPABILITY: one untagged CAPABILITY listing IMAP4rev1, then tagged OK",
  rfc = "RFC 3501 6.1.1",
  level = "MUST",
  run = function(t)
    local conn = t:connect()
    local r = conn:imap("CAPABILITY")
    local _, ok = t:expect(r, "OK", "CAPABILITY completes with OK")
    if ok then
      -- "The server MUST send a single untagged CAPABILITY response with "IMAP4rev1" as one of
      -- the listed capabilities before the (tagged) OK response."
      local lines = imap.untagged(r, "CAPABILITY")
      t:check(#lines == 1, "exactly one untagged CAPABILITY response",
        { received = r.raw, expected = "1 \"* CAPABILITY ...\" line" })
      local caps = imap.capability_set(r)
      -- an IMAP4rev2-only server (RFC 9051 6.1.1) lists IMAP4rev2 instead
      t:check(caps.IMAP4REV1 or caps.IMAP4REV2, "IMAP4rev1 is among the capabilities",
        { received = lines[1], expected = "IMAP4rev1" })
    end
    imap.logout(conn)
  end,
}

case {
  id = "imap.noop.any-state",
  title = "NOOP completes with OK in the not authenticated, authenticated and selected states",
  rfc = "RFC 3501 6.1.2",
  level = "MUST",
  run = function(t)
    local conn = t:connect()
    -- "The NOOP command always succeeds."
    t:expect(conn:imap("NOOP"), "OK", "NOOP before login")
    if t.user and t.password then
      imap.ready_for_login(t, conn)
      local l = imap.login(conn, t.user, t.password)
      if l and l.class == "ok" then
        t:expect(conn:imap("NOOP"), "OK", "NOOP when authenticated")
        local s = imap.examine(conn, "INBOX")
        if s and s.class == "ok" then
          t:expect(conn:imap("NOOP"), "OK", "NOOP with INBOX selected")
        end
      end
    end
    imap.logout(conn)
  end,
}

case {
  id = "imap.logout.bye",
  title = "LOGOUT: untagged BYE before the tagged OK, then the server closes",
  rfc = "RFC 3501 6.1.3",
  level = "MUST",
  run = function(t)
    local conn = t:connect()
    -- "The server MUST send a BYE untagged response before the (tagged) OK response, and then
    -- close the network connection."
    local r = imap.logout(conn)
    local _, ok = t:expect(r, "OK", "LOGOUT completes with a tagged OK")
    if not ok then return end
    local bye, tagged
    for i, line in ipairs(r.lines) do
      if not bye and line:match("^%* [Bb][Yy][Ee]") then bye = i end
      if r.tag and line:sub(1, #r.tag + 1) == r.tag .. " " then tagged = i end
    end
    t:check(bye ~= nil and tagged ~= nil and bye < tagged, "an untagged BYE precedes the tagged OK",
      { received = r.raw, expected = "* BYE ... then " .. tostring(r.tag) .. " OK ..." })
    local closed, extra = util.wait_closed(conn, 5000)
    t:check(closed and extra == "", "the server closes the connection after the tagged OK",
      { received = closed and ("closed" .. (extra ~= "" and " after sending " .. extra or ""))
          or "still open after 5 s", expected = "EOF" })
  end,
}

case {
  id = "imap.command.unknown",
  title = "An unknown command gets a tagged BAD",
  rfc = "RFC 3501 7.1.3",
  level = "MUST",
  run = function(t)
    local conn = t:connect()
    -- 7.1.3: "When tagged, it reports a protocol-level error in the client's command"; 6.1.1 etc.:
    -- "BAD - command unknown or arguments invalid". (X-prefixed names are experimental, 6.5.1.)
    t:expect(conn:imap("MAILHARNESSUNKNOWN"), "BAD", "an unknown command gets BAD")
    t:expect(conn:imap("NOOP"), "OK", "the session goes on", { rfc = "RFC 3501 6.1.2" })
    imap.logout(conn)
  end,
}

case {
  id = "imap.select.before-login",
  title = "SELECT in the not authenticated state fails with BAD or NO",
  rfc = "RFC 3501 6.2",
  level = "MUST",
  run = function(t)
    local conn = t:connect()
    if conn.greeting.status == "PREAUTH" then
      t:skip("the server pre-authenticated the connection (PREAUTH)")
    end
    -- 6.2: "In addition to the universal commands (CAPABILITY, NOOP, and LOGOUT), the following
    -- commands are valid in the not authenticated state: STARTTLS, AUTHENTICATE and LOGIN."
    t:expect(imap.select(conn, "INBOX"), { "BAD", "NO" }, "SELECT before login is refused")
    imap.logout(conn)
  end,
}

case {
  id = "imap.fetch.not-selected",
  title = "FETCH in the authenticated state (no mailbox selected) fails with BAD or NO",
  rfc = "RFC 3501 6.4",
  level = "MUST",
  run = function(t)
    local conn = imap.session(t)
    -- 6.4: "In the selected state, commands that manipulate messages in a mailbox are permitted."
    -- 6.3: only CAPABILITY, NOOP, LOGOUT and the mailbox commands are valid when authenticated.
    t:expect(imap.fetch(conn, "1:*", "FLAGS"), { "BAD", "NO" }, "FETCH without a selected mailbox is refused")
    t:expect(conn:imap("UID SEARCH ALL"), { "BAD", "NO" }, "UID SEARCH without a selected mailbox is refused")
    imap.logout(conn)
  end,
}

case {
  id = "imap.greeting.capability-code",
  title = "A [CAPABILITY ...] code in the greeting lists IMAP4rev1",
  rfc = "RFC 3501 7.2.1",
  level = "MUST",
  run = function(t)
    local conn = t:connect()
    local g = conn.greeting
    local code = g and g.resp_code
    if not code or not code:upper():match("^CAPABILITY ") then
      t:skip("the greeting carries no CAPABILITY response code")
    end
    -- 7.2.1: "A server MAY send capabilities automatically, by using the CAPABILITY response code
    -- in the initial PREAUTH or OK responses" ... "The capability listing MUST include the atom
    -- "IMAP4rev1"." (RFC 9051: IMAP4rev2)
    local caps = {}
    for c in code:gmatch("%S+") do caps[c:upper()] = true end
    t:check(caps.IMAP4REV1 or caps.IMAP4REV2, "the greeting's capability list includes IMAP4rev1",
      { received = g.lines[1], expected = "* OK [CAPABILITY IMAP4rev1 ...] ..." })
    if g.status ~= "BYE" then imap.logout(conn) end
  end,
}

case {
  id = "imap.capability.after-login",
  title = "CAPABILITY when authenticated and when selected: one untagged CAPABILITY with IMAP4rev1",
  rfc = "RFC 3501 6.1.1",
  level = "MUST",
  run = function(t)
    util.need_credentials(t)
    local conn = imap.ready_for_login(t, t:connect())
    local l = imap.login(conn, t.user, t.password)
    local _, ok = t:expect(l, "OK", "LOGIN completes with OK", { rfc = "RFC 3501 6.2.3" })
    if not ok then return end
    -- 6.2.3: "A server MAY include a CAPABILITY response code in the tagged OK response to a
    -- successful LOGIN command"; 7.2.1: "The capability listing MUST include the atom
    -- "IMAP4rev1"."
    local code = l.resp_code or ""
    if code:upper():match("^CAPABILITY ") then
      local caps = {}
      for c in code:gmatch("%S+") do caps[c:upper()] = true end
      t:check(caps.IMAP4REV1 or caps.IMAP4REV2, "the LOGIN OK's [CAPABILITY ...] includes IMAP4rev1",
        { rfc = "RFC 3501 7.2.1", received = l.lines[#l.lines] })
    end
    local function check(where)
      -- "The server MUST send a single untagged CAPABILITY response with "IMAP4rev1" as one of the
      -- listed capabilities before the (tagged) OK response."
      local r = conn:imap("CAPABILITY")
      t:expect(r, "OK", "CAPABILITY " .. where .. " completes with OK")
      local caps, line = imap.capability_set(r)
      t:check(#imap.untagged(r, "CAPABILITY") == 1 and (caps.IMAP4REV1 or caps.IMAP4REV2),
        "one untagged CAPABILITY listing IMAP4rev1 " .. where, { received = r and r.raw })
      return caps, line
    end
    check("when authenticated")
    local e = imap.examine(conn, "INBOX")
    if e and e.status == "OK" then check("with INBOX selected") end
    imap.logout(conn)
  end,
}
