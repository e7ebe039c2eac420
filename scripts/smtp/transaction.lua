-- SMTP mail transactions: command order, RSET, DATA and transparency, postmaster, relaying,
-- VRFY (RFC 5321 3.3, 3.5, 3.6.2, 4.1.1, 4.1.4, 4.5.1, 4.5.2, 7.9).
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

-- Authenticates with AUTH PLAIN when credentials are given and the server offers it, unless
-- --param auth=no. Returns true if it did.
local function maybe_auth(t, conn)
  if t:param("auth", "auto") == "no" or not t.user or not t.password then return false end
  if not conn.caps.AUTH and conn.caps.STARTTLS and not conn.tls then
    conn:tls_upgrade()
  end
  if not smtp.mechanisms(conn).PLAIN then return false end
  local r = smtp.login_plain(conn, t.user, t.password)
  return r ~= nil and r.status == "235"
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
    t:expect(smtp.unless_blocked(t, conn:cmd("RCPT TO:<" .. t:param("rcpt", "postmaster") .. ">")),
      "503", "RCPT before MAIL gets 503")
    smtp.quit(conn)
  end,
}

case {
  id = "smtp.data.without-rcpt",
  title = "DATA without an accepted RCPT gets 503 or 554, never 354",
  rfc = "RFC 5321 3.3",
  level = "MUST",
  run = function(t)
    local conn = smtp.session(t)
    smtp.unless_blocked(t, conn:cmd("MAIL FROM:<>"))
    -- "If there was no MAIL, or no RCPT, command, or all such commands were rejected, the server
    -- MAY return a "command out of sequence" (503) or "no valid recipients" (554) reply in
    -- response to the DATA command." A 354 would start a transaction without recipients
    -- (4.1.4: out-of-order commands get 503).
    local r = smtp.unless_blocked(t, conn:cmd("DATA"))
    t:expect(r, { "503", "554" }, "DATA without RCPT gets 503 or 554")
    if r and r.status == "354" then
      conn:close() -- abandon the data phase without sending a message (4.1.1.10: cancelled)
      return
    end
    smtp.quit(conn)
  end,
}

case {
  id = "smtp.rset.clears-transaction",
  title = "RSET in a transaction gets 250 and discards the sender: RCPT then gets 503",
  rfc = "RFC 5321 4.1.1.5",
  level = "MUST",
  run = function(t)
    local conn = smtp.session(t)
    open_transaction(t, conn, t:param("from", ""))
    -- "Any stored sender, recipients, and mail data MUST be discarded, and all buffers and state
    -- tables cleared. The receiver MUST send a "250 OK" reply to a RSET command with no arguments."
    t:expect(conn:cmd("RSET"), "250", "RSET gets 250")
    t:expect(conn:cmd("RCPT TO:<" .. t:param("rcpt", "postmaster") .. ">"), "503",
      "RCPT after RSET is out of sequence (no MAIL any more)", { rfc = "RFC 5321 3.3" })
    -- "An SMTP server MUST NOT close the connection as the result of receiving a RSET"
    t:expect(conn:cmd("NOOP"), "250", "the connection is still open after RSET")
    smtp.quit(conn)
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
    t:expect(conn:cmd("RCPT TO:<" .. t:param("rcpt", "postmaster") .. ">"), "503",
      "RCPT afterwards gets 503: the server stayed outside a transaction", { rfc = "RFC 5321 3.3" })
    smtp.quit(conn)
  end,
}

case {
  id = "smtp.rcpt.postmaster",
  title = "RCPT TO:<Postmaster> (no domain) is accepted",
  rfc = "RFC 5321 4.5.1",
  level = "MUST",
  run = function(t)
    local conn = smtp.session(t)
    if conn.greeting.status == "554" then
      t:skip("the server refused the session with 554 (postmaster not required, 4.5.1)")
    end
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
  id = "smtp.data.transparency",
  title = "A whole transfer: MAIL, RCPT, DATA 354, dot-stuffed body, final 250",
  rfc = "RFC 5321 4.5.2",
  level = "MUST",
  run = function(t)
    local conn = smtp.session(t)
    local authed = maybe_auth(t, conn)
    local from = t:param("from", "")
    local rcpt = t:param("rcpt", "postmaster")
    local marker = t:random_hex(12)
    t:log("marker " .. marker .. " to <" .. rcpt .. ">" .. (authed and " (authenticated)" or ""))
    local m = smtp.unless_blocked(t, conn:cmd("MAIL FROM:<" .. from .. ">"))
    t:expect(m, "250", "MAIL FROM:<" .. from .. "> is accepted", { rfc = "RFC 5321 3.3" })
    if not m or m.class ~= "ok" then smtp.quit(conn) return end
    local r = conn:cmd("RCPT TO:<" .. rcpt .. ">")
    if r and r.class ~= "ok" then
      conn:cmd("RSET")
      smtp.quit(conn)
      t:skip("the server does not take mail for <" .. rcpt .. "> from us (" .. r.status .. " " ..
        r.text .. "); pass --param rcpt=<a local mailbox>")
    end
    t:expect(r, { "250", "251" }, "RCPT TO:<" .. rcpt .. "> is accepted", { rfc = "RFC 5321 3.3" })
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
    local extra, perr = conn:poll(300)
    if not extra then error("poll failed: " .. tostring(perr)) end
    t:check(extra == 0, "no further reply: the stuffed \".\" line did not end the data early",
      { received = extra ~= 0 and conn:recv_raw() or nil, expected = "nothing" })
    smtp.quit(conn)
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
    local r = smtp.unless_blocked(t, conn:cmd("MAIL FROM:<" .. t:param("from", "") .. ">"))
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
