-- SMTP mail transactions: command order, RSET, MAIL/RCPT arguments and parameters, DATA and
-- transparency, long text lines, postmaster, the recipients buffer, relaying, VRFY
-- (RFC 5321 3.3, 3.5, 3.6.2, 4.1.1, 4.1.4, 4.5.1, 4.5.2, 4.5.3.1, 7.9).
local smtp = require("mh.smtp")
local util = require("mh.util")

-- Starts a transaction with MAIL FROM:<from>; skips the case when the server will not open one
-- for us (policy, authentication required): nothing about the tested requirement can be seen.
local function open_transaction(t, conn, from)
  local m = smtp.unless_blocked(t, conn:cmd("MAIL FROM:<" .. (from or "") .. ">"))
  if not m or m.class ~= "ok" then
    t:skip("MAIL FROM:<" .. (from or "") .. "> is not accepted here: " ..
      (m and (m.status .. " " .. m.text) or "no reply"))
  end
  return m
end

case {
  id = "smtp.rcpt.before-mail",
  title = "RCPT without a preceding MAIL gets 503",
  rfc = "RFC 5321 3.3",
  level = "MUST",
  run = function(t)
    local conn = smtp.session(t)
    -- "If a RCPT command appears without a previous MAIL command, the server MUST return a 503
    -- "Bad sequence of commands" response."
    t:expect(smtp.unless_blocked(t, conn:cmd("RCPT TO:<" .. smtp.rcpt(t) .. ">")),
      "503", "RCPT before MAIL gets 503")
    smtp.quit(conn)
  end,
}

case {
  id = "smtp.data.without-rcpt",
  title = "DATA without MAIL, and DATA after MAIL without an accepted RCPT, get 503 or 554, never 354",
  rfc = "RFC 5321 3.3",
  level = "MUST",
  run = function(t)
    local conn = smtp.session(t)
    -- "If there was no MAIL, or no RCPT, command, or all such commands were rejected, the server
    -- MAY return a "command out of sequence" (503) or "no valid recipients" (554) reply in
    -- response to the DATA command." A 354 would start a transaction without recipients
    -- (4.1.4: out-of-order commands get 503).
    local d = smtp.unless_blocked(t, conn:cmd("DATA"))
    t:expect(d, { "503", "554" }, "DATA without MAIL gets 503 or 554")
    if d and d.status == "354" then
      conn:close() -- abandon the data phase without sending a message (4.1.1.10: cancelled)
      return
    end
    open_transaction(t, conn, smtp.from(t))
    local r = smtp.unless_blocked(t, conn:cmd("DATA"))
    t:expect(r, { "503", "554" }, "DATA after MAIL without RCPT gets 503 or 554")
    if r and r.status == "354" then
      conn:close()
      return
    end
    conn:cmd("RSET")
    smtp.quit(conn)
  end,
}

case {
  id = "smtp.rset.clears-transaction",
  title = "RSET after MAIL, after RCPT and between BDAT chunks gets 250 and discards the transaction",
  rfc = "RFC 5321 4.1.1.5",
  level = "MUST",
  run = function(t)
    smtp.each_state(t, function(conn, st)
      -- "Any stored sender, recipients, and mail data MUST be discarded, and all buffers and
      -- state tables cleared. The receiver MUST send a "250 OK" reply to a RSET command with no
      -- arguments." RFC 3030 2: "The RSET command, when issued after the first BDAT and before
      -- the BDAT LAST, clears all segments sent during that transaction and resets the session."
      t:expect(conn:cmd("RSET"), "250", "RSET in state " .. st .. " gets 250")
      t:expect(conn:cmd("RCPT TO:<" .. smtp.rcpt(t) .. ">"), "503",
        "RCPT after RSET in state " .. st .. " is out of sequence (no MAIL any more)",
        { rfc = "RFC 5321 3.3" })
      -- "An SMTP server MUST NOT close the connection as the result of receiving a RSET"
      t:expect(conn:cmd("NOOP"), "250", "the connection is still open after RSET in state " .. st)
    end, { "mail", "rcpt", "bdat" })
  end,
}

