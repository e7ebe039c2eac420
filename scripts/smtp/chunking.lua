-- SMTP CHUNKING (RFC 3030): BDAT n LAST, several chunks with a zero-length LAST, BDAT after
-- the LAST chunk, DATA and RCPT after a BDAT chunk, a refused BDAT's chunk discarded.
-- The engine frames each BDAT payload by its size argument (spec: payload first-arg-octets).
local smtp = require("mh.smtp")

-- Opens MAIL + RCPT (to the sink: --param sink, default rcpt) on a mail_session; skips when
-- CHUNKING is not on this connection.
local function chunking_transaction(t)
  local conn = smtp.mail_session(t, { rcpt = smtp.sink(t) })
  if not conn.caps.CHUNKING then t:skip("CHUNKING is not in this EHLO reply") end
  local ok, why = smtp.enter(t, conn, "rcpt", smtp.sink(t))
  if not ok then t:skip(why) end
  return conn
end

case {
  id = "smtp.bdat.last",
  title = "BDAT n LAST carries a whole message and gets 250; a BDAT after the LAST chunk gets 503",
  rfc = "RFC 3030 2",
  level = "MUST",
  requires = "CHUNKING",
  run = function(t)
    local conn = chunking_transaction(t)
    -- 2: "The message data is sent immediately after the trailing <CR> <LF> of the BDAT command
    -- line. Once the receiver-SMTP receives the specified number of octets, it will return a 250
    -- reply code." ... "A 250 response MUST be sent to each successful BDAT data block within a
    -- mail transaction." BDAT data is not dot-stuffed: a line ".\r\n" is content.
    local msg = smtp.marker_message(t, "BDAT LAST", {
      body = "One chunk, sent with BDAT LAST.\n.\nThe line above is a single period (no stuffing in BDAT).\n" })
    t:expect(smtp.bdat(conn, msg, true), "250", "BDAT " .. #msg .. " LAST gets 250")
    local extra = smtp.quiet(conn, 300)
    t:check(extra == nil, "one reply for the chunk: its \".\" line did not end anything",
      { received = extra, expected = "nothing", rfc = "RFC 3030 2" })
    -- 2: "Any BDAT command sent after the BDAT LAST is illegal and MUST be replied to with a 503
    -- "Bad sequence of commands" reply code. The state resulting from this error is
    -- indeterminate. A RSET command MUST be sent to clear the transaction before continuing."
    t:expect(smtp.bdat(conn, "", true), "503", "BDAT 0 LAST after the completed transaction gets 503")
    t:expect(conn:cmd("RSET"), "250", "RSET clears the indeterminate state", { rfc = "RFC 5321 4.1.1.5" })
    smtp.quit(conn)
  end,
}

case {
  id = "smtp.bdat.chunks",
  title = "A message in three chunks (the last of zero length) gets 250 for each BDAT",
  rfc = "RFC 3030 2",
  level = "MUST",
  requires = "CHUNKING",
  run = function(t)
    local conn = chunking_transaction(t)
    -- 2: "The last BDAT command MAY have a byte-count of zero indicating there is no additional
    -- data to be sent." "A 250 response MUST be sent to each successful BDAT data block within a
    -- mail transaction."
    local msg = smtp.marker_message(t, "BDAT in chunks", {
      body = "This message came in three BDAT chunks; the last one was empty.\n" })
    local cut = #msg // 2
    t:expect(smtp.bdat(conn, msg:sub(1, cut)), "250", "BDAT " .. cut .. " (first chunk) gets 250")
    t:expect(smtp.bdat(conn, msg:sub(cut + 1)), "250",
      "BDAT " .. (#msg - cut) .. " (second chunk) gets 250")
    t:expect(smtp.bdat(conn, "", true), "250", "BDAT 0 LAST ends the message with 250")
    smtp.quit(conn)
  end,
}

case {
  id = "smtp.bdat.then-data",
  title = "After a BDAT chunk, DATA gets 503 (and RCPT is refused or taken); RSET clears",
  rfc = "RFC 3030 2",
  level = "MUST",
  requires = "CHUNKING",
  run = function(t)
    local conn = chunking_transaction(t)
    local b = smtp.bdat(conn, smtp.CHUNK)
    local _, ok = t:expect(b, "250", "the first chunk (no LAST) gets 250")
    if not ok then conn:cmd("RSET") smtp.quit(conn) return end
    -- RFC 5321 4.1.4: a transaction is "a transaction beginning command, one or more RCPT
    -- commands, and a DATA command, in that order"; whether a RCPT between chunks is refused
    -- (503) or added is not said, so the engine judges it without an assertion here.
    conn:cmd("RCPT TO:<" .. smtp.rcpt(t) .. ">")
    -- 2: "DATA and BDAT commands cannot be used in the same transaction. If a DATA statement is
    -- issued after a BDAT for the current transaction, a 503 "Bad sequence of commands" MUST be
    -- issued. The state resulting from this error is indeterminate. A RSET command MUST be sent
    -- to clear the transaction before continuing."
    local d = conn:cmd("DATA")
    t:expect(d, "503", "DATA after a BDAT chunk gets 503")
    if d and d.status == "354" then conn:close() return end
    t:expect(conn:cmd("RSET"), "250", "RSET clears the transaction", { rfc = "RFC 5321 4.1.1.5" })
    t:expect(conn:cmd("RCPT TO:<" .. smtp.rcpt(t) .. ">"), "503",
      "RCPT after that RSET finds no transaction", { rfc = "RFC 5321 3.3" })
    smtp.quit(conn)
  end,
}

case {
  id = "smtp.bdat.refused-discards-chunk",
  title = "A BDAT refused outside a transaction still consumes its chunk: one reply, no command read from it",
  rfc = "RFC 3030 2",
  level = "MUST",
  requires = "CHUNKING",
  run = function(t)
    smtp.each_state(t, function(conn, st)
      if st == "initial" then
        -- Before EHLO the client has not seen CHUNKING on this connection (RFC 3030 2: "it is
        -- important to send the BDAT only to systems that have declared their capability"), so
        -- only an empty chunk is sent: it must be refused as out of sequence (RFC 5321 4.1.4).
        local r = smtp.bdat(conn, "", true)
        t:expect(r, { "4xx", "5xx" }, "BDAT 0 LAST before EHLO is refused", { rfc = "RFC 5321 4.1.4" })
        conn:cmd("RSET")
        return
      end
      if not conn.caps.CHUNKING then
        t:log("CHUNKING is not in this EHLO reply")
        return
      end
      -- 2: "If a failure occurs after a BDAT command is received, the receiver-SMTP MUST accept
      -- and discard the associated message data before sending the appropriate 5XX or 4XX
      -- code." ... "lexicographical parsers MUST be prepared to receive, process, and reject
      -- lines of arbitrary octets." The chunk is "NOOP" CRLF: a server that did not discard it
      -- answers a second time. Without MAIL (state ready) or RCPT (state mail) the BDAT is out
      -- of sequence (RFC 5321 4.1.4).
      local r = smtp.unless_blocked(t, smtp.bdat(conn, "NOOP\r\n"))
      t:expect(r, { "4xx", "5xx" }, "BDAT 6 in state " .. st .. " (no recipient) is refused")
      local extra = smtp.quiet(conn, 1000)
      t:check(extra == nil, "no second reply in state " .. st .. ": the 6 octets were discarded",
        { received = extra, expected = "nothing (the chunk \"NOOP\" CRLF is not a command)" })
      if extra ~= nil then conn:close() return end
      -- "The resulting state from a failed BDAT command is indeterminate. A RSET command MUST
      -- be issued to clear the transaction before additional commands may be sent."
      t:expect(conn:cmd("RSET"), "250", "RSET afterwards gets 250", { rfc = "RFC 5321 4.1.1.5" })
      t:expect(conn:cmd("NOOP"), "250", "the session is in step", { rfc = "RFC 5321 4.1.1.9" })
    end, { "initial", "ready", "mail" })
  end,
}
