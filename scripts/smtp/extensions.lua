-- SMTP service extensions: 8BITMIME (RFC 6152), SMTPUTF8 (RFC 6531), DSN (RFC 3461) and
-- ENHANCEDSTATUSCODES (RFC 2034).
local smtp = require("mh.smtp")

-- xtext (RFC 3461 4): "+" HEXCHAR HEXCHAR for "+", "=" and characters outside "!" .. "~"
local function xtext(s)
  return (s:gsub(".", function(c)
    if c == "+" or c == "=" or c < "!" or c > "~" then return string.format("+%02X", c:byte()) end
  end))
end

case {
  id = "smtp.8bitmime.body",
  title = "BODY=7BIT and BODY=8BITMIME are accepted, and an 8-bit message gets 250",
  rfc = "RFC 6152 3",
  level = "MUST",
  requires = "8BITMIME",
  run = function(t)
    local conn = smtp.mail_session(t, { rcpt = smtp.sink(t) })
    if not conn.caps["8BITMIME"] then t:skip("8BITMIME is not in this EHLO reply") end
    -- 2: "body-value = "7BIT" / "8BITMIME"". 3: "If the server SMTP responds with code 250 to
    -- the EHLO command, and the response includes the EHLO keyword value 8BITMIME, then the
    -- server SMTP is indicating that it supports the extended MAIL command and will accept MIME
    -- messages containing arbitrary octet-aligned material." ... "A server that supports the
    -- 8-bit MIME transport service extension shall preserve all bits in each octet passed using
    -- the DATA command." (The marker lets a reader compare the delivered copy.)
    local from, rcpt = smtp.from(t), smtp.sink(t)
    t:expect(conn:cmd("MAIL FROM:<" .. from .. "> BODY=7BIT"), "250", "MAIL with BODY=7BIT gets 250")
    conn:cmd("RSET")
    local m = conn:cmd("MAIL FROM:<" .. from .. "> BODY=8BITMIME")
    local _, ok = t:expect(m, "250", "MAIL with BODY=8BITMIME gets 250")
    if not ok then conn:cmd("RSET") smtp.quit(conn) return end
    local r = conn:cmd("RCPT TO:<" .. rcpt .. ">")
    if not r or r.class ~= "ok" then conn:cmd("RSET") t:skip("RCPT refused") end
    local d = conn:cmd("DATA")
    _, ok = t:expect(d, "354", "DATA gets 354", { rfc = "RFC 5321 3.3" })
    if not ok then conn:cmd("RSET") smtp.quit(conn) return end
    local eight = "8-bit octets: \195\164\195\182\195\188 \195\159 \226\130\172 \240\159\147\167 " ..
      "and Latin-1 \233\232\255"
    local msg = smtp.marker_message(t, "8BITMIME", {
      headers = { "MIME-Version: 1.0", "Content-Type: text/plain; charset=utf-8",
        "Content-Transfer-Encoding: 8bit" },
      body = eight .. "\n" .. eight .. "\n" })
    conn:send(smtp.dot_stuff(msg))
    t:expect(conn:read(), "250", "the 8-bit message gets 250", { rfc = "RFC 5321 4.1.1.4" })
    smtp.quit(conn)
  end,
}

case {
  id = "smtp.smtputf8.keyword",
  title = "SMTPUTF8 is announced without parameters and together with 8BITMIME",
  rfc = "RFC 6531 3.1",
  level = "MUST",
  requires = "SMTPUTF8",
  run = function(t)
    local conn = smtp.session(t)
    local e = smtp.ehlo(conn)
    if not conn.caps.SMTPUTF8 then t:skip("SMTPUTF8 is not in this EHLO reply") end
    -- 3.1: "3. No parameter values are defined for this EHLO keyword value. In order to permit
    -- future (although unanticipated) extensions, the EHLO response MUST NOT contain any
    -- parameters for this keyword." ... "8. Servers offering this extension MUST provide
    -- support for, and announce, the 8BITMIME extension [RFC6152]."
    t:check(conn.caps.SMTPUTF8 == "", "the SMTPUTF8 keyword has no parameters",
      { received = "SMTPUTF8 " .. conn.caps.SMTPUTF8, expected = "SMTPUTF8" })
    t:check(conn.caps["8BITMIME"] ~= nil, "8BITMIME is announced too",
      { received = e and e.raw, expected = "an 8BITMIME line" })
    smtp.quit(conn)
  end,
}

