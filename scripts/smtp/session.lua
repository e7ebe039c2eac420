-- SMTP session basics: greeting, EHLO/HELO, NOOP, QUIT, unknown commands, command order
-- (RFC 5321 3.1, 3.2, 4.1.1, 4.1.4, 4.2, 4.3.2).
local smtp = require("mh.smtp")
local util = require("mh.util")

-- Domain (RFC 5321 4.1.2): sub-domain *("." sub-domain), sub-domain = Let-dig [Ldh-str]
local function is_domain(s)
  if not s or s == "" then return false end
  for label in (s .. "."):gmatch("([^.]*)%.") do
    if not label:match("^%w[%w%-]*$") or label:match("%-$") then return false end
  end
  return true
end

local function is_address_literal(s)
  return s ~= nil and s:match("^%[[^%]]+%]$") ~= nil
end

case {
  id = "smtp.greeting.code",
  title = "The greeting is 220 (or 554) and names the server's domain",
  rfc = "RFC 5321 4.2",
  level = "MUST",
  run = function(t)
    local conn = t:connect()
    local g = conn.greeting
    -- RFC 5321 4.3.2: CONNECTION ESTABLISHMENT  S: 220  E: 554
    t:expect(g, { "220", "554" }, "the opening reply is 220, or 554 to refuse the session",
      { rfc = "RFC 5321 4.3.2" })
    if g.status == "220" then
      -- Greeting = "220 " (Domain / address-literal) [ SP textstring ] CRLF / "220-" ...
      local ident = g.lines[1]:match("^220[ %-](%S+)")
      t:check(is_domain(ident) or is_address_literal(ident),
        "the first greeting line starts with the server's domain or address literal",
        { received = g.lines[1], expected = "220 SP (Domain / address-literal) [SP text]" })
    end
    smtp.quit(conn)
  end,
}

case {
  id = "smtp.ehlo.syntax",
  title = "EHLO gets 250 with the domain, then one extension keyword per line",
  rfc = "RFC 5321 4.1.1.1",
  level = "MUST",
  run = function(t)
    local conn = t:connect()
    local r = smtp.ehlo(conn)
    local _, ok = t:expect(r, "250", "EHLO is accepted")
    if not ok then return end
    -- ehlo-ok-rsp = ("250" SP Domain [SP ehlo-greet] CRLF) / ("250-" Domain [SP ehlo-greet] CRLF
    --               *("250-" ehlo-line CRLF) "250" SP ehlo-line CRLF)
    local ident = r.lines[1]:match("^250[ %-](%S+)")
    t:check(is_domain(ident) or is_address_literal(ident),
      "the first EHLO line starts with the server's domain",
      { received = r.lines[1], expected = "250[-| ]Domain [SP ehlo-greet]" })
    for i = 2, #r.lines do
      local line = r.lines[i]
      -- ehlo-line = ehlo-keyword *(SP ehlo-param); keyword = (ALPHA / DIGIT) *(ALPHA / DIGIT / "-");
      -- ehlo-param = 1*(%d33-126)
      local body = line:sub(5)
      local kw, params = body:match("^([%w][%w%-]*)(.*)$")
      local ok_line = kw ~= nil and (params == "" or (params:match("^ ") and
        not params:find("[^\33-\126 ]") and not params:find("  ") and not params:find(" $")))
      t:check(ok_line, "EHLO line " .. i .. " is an extension keyword with parameters",
        { received = line, expected = "ehlo-keyword *(SP ehlo-param)" })
    end
    smtp.quit(conn)
  end,
}

