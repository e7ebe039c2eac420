-- SMTP STARTTLS (RFC 3207): the upgrade, the capability list after it, plaintext injection.
local smtp = require("mh.smtp")
local util = require("mh.util")

case {
  id = "smtp.starttls.ehlo-again",
  title = "STARTTLS gets 220; after the handshake EHLO works and no longer offers STARTTLS",
  rfc = "RFC 3207 4.2",
  level = "MUST",
  requires = "STARTTLS",
  run = function(t)
    local conn = util.plain_connect(t)
    local e = smtp.ehlo(conn)
    t:expect(e, "250", "EHLO before TLS is accepted", { rfc = "RFC 5321 4.1.1.1" })
    if not conn.caps.STARTTLS then
      t:skip("STARTTLS is not in this EHLO reply")
    end
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
  id = "smtp.starttls.injection",
  title = "Commands pipelined after STARTTLS in plaintext are not executed after the handshake",
  rfc = "RFC 3207 4.2",
  level = "MUST",
  requires = "STARTTLS",
  run = function(t)
    local conn = util.plain_connect(t)
    smtp.ehlo(conn)
    if not conn.caps.STARTTLS then
      t:skip("STARTTLS is not in this EHLO reply")
    end
    -- 4.2: "The server MUST discard any knowledge obtained from the client, such as the argument
    -- to the EHLO command, which was not obtained from the TLS negotiation itself." A plaintext
    -- NOOP in the same packet as STARTTLS (CERT VU#555316) must not be answered inside TLS.
    local ok, err = conn:send("STARTTLS\r\nNOOP\r\n")
    if not ok then error("send failed: " .. tostring(err)) end
    local r = conn:read()
    local _, go = t:expect(r, "220", "STARTTLS gets 220", { rfc = "RFC 3207 4" })
    if not go then return end
    local tls, terr = conn:starttls()
    if not tls then
      -- treating the injected bytes as the start of the handshake is a safe answer too
      t:check(true, "the handshake failed on the injected plaintext (the NOOP was not executed)",
        { received = terr })
      return
    end
    local n, perr = conn:poll(1500)
    if not n then error("poll failed: " .. tostring(perr)) end
    local early = n > 0 and conn:recv_raw() or nil
    t:check(early == nil, "nothing arrives inside TLS before the client speaks",
      { received = early, expected = "no reply to the injected NOOP" })
    if early == nil then
      t:expect(smtp.ehlo(conn), "250", "EHLO inside TLS gets its own reply",
        { rfc = "RFC 3207 4.2" })
      smtp.quit(conn)
    end
  end,
}
