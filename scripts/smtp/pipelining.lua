-- SMTP PIPELINING (RFC 2920): groups of commands in one write, replies in order and counted,
-- the message content as the first "command" of a group, DATA after only failed RCPTs.
-- The groups obey the client rules of RFC 2920 3.1: "The EHLO, DATA, VRFY, EXPN, TURN, QUIT,
-- and NOOP commands can only appear as the last command in a group".
local smtp = require("mh.smtp")

-- Sends lines in one write and reads one reply per line (conn:pipeline). A missing reply is
-- a finding (RFC 2920 3.2 (9): "MUST NOT flush or otherwise lose the contents of the TCP input
-- buffer"), recorded here; returns the replies, or nil when the group was not fully answered.
local function group(t, conn, lines, what)
  local rs, err, partial = conn:pipeline(lines)
  if not rs then
    t:check(false, "every command of the group (" .. what .. ") gets a reply",
      { received = #(partial or {}) .. " of " .. #lines .. " replies, then " .. tostring(err),
        expected = #lines .. " replies", rfc = "RFC 2920 3.2", level = "MUST" })
    return nil
  end
  return rs
end

-- Checks replies against the expected classes, in order: want[i] is a list for t:expect.
local function in_order(t, rs, lines, want)
  for i, w in ipairs(want) do
    t:expect(rs[i], w, "reply " .. i .. " answers \"" .. lines[i] .. "\"", { rfc = "RFC 2920 3.2" })
  end
end

case {
  id = "smtp.pipelining.transaction",
  title = "MAIL, RCPT, RCPT, DATA in one write, then the content with RSET, MAIL, RCPT, NOOP: replies in order",
  rfc = "RFC 2920 3.2",
  level = "MUST",
  requires = "PIPELINING",
  run = function(t)
    local rcpt = smtp.sink(t)
    local conn = smtp.mail_session(t, { rcpt = rcpt })
    if not conn.caps.PIPELINING then t:skip("PIPELINING is not in this EHLO reply") end
    -- 3.2: "A server SMTP implementation that offers the pipelining extension: (1) MUST respond
    -- to commands in the order they are received from the client." ... "(9) MUST NOT flush or
    -- otherwise lose the contents of the TCP input buffer under any circumstances whatsoever."
    -- The second RCPT names the null path, which RCPT does not take (RFC 5321 4.1.1.3:
    -- Forward-path = Path), so its refusal sits between two successes.
    local lines = { "MAIL FROM:<" .. smtp.from(t) .. ">", "RCPT TO:<" .. rcpt .. ">", "RCPT TO:<>",
      "DATA" }
    local rs = group(t, conn, lines, "MAIL RCPT RCPT DATA")
    if not rs then conn:close() return end
    in_order(t, rs, lines, { "250", { "250", "251" }, { "5xx", "4xx" }, "354" })
    if rs[4].status ~= "354" then conn:cmd("RSET") smtp.quit(conn) return end
    -- 3.1: "The actual transfer of message content is explicitly allowed to be the first
    -- "command" in a group. That is, a RSET/MAIL FROM sequence used to initiate a new message
    -- transaction can be placed in the same group as the final transfer of the headers and body
    -- of the previous message."
    local msg = smtp.marker_message(t, "PIPELINING transaction")
    local tail = { "RSET", "MAIL FROM:<" .. smtp.from(t) .. ">", "RCPT TO:<" .. rcpt .. ">", "NOOP" }
    local ok, err = conn:send(smtp.dot_stuff(msg) .. table.concat(tail, "\r\n") .. "\r\n")
    if not ok then error("send failed: " .. tostring(err)) end
    local final = conn:read()
    t:expect(final, "250", "the end of data (first of the group) gets 250", { rfc = "RFC 2920 3.2" })
    for i, line in ipairs(tail) do
      local r = conn:read()
      t:expect(r, i == 3 and { "250", "251" } or "250", "then \"" .. line .. "\" gets its reply in order")
      if not r then return end
    end
    local extra = smtp.quiet(conn, 300)
    t:check(extra == nil, "no reply beyond one per command", { received = extra, expected = "nothing" })
    conn:cmd("RSET")
    smtp.quit(conn)
  end,
}

case {
  id = "smtp.pipelining.rset-mail-group",
  title = "RSET, MAIL, RCPT, RSET, MAIL, RCPT, NOOP in one write get seven replies in order",
  rfc = "RFC 2920 3.2",
  level = "MUST",
  requires = "PIPELINING",
  run = function(t)
    local conn = smtp.mail_session(t)
    if not conn.caps.PIPELINING then t:skip("PIPELINING is not in this EHLO reply") end
    -- 3.1: "the commands RSET, MAIL FROM, SEND FROM, SOML FROM, SAML FROM, and RCPT TO can all
    -- appear anywhere in a pipelined command group." 3.2: "(1) MUST respond to commands in the
    -- order they are received from the client." ... "(5) MUST NOT buffer responses to EHLO, DATA,
    -- VRFY, EXPN, TURN, QUIT, and NOOP." "Command statuses MUST be coordinated with responses by
    -- counting each separate response" (3.1): seven commands, seven replies.
    local from, rcpt = smtp.from(t), smtp.rcpt(t)
    local lines = { "RSET", "MAIL FROM:<" .. from .. ">", "RCPT TO:<" .. rcpt .. ">", "RSET",
      "MAIL FROM:<" .. from .. ">", "RCPT TO:<" .. rcpt .. ">", "NOOP" }
    local rs = group(t, conn, lines, "RSET MAIL RCPT RSET MAIL RCPT NOOP")
    if not rs then conn:close() return end
    in_order(t, rs, lines, { "250", "250", { "250", "251" }, "250", "250", { "250", "251" }, "250" })
    local extra = smtp.quiet(conn, 300)
    t:check(extra == nil, "no reply beyond one per command", { received = extra, expected = "nothing" })
    conn:cmd("RSET")
    smtp.quit(conn)
  end,
}

case {
  id = "smtp.pipelining.no-valid-recipient",
  title = "Pipelined DATA after only refused RCPTs gets no 354",
  rfc = "RFC 2920 3.2",
  level = "SHOULD",
  requires = "PIPELINING",
  run = function(t)
    local conn = smtp.mail_session(t)
    if not conn.caps.PIPELINING then t:skip("PIPELINING is not in this EHLO reply") end
    -- 3.2: "(3) SHOULD issue a positive response to the DATA command if and only if one or more
    -- valid RCPT TO addresses have been previously received." RFC 5321 3.3: "If there was no
    -- MAIL, or no RCPT, command, or all such commands were rejected, the server MAY return a
    -- "command out of sequence" (503) or "no valid recipients" (554) reply in response to the
    -- DATA command." Both recipients are invalid: the null path and an address with no domain
    -- part that is not Postmaster.
    local lines = { "MAIL FROM:<" .. smtp.from(t) .. ">", "RCPT TO:<>",
      "RCPT TO:<@mailharness.invalid:>", "DATA" }
    local rs = group(t, conn, lines, "MAIL RCPT RCPT DATA")
    if not rs then conn:close() return end
    t:expect(rs[1], "250", "MAIL is accepted", { rfc = "RFC 2920 3.2", level = "MUST" })
    local valid = (rs[2].class == "ok") or (rs[3].class == "ok")
    if valid then
      t:log("the server accepted an invalid recipient; DATA may then get 354")
    else
      t:expect(rs[4], { "503", "554" }, "DATA after only refused RCPTs gets 503 or 554, not 354")
    end
    if rs[4].status == "354" then
      -- RFC 2920 3.1: "if the DATA command was accepted the client SMTP should send a single
      -- dot"; we abandon the connection instead, so no empty message can go anywhere.
      conn:close()
      return
    end
    conn:cmd("RSET")
    smtp.quit(conn)
  end,
}