case {
  id = "smtp.smtputf8.mail",
  title = "MAIL FROM with a UTF-8 local part and SMTPUTF8 is accepted and the message delivered",
  rfc = "RFC 6531 3.2",
  level = "MUST",
  requires = "SMTPUTF8",
  run = function(t)
    local conn = smtp.mail_session(t, { rcpt = smtp.sink(t) })
    if not conn.caps.SMTPUTF8 then t:skip("SMTPUTF8 is not in this EHLO reply") end
    local domain = smtp.domain(smtp.from(t)) or "mailharness.example"
    -- The same MAIL with an ASCII local part first: if policy refuses the sender domain, the
    -- UTF-8 question cannot be asked here.
    local control = conn:cmd("MAIL FROM:<mailharness-ascii@" .. domain .. "> SMTPUTF8")
    if not control or control.class ~= "ok" then
      conn:cmd("RSET")
      t:skip("MAIL FROM:<mailharness-ascii@" .. domain .. "> SMTPUTF8 is refused (" ..
        (control and (control.status .. " " .. control.text) or "no reply") ..
        "); pass --param from= with an accepted domain")
    end
    conn:cmd("RSET")
    -- 3.2: "An SMTP server that announces the SMTPUTF8 extension MUST be prepared to accept a
    -- UTF-8 string [RFC3629] in any position in which RFC 5321 specifies that a <mailbox> can
    -- appear." 3.4: "If the envelope or message being sent requires the capabilities of the
    -- SMTPUTF8 extension, the SMTPUTF8-aware SMTP client MUST supply the SMTPUTF8 parameter".
    -- 3.5 lets a server refuse non-ASCII senders: "When messages are rejected because the MAIL
    -- command requires an ASCII address, the reply-code 550 is returned ... reply-code "X.6.7""
    local sender = "d\206\191\206\186\206\185\206\188\206\174-mailharness@" .. domain -- "dοκιμή-"
    local m = conn:cmd("MAIL FROM:<" .. sender .. "> SMTPUTF8 BODY=8BITMIME")
    if m and m.status == "550" and (m.enhanced or ""):match("^5%.6%.7$") then
      t:log("the server refuses non-ASCII senders as RFC 6531 3.5 allows: " .. m.raw)
      conn:cmd("RSET")
      smtp.quit(conn)
      return
    end
    local _, ok = t:expect(m, "250", "MAIL FROM:<" .. sender .. "> SMTPUTF8 gets 250 (or 550 X.6.7)")
    if not ok then conn:cmd("RSET") smtp.quit(conn) return end
    local r = conn:cmd("RCPT TO:<" .. smtp.sink(t) .. ">")
    if not r or r.class ~= "ok" then conn:cmd("RSET") t:skip("RCPT refused") end
    local d = conn:cmd("DATA")
    _, ok = t:expect(d, "354", "DATA gets 354", { rfc = "RFC 5321 3.3" })
    if not ok then conn:cmd("RSET") smtp.quit(conn) return end
    -- RFC 6532 3: UTF-8 in header field bodies of an internationalized message
    local msg = smtp.marker_message(t, "SMTPUTF8 \206\180\206\191\206\186\206\185\206\188\206\174", {
      headers = { "MIME-Version: 1.0", "Content-Type: text/plain; charset=utf-8",
        "Content-Transfer-Encoding: 8bit", "Reply-To: <" .. sender .. ">" },
      body = "Sent from <" .. sender .. "> with SMTPUTF8.\n" })
    conn:send(smtp.dot_stuff(msg))
    t:expect(conn:read(), "250", "the internationalized message gets 250", { rfc = "RFC 5321 4.1.1.4" })
    smtp.quit(conn)
  end,
}

