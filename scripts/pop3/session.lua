-- POP3 session basics: greeting, CAPA, QUIT, unknown commands and commands in the wrong state
-- (RFC 1939 3, 4, 5, 6; RFC 2449 3, 4, 5).
local pop3 = require("mh.pop3")
local util = require("mh.util")

case {
  id = "pop3.greeting.ok",
  title = "The greeting is one +OK line of at most 512 octets",
  rfc = "RFC 1939 4",
  level = "MUST",
  run = function(t)
    local conn = t:connect()
    local g = conn.greeting
    -- "Once the TCP connection has been opened by a POP3 client, the POP3 server issues a one
    -- line greeting. This can be any positive response."
    t:expect(g, "+OK", "the greeting is a positive response")
    -- RFC 2449 4: "The maximum length of the first line of a command response (including the
    -- initial greeting) is unchanged at 512 octets (including the terminating CRLF)."
    t:check(#g.raw <= 512, "the greeting is at most 512 octets including CRLF",
      { rfc = "RFC 2449 4", received = tostring(#g.raw) .. " octets", expected = "<= 512" })
    pop3.quit(conn)
  end,
}

case {
  id = "pop3.capa.syntax",
  title = "CAPA: +OK and one capability per line, each a capa-tag with parameters",
  rfc = "RFC 2449 5",
  level = "MUST",
  run = function(t)
    local conn = t:connect()
    local r = conn:cmd("CAPA")
    -- "An -ERR response indicates the capability command is not implemented"
    if r and r.status == "-ERR" then
      t:skip("CAPA is not implemented (-ERR)")
    end
    local _, ok = t:expect(r, "+OK", "CAPA gets +OK and a capability list")
    if ok then
      local n = 0
      for line in util.lines(r.body or "") do
        n = n + 1
        -- capability = capa-tag *(SP param) CRLF ;512 octets maximum
        -- capa-tag = 1*cchar; cchar = %x21-2D / %x2F-7F; param = 1*VCHAR (RFC 2449 3)
        local tag, rest = line:match("^([\33-\45\47-\127]+)(.*)$")
        local ok_line = tag ~= nil and (rest == "" or (rest:match("^ ") and
          not rest:find("[^\33-\126 ]") and not rest:find("  ") and not rest:find(" $")))
        t:check(ok_line, "capability line " .. n .. " is capa-tag *(SP param)",
          { rfc = "RFC 2449 3", received = line, expected = "capa-tag *(SP param)" })
        t:check(#line + 2 <= 512, "capability line " .. n .. " is at most 512 octets",
          { received = tostring(#line + 2), expected = "<= 512" })
      end
      t:check(n > 0, "the list names at least one capability", { received = r.raw })
    end
    pop3.quit(conn)
  end,
}

case {
  id = "pop3.stat.before-login",
  title = "STAT in the AUTHORIZATION state gets -ERR",
  rfc = "RFC 1939 3",
  level = "MUST",
  run = function(t)
    local conn = t:connect()
    -- "A server MUST respond to a command issued when the session is in an incorrect state by
    -- responding with a negative status indicator." (5: STAT "may only be given in the
    -- TRANSACTION state")
    t:expect(conn:cmd("STAT"), "-ERR", "STAT before login gets -ERR")
    t:expect(conn:cmd("LIST"), "-ERR", "LIST before login gets -ERR")
    pop3.quit(conn)
  end,
}

case {
  id = "pop3.command.unknown",
  title = "An unrecognized command gets -ERR, in both states",
  rfc = "RFC 1939 3",
  level = "MUST",
  run = function(t)
    local conn = t:connect()
    -- "A server MUST respond to an unrecognized, unimplemented, or syntactically invalid command
    -- by responding with a negative status indicator."
    t:expect(conn:cmd("XQZV"), "-ERR", "an unknown command before login gets -ERR")
    if t.user and t.password then
      local r = pop3.login_user_pass(conn, t.user, t.password)
      if r and r.class == "ok" then
        t:expect(conn:cmd("XQZV"), "-ERR", "an unknown command after login gets -ERR")
        t:expect(conn:cmd("RETR"), "-ERR", "RETR without its required argument gets -ERR")
      end
    end
    pop3.quit(conn)
  end,
}

case {
  id = "pop3.quit.authorization",
  title = "QUIT in the AUTHORIZATION state gets +OK and the connection closes",
  rfc = "RFC 1939 6",
  level = "MUST",
  run = function(t)
    local conn = t:connect()
    -- 4: QUIT in the AUTHORIZATION state, "Possible Responses: +OK"; 6: "if the client issues the
    -- QUIT command from the AUTHORIZATION state, the POP3 session terminates"
    local _, ok = t:expect(pop3.quit(conn), "+OK", "QUIT gets +OK", { rfc = "RFC 1939 4" })
    if ok then
      local closed, extra = util.wait_closed(conn, 5000)
      t:check(closed and extra == "", "the server closes the connection",
        { received = closed and "closed" or "still open after 5 s", expected = "EOF" })
    end
  end,
}
