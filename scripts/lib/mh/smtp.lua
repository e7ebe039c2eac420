-- mh.smtp: SMTP helpers (RFC 5321, RFC 4954, RFC 3207, RFC 3030). Everything goes through
-- conn:cmd, conn:send and conn:read, so the engine judges every exchange.
local base64 = require("mh.base64")
local util = require("mh.util")

local M = {}

-- The states of the coverage matrix that take commands (mailharness spec smtp), in the order
-- each_state visits them.
M.STATES = { "initial", "ready", "mail", "rcpt", "bdat" }

-- rcpt(t), from(t): the site parameters --param rcpt= (a mailbox the server delivers to,
-- default "postmaster") and --param from= (the reverse-path, default empty: "<>").
function M.rcpt(t)
  return t:param("rcpt", "postmaster")
end

function M.from(t)
  return t:param("from", "")
end

-- sink(t): --param sink=, the recipient of test messages whose delivered copy nobody needs to
-- read (BDAT, 8BITMIME, SMTPUTF8, PIPELINING, smuggling, long lines), default rcpt(t). An
-- address the server accepts and throws away keeps a mailbox from filling up over many runs.
function M.sink(t)
  return t:param("sink", M.rcpt(t))
end

-- domain(addr) -> the domain of "local@domain" (nil when there is none)
function M.domain(addr)
  return addr and addr:match("@([^@<>%s]+)$") or nil
end

-- ehlo(conn [, name]) -> reply, caps | nil, err. name defaults to conn.helo (--param helo=...).
-- conn.caps is refreshed by the engine from a 250 reply.
function M.ehlo(conn, name)
  local r, err = conn:cmd("EHLO " .. (name or conn.helo))
  if not r then return nil, err end
  return r, conn.caps
end

-- mechanisms(conn) -> { PLAIN = true, LOGIN = true, ... } from the AUTH EHLO keyword.
function M.mechanisms(conn)
  local set = {}
  for mech in ((conn.caps or {}).AUTH or ""):gmatch("%S+") do
    set[mech:upper()] = true
  end
  return set
end

-- AUTH_TIMEOUT: milliseconds to wait for a reply in a SASL exchange. Servers commonly delay
-- failed authentications against password guessing, and some delay every later attempt from
-- the same address as well: Dovecot behind Postfix waits up to 15 s after a few failures.
-- AUTH = { timeout = AUTH_TIMEOUT }, the option table for conn:cmd.
M.AUTH_TIMEOUT = 30000
M.AUTH = { timeout = M.AUTH_TIMEOUT }

-- login_plain(conn, user, pass [, authzid]) -> reply | nil, err.
-- AUTH PLAIN with an initial response (RFC 4954 4, RFC 4616 2): base64(authzid NUL user NUL pass).
function M.login_plain(conn, user, pass, authzid)
  local ir = base64.encode((authzid or "") .. "\0" .. user .. "\0" .. pass)
  return conn:cmd("AUTH PLAIN " .. ir, M.AUTH)
end

-- login_login(conn, user, pass) -> reply | nil, err. AUTH LOGIN: answers the two 334
-- challenges (user name, password) with base64 lines (RFC 4954 4: "334" SP [base64]).
-- Returns the first reply that is not a 334 (235 on success).
function M.login_login(conn, user, pass)
  local r, err = conn:cmd("AUTH LOGIN", M.AUTH)
  if not r or r.status ~= "334" then return r, err end
  r, err = conn:cmd(base64.encode(user), M.AUTH)
  if not r or r.status ~= "334" then return r, err end
  return conn:cmd(base64.encode(pass), M.AUTH)
end

-- authenticate(t, conn) -> reply | nil, reason. Authenticates as t.user with AUTH PLAIN (or AUTH
-- LOGIN when PLAIN is not offered), first upgrading with STARTTLS when AUTH is only offered under
-- TLS. The reason says why it could not (no credentials, no mechanism, refused).
function M.authenticate(t, conn)
  if not t.user or not t.password then
    return nil, "needs --user and --password-file"
  end
  if not conn.caps.AUTH and conn.caps.STARTTLS and not conn.tls then
    local r, err = conn:tls_upgrade()
    if not r then return nil, "STARTTLS before AUTH failed: " .. tostring(err) end
  end
  local mechs = M.mechanisms(conn)
  local r, err
  if mechs.PLAIN then
    r, err = M.login_plain(conn, t.user, t.password)
  elseif mechs.LOGIN then
    r, err = M.login_login(conn, t.user, t.password)
  else
    return nil, "neither AUTH PLAIN nor AUTH LOGIN is offered (AUTH " ..
      tostring(conn.caps.AUTH) .. ")"
  end
  if not r or r.status ~= "235" then
    return nil, "AUTH as " .. t.user .. " failed: " .. (r and (r.status .. " " .. r.text) or
      tostring(err))
  end
  return r
