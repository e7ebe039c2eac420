-- SMTP session basics: greeting, EHLO/HELO, NOOP, RSET, QUIT, VRFY, EXPN, HELP in every state,
-- unknown commands, arguments where none belong, command line lengths, command order
-- (RFC 5321 2.4, 3.1, 3.2, 3.8, 4.1.1, 4.1.4, 4.2, 4.3.2, 4.5.3.1).
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

-- EHLO keywords defined without parameters: RFC 2920 2 "(3) no parameter is used with the
-- PIPELINING EHLO keyword"; RFC 6152 2 "3. no parameter is used with the 8BITMIME EHLO keyword";
-- RFC 2034 3 "(3) no parameter is used with the ENHANCEDSTATUSCODES EHLO keyword"; RFC 3207 3
-- "[STARTTLS] takes no parameters". (SMTPUTF8: smtp.smtputf8.keyword.)
local NO_PARAMS = {
  PIPELINING = { "RFC 2920 2", "SHOULD" },
  ["8BITMIME"] = { "RFC 6152 2", "SHOULD" },
  ENHANCEDSTATUSCODES = { "RFC 2034 3", "SHOULD" },
  STARTTLS = { "RFC 3207 3", "SHOULD" },
}

local function is_address_literal(s)
  return s ~= nil and s:match("^%[[^%]]+%]$") ~= nil
end

-- Checks that a transaction is still open after a command that must not touch it: another
-- RCPT (state "mail" or "rcpt") must not get 503 "bad sequence". In the other states there is
-- nothing to check this way.
local function transaction_intact(t, conn, st, after, opts)
  if st ~= "mail" and st ~= "rcpt" then return end
  local r = conn:cmd("RCPT TO:<" .. smtp.rcpt(t) .. ">")
  local o = { received = r and r.raw, expected = "not 503: the MAIL of the transaction still holds" }
  for k, v in pairs(opts or {}) do o[k] = v end
  t:check(r ~= nil and r.status ~= "503",
    "RCPT after " .. after .. " in state " .. st .. " finds the transaction still open", o)
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
    local seen = {}
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
      if kw then
        kw = kw:upper()
        if kw == "SIZE" then
          -- RFC 1870 3: "size-param ::= [1*DIGIT]"
          t:check(params == "" or params:match("^ %d+$") ~= nil,
            "the SIZE keyword's parameter is a decimal number",
            { received = line, expected = "SIZE [SP 1*DIGIT]", rfc = "RFC 1870 3" })
        elseif NO_PARAMS[kw] then
          t:check(params == "", "the " .. kw .. " keyword carries no parameter",
            { received = line, expected = kw, rfc = NO_PARAMS[kw][1], level = NO_PARAMS[kw][2] })
        end
        seen[#seen + 1] = kw
      end
    end
    t:log("EHLO keywords: " .. table.concat(seen, " "))
    smtp.quit(conn)
  end,
}

case {
  id = "smtp.helo.reply",
  title = "HELO is supported and does not get the EHLO-style keyword list",
  rfc = "RFC 5321 3.2",
  level = "MUST",
  run = function(t)
    local conn = smtp.initial(t)
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
  title = "A second EHLO in a transaction (after MAIL, RCPT or a BDAT chunk) clears it as RSET would",
  rfc = "RFC 5321 4.1.4",
  level = "MUST",
  run = function(t)
    smtp.each_state(t, function(conn, st)
      -- "If it is issued after the session begins and the EHLO command is acceptable to the SMTP
      -- server, the SMTP server MUST clear all buffers and reset the state exactly as if a RSET
      -- command had been issued."
      local _, ok = t:expect(smtp.ehlo(conn), "250",
        "EHLO in state " .. st .. " is accepted")
      if ok then
        t:expect(conn:cmd("RCPT TO:<" .. smtp.rcpt(t) .. ">"), "503",
          "RCPT after EHLO in state " .. st .. " is out of sequence: the transaction was cleared",
          { rfc = "RFC 5321 3.3" })
      end
    end, { "mail", "rcpt", "bdat" })
  end,
}

case {
  id = "smtp.helo.resets-transaction",
  title = "HELO after EHLO is accepted, and in a transaction it clears the transaction",
  rfc = "RFC 5321 4.1.1.1",
  level = "MUST",
  run = function(t)
    smtp.each_state(t, function(conn, st)
      -- 4.1.1.1: "These commands, and a "250 OK" reply to one of them, confirm that both the SMTP
      -- client and the SMTP server are in the initial state, that is, there is no transaction in
      -- progress and all state tables and buffers are cleared."
      local _, ok = t:expect(conn:cmd("HELO " .. conn.helo), "250",
        "HELO in state " .. st .. " is accepted")
      if ok and st ~= "ready" then
        t:expect(conn:cmd("RCPT TO:<" .. smtp.rcpt(t) .. ">"), "503",
          "RCPT after HELO in state " .. st .. " is out of sequence: the transaction was cleared",
          { rfc = "RFC 5321 3.3" })
      end
      -- back to an EHLO session for the next state
      smtp.ehlo(conn)
    end, { "ready", "mail", "rcpt", "bdat" })
  end,
}

