-- IMAP commands in states where they are not valid, and the authenticated-state commands in the
-- selected state (RFC 3501 3, 6, 6.2, 6.3, 6.4): the state x command matrix.
local imap = require("mh.imap")
local util = require("mh.util")

-- Commands for the matrix. line: the command after the tag (names that do not exist, so a
-- server that wrongly accepts one changes nothing); literal: sent as a synchronizing literal
-- after line; idle / sasl: a "+" must be answered (DONE, "*").
local function mailbox_commands(t)
  local missing = "mailharness-missing-" .. t:random_hex(6)
  return {
    { name = "SELECT", line = "SELECT " .. missing },
    { name = "EXAMINE", line = "EXAMINE " .. missing },
    { name = "CREATE", line = "CREATE " .. missing },
    { name = "DELETE", line = "DELETE " .. missing },
    { name = "RENAME", line = "RENAME " .. missing .. " " .. missing .. "-2" },
    { name = "SUBSCRIBE", line = "SUBSCRIBE " .. missing },
    { name = "UNSUBSCRIBE", line = "UNSUBSCRIBE " .. missing },
    { name = "LIST", line = 'LIST "" ' .. missing },
    { name = "LSUB", line = 'LSUB "" ' .. missing },
    { name = "STATUS", line = "STATUS " .. missing .. " (MESSAGES)" },
    { name = "APPEND", line = "APPEND " .. missing, literal = util.message { subject = "mailharness" } },
    { name = "NAMESPACE", line = "NAMESPACE" },
    { name = "IDLE", line = "IDLE", idle = true },
    -- ENABLE is left out: RFC 5161 3.1 says it "is only valid in the authenticated state", but
    -- its ABNF adds it to command-any, which RFC 3501 9 marks "Valid in all states".
  }
end

local function message_commands(t)
  local missing = "mailharness-missing-" .. t:random_hex(6)
  return {
    { name = "CHECK", line = "CHECK" },
    { name = "CLOSE", line = "CLOSE" },
    { name = "UNSELECT", line = "UNSELECT" },
    { name = "EXPUNGE", line = "EXPUNGE" },
    { name = "SEARCH", line = "SEARCH ALL" },
    { name = "FETCH", line = "FETCH 1 (FLAGS)" },
    { name = "STORE", line = "STORE 1 +FLAGS (\\Seen)" },
    { name = "COPY", line = "COPY 1 " .. missing },
    { name = "MOVE", line = "MOVE 1 " .. missing },
    { name = "UID", line = "UID FETCH 1 (FLAGS)" },
  }
end

-- send(conn, cmd) -> reply: sends one matrix command, answering a "+" so the session stays in
-- step (the literal, DONE for IDLE, "*" for AUTHENTICATE).
local function send(conn, cmd)
  if cmd.literal then
    return imap.command_with_literal(conn, cmd.line, cmd.literal)
  end
  local r = conn:imap(cmd.line, cmd.timeout and { timeout = cmd.timeout } or nil)
  if r and r.status == "+" then
    -- accepted: end the exchange, and report the "+" (neither BAD nor NO)
    conn:send((cmd.idle and "DONE" or "*") .. "\r\n")
    conn:read()
  end
  return r
end

-- refused(t, open, state, cmds, per_conn): sends each command on a connection in the given state
-- (open() makes one), at most per_conn per connection, and expects BAD or NO. RFC 3501 3: "It is
-- a protocol error for the client to attempt a command while the connection is in an
-- inappropriate state, and the server will respond with a BAD or NO (depending upon server
-- implementation) command completion result."
local function refused(t, open, state, cmds, per_conn)
  local conn, used
  for _, cmd in ipairs(cmds) do
    if not conn or conn:closed() or conn.state ~= state or used >= per_conn then
      if conn and not conn:closed() then imap.logout(conn) end
      conn, used = open(), 0
    end
    local r = send(conn, cmd)
    used = used + 1
    t:expect(r, { "BAD", "NO" }, cmd.name .. " in the " .. state .. " state gets BAD or NO",
      { received = r and r.raw, sent = cmd.line })
    if r and r.status == "OK" and (cmd.name == "STARTTLS" or cmd.name == "LOGOUT") then
      conn:close() -- the session cannot go on after an accepted STARTTLS
      conn = nil
    end
  end
  if conn and not conn:closed() then imap.logout(conn) end
end

-- A not authenticated connection; skips on PREAUTH.
local function nonauth(t)
  return function()
    local conn = t:connect()
    if conn.greeting.status == "PREAUTH" then
      t:skip("the server pre-authenticated the connection (PREAUTH)")
    end
    return conn
  end
end