case {
  id = "smtp.helo.reply",
  title = "HELO is supported and does not get the EHLO-style keyword list",
  rfc = "RFC 5321 3.2",
  level = "MUST",
  run = function(t)
    local conn = t:connect()
    -- RFC 5321 4.1.1.1: "servers MUST support the HELO command and reply properly to it"
    local r = conn:cmd("HELO " .. conn.helo)
    local _, ok = t:expect(r, "250", "HELO is accepted", { rfc = "RFC 5321 4.1.1.1" })
    if ok then
      -- RFC 5321 3.2: "Servers MUST NOT return the extended EHLO-style response to a HELO command."
      local known = util.set({ "PIPELINING", "SIZE", "STARTTLS", "AUTH", "8BITMIME", "DSN",
        "ENHANCEDSTATUSCODES", "CHUNKING", "SMTPUTF8", "BINARYMIME", "ETRN", "EXPN", "VRFY" })
      local listed = {}
      for i = 2, #r.lines do
        local kw = r.lines[i]:match("^250[ %-]([%w][%w%-]*)")
        if kw and known[kw:upper()] then listed[#listed + 1] = kw end
      end
      t:check(#listed == 0, "the HELO reply lists no service extensions",
        { received = r.raw, expected = "a 250 reply without EHLO keyword lines" })
    end
    smtp.quit(conn)
  end,
}

case {
  id = "smtp.ehlo.resets-transaction",
  title = "A second EHLO clears the mail transaction as RSET would",
  rfc = "RFC 5321 4.1.4",
  level = "MUST",
  run = function(t)
    local conn = smtp.session(t)
    local m = smtp.unless_blocked(t, conn:cmd("MAIL FROM:<>"))
    if not m or m.class ~= "ok" then
      t:skip("MAIL FROM:<> is not accepted here (" .. (m and m.status or "no reply") .. ")")
    end
    -- "If it is issued after the session begins and the EHLO command is acceptable to the SMTP
    -- server, the SMTP server MUST clear all buffers and reset the state exactly as if a RSET
    -- command had been issued."
    local _, ok = t:expect(smtp.ehlo(conn), "250", "EHLO in the middle of a transaction is accepted")
    if ok then
      t:expect(conn:cmd("RCPT TO:<postmaster>"), "503",
        "RCPT after the second EHLO is out of sequence: the transaction was cleared",
        { rfc = "RFC 5321 3.3" })
    end
    smtp.quit(conn)
  end,
}

case {
  id = "smtp.noop.any-state",
  title = "NOOP gets 250 before EHLO, after EHLO and inside a mail transaction",
  rfc = "RFC 5321 4.1.1.9",
  level = "MUST",
  run = function(t)
    local conn = t:connect()
    -- RFC 5321 4.1.4: NOOP, HELP, EXPN, VRFY and RSET "can be used at any time ... SMTP servers
    -- SHOULD process these normally (that is, not return a 503 code) even if no EHLO command
    -- has yet been received"
    if t.tls ~= "starttls" then
      t:expect(conn:cmd("NOOP"), "250", "NOOP before EHLO gets 250",
        { rfc = "RFC 5321 4.1.4", level = "SHOULD" })
    end
    smtp.ehlo(conn)
    -- "It specifies no action other than that the receiver send a "250 OK" reply."
    t:expect(conn:cmd("NOOP"), "250", "NOOP after EHLO gets 250")
    t:expect(conn:cmd("NOOP with an argument"), "250",
      "NOOP with a parameter string gets 250 (servers SHOULD ignore it)", { level = "SHOULD" })
    local m = conn:cmd("MAIL FROM:<>")
    if m and m.class == "ok" then
      t:expect(conn:cmd("NOOP"), "250", "NOOP inside a mail transaction gets 250")
      local r = conn:cmd("RCPT TO:<" .. t:param("rcpt", "postmaster") .. ">")
      if r and r.class == "ok" then
        t:expect(conn:cmd("NOOP"), "250", "NOOP after RCPT gets 250")
      end
      conn:cmd("RSET")
    end
    smtp.quit(conn)
  end,
}

case {
  id = "smtp.quit.closes",
  title = "QUIT gets 221 and the server closes the connection",
  rfc = "RFC 5321 4.1.1.10",
  level = "MUST",
  run = function(t)
    local conn = smtp.session(t)
    -- "This command specifies that the receiver MUST send a "221 OK" reply, and then close the
    -- transmission channel."
    local r = smtp.quit(conn)
    local _, ok = t:expect(r, "221", "QUIT gets 221")
    if ok then
      local closed, extra = util.wait_closed(conn, 5000)
      t:check(closed and extra == "", "the server closes the connection after 221",
        { received = closed and ("closed" .. (extra ~= "" and " after sending " .. extra or ""))
            or "still open after 5 s", expected = "EOF right after the 221 reply" })
    end
  end,
}

case {
  id = "smtp.command.unknown",
  title = "An unrecognized command gets 500",
  rfc = "RFC 5321 4.2.4",
  level = "SHOULD",
  run = function(t)
    local conn = smtp.session(t)
    -- "If the command is not recognized, code 500 SHOULD be returned."
    t:expect(smtp.unless_blocked(t, conn:cmd("MHUNKNOWNVERB")), "500", "an unknown verb gets 500")
    -- the session goes on normally afterwards
    t:expect(conn:cmd("NOOP"), "250", "the session is still usable",
      { rfc = "RFC 5321 4.1.1.9", level = "MUST" })
    smtp.quit(conn)
  end,
}

case {
  id = "smtp.mail.before-ehlo",
  title = "MAIL before EHLO is accepted or refused with 503, and the state stays usable",
  rfc = "RFC 5321 4.1.4",
  level = "MUST",
  run = function(t)
    if t.tls == "starttls" then
      t:skip("the target's STARTTLS upgrade already sent EHLO")
    end
    local conn = t:connect()
    -- "A session that will contain mail transactions MUST first be initialized by the use of
    -- the EHLO command" binds the client; a server may accept the MAIL or refuse it. If it
    -- refuses because the commands are out of order, "a 503 failure reply MUST be returned and
    -- the SMTP server MUST stay in the same state". 530 is the STARTTLS/AUTH-required answer
    -- (RFC 3207 4, RFC 4954 6).
    local r = conn:cmd("MAIL FROM:<>")
    t:expect(r, { "250", "503", "530" }, "MAIL before EHLO gets 250, or 503 (bad sequence)")
    if r and r.status == "250" then
      conn:cmd("RSET")
    end
    t:expect(smtp.ehlo(conn), "250", "EHLO afterwards is accepted",
      { rfc = "RFC 5321 4.1.1.1" })
    if r and r.status == "503" then
      t:expect(conn:cmd("MAIL FROM:<>"), { "250", "530" },
        "MAIL after EHLO is accepted: the refused MAIL left the session usable")
    end
    smtp.quit(conn)
  end,
}
