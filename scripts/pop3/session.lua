-- POP3 session basics: greeting, CAPA in each state, commands in the wrong state, unknown and
-- malformed commands, line lengths, case, QUIT (RFC 1939 3, 4, 5, 6, 7; RFC 2449 3, 4, 5, 6).
local pop3 = require("mh.pop3")
local util = require("mh.util")

case {
  id = "pop3.greeting.ok",
  title = "The greeting is one +OK line of at most 512 octets",
  rfc = "RFC 1939 4",
  level = "MUST",
  run = function(t)
    local conn = t:connect()
    local g = conn.greeting
    -- "Once the TCP connection has been opened by a POP3 client, the POP3 server issues a one
    -- line greeting. This can be any positive response."
    t:expect(g, "+OK", "the greeting is a positive response")
    -- RFC 2449 4: "The maximum length of the first line of a command response (including the
    -- initial greeting) is unchanged at 512 octets (including the terminating CRLF)."
    t:check(#g.raw <= 512, "the greeting is at most 512 octets including CRLF",
      { rfc = "RFC 2449 4", received = tostring(#g.raw) .. " octets", expected = "<= 512" })
    -- "one line greeting": nothing else arrives before the client speaks (on ?starttls targets
    -- the runtime already sent STLS and CAPA; their replies are consumed)
    local extra = pop3.drain(conn, 300)
    t:check(extra == "", "no further line follows the one-line greeting",
      { received = extra, expected = "nothing until the client sends a command" })
    pop3.quit(conn)
  end,
}

case {
  id = "pop3.greeting.apop-timestamp",
  title = "An APOP timestamp in the greeting has the msg-id form <...@...> and changes per greeting",
  rfc = "RFC 1939 7",
  level = "MUST",
  run = function(t)
    local conn = t:connect()
    local ts = pop3.greeting_timestamp(conn.greeting)
    if not ts then
      pop3.quit(conn)
      t:skip("the greeting carries no <timestamp>: the server does not offer APOP")
    end
    -- "A POP3 server which implements the APOP command will include a timestamp in its banner
    -- greeting. The syntax of the timestamp corresponds to the `msg-id' in [RFC822], and MUST be
    -- different each time the POP3 server issues a banner greeting."
    -- RFC 822 msg-id = "<" addr-spec ">", addr-spec = local-part "@" domain
    t:expect_match(ts, "^<[^<>]+@[^<>]+>$", "the timestamp has the msg-id form <local-part@domain>")
    pop3.quit(conn)
    local conn2 = t:connect()
    local ts2 = pop3.greeting_timestamp(conn2.greeting)
    t:check(ts2 ~= nil and ts2 ~= ts, "the next greeting carries a different timestamp",
      { received = tostring(ts2), expected = "a timestamp other than " .. ts })
    pop3.quit(conn2)
  end,
}

case {
  id = "pop3.capa.syntax",
  title = "CAPA: +OK and one capability per line, each a capa-tag with parameters",
  rfc = "RFC 2449 5",
  level = "MUST",
  run = function(t)
    local conn = t:connect()
    local r = conn:cmd("CAPA")
    -- "An -ERR response indicates the capability command is not implemented"
    if r and r.status == "-ERR" then
      t:skip("CAPA is not implemented (-ERR)")
    end
    local _, ok = t:expect(r, "+OK", "CAPA gets +OK and a capability list")
    if ok then
      local n = 0
      for line in util.lines(r.body or "") do
        n = n + 1
        -- capability = capa-tag *(SP param) CRLF ;512 octets maximum
        -- capa-tag = 1*cchar; cchar = %x21-2D / %x2F-7F; param = 1*VCHAR (RFC 2449 3)
        local tag, rest = line:match("^([\33-\45\47-\127]+)(.*)$")
        local ok_line = tag ~= nil and (rest == "" or (rest:match("^ ") and
          not rest:find("[^\33-\126 ]") and not rest:find("  ") and not rest:find(" $")))
        t:check(ok_line, "capability line " .. n .. " is capa-tag *(SP param)",
          { rfc = "RFC 2449 3", received = line, expected = "capa-tag *(SP param)" })
        t:check(#line + 2 <= 512, "capability line " .. n .. " is at most 512 octets",
          { received = tostring(#line + 2), expected = "<= 512" })
      end
      t:check(n > 0, "the list names at least one capability", { received = r.raw })
    end
    pop3.quit(conn)
  end,
}

case {
  id = "pop3.capa.states",
  title = "CAPA works after USER and in TRANSACTION, which still announces the AUTHORIZATION capabilities",
  rfc = "RFC 2449 5",
  level = "MUST",
  run = function(t)
    util.need_credentials(t)
    local conn = t:connect()
    local r1, auth_tags = pop3.capa(conn)
    if r1 and r1.status == "-ERR" then
      pop3.quit(conn)
      t:skip("CAPA is not implemented (-ERR)")
    end
    -- "The POP3 CAPA command returns a list of capabilities supported by the POP3 server. It is
    -- available in both the AUTHORIZATION and TRANSACTION states."
    t:expect(r1, "+OK", "CAPA in the AUTHORIZATION state gets +OK")
    local u = conn:cmd("USER " .. t.user)
    if not (u and u.class == "ok") then
      if not conn:closed() then pop3.quit(conn) end
      t:skip("USER " .. t.user .. " is refused on this connection: " .. tostring(u and u.raw))
    end
    t:expect(conn:cmd("CAPA"), "+OK", "CAPA after a successful USER (still AUTHORIZATION) gets +OK")
    local p = pop3.auth_cmd(conn, "PASS " .. t.password)
    if not (p and p.class == "ok") then
      error("USER/PASS login failed: " .. tostring(p and p.raw))
    end
    local r2, tr_tags = pop3.capa(conn)
    local _, ok = t:expect(r2, "+OK", "CAPA in the TRANSACTION state gets +OK")
    if ok then
      -- "Capabilities available in the AUTHORIZATION state MUST be announced in both states."
      -- STLS is left out: RFC 2595 4 ties it to the current state ("The capability name "STLS"
      -- indicates this command is present and permitted in the current state") and STLS is
      -- "Only permitted in AUTHORIZATION state".
      local missing = {}
      for tag in pairs(auth_tags) do
        if tag ~= "STLS" and tr_tags[tag] == nil then missing[#missing + 1] = tag end
      end
      table.sort(missing)
      t:check(#missing == 0, "every capability announced in AUTHORIZATION is announced in TRANSACTION",
        { received = #missing > 0 and ("missing after login: " .. table.concat(missing, " ")) or "all present",
          expected = "the AUTHORIZATION tags (except STLS) in the TRANSACTION list" })
    end
    pop3.quit(conn)
  end,
}

-- Checks the value of a capability whose argument RFC 2449 6 defines. Returns nothing.
local NO_ARGS = { "TOP", "USER", "UIDL", "PIPELINING", "RESP-CODES", "STLS", "AUTH-RESP-CODE" }
local NO_ARGS_RFC = { STLS = "RFC 2595 4", ["AUTH-RESP-CODE"] = "RFC 3206 6" }

local function check_arguments(t, tags, where)
  for _, tag in ipairs(NO_ARGS) do
    if tags[tag] then
      -- 6.1, 6.2, 6.4, 6.6, 6.8: "Arguments: none"
      t:check(tags[tag] == "", where .. ": " .. tag .. " carries no argument",
        { level = "SHOULD", rfc = NO_ARGS_RFC[tag] or "RFC 2449 6", received = tag .. " " .. tags[tag],
          expected = tag })
    end
  end
  if tags.SASL then
    -- RFC 5034 3: "The argument to the SASL capability is a space-separated list of SASL
    -- mechanisms that are supported."
    t:check(tags.SASL:match("^[%w%-_]+") ~= nil, where .. ": SASL lists at least one mechanism",
      { rfc = "RFC 5034 3", received = "SASL " .. tags.SASL, expected = "SASL mech *(SP mech)" })
  end
  if tags.EXPIRE then
    -- 6.7: "Arguments: server-guaranteed minimum retention days, or NEVER; optionally followed
    -- by USER in AUTHENTICATION state"
    local v = tags.EXPIRE:upper()
    local ok = v:match("^%d+$") ~= nil or v == "NEVER" or
      (where == "AUTHORIZATION" and (v:match("^%d+ USER$") ~= nil or v == "NEVER USER"))
    t:check(ok, where .. ": EXPIRE gives days or NEVER",
      { rfc = "RFC 2449 6.7", received = "EXPIRE " .. tags.EXPIRE, expected = "EXPIRE n|NEVER [USER]" })
  end
  if tags["LOGIN-DELAY"] then
    -- 6.5: "Arguments: minimum seconds between logins; optionally followed by USER in
    -- AUTHENTICATION state."
    local v = tags["LOGIN-DELAY"]:upper()
    local ok = v:match("^%d+$") ~= nil or (where == "AUTHORIZATION" and v:match("^%d+ USER$") ~= nil)
    t:check(ok, where .. ": LOGIN-DELAY gives seconds",
      { rfc = "RFC 2449 6.5", received = "LOGIN-DELAY " .. tags["LOGIN-DELAY"], expected = "LOGIN-DELAY n [USER]" })
  end
  if tags.IMPLEMENTATION then
    -- 6.9: "The argument to the IMPLEMENTATION capability consists of one or more tokens which
    -- identify the server."
    t:check(tags.IMPLEMENTATION ~= "", where .. ": IMPLEMENTATION names the server",
      { rfc = "RFC 2449 6.9", received = "IMPLEMENTATION", expected = "IMPLEMENTATION token..." })
  end
end

case {
  id = "pop3.capa.arguments",
  title = "Capability arguments: none for TOP/USER/UIDL/..., mechanisms for SASL, days for EXPIRE, seconds for LOGIN-DELAY",
  rfc = "RFC 2449 6",
  level = "MUST",
  run = function(t)
    local conn = t:connect()
    local r, tags = pop3.capa(conn)
    if not r or r.status ~= "+OK" then
      pop3.quit(conn)
      t:skip("CAPA is not implemented")
    end
    check_arguments(t, tags, "AUTHORIZATION")
    if t.user and t.password and (tags.EXPIRE or tags["LOGIN-DELAY"]) then
      local p = pop3.login_user_pass(conn, t.user, t.password)
      if p and p.class == "ok" then
        local _, tr = pop3.capa(conn)
        check_arguments(t, tr, "TRANSACTION")
        -- 6.7: "the server MUST announce in AUTHENTICATION state the smallest value which could
        -- be set for any user" (NEVER is larger than any number of days)
        local function days(v)
          if not v then return nil end
          v = v:upper()
          if v:match("^NEVER") then return math.huge end
          return tonumber(v:match("^%d+"))
        end
        local a, b = days(tags.EXPIRE), days(tr.EXPIRE)
        if a and b then
          t:check(a <= b, "EXPIRE before login is not larger than the user's value",
            { rfc = "RFC 2449 6.7", received = tags.EXPIRE .. " then " .. tr.EXPIRE })
        end
        -- 6.5: "the server MUST announce in AUTHENTICATION state the largest value which could
        -- be set for any user"
        a = tonumber((tags["LOGIN-DELAY"] or ""):match("^%d+"))
        b = tonumber((tr["LOGIN-DELAY"] or ""):match("^%d+"))
        if a and b then
          t:check(b <= a, "LOGIN-DELAY before login is not smaller than the user's value",
            { rfc = "RFC 2449 6.5", received = tags["LOGIN-DELAY"] .. " then " .. tr["LOGIN-DELAY"] })
        end
      end
    end
    pop3.quit(conn)
  end,
}

case {
  id = "pop3.stat.before-login",
  title = "STAT in the AUTHORIZATION state gets -ERR",
  rfc = "RFC 1939 3",
  level = "MUST",
  run = function(t)
    local conn = t:connect()
    -- "A server MUST respond to a command issued when the session is in an incorrect state by
    -- responding with a negative status indicator." (5: STAT "may only be given in the
    -- TRANSACTION state")
    t:expect(conn:cmd("STAT"), "-ERR", "STAT before login gets -ERR")
    t:expect(conn:cmd("LIST"), "-ERR", "LIST before login gets -ERR")
    pop3.quit(conn)
  end,
}

-- refused_each(t, open, cmds, suffix): sends each command on a connection that open() puts in
-- the state under test and expects -ERR. Servers may close the connection after repeated
-- negative replies (RFC 1939 4: "After returning a negative status indicator, the server may
-- close the connection"; Dovecot does after a few unknown commands before login): a command
-- that finds the connection closed is sent again on a new one.
local function refused_each(t, open, cmds, suffix)
  local conn = open()
  for _, cmd in ipairs(cmds) do
    if pop3.gone(conn) then
      t:log("the server ended the connection after a -ERR reply; reconnecting")
      conn:close()
      conn = open()
    end
    local r, err = conn:cmd(cmd)
    if not r then
      -- the close raced with the command: it was never answered, so send it again
      t:log("no reply to " .. cmd .. " (" .. tostring(err) .. "): the server ended the connection; reconnecting")
      conn:close()
      conn = open()
      r = conn:cmd(cmd)
    end
    t:expect(r, "-ERR", cmd .. suffix)
  end
  if not pop3.gone(conn) then pop3.quit(conn) end
end

case {
  id = "pop3.state.authorization-commands",
  title = "RETR, DELE, NOOP, RSET, TOP and UIDL in the AUTHORIZATION state get -ERR",
  rfc = "RFC 1939 3",
  level = "MUST",
  run = function(t)
    -- "A server MUST respond to a command issued when the session is in an incorrect state by
    -- responding with a negative status indicator." Each of these "may only be given in the
    -- TRANSACTION state" (5, 7).
    refused_each(t, function() return t:connect() end,
      { "RETR 1", "DELE 1", "NOOP", "RSET", "TOP 1 0", "UIDL", "UIDL 1" }, " before login gets -ERR")
  end,
}

case {
  id = "pop3.state.user-commands",
  title = "After a successful USER, the TRANSACTION commands still get -ERR",
  rfc = "RFC 1939 3",
  level = "MUST",
  run = function(t)
    util.need_credentials(t)
    local function open()
      local conn = t:connect()
      local u = conn:cmd("USER " .. t.user)
      if not (u and u.class == "ok") then
        pop3.quit(conn)
        t:skip("USER " .. t.user .. " is refused here: " .. tostring(u and u.raw))
      end
      return conn
    end
    -- 7: after USER "+OK", "the client may issue either the PASS command to complete the
    -- authentication, or the QUIT command"; the session is still in the AUTHORIZATION state, and
    -- 3: "A server MUST respond to a command issued when the session is in an incorrect state by
    -- responding with a negative status indicator."
    refused_each(t, open, { "STAT", "LIST", "RETR 1", "DELE 1", "NOOP", "RSET", "TOP 1 0", "UIDL" },
      " after USER gets -ERR")
  end,
}

case {
  id = "pop3.state.transaction-commands",
  title = "PASS, APOP and AUTH in the TRANSACTION state get -ERR and the session stays usable",
  rfc = "RFC 1939 3",
  level = "MUST",
  run = function(t)
    local conn = pop3.session(t)
    -- 7: PASS "may only be given in the AUTHORIZATION state immediately after a successful USER
    -- command"; APOP "may only be given in the AUTHORIZATION state"; 3: "A server MUST respond to
    -- a command issued when the session is in an incorrect state by responding with a negative
    -- status indicator."
    t:expect(pop3.auth_cmd(conn, "PASS mailharness-not-the-password"), "-ERR",
      "PASS in TRANSACTION gets -ERR")
    t:expect(pop3.auth_cmd(conn, "APOP " .. t.user .. " " .. string.rep("0", 32)), "-ERR",
      "APOP in TRANSACTION gets -ERR")
    -- RFC 5034 4: "The AUTH command may only be given during the AUTHORIZATION state."
    t:expect(pop3.auth_cmd(conn, "AUTH PLAIN " .. pop3.plain_response(t.user, t.password)), "-ERR",
      "AUTH PLAIN in TRANSACTION gets -ERR", { rfc = "RFC 5034 4" })
    -- the refused commands change nothing: still TRANSACTION
    t:expect(conn:cmd("NOOP"), "+OK", "NOOP still gets +OK", { rfc = "RFC 1939 5" })
    pop3.quit(conn)
  end,
}

case {
  id = "pop3.command.unknown",
  title = "An unrecognized command gets -ERR, in both states",
  rfc = "RFC 1939 3",
  level = "MUST",
  run = function(t)
    local conn = t:connect()
    -- "A server MUST respond to an unrecognized, unimplemented, or syntactically invalid command
    -- by responding with a negative status indicator."
    t:expect(conn:cmd("XQZV"), "-ERR", "an unknown command before login gets -ERR")
    if t.user and t.password then
      local r = pop3.login_user_pass(conn, t.user, t.password)
      if r and r.class == "ok" then
        t:expect(conn:cmd("XQZV"), "-ERR", "an unknown command after login gets -ERR")
        t:expect(conn:cmd("RETR"), "-ERR", "RETR without its required argument gets -ERR")
      end
    end
    pop3.quit(conn)
  end,
}

case {
  id = "pop3.command.missing-argument",
  title = "APOP, DELE and TOP without their required arguments get -ERR",
  rfc = "RFC 1939 3",
  level = "MUST",
  run = function(t)
    local conn = t:connect()
    -- "A server MUST respond to an unrecognized, unimplemented, or syntactically invalid command
    -- by responding with a negative status indicator." APOP takes "a string identifying a
    -- mailbox and a MD5 digest string (both required)"
    t:expect(conn:cmd("APOP"), "-ERR", "APOP without arguments gets -ERR")
    if t.user and t.password and not conn:closed() then
      local r = pop3.login_user_pass(conn, t.user, t.password)
      if r and r.class == "ok" then
        -- DELE: "a message-number (required)"; TOP: "a message-number (required) ... and a
        -- non-negative number of lines (required)"
        t:expect(conn:cmd("DELE"), "-ERR", "DELE without a message number gets -ERR")
        t:expect(conn:cmd("TOP"), "-ERR", "TOP without arguments gets -ERR")
        t:expect(conn:cmd("TOP 1"), "-ERR", "TOP without the number of lines gets -ERR")
        conn:cmd("RSET")
      end
    end
    if not conn:closed() then pop3.quit(conn) end
  end,
}

case {
  id = "pop3.command.user-without-name",
  title = "USER without a mailbox name gets -ERR",
  rfc = "RFC 1939 3",
  level = "MUST",
  run = function(t)
    local conn = t:connect()
    -- 7: USER takes "a string identifying a mailbox (required)"; RFC 2449 3: command = keyword
    -- *(SP param), param = 1*VCHAR. 3: "A server MUST respond to an unrecognized,
    -- unimplemented, or syntactically invalid command by responding with a negative status
    -- indicator."
    t:expect(conn:cmd("USER"), "-ERR", "USER without a name gets -ERR")
    if not conn:closed() then pop3.quit(conn) end
  end,
}

case {
  id = "pop3.command.case-insensitive",
  title = "Command keywords are case-insensitive: user, pass, stat, list, noop, rset, capa, quit",
  rfc = "RFC 1939 3",
  level = "MUST",
  run = function(t)
    util.need_credentials(t)
    local conn = t:connect()
    -- "Commands in the POP3 consist of a case-insensitive keyword, possibly followed by one or
    -- more arguments."
    local c = conn:cmd("capa")
    t:expect(c, { "+OK", "-ERR" }, "capa gets a reply", { rfc = "RFC 2449 5" })
    local u = conn:cmd("user " .. t.user)
    t:expect(u, "+OK", "user (lower case) is accepted")
    local p = u and u.class == "ok" and pop3.auth_cmd(conn, "pass " .. t.password)
    local _, ok = t:expect(p or nil, "+OK", "pass (lower case) logs in")
    if ok then
      local s = conn:cmd("stat")
      local n = t:expect_match(s and s.raw, "^%+OK (%d+) %d+", "stat gives the drop listing")
      if n and tonumber(n) > 0 then
        t:expect(conn:cmd("list 1"), "+OK", "list 1 gets the scan listing")
      end
      t:expect(conn:cmd("NoOp"), "+OK", "NoOp (mixed case) gets +OK")
      t:expect(conn:cmd("rset"), "+OK", "rset gets +OK")
      t:expect(conn:cmd("quit"), "+OK", "quit gets +OK", { rfc = "RFC 1939 6" })
    else
      pop3.quit(conn)
    end
  end,
}

case {
  id = "pop3.command.trailing-space",
  title = "A command with a trailing space gets one reply (+OK or -ERR) and the session stays in step",
  rfc = "RFC 1939 3",
  level = "MUST",
  run = function(t)
    local conn = pop3.session(t)
    -- "Keywords and arguments are each separated by a single SPACE character." A trailing space
    -- makes the command syntactically doubtful: the server may accept it or answer -ERR ("A
    -- server MUST respond to an unrecognized, unimplemented, or syntactically invalid command
    -- by responding with a negative status indicator"), but it answers once.
    local r = conn:cmd("NOOP ")
    t:expect(r, { "+OK", "-ERR" }, "\"NOOP \" gets +OK or -ERR")
    local s = conn:cmd("STAT ")
    t:expect(s, { "+OK", "-ERR" }, "\"STAT \" gets +OK or -ERR")
    if s and s.status == "+OK" then
      -- 5: "all POP3 servers are required to use a certain format for drop listings"
      t:expect_match(s.raw, "^%+OK %d+ %d+", "\"STAT \" answered +OK gives a drop listing",
        { rfc = "RFC 1939 5" })
    end
    local extra = pop3.drain(conn, 300)
    t:check(extra == "", "no further reply follows", { received = extra, expected = "one reply per command" })
    t:expect(conn:cmd("NOOP"), "+OK", "NOOP afterwards still gets +OK", { rfc = "RFC 1939 5" })
    pop3.quit(conn)
  end,
}

case {
  id = "pop3.command.line-255",
  title = "A command line of 255 octets (with CRLF) is read as one command",
  rfc = "RFC 2449 4",
  level = "MUST",
  run = function(t)
    local conn = t:connect()
    local c = conn:cmd("CAPA")
    if not c or c.status ~= "+OK" then
      pop3.quit(conn)
      t:skip("CAPA is not implemented: the 255-octet rule is for servers with CAPA")
    end
    -- "The maximum length of a command is increased from 47 characters (4 character command,
    -- single space, 40 character argument, CRLF) to 255 octets, including the terminating CRLF.
    -- Servers which support the CAPA command MUST support commands up to 255 octets."
    local name = "mailharness-" .. t:random_hex(8)
    name = name .. string.rep("x", 255 - 2 - 5 - #name)
    local line = "USER " .. name
    t:log("sending a " .. (#line + 2) .. "-octet USER line")
    local r = conn:cmd(line)
    -- RFC 1939 7 USER: "+OK name is a valid mailbox" / "-ERR never heard of mailbox name"; "The
    -- server may return a positive response even though no such mailbox exists."
    t:expect(r, { "+OK", "-ERR" }, "the 255-octet USER line gets one reply")
    local extra, derr = pop3.drain(conn, 500)
    t:check(extra == "", "the line is not split into several commands",
      { received = extra, expected = "no second reply" })
    if r and r.status == "-ERR" and (derr or conn:closed()) then
      -- RFC 1939 4: "After returning a negative status indicator, the server may close the
      -- connection."
      t:log("USER refused and the connection closed: " .. tostring(derr or "closed"))
      return
    end
    t:check(not derr and not conn:closed(), "the connection stays open after +OK",
      { received = (derr or conn:closed()) and "closed" or "open", expected = "open" })
    if derr or conn:closed() then return end
    if t.user and t.password then
      -- the session is still in step: a regular login works after it
      local p = pop3.login_user_pass(conn, t.user, t.password)
      t:expect(p, "+OK", "USER/PASS afterwards logs in", { rfc = "RFC 1939 7" })
    end
    pop3.quit(conn)
  end,
}

case {
  id = "pop3.command.line-too-long",
  title = "A 2048-octet command line gets -ERR or a closed connection, never +OK",
  rfc = "RFC 1939 3",
  level = "MUST",
  run = function(t)
    local conn = t:connect()
    -- RFC 2449 4 raises the command limit to 255 octets and sets none beyond; the line below is
    -- an unknown keyword either way, and RFC 1939 3: "A server MUST respond to an unrecognized,
    -- unimplemented, or syntactically invalid command by responding with a negative status
    -- indicator." RFC 1939 4 lets the server close the connection after a negative reply.
    local line = "XQZV " .. string.rep("A", 2048 - 2 - 5)
    local ok, err = conn:send(line .. "\r\n")
    if not ok then
      t:log("the server stopped reading the long line: " .. tostring(err))
      return
    end
    local r, rerr = conn:read({ timeout = 5000 })
    if not r then
      -- a close or a reset: the server refused the line by dropping the connection
      t:log("no reply, the connection ended: " .. tostring(rerr))
      t:check(rerr == "closed" or not tostring(rerr):match("^timeout"),
        "the server answers or closes the connection", { received = tostring(rerr), expected = "-ERR or close" })
      return
    end
    t:expect(r, "-ERR", "the over-long unknown command gets -ERR")
    local extra, derr = pop3.drain(conn, 500)
    if extra ~= "" then t:log("further bytes after the -ERR: " .. extra) end
    if derr then t:log("the connection ended after the -ERR: " .. tostring(derr)) end
    if not derr and not conn:closed() then
      t:expect(pop3.quit(conn), { "+OK" }, "QUIT afterwards gets +OK", { rfc = "RFC 1939 4" })
    end
  end,
}

case {
  id = "pop3.pipelining.authorization",
  title = "PIPELINING: USER, PASS, STAT and NOOP sent in one write get their replies in order",
  rfc = "RFC 2449 6.6",
  level = "MUST",
  requires = "PIPELINING",
  run = function(t)
    util.need_credentials(t)
    local conn = t:connect()
    -- "If a server supports PIPELINING, it MUST process each command in turn." (6.6, with "USER
    -- and PASS could be batched" as the example)
    local rs, err, partial = conn:pipeline({ "USER " .. t.user, "PASS " .. t.password, "STAT", "NOOP" })
    rs = rs or partial or {}
    -- the PASS reply may come late (servers delay logins): read the rest with a longer timeout
    for _ = #rs + 1, 4 do
      if not tostring(err):match("^timeout") then break end
      local r
      r, err = conn:read({ timeout = pop3.AUTH_TIMEOUT })
      rs[#rs + 1] = r
    end
    if not rs[4] then t:log("pipeline ended early: " .. tostring(err)) end
    t:expect(rs[1], "+OK", "reply 1 answers USER with +OK")
    t:expect(rs[2], "+OK", "reply 2 answers PASS with +OK")
    t:expect_match(rs[3] and rs[3].raw, "^%+OK %d+ %d+", "reply 3 is STAT's drop listing")
    t:expect(rs[4], "+OK", "reply 4 answers NOOP with +OK")
    if not conn:closed() then pop3.quit(conn) end
  end,
}

case {
  id = "pop3.pipelining.transaction",
  title = "PIPELINING: STAT, LIST, RETR, an unknown command, LIST 1, NOOP, RSET in one write: replies in order",
  rfc = "RFC 2449 6.6",
  level = "MUST",
  requires = "PIPELINING",
  run = function(t)
    local conn = pop3.session(t)
    pop3.nonempty(t, conn)
    -- "If a server supports PIPELINING, it MUST process each command in turn."
    local rs, err, partial = conn:pipeline({ "STAT", "LIST", "RETR 1", "XQZV", "LIST 1", "NOOP", "RSET" })
    rs = rs or partial or {}
    if not rs[7] then t:log("pipeline ended early: " .. tostring(err)) end
    t:expect_match(rs[1] and rs[1].raw, "^%+OK %d+ %d+", "reply 1 is STAT's drop listing")
    local _, ok_list = t:expect(rs[2], "+OK", "reply 2 is LIST's scan listing")
    local size1 = ok_list and rs[2].body and tonumber(rs[2].body:match("^1 (%d+)"))
    t:check(size1 ~= nil, "the LIST body starts with message 1", { received = rs[2] and rs[2].raw })
    local _, ok_retr = t:expect(rs[3], "+OK", "reply 3 is RETR 1's message")
    t:expect(rs[4], "-ERR", "reply 4 answers the unknown command with -ERR", { rfc = "RFC 1939 3" })
    local one = t:expect_match(rs[5] and rs[5].raw, "^%+OK 1 (%d+)", "reply 5 is LIST 1's scan listing")
    if one and size1 then
      t:check(tonumber(one) == size1, "LIST 1 agrees with the LIST body",
        { received = one, expected = tostring(size1), rfc = "RFC 1939 5" })
    end
    t:expect(rs[6], "+OK", "reply 6 answers NOOP")
    t:expect(rs[7], "+OK", "reply 7 answers RSET")
    if ok_retr and rs[7] then
      -- the pipelined message is the same as one fetched on its own
      local again = pop3.retr(conn, 1)
      t:check(again and again.body == rs[3].body, "the pipelined RETR 1 equals RETR 1 sent alone",
        { received = tostring(rs[3].body and #rs[3].body) .. " octets",
          expected = tostring(again and again.body and #again.body) .. " octets" })
    end
    if not conn:closed() then pop3.quit(conn) end
  end,
}

case {
  id = "pop3.resp-codes.syntax",
  title = "RESP-CODES: every reply text that starts with \"[\" is a well-formed extended response code",
  rfc = "RFC 2449 8",
  level = "MUST",
  requires = "RESP-CODES",
  run = function(t)
    local conn = t:connect()
    local replies = { conn.greeting }
    local function try(line)
      local r = conn:cmd(line)
      if r then replies[#replies + 1] = r end
      return r
    end
    -- failures in AUTHORIZATION (few: servers may close the connection after repeated ones)
    try("STAT")
    try("PASS mailharness-no-user-given")
    try("AUTH X-MAILHARNESS-NONE")
    if t.user and t.password then
      if conn:closed() then conn = t:connect() end
      local p = pop3.login_user_pass(conn, t.user, t.password)
      if p then replies[#replies + 1] = p end
      if p and p.class == "ok" then
        try("LIST 999999999")
        try("RETR 0")
        try("DELE")
        try("XQZV")
        try("RSET")
      end
    end
    -- 6.4: "The RESP-CODES capability indicates that any response text issued by this server
    -- which begins with an open square bracket ("[") is an extended response code (see section
    -- 8)." 3: resp-code = "[" resp-level *("/" resp-level) "]"; resp-level = 1*rchar;
    -- rchar = %x21-2E / %x30-5C / %x5E-7F
    local seen = 0
    for _, r in ipairs(replies) do
      local line = r.raw:match("^[^\r\n]*")
      local text = line:match("^%S+ (.*)$") or ""
      if text:sub(1, 1) == "[" then
        seen = seen + 1
        local code = text:match("^%[([^%]]*)%]")
        t:check(code ~= nil and pop3.valid_resp_code(code),
          "\"" .. (r.sent or "greeting") .. "\": the response code is resp-level *(\"/\" resp-level)",
          { rfc = "RFC 2449 3", received = line, expected = "[CODE] or [CODE/DETAIL...]" })
      end
    end
    t:log(seen .. " of " .. #replies .. " replies carried a response code")
    if not conn:closed() then pop3.quit(conn) end
  end,
}

case {
  id = "pop3.resp-codes.auth",
  title = "AUTH-RESP-CODE: a wrong password gets -ERR with the [AUTH] response code",
  rfc = "RFC 3206 6",
  level = "MUST",
  requires = "AUTH-RESP-CODE",
  run = function(t)
    util.need_credentials(t)
    local conn = t:connect()
    local r, _, u = pop3.login_user_pass(conn, t.user, "mailharness-wrong-" .. t:random_hex(6))
    -- RFC 3206 6: "The AUTH-RESP-CODE capability indicates that the server includes the AUTH
    -- response code with any authentication error caused by a problem with the user's
    -- credentials." 5: "The AUTH response code informs the client that there is a problem
    -- with the user's credentials. This might be an incorrect password, ..." RFC 2449 8:
    -- "Clients MUST ignore unknown hierarchical detail about the response code."
    local _, ok = t:expect(r, "-ERR", "the wrong password is refused", { rfc = "RFC 1939 7" })
    if ok then
      local code = (r.resp_code or ""):upper()
      t:check(code == "AUTH" or code:match("^AUTH/") ~= nil,
        "the refusal of " .. (r == u and "USER" or "PASS") .. " carries [AUTH]",
        { received = r.raw, expected = "-ERR [AUTH] ..." })
    end
    if not conn:closed() then pop3.quit(conn) end
  end,
}

case {
  id = "pop3.quit.authorization",
  title = "QUIT in the AUTHORIZATION state gets +OK and the connection closes",
  rfc = "RFC 1939 6",
  level = "MUST",
  run = function(t)
    local conn = t:connect()
    -- 4: QUIT in the AUTHORIZATION state, "Possible Responses: +OK"; 6: "if the client issues the
    -- QUIT command from the AUTHORIZATION state, the POP3 session terminates"
    local _, ok = t:expect(pop3.quit(conn), "+OK", "QUIT gets +OK", { rfc = "RFC 1939 4" })
    if ok then
      local closed, extra = util.wait_closed(conn, 5000)
      t:check(closed and extra == "", "the server closes the connection",
        { received = closed and "closed" or "still open after 5 s", expected = "EOF" })
    end
  end,
}

case {
  id = "pop3.quit.after-user",
  title = "QUIT after a successful USER gets +OK and the connection closes",
  rfc = "RFC 1939 7",
  level = "MUST",
  run = function(t)
    util.need_credentials(t)
    local conn = t:connect()
    local u = conn:cmd("USER " .. t.user)
    if not (u and u.class == "ok") then
      pop3.quit(conn)
      t:skip("USER " .. t.user .. " is refused here: " .. tostring(u and u.raw))
    end
    -- 7: "If the POP3 server responds with a positive status indicator ("+OK"), then the client
    -- may issue either the PASS command to complete the authentication, or the QUIT command to
    -- terminate the POP3 session." 4: QUIT "Possible Responses: +OK"
    local _, ok = t:expect(pop3.quit(conn), "+OK", "QUIT after USER gets +OK")
    if ok then
      -- 6: "the POP3 session terminates but does NOT enter the UPDATE state"
      local closed = util.wait_closed(conn, 5000)
      t:check(closed, "the server closes the connection",
        { rfc = "RFC 1939 6", received = closed and "closed" or "still open after 5 s", expected = "EOF" })
    end
  end,
}

case {
  id = "pop3.quit.transaction-closes",
  title = "QUIT in the TRANSACTION state gets +OK, then the server closes the connection",
  rfc = "RFC 1939 6",
  level = "MUST",
  run = function(t)
    local conn = pop3.session(t)
    -- "When the client issues the QUIT command from the TRANSACTION state, the POP3 session
    -- enters the UPDATE state." ... "Whether the removal was successful or not, the server then
    -- releases any exclusive-access lock on the maildrop and closes the TCP connection."
    -- Nothing is marked as deleted, so "+OK" is the reply ("-ERR some deleted messages not
    -- removed" has nothing to refer to).
    local _, ok = t:expect(pop3.quit(conn), "+OK", "QUIT with nothing marked gets +OK")
    if ok then
      local closed, extra = util.wait_closed(conn, 5000)
      t:check(closed and extra == "", "the server closes the connection after the QUIT reply",
        { received = closed and ("closed" .. (extra ~= "" and (", after " .. extra) or "")) or "still open after 5 s",
          expected = "EOF" })
    end
  end,
}