case {
  id = "imap.state.nonauth.mailbox-commands",
  title = "Every authenticated-state command before login gets BAD or NO",
  rfc = "RFC 3501 3",
  level = "MUST",
  run = function(t)
    -- 6.2: "In addition to the universal commands (CAPABILITY, NOOP, and LOGOUT), the following
    -- commands are valid in the not authenticated state: STARTTLS, AUTHENTICATE and LOGIN."
    -- Two commands per connection: some servers end a session after a few invalid commands.
    refused(t, nonauth(t), "not_authenticated", mailbox_commands(t), 2)
  end,
}

case {
  id = "imap.state.nonauth.message-commands",
  title = "Every selected-state command before login gets BAD or NO",
  rfc = "RFC 3501 3",
  level = "MUST",
  run = function(t)
    -- 6.2 (valid before login: CAPABILITY, NOOP, LOGOUT, STARTTLS, AUTHENTICATE, LOGIN); 6.4:
    -- CHECK, CLOSE, EXPUNGE, SEARCH, FETCH, STORE, COPY and UID are valid in the selected state
    -- (RFC 9051 6.4 adds UNSELECT and MOVE).
    refused(t, nonauth(t), "not_authenticated", message_commands(t), 2)
  end,
}

case {
  id = "imap.state.auth.message-commands",
  title = "Every selected-state command without a selected mailbox gets BAD or NO",
  rfc = "RFC 3501 3",
  level = "MUST",
  run = function(t)
    util.need_credentials(t)
    -- 3.2: "In the authenticated state, the client is authenticated and MUST select a mailbox to
    -- access before commands that affect messages will be permitted." 6.3 lists the commands
    -- valid in the authenticated state; CHECK, CLOSE, EXPUNGE, SEARCH, FETCH, STORE, COPY, UID
    -- (and UNSELECT, MOVE) are not among them.
    refused(t, function() return imap.session(t) end, "authenticated", message_commands(t), 5)
  end,
}

-- The not-authenticated-state commands, sent after login.
local function nonauth_commands(t)
  return {
    { name = "LOGIN", line = "LOGIN " .. assert(imap.quote(t.user)) .. " " .. assert(imap.quote(t.password)),
      timeout = imap.LOGIN_TIMEOUT },
    { name = "AUTHENTICATE", line = "AUTHENTICATE PLAIN", timeout = imap.LOGIN_TIMEOUT },
    { name = "STARTTLS", line = "STARTTLS" },
  }
end

case {
  id = "imap.state.auth.nonauth-commands",
  title = "LOGIN, AUTHENTICATE and STARTTLS after login get BAD or NO",
  rfc = "RFC 3501 6.2",
  level = "MUST",
  run = function(t)
    util.need_credentials(t)
    if not imap.quote(t.user) or not imap.quote(t.password) then t:skip("credentials need literals") end
    -- 6.2: "Once authenticated (including as anonymous), it is not possible to re-enter not
    -- authenticated state." 9: command-nonauth = login / authenticate / "STARTTLS"; "Valid only
    -- when in Not Authenticated state". RFC 3501 3: "the server will respond with a BAD or NO".
    refused(t, function() return imap.session(t) end, "authenticated", nonauth_commands(t), 3)
  end,
}

case {
  id = "imap.state.selected.nonauth-commands",
  title = "LOGIN, AUTHENTICATE and STARTTLS with a mailbox selected get BAD or NO",
  rfc = "RFC 3501 6.2",
  level = "MUST",
  run = function(t)
    util.need_credentials(t)
    if not imap.quote(t.user) or not imap.quote(t.password) then t:skip("credentials need literals") end
    -- 9: command-nonauth "Valid only when in Not Authenticated state"; 6.4 lists the commands
    -- valid in the selected state, and these are not among them.
    refused(t, function()
      local conn = imap.session(t)
      t:expect(imap.examine(conn, "INBOX"), "OK", "EXAMINE INBOX completes with OK", { rfc = "RFC 3501 6.3.2" })
      return conn
    end, "selected", nonauth_commands(t), 3)
  end,
}

