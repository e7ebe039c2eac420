-- SMTP STARTTLS (RFC 3207): the upgrade, the capability list after it, STARTTLS with an argument
-- and inside TLS, plaintext command injection (CVE-2011-0411 class).
local smtp = require("mh.smtp")
local util = require("mh.util")

-- A plaintext connection that has sent EHLO and sees STARTTLS offered (skips otherwise).
local function plain_with_starttls(t)
  local conn = util.plain_connect(t)
  local e = smtp.ehlo(conn)
  t:expect(e, "250", "EHLO before TLS is accepted", { rfc = "RFC 5321 4.1.1.1" })
  if not conn.caps.STARTTLS then
    t:skip("STARTTLS is not in this EHLO reply")
  end
  return conn
end

-- Sends "STARTTLS" CRLF followed by the plaintext bytes injected in the same write, expects
-- 220, does the handshake and checks that nothing arrives inside TLS before the client speaks
-- (RFC 3207 4.2: "The server MUST discard any knowledge obtained from the client ... which was
-- not obtained from the TLS negotiation itself"). Returns the connection inside TLS, or nil when
-- the case is over (handshake refused: a safe outcome; or a finding recorded).
local function inject_after_starttls(t, conn, injected, what)
  local ok, err = conn:send("STARTTLS\r\n" .. injected)
  if not ok then error("send failed: " .. tostring(err)) end
  local r = conn:read()
  local _, go = t:expect(r, "220", "STARTTLS gets 220", { rfc = "RFC 3207 4" })
  if not go then return nil end
  local tls, terr = conn:starttls()
  if not tls then
    -- taking the injected bytes as the start of the handshake is a safe answer too
    t:check(true, "the handshake failed on the injected plaintext (" .. what .. " was not executed)",
      { received = terr })
    return nil
  end
  local early = smtp.quiet(conn, 1500)
  t:check(early == nil, "nothing arrives inside TLS before the client speaks (" .. what ..
    " injected in plaintext after STARTTLS was not executed; CVE-2011-0411 class)",
    { received = early, expected = "no reply to the injected plaintext" })
  if early ~= nil then return nil end
  return conn
end

case {
  id = "smtp.starttls.ehlo-again",
  title = "STARTTLS gets 220; after the handshake EHLO works and no longer offers STARTTLS",
  rfc = "RFC 3207 4.2",
  level = "MUST",
  requires = "STARTTLS",
  run = function(t)
    local conn = plain_with_starttls(t)
    -- RFC 3207 4: "220 Ready to start TLS"
    local r = conn:cmd("STARTTLS")
    local _, ok = t:expect(r, "220", "STARTTLS gets 220", { rfc = "RFC 3207 4" })
    if not ok then return end
    local tls, err = conn:starttls()
    t:check(tls, "the TLS handshake completes", { received = err, rfc = "RFC 3207 4" })
    if not tls then return end
    -- 4.2: "The client SHOULD send an EHLO command as the first command after a successful TLS
    -- negotiation." ... "A server MUST NOT return the STARTTLS extension in response to an EHLO
    -- command received after a TLS handshake has completed."
    local e2 = smtp.ehlo(conn)
    local _, ok2 = t:expect(e2, "250", "EHLO after the handshake is accepted")
    if ok2 then
      t:check(conn.caps.STARTTLS == nil, "the EHLO reply after TLS does not list STARTTLS",
        { received = e2.raw, expected = "no STARTTLS keyword" })
    end
    smtp.quit(conn)
  end,
}

case {
  id = "smtp.starttls.argument",
  title = "STARTTLS with an argument gets 501 and the session goes on in plaintext",
  rfc = "RFC 3207 4",
  level = "SHOULD",
  requires = "STARTTLS",
  run = function(t)
    local conn = plain_with_starttls(t)
    -- RFC 3207 4: "The format for the STARTTLS command is: STARTTLS with no parameters. After
    -- the client gives the STARTTLS command, the server responds with one of the following reply
    -- codes: 220 Ready to start TLS / 501 Syntax error (no parameters allowed) / 454 TLS not
    -- available due to temporary reason"
    local r = conn:cmd("STARTTLS mailharness")
    t:expect(r, "501", "STARTTLS with a parameter gets 501 (no parameters allowed)")
    if r and r.status == "220" then
      conn:close() -- a go-ahead we will not follow: abandon the connection
      return
    end
    t:expect(conn:cmd("NOOP"), "250", "the plaintext session is still usable",
      { rfc = "RFC 5321 4.1.1.9", level = "MUST" })
    smtp.quit(conn)
  end,
}

case {
  id = "smtp.starttls.inside-tls",
  title = "Inside TLS, EHLO does not offer STARTTLS and a STARTTLS command is refused",
  rfc = "RFC 3207 4.2",
  level = "MUST",
  run = function(t)
    local conn = t:connect()
    smtp.ehlo(conn)
    if not conn.tls then
      if not conn.caps.STARTTLS then
        t:skip("the target is plaintext without STARTTLS: no TLS session to test")
      end
      local r, err = conn:tls_upgrade()
      if not r then error("STARTTLS upgrade failed: " .. tostring(err)) end
    end
    -- 4.2: "Both the client and the server MUST know if there is a TLS session active. A client
    -- MUST NOT attempt to start a TLS session if a TLS session is already active. A server MUST
    -- NOT return the STARTTLS extension in response to an EHLO command received after a TLS
    -- handshake has completed."
    local e = smtp.ehlo(conn)
    local _, ok = t:expect(e, "250", "EHLO inside TLS is accepted", { rfc = "RFC 5321 4.1.1.1" })
    if ok then
      t:check(conn.caps.STARTTLS == nil, "the EHLO reply inside TLS does not offer STARTTLS",
        { received = e.raw, expected = "no STARTTLS keyword" })
    end
    -- A second STARTTLS is the client breaking the rule above; the server, which knows TLS is
    -- active, refuses it (RFC 5321 4.2.4 / RFC 3207 4: 4xx or 5xx, e.g. 503 or 554) and does not
    -- start a second handshake.
    local r = conn:cmd("STARTTLS")
    t:expect(r, { "4xx", "5xx" }, "STARTTLS inside TLS is refused", { level = "SHOULD" })
    if r and r.status == "220" then
      conn:close()
      return
    end
    t:expect(conn:cmd("NOOP"), "250", "the TLS session is still usable",
      { rfc = "RFC 5321 4.1.1.9" })
    smtp.quit(conn)
  end,
}

case {
  id = "smtp.starttls.injection",
  title = "Commands pipelined after STARTTLS in plaintext are not executed after the handshake",
  rfc = "RFC 3207 4.2",
  level = "MUST",
  requires = "STARTTLS",
  run = function(t)
    local conn = plain_with_starttls(t)
    -- 4.2: "The server MUST discard any knowledge obtained from the client, such as the argument
    -- to the EHLO command, which was not obtained from the TLS negotiation itself." A plaintext
    -- NOOP in the same packet as STARTTLS (CERT VU#555316, CVE-2011-0411) must not be answered
    -- inside TLS.
    conn = inject_after_starttls(t, conn, "NOOP\r\n", "a NOOP")
    if not conn then return end
    t:expect(smtp.ehlo(conn), "250", "EHLO inside TLS gets its own reply",
      { rfc = "RFC 3207 4.2" })
    smtp.quit(conn)
  end,
}

case {
  id = "smtp.starttls.injection-mail",
  title = "MAIL and RCPT injected in plaintext after STARTTLS open no transaction inside TLS",
  rfc = "RFC 3207 4.2",
  level = "MUST",
  requires = "STARTTLS",
  run = function(t)
    local conn = plain_with_starttls(t)
    -- 4.2: "Upon completion of the TLS handshake, the SMTP protocol is reset to the initial
    -- state ... The server MUST discard any knowledge obtained from the client ... which was not
    -- obtained from the TLS negotiation itself." An attacker who can write into the plaintext
    -- stream injects a transaction (CVE-2011-0411 class); none of it may survive the handshake.
    local injected = "MAIL FROM:<mailharness-injected@mailharness.example>\r\nRCPT TO:<" ..
      smtp.rcpt(t) .. ">\r\n"
    conn = inject_after_starttls(t, conn, injected, "MAIL and RCPT")
    if not conn then return end
    -- Still in the initial state, without a transaction: RFC 5321 3.3 "If a RCPT command
    -- appears without a previous MAIL command, the server MUST return a 503"
    t:expect(conn:cmd("RCPT TO:<" .. smtp.rcpt(t) .. ">"), { "503", "530" },
      "RCPT inside TLS (before EHLO) finds no transaction: 503", { rfc = "RFC 5321 3.3" })
    t:expect(smtp.ehlo(conn), "250", "EHLO inside TLS gets its own reply", { rfc = "RFC 3207 4.2" })
    t:expect(conn:cmd("RCPT TO:<" .. smtp.rcpt(t) .. ">"), { "503", "530" },
      "RCPT after EHLO inside TLS still finds no transaction: 503", { rfc = "RFC 5321 3.3" })
    smtp.quit(conn)
  end,
}

case {
  id = "smtp.starttls.in-transaction",
  title = "STARTTLS inside a transaction is refused (transaction kept) or, once TLS is up, the transaction is gone",
  rfc = "RFC 3207 4.2",
  level = "MUST",
  requires = "STARTTLS",
  run = function(t)
    local tried = 0
    for _, st in ipairs({ "mail", "rcpt", "bdat" }) do
      local conn = util.plain_connect(t)
      smtp.ehlo(conn)
      if not conn.caps.STARTTLS then t:skip("STARTTLS is not in this EHLO reply") end
      local ok, why = smtp.enter(t, conn, st)
      if not ok then
        t:log("state " .. st .. " not reached in plaintext: " .. why)
        conn:close()
      else
        tried = tried + 1
        local r = conn:cmd("STARTTLS")
        if r and r.status == "220" then
          local tls, err = conn:starttls()
          t:check(tls, "the TLS handshake completes", { received = err, rfc = "RFC 3207 4" })
          if tls then
            -- 4.2: "Upon completion of the TLS handshake, the SMTP protocol is reset to the
            -- initial state (the state in SMTP after a server issues a 220 service ready
            -- greeting). The server MUST discard any knowledge obtained from the client, such as
            -- the argument to the EHLO command, which was not obtained from the TLS negotiation
            -- itself."
            t:expect(smtp.ehlo(conn), "250", "EHLO after the handshake is accepted")
            t:expect(conn:cmd("RCPT TO:<" .. smtp.rcpt(t) .. ">"), "503",
              "the transaction opened in plaintext (state " .. st .. ") is gone inside TLS")
            smtp.quit(conn)
          end
        else
          -- RFC 3207 does not say whether STARTTLS may come inside a transaction; a refusal
          -- (e.g. 503) must leave the transaction as it was (RFC 5321 4.1.4: "the SMTP server
          -- MUST stay in the same state").
          t:expect(r, { "4xx", "5xx" }, "STARTTLS in state " .. st .. " gets 220 or a refusal")
          if r and st ~= "bdat" then
            local again = conn:cmd("RCPT TO:<" .. smtp.rcpt(t) .. ">")
            t:check(again ~= nil and again.status ~= "503",
              "after the refused STARTTLS the transaction (state " .. st .. ") is still open",
              { received = again and again.raw, expected = "RCPT not refused with 503",
                rfc = "RFC 5321 4.1.4" })
          end
          conn:cmd("RSET")
          smtp.quit(conn)
        end
      end
    end
    if tried == 0 then t:skip("no transaction could be opened in plaintext (see the log)") end
  end,
}
