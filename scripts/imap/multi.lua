-- IMAP with two sessions on the same mailbox: new messages, expunges and flag changes made by one
-- session reach the other; UIDs and UIDVALIDITY stay stable (RFC 3501 2.3.1.1, 5.2, 7, 7.4.1).
-- Both sessions log in as the same user; the mailbox is the case's own.
local imap = require("mh.imap")

local function list(nums)
  return table.concat(nums, ",")
end

-- poll(t, conn, done) -> the NOOP replies: sends NOOP until done(reply) is true, at most five
-- times 400 ms apart (a server notices another session's change when it checks the mailbox,
-- normally at every command; the retries only spare a slow store a false alarm). Returns the
-- replies concatenated into one reply-like table.
local function poll(t, conn, done)
  local all = { lines = {}, raw = "" }
  for i = 1, 5 do
    local r = conn:imap("NOOP")
    t:expect(r, "OK", "NOOP", { rfc = "RFC 3501 6.1.2", level = "MUST" })
    if not r then break end
    for _, l in ipairs(r.lines) do all.lines[#all.lines + 1] = l end
    all.raw = all.raw .. r.raw
    if done(all) then break end
    if i < 5 then t:sleep(400) end
  end
  return all
end

-- two(t, n, body): a mailbox with n messages selected in two sessions a and b; body(a, b, box).
local function two(t, n, body)
  local a = imap.session(t)
  imap.with_mailbox(t, a, function(box)
    if n > 0 then imap.populate(t, a, box, n) end
    local b = imap.session(t)
    local ok = pcall(function()
      t:expect(imap.select(a, box), "OK", "session A selects the mailbox", { rfc = "RFC 3501 6.3.1" })
      t:expect(imap.select(b, box), "OK", "session B selects the mailbox", { rfc = "RFC 3501 6.3.1" })
    end)
    local done, err = pcall(body, a, b, box)
    if not b:closed() then imap.logout(b) end
    if not done then error(err, 0) end
    if not ok then error("SELECT failed", 0) end
  end)
  imap.logout(a)
end

case {
  id = "imap.multi.exists",
  title = "A message appended by another session is announced by EXISTS at the next NOOP",
  rfc = "RFC 3501 5.2",
  level = "MUST",
  run = function(t)
    two(t, 1, function(a, b, box)
      t:expect(imap.append(b, box, imap.test_message(t)), "OK", "session B appends a message", { rfc = "RFC 3501 6.3.11" })
      -- 5.2: "A server MUST send mailbox size updates automatically if a mailbox size change is
      -- observed during the processing of a command." 7: "In the selected state, the server
      -- checks the mailbox for new messages as part of command execution. Normally, this is part
      -- of the execution of every command; hence, a NOOP command suffices to check for new
      -- messages. If new messages are found, the server sends untagged EXISTS and RECENT
      -- responses reflecting the new size of the mailbox."
      local r = poll(t, a, function(all) return imap.number(all, "EXISTS") == 2 end)
      t:check(imap.number(r, "EXISTS") == 2, "session A gets * 2 EXISTS", { received = r.raw, expected = "* 2 EXISTS" })
    end)
  end,
}

case {
  id = "imap.multi.expunge",
  title = "A message expunged by another session is announced by EXPUNGE at the next NOOP",
  rfc = "RFC 3501 7",
  level = "SHOULD",
  run = function(t)
    two(t, 3, function(a, b)
      local uids = imap.uids(a)
      t:expect(b:imap("STORE 2 +FLAGS.SILENT (\\Deleted)"), "OK", "session B marks message 2 \\Deleted", { rfc = "RFC 3501 6.4.6" })
      t:expect(b:imap("EXPUNGE"), "OK", "session B expunges", { rfc = "RFC 3501 6.4.3" })
      -- 7: "Server implementations that offer multiple simultaneous access to the same mailbox
      -- SHOULD also send appropriate unilateral untagged FETCH and EXPUNGE responses if another
      -- agent changes the state of any message flags or expunges any messages."
      local r = poll(t, a, function(all) return #imap.untagged(all, "EXPUNGE") > 0 end)
      local left = imap.apply_expunges(uids, r)
      t:check(left and list(left) == list({ uids[1], uids[3] }), "session A gets * 2 EXPUNGE",
        { received = r and r.raw, expected = "* 2 EXPUNGE" })
      -- whatever was announced, session A's view agrees with the mailbox afterwards
      local now = imap.uids(a)
      t:check(list(now) == list({ uids[1], uids[3] }), "session A then sees messages 1 and 3 of before",
        { level = "MUST", rfc = "RFC 3501 7.4.1", received = list(now), expected = list({ uids[1], uids[3] }) })
    end)
  end,
}

case {
  id = "imap.multi.flags",
  title = "A flag change made by another session is announced by FETCH at the next NOOP",
  rfc = "RFC 3501 5.2",
  level = "SHOULD",
  run = function(t)
    two(t, 2, function(a, b)
      t:expect(b:imap("STORE 2 +FLAGS.SILENT (\\Flagged)"), "OK", "session B flags message 2", { rfc = "RFC 3501 6.4.6" })
      -- 5.2: "A server SHOULD send message flag updates automatically, without requiring the
      -- client to request such updates explicitly." 6.4.6 note: "the server SHOULD send an
      -- untagged FETCH response if a change to a message's flags from an external source is
      -- observed."
      local r = poll(t, a, function(all) return #imap.fetches(all) > 0 end)
      local f = imap.fetch_map(r)[2]
      t:check(f and imap.flags(f.FLAGS)["\\FLAGGED"], "session A gets * 2 FETCH (FLAGS (... \\Flagged ...))",
        { received = r and r.raw, expected = "* 2 FETCH (FLAGS (\\Flagged ...))" })
      local g = imap.fetch_map(imap.fetch(a, "2", "(FLAGS)"))[2]
      t:check(g and imap.flags(g.FLAGS)["\\FLAGGED"], "FETCH FLAGS in session A shows \\Flagged",
        { level = "MUST", rfc = "RFC 3501 6.4.5", received = g and table.concat(g.FLAGS or {}, " ") })
    end)
  end,
}

case {
  id = "imap.multi.uid-stable",
  title = "UIDs and UIDVALIDITY are the same in concurrent and in later sessions",
  rfc = "RFC 3501 2.3.1.1",
  level = "MUST",
  run = function(t)
    local a = imap.session(t)
    imap.with_mailbox(t, a, function(box)
      imap.populate(t, a, box, 3)
      local sa = imap.select(a, box)
      t:expect(sa, "OK", "session A selects the mailbox", { rfc = "RFC 3501 6.3.1" })
      local va, ua = imap.resp_code(sa, "UIDVALIDITY"), imap.uids(a)
      local b = imap.session(t)
      local sb = imap.examine(b, box)
      local vb, ub = imap.resp_code(sb, "UIDVALIDITY"), imap.uids(b)
      imap.logout(b)
      -- "The unique identifier of a message MUST NOT change during the session, and SHOULD NOT
      -- change between sessions. Any change of unique identifiers between sessions MUST be
      -- detectable using the UIDVALIDITY mechanism"
      t:check(va == vb and list(ua) == list(ub), "a concurrent session sees the same UIDVALIDITY and UIDs",
        { received = tostring(vb) .. " " .. list(ub), expected = tostring(va) .. " " .. list(ua) })
      t:check(list(imap.uids(a)) == list(ua), "session A's UIDs did not change meanwhile",
        { received = list(imap.uids(a)), expected = list(ua) })
      imap.logout(a)
      local c = imap.session(t)
      local sc = imap.examine(c, box)
      local vc, uc = imap.resp_code(sc, "UIDVALIDITY"), imap.uids(c)
      t:check(list(uc) == list(ua) or vc ~= va, "a later session sees the same UIDs, or a new UIDVALIDITY",
        { received = tostring(vc) .. " " .. list(uc), expected = tostring(va) .. " " .. list(ua) })
      t:check(list(uc) == list(ua), "a later session sees the same UIDs", { level = "SHOULD",
        received = list(uc), expected = list(ua) })
      a = c
    end)
    imap.logout(a)
  end,
}

case {
  id = "imap.multi.no-expunge-during-fetch",
  title = "An expunge by another session is not announced during FETCH, STORE or SEARCH",
  rfc = "RFC 3501 7.4.1",
  level = "MUST",
  run = function(t)
    two(t, 3, function(a, b)
      t:expect(b:imap("STORE 2 +FLAGS.SILENT (\\Deleted)"), "OK", "session B marks message 2 \\Deleted", { rfc = "RFC 3501 6.4.6" })
      t:expect(b:imap("EXPUNGE"), "OK", "session B expunges", { rfc = "RFC 3501 6.4.3" })
      -- "An EXPUNGE response MUST NOT be sent when no command is in progress, nor while responding
      -- to a FETCH, STORE, or SEARCH command."
      for _, cmd in ipairs({ "FETCH 1:3 (FLAGS)", "STORE 1 +FLAGS.SILENT (\\Seen)", "SEARCH ALL" }) do
        local r = a:imap(cmd)
        t:expect(r, { "OK", "NO" }, cmd .. " in session A is answered", { rfc = "RFC 3501 6.4" })
        t:check(#imap.untagged(r, "EXPUNGE") == 0, "no untagged EXPUNGE during " .. cmd:match("^%S+"),
          { received = r and r.raw })
      end
      local n = poll(t, a, function(all) return #imap.untagged(all, "EXPUNGE") > 0 end)
      t:check(#imap.untagged(n, "EXPUNGE") == 1, "the EXPUNGE comes with a NOOP afterwards", { rfc = "RFC 3501 7",
        level = "SHOULD", received = n.raw, expected = "* 2 EXPUNGE" })
    end)
  end,
}