case {
  id = "smtp.mail.missing-argument",
  title = "MAIL without its FROM:<path> argument gets 501 and no transaction starts",
  rfc = "RFC 5321 4.1.4",
  level = "MUST",
  run = function(t)
    local conn = smtp.session(t)
    -- "If the transaction beginning command argument is not acceptable, a 501 failure reply MUST
    -- be returned and the SMTP server MUST stay in the same state."
    t:expect(smtp.unless_blocked(t, conn:cmd("MAIL")), "501", "MAIL without an argument gets 501")
    t:expect(conn:cmd("RCPT TO:<" .. smtp.rcpt(t) .. ">"), "503",
      "RCPT afterwards gets 503: the server stayed outside a transaction", { rfc = "RFC 5321 3.3" })
    smtp.quit(conn)
  end,
}

case {
  id = "smtp.mail.in-transaction",
  title = "MAIL inside an open transaction is refused with 503 (state kept) or restarts the transaction",
  rfc = "RFC 5321 4.1.4",
  level = "MUST",
  run = function(t)
    smtp.each_state(t, function(conn, st)
      -- 4.1.4: "MAIL (or SEND, SOML, or SAML) MUST NOT be sent if a mail transaction is already
      -- open" binds the client. A server may refuse: "If the commands in a transaction are out
      -- of order to the degree that they cannot be processed by the server, a 503 failure reply
      -- MUST be returned and the SMTP server MUST stay in the same state." Or it may take the
      -- MAIL as a new start: 4.1.1.2 "This command clears the reverse-path buffer, the
      -- forward-path buffer, and the mail data buffer".
      local r = conn:cmd("MAIL FROM:<" .. smtp.from(t) .. ">")
      t:expect(r, { "503", "250" }, "a second MAIL in state " .. st .. " gets 503 (or 250)")
      if r and r.status == "503" and st ~= "bdat" then
        -- "MUST stay in the same state": the transaction is still open
        local again = conn:cmd("RCPT TO:<" .. smtp.rcpt(t) .. ">")
        t:check(again ~= nil and again.status ~= "503",
          "after the refused MAIL in state " .. st .. " the transaction is still open",
          { received = again and again.raw, expected = "RCPT not refused with 503" })
      end
    end, { "mail", "rcpt", "bdat" })
  end,
}

case {
  id = "smtp.mail.unknown-parameter",
  title = "MAIL with a parameter no extension defines gets 555 (or 501) and opens no transaction",
  rfc = "RFC 5321 4.1.1.11",
  level = "MUST",
  run = function(t)
    local conn = smtp.session(t)
    -- 4.1.1.11: "If the server SMTP does not recognize or cannot implement one or more of the
    -- parameters associated with a particular MAIL FROM or RCPT TO command, it will return code
    -- 555." 4.1.4: "If the transaction beginning command argument is not acceptable, a 501
    -- failure reply MUST be returned and the SMTP server MUST stay in the same state."
    local r = smtp.unless_blocked(t, conn:cmd("MAIL FROM:<" .. smtp.from(t) .. "> MAILHARNESS-UNKNOWN=1"))
    local _, refused = t:expect(r, { "555", "501" }, "MAIL with an unknown parameter gets 555 or 501")
    if refused then
      t:expect(conn:cmd("RCPT TO:<" .. smtp.rcpt(t) .. ">"), "503",
        "RCPT afterwards gets 503: the refused MAIL opened no transaction",
        { rfc = "RFC 5321 4.1.4" })
    end
    conn:cmd("RSET")
    smtp.quit(conn)
  end,
}

case {
  id = "smtp.rcpt.unknown-parameter",
  title = "RCPT with a parameter no extension defines gets 555 (or 501); the transaction goes on",
  rfc = "RFC 5321 4.1.1.11",
  level = "MUST",
  run = function(t)
    local conn = smtp.mail_session(t)
    open_transaction(t, conn, smtp.from(t))
    -- 4.1.1.11: "If the server SMTP does not recognize or cannot implement one or more of the
    -- parameters associated with a particular MAIL FROM or RCPT TO command, it will return code
    -- 555." (501: 4.3.2 "Syntax error in command or arguments")
    local r = conn:cmd("RCPT TO:<" .. smtp.rcpt(t) .. "> MAILHARNESS-UNKNOWN=1")
    t:expect(r, { "555", "501" }, "RCPT with an unknown parameter gets 555 or 501")
    -- a refused RCPT does not end the transaction (3.3: "one or more RCPT commands")
    t:expect(conn:cmd("RCPT TO:<" .. smtp.rcpt(t) .. ">"), { "250", "251" },
      "the same RCPT without the parameter is accepted afterwards", { rfc = "RFC 5321 3.3" })
    conn:cmd("RSET")
    smtp.quit(conn)
  end,
}