end

-- dot_stuff(body) -> body with CRLF line ends, every line that starts with "." prefixed with
-- another "." (RFC 5321 4.5.2), and the end-of-data line ".\r\n" appended.
function M.dot_stuff(body)
  local s = util.crlf(body)
  if s:sub(1, 1) == "." then s = "." .. s end
  s = s:gsub("\r\n%.", "\r\n..")
  return s .. ".\r\n"
end

-- mail_transaction(conn, from, rcpts, message) -> final_reply, steps | nil, err, steps.
-- MAIL FROM:<from>, RCPT TO:<r> for each of rcpts (a string or a list), DATA, then the
-- dot-stuffed message and the final reply. steps = {mail=, rcpt={...}, data=, final=}.
-- Stops (nil, "MAIL refused" ...) at the first step that does not succeed.
function M.mail_transaction(conn, from, rcpts, message)
  if type(rcpts) == "string" then rcpts = { rcpts } end
  local steps = { rcpt = {} }
  local r, err = conn:cmd("MAIL FROM:<" .. from .. ">")
  steps.mail = r
  if not r then return nil, err, steps end
  if r.class ~= "ok" then return nil, "MAIL refused", steps end
  local accepted = 0
  for i, rcpt in ipairs(rcpts) do
    r, err = conn:cmd("RCPT TO:<" .. rcpt .. ">")
    steps.rcpt[i] = r
    if not r then return nil, err, steps end
    if r.class == "ok" then accepted = accepted + 1 end
  end
  if accepted == 0 then return nil, "no recipient accepted", steps end
  r, err = conn:cmd("DATA")
  steps.data = r
  if not r then return nil, err, steps end
  if r.status ~= "354" then return nil, "DATA refused", steps end
  local ok
  ok, err = conn:send(M.dot_stuff(message))
  if not ok then return nil, err, steps end
  r, err = conn:read()
  steps.final = r
  if not r then return nil, err, steps end
  return r, steps
end