case {
  id = "smtp.dsn.parameters",
  title = "Valid RET, ENVID, NOTIFY and ORCPT parameters do not change the MAIL and RCPT replies",
  rfc = "RFC 3461 5.1",
  level = "MUST",
  requires = "DSN",
  run = function(t)
    local conn = smtp.mail_session(t)
    if not conn.caps.DSN then t:skip("DSN is not in this EHLO reply") end
    local from, rcpt = smtp.from(t), smtp.rcpt(t)
    -- 5.1: "(a) If an SMTP client issues a MAIL command containing a valid ENVID parameter and
    -- associated esmtp-value and/or a valid RET parameter and associated esmtp-value, a
    -- conforming SMTP server MUST return the same reply-code as it would to the same MAIL
    -- command without the ENVID and/or RET parameters." "(b) If an SMTP client issues a RCPT
    -- command containing any valid NOTIFY and/or ORCPT parameters, a conforming SMTP server MUST
    -- return the same response as it would to the same RCPT command without those NOTIFY and/or
    -- ORCPT parameters." (mail_session showed that both are accepted without parameters.)
    local m = conn:cmd("MAIL FROM:<" .. from .. "> RET=HDRS ENVID=mailharness-" .. t:random_hex(6))
    local _, ok = t:expect(m, "250", "MAIL with RET=HDRS ENVID=... gets 250, as without them")
    if ok then
      t:expect(conn:cmd("RCPT TO:<" .. rcpt .. "> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;" ..
        xtext(rcpt)), { "250", "251" }, "RCPT with NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;... is accepted")
      t:expect(conn:cmd("RCPT TO:<" .. rcpt .. "> NOTIFY=NEVER"), { "250", "251" },
        "RCPT with NOTIFY=NEVER is accepted")
    end
    conn:cmd("RSET")
    smtp.quit(conn)
  end,
}

case {
  id = "smtp.dsn.invalid-parameters",
  title = "A repeated RET, an ENVID that is not xtext and NOTIFY=NEVER,SUCCESS get 501",
  rfc = "RFC 3461 5.1",
  level = "MUST",
  requires = "DSN",
  run = function(t)
    local conn = smtp.mail_session(t)
    if not conn.caps.DSN then t:skip("DSN is not in this EHLO reply") end
    local from, rcpt = smtp.from(t), smtp.rcpt(t)
    -- 5.1 (a): "if the associated esmtp-value is not valid (i.e., contains illegal characters),
    -- or if there is more than one ENVID or RET parameter in a particular MAIL command, the
    -- server MUST issue the reply-code 501 with an appropriate message". xtext (4): "+" must
    -- be followed by two upper-case hex digits, so "a+zz" is not xtext.
    t:expect(conn:cmd("MAIL FROM:<" .. from .. "> RET=HDRS RET=FULL"), "501",
      "MAIL with two RET parameters gets 501")
    conn:cmd("RSET")
    t:expect(conn:cmd("MAIL FROM:<" .. from .. "> ENVID=a+zz"), "501",
      "MAIL with ENVID=a+zz (not xtext) gets 501")
    conn:cmd("RSET")
    -- 5.1 (b): "if any of the associated esmtp-values are not valid, or if there is more than
    -- one of any of these parameters in a particular RCPT command, the server SHOULD issue the
    -- response "501 syntax error in parameter"." 4.1: "the NEVER keyword MUST appear by itself"
    local m = conn:cmd("MAIL FROM:<" .. from .. ">")
    if m and m.class == "ok" then
      t:expect(conn:cmd("RCPT TO:<" .. rcpt .. "> NOTIFY=NEVER,SUCCESS"), "501",
        "RCPT with NOTIFY=NEVER,SUCCESS gets 501", { level = "SHOULD" })
    end
    conn:cmd("RSET")
    smtp.quit(conn)
  end,
}