case {
  id = "smtp.rcpt.postmaster",
  title = "RCPT TO:<Postmaster> (no domain) is accepted",
  rfc = "RFC 5321 4.5.1",
  level = "MUST",
  run = function(t)
    -- a session in which the server takes mail (authenticated where it insists, e.g. on a
    -- submission port: RFC 6409 lets it refuse unauthenticated clients)
    local conn = smtp.mail_session(t)
    open_transaction(t, conn, "")
    -- "The requirement to accept mail for postmaster implies that RCPT commands that specify a
    -- mailbox for postmaster at any of the domains for which the SMTP server provides mail
    -- service, as well as the special case of "RCPT TO:<Postmaster>" (with no domain
    -- specification), MUST be supported."
    t:expect(conn:cmd("RCPT TO:<Postmaster>"), { "250", "251" },
      "RCPT TO:<Postmaster> is accepted")
    conn:cmd("RSET")
    smtp.quit(conn)
  end,
}

case {
  id = "smtp.rcpt.postmaster-domain",
  title = "RCPT TO:<postmaster@domain> is accepted for the domain the server delivers to, in any case",
  rfc = "RFC 5321 4.5.1",
  level = "MUST",
  run = function(t)
    local domain = smtp.domain(smtp.rcpt(t))
    if not domain then
      t:skip("--param rcpt=" .. smtp.rcpt(t) .. " names no domain the server delivers to")
    end
    -- a session in which the server takes mail for rcpt (authenticated where it insists)
    local conn = smtp.mail_session(t)
    open_transaction(t, conn, "")
    -- 4.5.1: "Any system that includes an SMTP server supporting mail relaying or delivery MUST
    -- support the reserved mailbox "postmaster" as a case-insensitive local name. ... RCPT
    -- commands that specify a mailbox for postmaster at any of the domains for which the SMTP
    -- server provides mail service ... MUST be supported." (rcpt's domain is one: the server
    -- delivers to --param rcpt.) No DATA follows: nothing is sent to postmaster.
    t:expect(conn:cmd("RCPT TO:<postmaster@" .. domain .. ">"), { "250", "251" },
      "RCPT TO:<postmaster@" .. domain .. "> is accepted")
    t:expect(conn:cmd("RCPT TO:<PostMaster@" .. domain .. ">"), { "250", "251" },
      "RCPT TO:<PostMaster@" .. domain .. "> (mixed case) is accepted")
    conn:cmd("RSET")
    smtp.quit(conn)
  end,
}