-- bdat(conn, chunk [, last]) -> reply | nil, err. Sends "BDAT <#chunk>[ LAST]" CRLF and the
-- chunk octets in one write (RFC 3030 2: "The message data is sent immediately after the
-- trailing <CR><LF> of the BDAT command line") and reads the reply.
function M.bdat(conn, chunk, last)
  local ok, err = conn:send("BDAT " .. #chunk .. (last and " LAST" or "") .. "\r\n" .. chunk)
  if not ok then return nil, err end
  return conn:read()
end

-- session(t [, opts]) -> conn, ehlo_reply. Connects (t:connect(opts)) and sends EHLO; raises
-- when either fails (not a server verdict: the case cannot run).
function M.session(t, opts)
  local conn = t:connect(opts)
  if conn.greeting and conn.greeting.status == "554" then
    t:skip("the server refused the session with 554 (" .. conn.greeting.text .. ")")
  end
  local r, err = M.ehlo(conn)
  if not r then error("EHLO failed: " .. tostring(err), 2) end
  return conn, r
end

-- initial(t [, opts]) -> conn in the state "initial": greeted, no EHLO/HELO yet. For a
-- ?starttls target the runtime's own upgrade would send EHLO, so this connects without TLS,
-- sends EHLO and STARTTLS and does the handshake itself: RFC 3207 4.2 "Upon completion of the
-- TLS handshake, the SMTP protocol is reset to the initial state". Raises when that fails.
function M.initial(t, opts)
  local o = {}
  for k, v in pairs(opts or {}) do o[k] = v end
  if t.tls ~= "starttls" then
    local conn = t:connect(o)
    if conn.greeting and conn.greeting.status == "554" then
      t:skip("the server refused the session with 554 (" .. conn.greeting.text .. ")")
    end
    return conn
  end
  o.tls = "none"
  local conn = t:connect(o)
  local e, err = M.ehlo(conn)
  if not e or e.status ~= "250" then
    error("EHLO before STARTTLS failed: " .. (e and e.raw or tostring(err)), 2)
  end
  local r
  r, err = conn:cmd("STARTTLS")
  if not r or r.status ~= "220" then
    error("STARTTLS failed: " .. (r and r.raw or tostring(err)), 2)
  end
  local ok
  ok, err = conn:starttls()
  if not ok then error("TLS handshake failed: " .. tostring(err), 2) end
  return conn
end

-- probe(conn, from, rcpt) -> true | false, why. MAIL FROM:<from> and RCPT TO:<rcpt>, then RSET:
-- does the server open a transaction to rcpt on this connection?
function M.probe(conn, from, rcpt)
  local m = conn:cmd("MAIL FROM:<" .. from .. ">")
  if not m then return false, "no reply to MAIL" end
  if m.class ~= "ok" then return false, "MAIL FROM:<" .. from .. ">: " .. m.status .. " " .. m.text end
  local r = conn:cmd("RCPT TO:<" .. rcpt .. ">")
  conn:cmd("RSET")
  if not r then return false, "no reply to RCPT" end
  if r.class ~= "ok" then return false, "RCPT TO:<" .. rcpt .. ">: " .. r.status .. " " .. r.text end
  return true
end

-- try_mail_session(t [, opts]) -> conn, info | nil, reason. A session (EHLO done, state
-- "ready") in which MAIL FROM:<from> and RCPT TO:<opts.rcpt or rcpt(t)> are accepted.
-- Unauthenticated first (the MX role), unless the profile is "submission" or --param auth=yes;
-- when the server wants authentication it logs in as t.user (--param auth=no forbids that).
-- The other opts go to t:connect. info = {auth = bool, rcpt = the recipient}.
function M.try_mail_session(t, opts)
  local copts = {}
  for k, v in pairs(opts or {}) do if k ~= "rcpt" then copts[k] = v end end
  local conn = M.session(t, copts)
  local from, rcpt = M.from(t), (opts and opts.rcpt) or M.rcpt(t)
  local mode = t:param("auth", "auto")
  local why
  if mode ~= "yes" and t.profile ~= "submission" then
    local ok
    ok, why = M.probe(conn, from, rcpt)
    if ok then return conn, { auth = false, rcpt = rcpt } end
    if mode == "no" then
      conn:close()
      return nil, "the server does not take mail for <" .. rcpt .. "> from us (" .. why ..
        ") and --param auth=no"
    end
  end
  local r, aerr = M.authenticate(t, conn)
  if not r then
    conn:close()
    return nil, (why and ("the server does not take mail for <" .. rcpt .. "> without AUTH (" ..
      why .. "); ") or "") .. "AUTH: " .. aerr
  end
  local ok, why2 = M.probe(conn, from, rcpt)
  if not ok then
    conn:close()
    return nil, "even after AUTH the server does not take mail for <" .. rcpt .. ">: " .. why2 ..
      "; pass --param rcpt=<a mailbox it delivers to>"
  end
  return conn, { auth = true, rcpt = rcpt }
end

-- mail_session(t [, opts]) -> conn, info: try_mail_session, or SKIP with its reason.
function M.mail_session(t, opts)
  local conn, info = M.try_mail_session(t, opts)
  if not conn then t:skip(info) end
  return conn, info
end

-- CHUNK: the BDAT chunk enter() sends to reach the state "bdat" (never completed by LAST).
M.CHUNK = "X-Mailharness-Chunk: first chunk of a message this case abandons\r\n"

-- enter(t, conn, state [, rcpt]) -> true | false, why. Drives a mail_session connection from
-- "ready" to state: "ready" (nothing), "mail" (MAIL), "rcpt" (MAIL, RCPT TO:<rcpt or rcpt(t)>),
-- "bdat" (MAIL, RCPT and a BDAT chunk without LAST; needs CHUNKING). Raises when the engine's
-- state disagrees afterwards.
function M.enter(t, conn, state, rcpt)
  if conn.state ~= "ready" then
    error("enter(" .. state .. "): the connection is in state " .. tostring(conn.state), 2)
  end
  if state == "ready" then return true end
  if state == "bdat" and not conn.caps.CHUNKING then
    return false, "CHUNKING is not advertised"
  end
  local m = conn:cmd("MAIL FROM:<" .. M.from(t) .. ">")
  if not m or m.class ~= "ok" then
    return false, "MAIL refused: " .. (m and (m.status .. " " .. m.text) or "no reply")
  end
  if state ~= "mail" then
    local r = conn:cmd("RCPT TO:<" .. (rcpt or M.rcpt(t)) .. ">")
    if not r or r.class ~= "ok" then
      return false, "RCPT refused: " .. (r and (r.status .. " " .. r.text) or "no reply")
    end
    if state == "bdat" then
      local b = M.bdat(conn, M.CHUNK)
      if not b or b.status ~= "250" then
        return false, "BDAT refused: " .. (b and (b.status .. " " .. b.text) or "no reply")
      end
    end
  end
  if conn.state ~= state then
    error("enter(" .. state .. "): the engine's state is " .. tostring(conn.state), 2)
  end
  return true
end

-- each_state(t, fn [, states]) -> number of states visited. For each state of states (default
-- STATES) gets a connection in that state and calls fn(conn, state): "initial" on a fresh
-- connection from initial(t) (closed afterwards), the others on one mail_session connection
-- brought back to "ready" with RSET between states (QUIT at the end). A state that cannot be
-- reached (no CHUNKING, no transaction without credentials) is logged and left out; when none
-- can be, the case is SKIPped. fn may QUIT or close: the next state gets a new connection.
-- Connections still open at the end get QUIT.
function M.each_state(t, fn, states)
  local conn, why_not
  local visited, missed = 0, {}
  for _, st in ipairs(states or M.STATES) do
    if st == "initial" then
      local c0 = M.initial(t)
      fn(c0, st)
      visited = visited + 1
      if not c0:closed() and c0.state ~= "closed" then M.quit(c0) end
      c0:close()
    else
      if conn and (conn:closed() or conn.state == "closed") then conn = nil end
      if not conn and not why_not then
        local c, info = M.try_mail_session(t)
        if c then conn = c else why_not = info end
      end
      local ok, why = false, why_not
      if conn then
        if conn.state ~= "ready" then conn:cmd("RSET") end
        ok, why = M.enter(t, conn, st)
      end
      if ok then
        fn(conn, st)
        visited = visited + 1
        if not conn:closed() and conn.state ~= "closed" and conn.state ~= "ready" then
          conn:cmd("RSET")
        end
      else
        missed[#missed + 1] = st .. " (" .. tostring(why) .. ")"
      end
    end
  end
  if conn and not conn:closed() and conn.state ~= "closed" then M.quit(conn) end
  if #missed > 0 then t:log("states not exercised: " .. table.concat(missed, "; ")) end
  if visited == 0 then t:skip("no state could be reached: " .. table.concat(missed, "; ")) end
  return visited
end

-- marker_message(t, what [, opts]) -> message, marker. An RFC 5322 message to opts.rcpt (default
-- sink(t)) whose Subject and X-Mailharness-Marker header carry a fresh marker, logged as
-- "marker <hex> to <rcpt> (what)" so that a reader or an integration test can find the
-- delivered copy. opts: rcpt, body, headers (extra header lines), subject.
function M.marker_message(t, what, opts)
  opts = opts or {}
  local rcpt = opts.rcpt or M.sink(t)
  local marker = t:random_hex(12)
  t:log("marker " .. marker .. " to <" .. rcpt .. "> (" .. what .. ")")
  local headers = { "X-Mailharness-Marker: " .. marker }
  for _, h in ipairs(opts.headers or {}) do headers[#headers + 1] = h end
  local msg = util.message {
    from = "<mailharness@mailharness.example>",
    to = "<" .. rcpt .. ">",
    subject = (opts.subject or ("mailharness " .. what)) .. " [" .. marker .. "]",
    headers = headers,
    body = opts.body or ("mailharness test message: " .. what .. "\n"),
  }
  return msg, marker
end

-- quiet(conn, ms) -> nil | bytes. Waits up to ms for unsolicited bytes (a reply nobody asked
-- for) and returns them, or nil when the server stayed silent.
function M.quiet(conn, ms)
  local n, err = conn:poll(ms)
  if not n then
    if err == "closed" then return nil end
    error("poll failed: " .. tostring(err), 2)
  end
  if n == 0 then return nil end
  return conn:recv_raw(65536, 0)
end

-- unless_blocked(t, reply) -> reply. Ends the case as SKIP when reply is 530: the server wants
-- STARTTLS (RFC 3207 4: "530 Must issue a STARTTLS command first" to every command other than
-- NOOP, EHLO, STARTTLS, or QUIT) or authentication (RFC 4954 6) before this command, so the
-- requirement under test cannot be observed on this connection.
function M.unless_blocked(t, reply)
  if reply and reply.status == "530" then
    t:skip("the server requires STARTTLS or AUTH first (530 " .. reply.text ..
      "); test the ?starttls URL or give credentials")
  end
  return reply
end

-- quit(conn) -> reply | nil, err
function M.quit(conn)
  return conn:cmd("QUIT")
end

return M
