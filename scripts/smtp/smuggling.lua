-- SMTP smuggling (end-of-data confusion): sequences that look like <CRLF>.<CRLF> to a lax
-- parser must not end the message. Each case sends, after DATA's 354, a message whose body holds
-- one end-of-data look-alike followed by smuggled commands (MAIL, RCPT, RSET: no DATA, so a
-- vulnerable server opens no second message), then the real <CRLF>.<CRLF>. The server must
-- answer exactly once, for the whole message; answering the smuggled commands is the flaw behind
-- SMTP smuggling, CVE-2023-51764 (Postfix) / CVE-2023-51765 (Sendmail) / CVE-2023-51766 (Exim).
-- A server may also refuse the message (e.g. 5xx "bare <LF> received") or close: safe outcomes.
local smtp = require("mh.smtp")

local ADVISORY = "SMTP smuggling, CVE-2023-51764 (Postfix) / CVE-2023-51765 / CVE-2023-51766"

local function smuggling_case(id, name, seq)
  case {
    id = "smtp.smuggling." .. id,
    title = "The end-of-data look-alike " .. name .. " does not end the message; only <CRLF>.<CRLF> does",
    rfc = "RFC 5321 4.1.1.4",
    level = "MUST",
    run = function(t)
      local sink = smtp.sink(t)
      local conn = smtp.mail_session(t, { rcpt = sink })
      local ok, why = smtp.enter(t, conn, "rcpt", sink)
      if not ok then t:skip(why) end
      local d = conn:cmd("DATA")
      local _, go = t:expect(d, "354", "DATA gets 354", { rfc = "RFC 5321 3.3" })
      if not go then conn:cmd("RSET") smtp.quit(conn) return end
      local msg, marker = smtp.marker_message(t, "smuggling " .. name, {
        body = "The next line break is the end-of-data look-alike " .. name .. "." })
      -- msg ends in CRLF; the look-alike replaces that last line end
      local smuggled = "MAIL FROM:<mailharness-smuggled@mailharness.example>\r\n" ..
        "RCPT TO:<" .. sink .. ">\r\nRSET\r\n"
      local data = msg:sub(1, -3) .. seq .. smuggled ..
        "X-Mailharness-After-Smuggling: " .. marker .. "\r\n.\r\n"
      -- RFC 5321 4.1.1.4: "The mail data are terminated by a line containing only a period, that
      -- is, the character sequence "<CRLF>.<CRLF>" ... The custom of accepting lines ending only
      -- in <LF>, as a concession to non-conforming behavior on the part of some UNIX systems, has
      -- proven to cause more interoperability problems than it solves, and SMTP server systems
      -- MUST NOT do this, even in the name of improved robustness. In particular, the sequence
      -- "<LF>.<LF>" (bare line feeds, without carriage returns) MUST NOT be treated as
      -- equivalent to <CRLF>.<CRLF> as the end of mail data indication." 2.3.8: "Conforming
      -- implementations MUST NOT recognize or generate any other character or character
      -- sequence as a line terminator." 4.2: "Every command MUST generate exactly one reply."
      local sent, err = conn:send(data)
      if not sent then error("send failed: " .. tostring(err)) end
      local r, rerr = conn:read()
      if not r and rerr == "closed" then
        t:check(true, "the server closed the connection instead of taking the message (safe)")
        return
      end
      t:check(r ~= nil, "the message gets a reply", { received = rerr })
      if not r then return end
      t:log("reply to the message: " .. r.raw:gsub("\r\n$", ""))
      local extra = smtp.quiet(conn, 1000)
      t:check(extra == nil,
        "exactly one reply: the look-alike " .. name .. " did not end the data and the smuggled " ..
        "MAIL/RCPT/RSET were not executed (" .. ADVISORY .. ")",
        { received = extra and ("after \"" .. r.raw:gsub("\r\n$", "") .. "\": " .. extra),
          expected = "one reply for the whole message, nothing for the smuggled commands" })
      if extra ~= nil then conn:close() return end
      -- the server took the whole message (250) or refused it (5xx, e.g. for a bare LF or CR);
      -- either way the session continues in step
      if r.class == "ok" then
        t:log("the server accepted the message; its body holds the smuggled lines (marker " ..
          marker .. ")")
      end
      if not conn:closed() then
        local n = conn:cmd("NOOP")
        if n then t:expect(n, "250", "the session is in step after the message",
          { rfc = "RFC 5321 4.1.1.9" }) end
        if not conn:closed() and conn.state ~= "closed" then smtp.quit(conn) end
      end
    end,
  }
end

smuggling_case("lf-dot-lf", "<LF>.<LF>", "\n.\n")
smuggling_case("lf-dot-crlf", "<LF>.<CR><LF>", "\n.\r\n")
smuggling_case("crlf-dot-lf", "<CR><LF>.<LF>", "\r\n.\n")
smuggling_case("cr-dot-cr", "<CR>.<CR>", "\r.\r")
smuggling_case("cr-dot-crlf", "<CR>.<CR><LF>", "\r.\r\n")
smuggling_case("nul-dot", "<CR><LF>.<NUL><CR><LF>", "\r\n.\0\r\n")