case {
  id = "smtp.enhancedstatuscodes.many-replies",
  title = "Success, syntax, sequence and policy replies all carry enhanced status codes of their class",
  rfc = "RFC 2034 4",
  level = "MUST",
  requires = "ENHANCEDSTATUSCODES",
  run = function(t)
    local conn = smtp.mail_session(t)
    if not conn.caps.ENHANCEDSTATUSCODES then t:skip("ENHANCEDSTATUSCODES is not in this EHLO reply") end
    -- 4: "These codes must appear in all 2xx, 4xx, and 5xx response lines other than initial
    -- greeting and any response to HELO or EHLO. Note that 3xx responses are NOT included in
    -- this list. All status codes returned by the server must agree with the primary response
    -- code". The engine checks that on every reply of this connection (and of every other case
    -- once the keyword is advertised); this case makes sure many kinds of reply are produced.
    local from, rcpt = smtp.from(t), smtp.rcpt(t)
    local seen = {}
    local function run(line)
      local r = conn:cmd(line)
      t:check(r ~= nil, "\"" .. line .. "\" gets a reply", { rfc = "RFC 5321 4.2" })
      if r then seen[#seen + 1] = r.status .. " " .. (r.enhanced or "(none)") end
      return r
    end
    run("NOOP")                            -- 250
    run("RSET")                            -- 250
    run("VRFY " .. rcpt)                   -- 250/252/550/502
    run("MHUNKNOWNVERB")                   -- 500
    run("RCPT TO:<" .. rcpt .. ">")        -- 503 (no MAIL)
    run("MAIL")                            -- 501 (no argument)
    run("MAIL FROM:<" .. from .. ">")      -- 250
    run("MAIL FROM:<" .. from .. ">")      -- 503 nested (or 250)
    run("RCPT TO:<>")                      -- 501/553 bad recipient
    run("RCPT TO:<" .. rcpt .. ">")        -- 250
    run("RSET")                            -- 250
    local q = run("QUIT")                  -- 221
    t:log("status codes: " .. table.concat(seen, ", "))
    if q and q.status ~= "221" then conn:close() end
  end,
}

case {
  id = "smtp.enhancedstatuscodes.after-helo",
  title = "Enhanced status codes are attached after HELO too, not only after EHLO",
  rfc = "RFC 2034 4",
  level = "MUST",
  requires = "ENHANCEDSTATUSCODES",
  run = function(t)
    local conn = smtp.initial(t)
    -- 4: "Servers supporting this extension must attach enhanced status codes to their
    -- responses regardless of whether or not EHLO is employed by the client." The engine only
    -- knows the extension from an EHLO on this connection, so these checks are made here.
    local h = conn:cmd("HELO " .. conn.helo)
    local _, ok = t:expect(h, "250", "HELO is accepted", { rfc = "RFC 5321 4.1.1.1" })
    if not ok then smtp.quit(conn) return end
    for _, line in ipairs({ "NOOP", "MHUNKNOWNVERB", "RCPT TO:<" .. smtp.rcpt(t) .. ">", "MAIL",
      "RSET", "QUIT" }) do
      local r = conn:cmd(line)
      if not r then break end
      local cls = tostring(r.code // 100)
      if cls == "2" or cls == "4" or cls == "5" then
        local enh = r.enhanced or ""
        t:check(enh:match("^" .. cls .. "%.%d%d?%d?%.%d%d?%d?$") ~= nil,
          "the " .. r.status .. " reply to \"" .. line .. "\" after HELO carries a " .. cls ..
          ".X.X status code", { received = r.raw, expected = r.status .. " " .. cls .. ".X.X ..." })
      end
    end
    if not conn:closed() then conn:close() end
  end,
}