case {
  id = "imap.state.selected.mailbox-commands",
  title = "The authenticated-state commands work with a mailbox selected and keep it selected",
  rfc = "RFC 3501 6.4",
  level = "MUST",
  run = function(t)
    local conn = imap.session(t)
    imap.with_mailbox(t, conn, function(box)
      imap.populate(t, conn, box, 1)
      local _, ok = t:expect(imap.select(conn, box), "OK", "SELECT of the test mailbox", { rfc = "RFC 3501 6.3.1" })
      if not ok then return end
      -- 6.4: "In addition to the universal commands (CAPABILITY, NOOP, and LOGOUT), and the
      -- authenticated state commands (SELECT, EXAMINE, CREATE, DELETE, RENAME, SUBSCRIBE,
      -- UNSUBSCRIBE, LIST, LSUB, STATUS, and APPEND), the following commands are valid in the
      -- selected state"
      local b, c = box .. "-b", box .. "-c"
      local steps = {
        { "CREATE " .. b, "RFC 3501 6.3.3" },
        { 'LIST "" ' .. b, "RFC 3501 6.3.8" },
        { "SUBSCRIBE " .. b, "RFC 3501 6.3.6" },
        { 'LSUB "" ' .. b, "RFC 3501 6.3.9" },
        { "UNSUBSCRIBE " .. b, "RFC 3501 6.3.7" },
        { "STATUS " .. b .. " (MESSAGES)", "RFC 3501 6.3.10" },
        { "RENAME " .. b .. " " .. c, "RFC 3501 6.3.5" },
        { "DELETE " .. c, "RFC 3501 6.3.4" },
        { "CAPABILITY", "RFC 3501 6.1.1" },
        { "NOOP", "RFC 3501 6.1.2" },
        { "CHECK", "RFC 3501 6.4.1" },
      }
      local rev2 = imap.is_rev2(t, conn)
      for _, s in ipairs(steps) do
        -- RFC 9051 deprecated LSUB and removed CHECK
        if rev2 and (s[1]:match("^LSUB") or s[1] == "CHECK") then goto next end
        local r = conn:imap(s[1])
        t:expect(r, "OK", s[1] .. " in the selected state completes with OK", { rfc = s[2] })
        t:check(conn.state == "selected", "the mailbox stays selected after " .. s[1],
          { rfc = "RFC 3501 6", received = conn.state, expected = "selected" })
        ::next::
      end
      local a = imap.append(conn, box .. "-b", imap.test_message(t))
      t:expect(a, "NO", "APPEND to the deleted name gets NO", { rfc = "RFC 3501 6.3.11" })
      t:check(conn.state == "selected", "the mailbox stays selected after a failed APPEND",
        { rfc = "RFC 3501 6", received = conn.state, expected = "selected" })
      -- 6.3.1: "The SELECT command automatically deselects any currently selected mailbox before
      -- attempting the new selection."
      t:expect(imap.examine(conn, box), "OK", "EXAMINE while selected completes with OK", { rfc = "RFC 3501 6.3.2" })
      t:expect(imap.select(conn, box), "OK", "SELECT while selected completes with OK", { rfc = "RFC 3501 6.3.1" })
      t:expect(imap.fetch(conn, "1", "(FLAGS)"), "OK", "FETCH works in the reselected mailbox",
        { rfc = "RFC 3501 6.4.5" })
    end)
    imap.logout(conn)
  end,
}

case {
  id = "imap.state.bad-keeps-selection",
  title = "A rejected command (BAD) leaves the selected mailbox selected",
  rfc = "RFC 3501 6",
  level = "MUST",
  run = function(t)
    local conn = imap.session(t)
    imap.with_mailbox(t, conn, function(box)
      imap.populate(t, conn, box, 1)
      local _, ok = t:expect(imap.select(conn, box), "OK", "SELECT of the test mailbox", { rfc = "RFC 3501 6.3.1" })
      if not ok then return end
      -- 6: "A rejected command (BAD response) never changes the state of the connection or of the
      -- selected mailbox." A FETCH of an item that does not exist is a syntax error (9: fetch-att).
      t:expect(imap.fetch(conn, "1", "(MAILHARNESS-NO-SUCH-ITEM)"), "BAD",
        "FETCH of an unknown data item gets BAD", { rfc = "RFC 3501 6.4.5" })
      t:expect(imap.fetch(conn, "1", "(UID)"), "OK", "after the BAD, FETCH works on the selected mailbox")
    end)
    imap.logout(conn)
  end,
}

case {
  id = "imap.select.bad-keeps-selection",
  title = "SELECT without a mailbox name is rejected and, if BAD, leaves the selection alone",
  rfc = "RFC 3501 6",
  level = "MUST",
  run = function(t)
    local conn = imap.session(t)
    imap.with_mailbox(t, conn, function(box)
      imap.populate(t, conn, box, 1)
      local _, ok = t:expect(imap.select(conn, box), "OK", "SELECT of the test mailbox", { rfc = "RFC 3501 6.3.1" })
      if not ok then return end
      -- 6: "A rejected command (BAD response) never changes the state of the connection or of the
      -- selected mailbox. A failed command (NO response) generally does not change the state of
      -- the connection or of the selected mailbox; the exception being the SELECT and EXAMINE
      -- commands." 9: select = "SELECT" SP mailbox, so "SELECT" alone is a syntax error.
      local r = conn:imap("SELECT")
      t:expect(r, { "BAD", "NO" }, "SELECT without a mailbox name is rejected")
      local f = imap.fetch(conn, "1", "(UID)")
      if r and r.status == "BAD" then
        t:expect(f, "OK", "after the BAD, FETCH still works on the selected mailbox")
      elseif r and r.status == "NO" then
        -- 6.3.1: "if a mailbox is selected and a SELECT command that fails is attempted, no
        -- mailbox is selected."
        t:expect(f, { "BAD", "NO" }, "after a failed (NO) SELECT no mailbox is selected",
          { rfc = "RFC 3501 6.3.1" })
      end
    end)
    imap.logout(conn)
  end,
}