case {
  id = "smtp.ehlo.refused-keeps-state",
  title = "An EHLO without its domain argument is refused and the open transaction survives",
  rfc = "RFC 5321 4.1.4",
  level = "MUST",
  run = function(t)
    smtp.each_state(t, function(conn, st)
      -- ehlo = "EHLO" SP ( Domain / address-literal ) CRLF. 4.1.4: "If the EHLO command is not
      -- acceptable to the SMTP server, 501, 500, 502, or 550 failure replies MUST be returned as
      -- appropriate. The SMTP server MUST stay in the same state after transmitting these
      -- replies that it was in before the EHLO was received."
      local r = conn:cmd("EHLO")
      if r and r.status == "250" then
        -- a lenient server took it: then it is an acceptable EHLO and must reset (4.1.4)
        t:log("the server accepted EHLO without an argument")
        t:expect(conn:cmd("RCPT TO:<" .. smtp.rcpt(t) .. ">"), "503",
          "after an accepted EHLO the transaction is cleared", { rfc = "RFC 5321 3.3" })
        return
      end
      t:expect(r, { "501", "500", "502", "550", "504" },
        "EHLO without an argument in state " .. st .. " gets 501/500/502/550")
      transaction_intact(t, conn, st, "the refused EHLO")
    end, { "mail", "rcpt" })
  end,
}

case {
  id = "smtp.noop.any-state",
  title = "NOOP (with and without an argument) gets 250 in every state and leaves the transaction alone",
  rfc = "RFC 5321 4.1.1.9",
  level = "MUST",
  run = function(t)
    smtp.each_state(t, function(conn, st)
      -- 4.1.1.9: "It specifies no action other than that the receiver send a "250 OK" reply.
      -- This command has no effect on the reverse-path buffer, the forward-path buffer, or the
      -- mail data buffer, and it may be issued at any time. If a parameter string is specified,
      -- servers SHOULD ignore it." Before EHLO, 4.1.4: "SMTP servers SHOULD process these
      -- normally (that is, not return a 503 code) even if no EHLO command has yet been received"
      local level = st == "initial" and "SHOULD" or "MUST"
      t:expect(conn:cmd("NOOP"), "250", "NOOP in state " .. st .. " gets 250",
        { level = level, rfc = st == "initial" and "RFC 5321 4.1.4" or nil })
      t:expect(conn:cmd("NOOP mailharness " .. st), "250",
        "NOOP with a parameter string in state " .. st .. " gets 250 (servers SHOULD ignore it)",
        { level = "SHOULD" })
      transaction_intact(t, conn, st, "NOOP")
    end)
  end,
}