case {
  id = "smtp.rcpt.hundred-recipients",
  title = "100 RCPT commands in one transaction are buffered: none is refused as too many",
  rfc = "RFC 5321 4.5.3.1.8",
  level = "MUST",
  run = function(t)
    local conn = smtp.mail_session(t)
    open_transaction(t, conn, smtp.from(t))
    -- 4.5.3.1.8: "The minimum total number of recipients that MUST be buffered is 100
    -- recipients. Rejection of messages (for excessive recipients) with fewer than 100 RCPT
    -- commands is a violation of this specification." 4.5.3.1.10: the code for "too many
    -- recipients" is 452 (RFC 821 used 552). The same mailbox is named 100 times; no DATA
    -- follows, so nothing is delivered.
    local line = "RCPT TO:<" .. smtp.rcpt(t) .. ">"
    local batch = conn.caps.PIPELINING and 20 or 1
    local n, too_many, other = 0, {}, {}
    while n < 100 do
      local lines = {}
      for i = 1, math.min(batch, 100 - n) do lines[i] = line end
      local rs, err, partial = conn:pipeline(lines)
      rs = rs or partial or {}
      for _, r in ipairs(rs) do
        n = n + 1
        if r.status == "452" or r.status == "552" then
          too_many[#too_many + 1] = n .. ": " .. r.status .. " " .. r.text
        elseif r.class ~= "ok" then
          other[#other + 1] = n .. ": " .. r.status .. " " .. r.text
        end
      end
      if err then
        t:check(false, "the server answers all 100 RCPT commands",
          { received = n .. " replies, then " .. tostring(err), expected = "100 replies" })
        return
      end
    end
    t:check(#too_many == 0, "none of the first 100 RCPT commands is refused with 452/552 (too many recipients)",
      { received = #too_many > 0 and table.concat(too_many, "; ") or "100 replies without 452/552",
        expected = "no 452/552 before the 101st recipient" })
    if #other > 0 then t:log("RCPT refused for other reasons: " .. table.concat(other, "; ")) end
    t:expect(conn:cmd("RSET"), "250", "RSET discards the 100 recipients", { rfc = "RFC 5321 4.1.1.5" })
    smtp.quit(conn)
  end,
}

case {
  id = "smtp.data.transparency",
  title = "A whole transfer: MAIL, RCPT, DATA 354, dot-stuffed body, final 250",
  rfc = "RFC 5321 4.5.2",
  level = "MUST",
  run = function(t)
    local conn, info = smtp.mail_session(t)
    local from = smtp.from(t)
    local rcpt = smtp.rcpt(t)
    local marker = t:random_hex(12)
    t:log("marker " .. marker .. " to <" .. rcpt .. ">" .. (info.auth and " (authenticated)" or ""))
    local m = smtp.unless_blocked(t, conn:cmd("MAIL FROM:<" .. from .. ">"))
    t:expect(m, "250", "MAIL FROM:<" .. from .. "> is accepted", { rfc = "RFC 5321 3.3" })
    if not m or m.class ~= "ok" then smtp.quit(conn) return end
    local r = conn:cmd("RCPT TO:<" .. rcpt .. ">")
    t:expect(r, { "250", "251" }, "RCPT TO:<" .. rcpt .. "> is accepted", { rfc = "RFC 5321 3.3" })
    if not r or r.class ~= "ok" then conn:cmd("RSET") smtp.quit(conn) return end
    -- "If accepted, the SMTP server returns a 354 Intermediate reply"
    local d = conn:cmd("DATA")
    local _, ok = t:expect(d, "354", "DATA gets 354 after an accepted RCPT", { rfc = "RFC 5321 3.3" })
    if not ok then smtp.quit(conn) return end
    local message = util.message {
      from = "<mailharness@mailharness.example>",
      to = "<" .. rcpt .. ">",
      subject = t:param("subject", "mailharness transparency test") .. " [" .. marker .. "]",
      headers = { "X-Mailharness-Marker: " .. marker },
      body = table.concat({
        "This message tests SMTP transparency (RFC 5321 4.5.2).",
        ".A line that starts with a period.",
        "..Two periods.",
        ".",
        "The line above held a single period.",
        "X-Mailharness-Marker: " .. marker,
      }, "\n"),
    }
    -- 4.5.2: "If it is a period, one additional period is inserted at the beginning of the line."
    local sent, err = conn:send(smtp.dot_stuff(message))
    t:check(sent, "the message data is sent", { received = err })
    -- "When the end of text is successfully received and stored, the SMTP-receiver sends a
    -- "250 OK" reply." A line holding a single (stuffed) period must not end the data early.
    local final = conn:read()
    t:expect(final, "250", "the end of data gets 250", { rfc = "RFC 5321 4.1.1.4" })
    local extra = smtp.quiet(conn, 300)
    t:check(extra == nil, "no further reply: the stuffed \".\" line did not end the data early",
      { received = extra, expected = "nothing" })
    smtp.quit(conn)
  end,
}

case {
  id = "smtp.data.long-line",
  title = "A 2500-octet text line in DATA (over the 1000 limit) gets exactly one final reply",
  rfc = "RFC 5321 4.5.3.1.6",
  level = "MUST",
  run = function(t)
    local sink = smtp.sink(t)
    local conn = smtp.mail_session(t, { rcpt = sink })
    -- 4.5.3.1.6: "The maximum total length of a text line including the <CRLF> is 1000 octets".
    -- 4.5.3.1: clients "MAY attempt to transmit these, but MUST be prepared for a server to
    -- reject them"; 4.5.3.1.9: "552 Too much mail data" / "500 Line too long" are examples. So
    -- the server may accept or refuse; what it MUST do is answer the end of data once
    -- (4.2 "Every command MUST generate exactly one reply") and not read the rest of the long
    -- line as a separate line or command.
    local long = string.rep("0123456789", 250)
    local msg = smtp.marker_message(t, "long text line (2500 octets)", {
      body = "The next line has 2500 octets.\n" .. long .. "\nEnd of the long-line test.\n" })
    open_transaction(t, conn, smtp.from(t))
    local r = conn:cmd("RCPT TO:<" .. sink .. ">")
    if not r or r.class ~= "ok" then conn:cmd("RSET") t:skip("RCPT refused") end
    local d = conn:cmd("DATA")
    local _, ok = t:expect(d, "354", "DATA gets 354", { rfc = "RFC 5321 3.3" })
    if not ok then conn:cmd("RSET") smtp.quit(conn) return end
    conn:send(smtp.dot_stuff(msg))
    local final = conn:read()
    t:check(final ~= nil, "the end of data gets a reply (the engine judges which)",
      { expected = "250, or a refusal such as 552 or 500" })
    if final then t:log("end of data with a 2500-octet line: " .. final.status .. " " .. final.text) end
    local extra = smtp.quiet(conn, 500)
    t:check(extra == nil, "exactly one reply to the end of data",
      { received = extra, expected = "nothing more", rfc = "RFC 5321 4.2" })
    if extra == nil then
      t:expect(conn:cmd("NOOP"), "250", "the session is in step afterwards", { rfc = "RFC 5321 4.1.1.9" })
      smtp.quit(conn)
    end
  end,
}

case {
  id = "smtp.relay.refused",
  title = "Unauthenticated relaying to a foreign domain is refused, with 550",
  rfc = "RFC 5321 7.9",
  level = "SHOULD",
  run = function(t)
    local conn = smtp.session(t)
    local foreign = t:param("relay_rcpt", "mailharness-relay-test@example.net")
    -- 7.9: "Some sites have decided to limit the use of the relay function to known or
    -- identifiable sources, and implementations SHOULD provide the capability to perform this
    -- type of filtering. When mail is rejected for these or other policy reasons, a 550 code
    -- SHOULD be used in response to EHLO (or HELO), MAIL, or RCPT as appropriate."
    -- 3.6.2: "If it declines to relay mail to a particular address for policy reasons, a 550
    -- response SHOULD be returned." This case never sends DATA.
    local r = smtp.unless_blocked(t, conn:cmd("MAIL FROM:<" .. smtp.from(t) .. ">"))
    local step = "MAIL"
    if r and r.class == "ok" then
      r = conn:cmd("RCPT TO:<" .. foreign .. ">")
      step = "RCPT"
    end
    local _, refused = t:expect(r, { "4xx", "5xx" },
      "relaying to <" .. foreign .. "> without authentication is refused (" .. step .. ")")
    if refused then
      t:expect(r, "550", "the refusal uses 550", { rfc = "RFC 5321 3.6.2" })
    end
    conn:cmd("RSET")
    smtp.quit(conn)
  end,
}

case {
  id = "smtp.vrfy.reply",
  title = "VRFY gets one of the replies RFC 5321 lists for it",
  rfc = "RFC 5321 4.3.2",
  level = "MUST",
  run = function(t)
    local conn = smtp.session(t)
    local who = t:param("vrfy", "postmaster")
    -- 4.3.2  VRFY  S: 250, 251, 252  E: 550, 551, 553, 502, 504
    local r = smtp.unless_blocked(t, conn:cmd("VRFY " .. who))
    local _, ok = t:expect(r, { "250", "251", "252", "550", "551", "553", "502", "504" },
      "VRFY " .. who .. " gets a reply listed for VRFY")
    if ok then
      -- 3.5.2: "Server implementations SHOULD support both VRFY and EXPN." (502 = disabled)
      t:check(r.status ~= "502", "VRFY is implemented (not 502)",
        { rfc = "RFC 5321 3.5.2", level = "SHOULD", received = r.raw, expected = "not 502" })
      if r.status == "250" or r.status == "251" then
        -- 3.5.2: "the reply MUST include the <Mailbox> name using a "<local-part@domain>"
        -- construction ... In circumstances exceptional enough ... free-form text MAY be returned."
        t:expect_match(r.text, "<[^<>@%s]+@[^<>%s]+>",
          "a 250/251 VRFY reply names the mailbox as <local-part@domain>",
          { rfc = "RFC 5321 3.5.2", level = "SHOULD" })
      end
    end
    smtp.quit(conn)
  end,
}
