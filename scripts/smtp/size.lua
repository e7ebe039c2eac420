-- SMTP SIZE (RFC 1870): the declared size within and above the advertised maximum, a malformed
-- SIZE value, and a message larger than the maximum sent without a declaration.
local smtp = require("mh.smtp")

-- The fixed maximum from "SIZE <n>" (nil when absent or 0: no fixed maximum, RFC 1870 3).
local function fixed_max(conn)
  local n = tonumber((conn.caps.SIZE or ""):match("^%s*(%d+)%s*$") or "")
  if n and n > 0 then return n end
  return nil
end

case {
  id = "smtp.size.declared",
  title = "MAIL with a SIZE below the maximum is accepted",
  rfc = "RFC 1870 7",
  level = "MUST",
  requires = "SIZE",
  run = function(t)
    local conn = smtp.mail_session(t)
    -- 7: "A minimal server that employs this service extension ... must accept the extended
    -- MAIL command". 6: "a SIZE parameter appears after the address"; size-value ::= 1*20DIGIT.
    local size = math.min(fixed_max(conn) or 10000, 10000)
    local r = conn:cmd("MAIL FROM:<" .. smtp.from(t) .. "> SIZE=" .. size)
    t:expect(r, "250", "MAIL FROM with SIZE=" .. size .. " gets 250")
    conn:cmd("RSET")
    smtp.quit(conn)
  end,
}

case {
  id = "smtp.size.over-limit",
  title = "MAIL declaring a SIZE above the advertised maximum gets 552 and opens no transaction",
  rfc = "RFC 1870 6.1",
  level = "MUST",
  requires = "SIZE",
  run = function(t)
    local conn = smtp.mail_session(t)
    local max = fixed_max(conn)
    if not max then t:skip("SIZE advertises no fixed maximum (" .. tostring(conn.caps.SIZE) .. ")") end
    -- 6.1: "(2) If the indicated size is larger than the server's fixed maximum message size,
    -- the server responds with code "552 message size exceeds fixed maximium message size"."
    -- 7: "Such a server must accept the extended MAIL command and return a 552 reply code if
    -- the client's declared size exceeds its fixed size limit (if any)".
    local r = conn:cmd("MAIL FROM:<" .. smtp.from(t) .. "> SIZE=" .. (max + 1))
    local _, ok = t:expect(r, "552", "MAIL FROM with SIZE=" .. (max + 1) .. " (max " .. max ..
      ") gets 552")
    if ok then
      -- RFC 5321 4.1.4: a refused MAIL leaves the server in the same state (no transaction)
      t:expect(conn:cmd("RCPT TO:<" .. smtp.rcpt(t) .. ">"), "503",
        "RCPT afterwards gets 503: no transaction was opened", { rfc = "RFC 5321 4.1.4" })
    end
    -- 6.2: "If the code "552 message exceeds fixed maximum message size" is received, the
    -- client should immediately send either a RSET command ... or a QUIT command."
    conn:cmd("RSET")
    smtp.quit(conn)
  end,
}

case {
  id = "smtp.size.bad-value",
  title = "MAIL with a SIZE value that is not a number gets 501 (or 555)",
  rfc = "RFC 1870 3",
  level = "MUST",
  requires = "SIZE",
  run = function(t)
    local conn = smtp.mail_session(t)
    -- 3: "size-value ::= 1*20DIGIT". RFC 5321 4.1.4: "If the transaction beginning command
    -- argument is not acceptable, a 501 failure reply MUST be returned and the SMTP server MUST
    -- stay in the same state." (4.1.1.11: a parameter the server "cannot implement" gets 555.)
    local r = conn:cmd("MAIL FROM:<" .. smtp.from(t) .. "> SIZE=mailharness")
    local _, ok = t:expect(r, { "501", "555" }, "MAIL FROM with SIZE=mailharness gets 501 or 555")
    if ok then
      t:expect(conn:cmd("RCPT TO:<" .. smtp.rcpt(t) .. ">"), "503",
        "RCPT afterwards gets 503: no transaction was opened", { rfc = "RFC 5321 4.1.4" })
    end
    conn:cmd("RSET")
    smtp.quit(conn)
  end,
}

case {
  id = "smtp.size.data-over-limit",
  title = "A message larger than the advertised maximum, sent without SIZE, is refused with 552",
  rfc = "RFC 1870 4",
  level = "MUST",
  requires = "SIZE",
  run = function(t)
    local conn = smtp.mail_session(t)
    local max = fixed_max(conn)
    if not max then t:skip("SIZE advertises no fixed maximum (" .. tostring(conn.caps.SIZE) .. ")") end
    local cap = tonumber(t:param("size_test_max", "4194304"))
    if max > cap then
      t:skip("the maximum " .. max .. " is above --param size_test_max=" .. cap ..
        ": too large to send here")
    end
    -- 4: "If a numeric parameter follows the SIZE keyword value of the EHLO response, it
    -- indicates the size of the largest message that the server is willing to accept. Any
    -- attempt by a client to transfer a message which is larger than this limit will be rejected
    -- with a permanent failure (552) reply code." (RFC 5321 4.5.3.1.9: "552 Too much mail data")
    local ok, why = smtp.enter(t, conn, "rcpt")
    if not ok then t:skip(why) end
    local d = conn:cmd("DATA")
    local _, go = t:expect(d, "354", "DATA gets 354", { rfc = "RFC 5321 3.3" })
    if not go then conn:cmd("RSET") smtp.quit(conn) return end
    -- lines of 998 octets + CRLF (RFC 5321 4.5.3.1.6), up to max + 2 lines
    local line = string.rep("S", 998) .. "\r\n"
    local head = "Subject: mailharness over-size message (never delivered)\r\n\r\n"
    local n = (max - #head) // #line + 2
    local body = head .. string.rep(line, n)
    t:log("sending " .. #body .. " octets (the maximum is " .. max .. ")")
    local sent, err = conn:send(body .. ".\r\n")
    if not sent then error("send failed: " .. tostring(err)) end
    local r = conn:read({ timeout = 30000 })
    t:expect(r, "552", "the over-size message gets 552 after the end of data")
    conn:cmd("RSET")
    smtp.quit(conn)
  end,
}