case {
  id = "smtp.rset.outside-transaction",
  title = "RSET before EHLO and after EHLO gets 250 and the connection stays open",
  rfc = "RFC 5321 4.1.1.5",
  level = "MUST",
  run = function(t)
    smtp.each_state(t, function(conn, st)
      -- 4.1.1.5: "The receiver MUST send a "250 OK" reply to a RSET command with no arguments. A
      -- reset command may be issued by the client at any time. It is effectively equivalent to a
      -- NOOP (i.e., it has no effect) if issued immediately after EHLO, before EHLO is issued in
      -- the session ... An SMTP server MUST NOT close the connection as the result of receiving
      -- a RSET"
      -- (RFC 3207 4: a server that wants TLS first "SHOULD return the reply code: 530 Must
      -- issue a STARTTLS command first to every command other than NOOP, EHLO, STARTTLS, or
      -- QUIT", RSET included; so 530 is accepted on a connection without TLS.)
      t:expect(conn:cmd("RSET"), conn.tls and "250" or { "250", "530" },
        "RSET in state " .. st .. " gets 250")
      t:expect(conn:cmd("NOOP"), "250", "the connection is still open after RSET in state " .. st,
        { level = st == "initial" and "SHOULD" or "MUST" })
    end, { "initial", "ready" })
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
  id = "smtp.quit.any-state",
  title = "QUIT before EHLO, in a transaction and between BDAT chunks gets 221 and closes",
  rfc = "RFC 5321 4.1.1.10",
  level = "MUST",
  run = function(t)
    smtp.each_state(t, function(conn, st)
      -- 4.1.1.10: "the receiver MUST send a "221 OK" reply, and then close the transmission
      -- channel. ... The QUIT command may be issued at any time. Any current uncompleted mail
      -- transaction will be aborted."
      local _, ok = t:expect(smtp.quit(conn), "221", "QUIT in state " .. st .. " gets 221")
      if ok then
        local closed = util.wait_closed(conn, 5000)
        t:check(closed, "the server closes the connection after QUIT in state " .. st,
          { received = closed and "closed" or "still open after 5 s", expected = "EOF" })
      end
      conn:close()
    end, { "initial", "mail", "rcpt", "bdat" })
  end,
}

-- VRFY, EXPN and HELP "can be used at any time" (4.1.4) and do not touch the buffers.
local function debug_command_case(verb, id, section, arg_of)
  case {
    id = id,
    title = verb .. " in every state gets its own reply (not 503) and leaves the transaction alone",
    rfc = "RFC 5321 " .. section,
    level = "SHOULD",
    run = function(t)
      smtp.each_state(t, function(conn, st)
        local line = verb .. (arg_of and (" " .. arg_of(t)) or "")
        local r = conn:cmd(line)
        -- 4.1.4: "The NOOP, HELP, EXPN, VRFY, and RSET commands can be used at any time during
        -- a session, or without previously initializing a session. SMTP servers SHOULD process
        -- these normally (that is, not return a 503 code) even if no EHLO command has yet been
        -- received". (The engine checks the reply against the 4.3.2 list for the command.)
        t:check(r ~= nil and r.status ~= "503", line .. " in state " .. st .. " is not refused as out of sequence",
          { received = r and r.raw, expected = "a reply other than 503", rfc = "RFC 5321 4.1.4" })
        -- 4.1.1.6-8: "This command has no effect on the reverse-path buffer, the forward-path
        -- buffer, or the mail data buffer"
        transaction_intact(t, conn, st, verb, { level = "MUST", rfc = "RFC 5321 " .. section })
      end)
    end,
  }
end

debug_command_case("VRFY", "smtp.vrfy.any-state", "4.1.1.6", function(t) return smtp.rcpt(t) end)
debug_command_case("EXPN", "smtp.expn.any-state", "4.1.1.7",
  function(t) return t:param("expn", "postmaster") end)
debug_command_case("HELP", "smtp.help.any-state", "4.1.1.8")

case {
  id = "smtp.help.supported",
  title = "HELP without arguments is supported: 211 or 214",
  rfc = "RFC 5321 4.1.1.8",
  level = "SHOULD",
  run = function(t)
    local conn = smtp.session(t)
    -- 4.1.1.8: "SMTP servers SHOULD support HELP without arguments and MAY support it with
    -- arguments." 4.3.2: HELP  S: 211, 214  E: 502, 504
    local r = smtp.unless_blocked(t, conn:cmd("HELP"))
    t:expect(r, { "211", "214" }, "HELP gets help text (211 or 214)")
    smtp.quit(conn)
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
    -- 3.8: "a server that closes connections in response to commands that are not understood
    -- is in violation of this specification"
    t:expect(conn:cmd("NOOP"), "250", "the session is still usable",
      { rfc = "RFC 5321 3.8", level = "MUST" })
    smtp.quit(conn)
  end,
}

case {
  id = "smtp.command.case-insensitive",
  title = "Verbs and argument keywords are accepted in lower and mixed case",
  rfc = "RFC 5321 2.4",
  level = "MUST",
  run = function(t)
    local conn = smtp.mail_session(t)
    -- 2.4: "Verbs and argument values (e.g., "TO:" or "to:" in the RCPT command and extension
    -- name keywords) are not case sensitive, with the sole exception in this specification of a
    -- mailbox local-part"
    t:expect(conn:cmd("noop"), "250", "noop (lower case) gets 250")
    t:expect(conn:cmd("ehlo " .. conn.helo), "250", "ehlo (lower case) gets 250")
    t:expect(conn:cmd("mail from:<" .. smtp.from(t) .. ">"), "250",
      "mail from:<...> (lower case) opens a transaction")
    t:expect(conn:cmd("Rcpt To:<" .. smtp.rcpt(t) .. ">"), { "250", "251" },
      "Rcpt To:<...> (mixed case) is accepted")
    t:expect(conn:cmd("rset"), "250", "rset (lower case) gets 250")
    t:expect(conn:cmd("RCPT TO:<" .. smtp.rcpt(t) .. ">"), "503",
      "the lower-case rset cleared the transaction", { rfc = "RFC 5321 4.1.1.5" })
    t:expect(conn:cmd("quit"), "221", "quit (lower case) gets 221", { rfc = "RFC 5321 4.1.1.10" })
  end,
}

case {
  id = "smtp.command.extra-arguments",
  title = "RSET and QUIT with an argument get 501",
  rfc = "RFC 5321 4.3.2",
  level = "SHOULD",
  run = function(t)
    local conn = smtp.session(t)
    -- 4.3.2: "501 Syntax error in command or arguments. In order to provide for future
    -- extensions, commands that are specified in this document as not accepting arguments
    -- (DATA, RSET, QUIT) SHOULD return a 501 message if arguments are supplied in the absence
    -- of EHLO-advertised extensions." (rset = "RSET" CRLF, quit = "QUIT" CRLF)
    t:expect(conn:cmd("RSET mailharness"), "501", "RSET with an argument gets 501")
    local r = conn:cmd("QUIT mailharness")
    t:expect(r, "501", "QUIT with an argument gets 501")
    if r and r.status ~= "221" then smtp.quit(conn) end
  end,
}

case {
  id = "smtp.command.line-512",
  title = "A command line of exactly 512 octets (with CRLF) is not refused as too long",
  rfc = "RFC 5321 4.5.3.1.4",
  level = "MUST",
  run = function(t)
    local conn = smtp.session(t)
    -- 4.5.3.1.4: "The maximum total length of a command line including the command word and the
    -- <CRLF> is 512 octets." 4.5.3.1: "Every implementation MUST be able to receive objects of
    -- at least these sizes." 4.3.2: "producing a "command too long" message for a command line
    -- shorter than 512 characters would violate the provisions of Section 4.5.3.1.4."
    local line = "NOOP " .. string.rep("x", 512 - 2 - 5)
    assert(#line + 2 == 512)
    local r = conn:cmd(line)
    t:check(r ~= nil and r.status ~= "500", "a 512-octet NOOP line is not refused with 500",
      { received = r and r.raw, expected = "250 (or a reply other than 500 \"line too long\")" })
    -- 4.1.1.9: "If a parameter string is specified, servers SHOULD ignore it."
    t:expect(r, "250", "the 512-octet NOOP line gets 250",
      { rfc = "RFC 5321 4.1.1.9", level = "SHOULD" })
    smtp.quit(conn)
  end,
}

case {
  id = "smtp.command.line-too-long",
  title = "A 3000-octet command line gets exactly one reply and the session stays in step",
  rfc = "RFC 5321 4.2",
  level = "MUST",
  run = function(t)
    local conn = smtp.session(t)
    -- 4.5.3.1.4 limits command lines to 512 octets; 4.5.3.1.9: "Errors due to exceeding these
    -- limits may be reported by using the reply codes. Some examples of reply codes are: 500
    -- Line too long." A server may also accept the line (4.5.3.1: "implementation techniques
    -- that impose no limits on the length of these objects should be used"). Either way, 4.2:
    -- "Every command MUST generate exactly one reply." The tail of the line ends in "RSET", so a
    -- server that cut the line and read the rest as a second command answers twice.
    local line = "NOOP " .. string.rep("x", 3000 - 5 - 4) .. "RSET"
    local r = conn:cmd(line)
    t:check(r ~= nil, "the over-long line gets a reply (the engine judges which)",
      { received = r and r.raw, expected = "one reply, e.g. 250 or 500 Line too long" })
    local extra = smtp.quiet(conn, 1000)
    t:check(extra == nil, "no second reply: the tail of the long line was not taken as a command",
      { received = extra, expected = "nothing" })
    if extra == nil then
      t:expect(conn:cmd("NOOP"), "250", "the next NOOP gets its own 250", { rfc = "RFC 5321 4.1.1.9" })
      smtp.quit(conn)
    end
  end,
}

case {
  id = "smtp.mail.before-ehlo",
  title = "MAIL before EHLO is accepted or refused with 503, and the state stays usable",
  rfc = "RFC 5321 4.1.4",
  level = "MUST",
  run = function(t)
    local conn = smtp.initial(t)
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
      conn:cmd("RSET")
    end
    smtp.quit(conn)
  end,
}

case {
  id = "smtp.rcpt.before-ehlo",
  title = "RCPT and DATA before EHLO (no transaction) get 503 (DATA: 503 or 554)",
  rfc = "RFC 5321 3.3",
  level = "MUST",
  run = function(t)
    local conn = smtp.initial(t)
    -- 3.3: "If a RCPT command appears without a previous MAIL command, the server MUST return a
    -- 503 "Bad sequence of commands" response." ... "If there was no MAIL, or no RCPT, command,
    -- or all such commands were rejected, the server MAY return a "command out of sequence"
    -- (503) or "no valid recipients" (554) reply in response to the DATA command."
    -- (530: RFC 3207 4 / RFC 4954 6, the server wants STARTTLS or AUTH first)
    t:expect(conn:cmd("RCPT TO:<" .. smtp.rcpt(t) .. ">"), { "503", "530" }, "RCPT before EHLO gets 503")
    local d = conn:cmd("DATA")
    t:expect(d, { "503", "554", "530" }, "DATA before EHLO gets 503 or 554")
    if d and d.status == "354" then
      conn:close() -- never send a message nobody asked for: abandon the session
      return
    end
    smtp.quit(conn)
  end,
}
