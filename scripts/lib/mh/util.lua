-- mh.util: small helpers shared by the protocol libraries and the suites.
local M = {}

-- need_credentials(t): ends the case as SKIP unless --user and a password were given.
function M.need_credentials(t)
  if not t.user or not t.password then
    t:skip("needs --user and --password-file (or MAILHARNESS_PASSWORD)")
  end
end

-- crlf(text) -> text with every line end (LF, CR or CRLF) normalised to CRLF; a final line
-- without a line end gets one.
function M.crlf(text)
  local s = text:gsub("\r\n", "\n"):gsub("\r", "\n")
  if s ~= "" and s:sub(-1) ~= "\n" then
    s = s .. "\n"
  end
  return (s:gsub("\n", "\r\n"))
end

-- lines(text) -> iterator over the lines of text (CRLF or LF separated, without line ends).
function M.lines(text)
  local pos = 1
  return function()
    if pos > #text then return nil end
    local s, e = text:find("\r?\n", pos)
    local line
    if s then
      line, pos = text:sub(pos, s - 1), e + 1
    else
      line, pos = text:sub(pos), #text + 1
    end
    return line
  end
end

-- rfc5322_date([time]) -> "Sat, 21 Nov 2026 07:18:00 +0000" (RFC 5322 3.3, UTC)
function M.rfc5322_date(time)
  return os.date("!%a, %d %b %Y %H:%M:%S +0000", time)
end

-- message{from=, to=, subject=, headers={ "X-A: b", ...}, body=, message_id=} -> an RFC 5322
-- message with CRLF line ends (Date and Message-ID are filled in when absent).
function M.message(m)
  local h = {}
  h[#h + 1] = "From: " .. (m.from or "<mailharness@mailharness.example>")
  h[#h + 1] = "To: " .. (m.to or "<postmaster>")
  h[#h + 1] = "Subject: " .. (m.subject or "mailharness test message")
  h[#h + 1] = "Date: " .. (m.date or M.rfc5322_date())
  h[#h + 1] = "Message-ID: " .. (m.message_id or ("<" .. tostring(os.time()) .. "." ..
    tostring(math.random(1, 1 << 30)) .. "@mailharness.example>"))
  for _, line in ipairs(m.headers or {}) do
    h[#h + 1] = line
  end
  return M.crlf(table.concat(h, "\n") .. "\n\n" .. (m.body or ""))
end

-- set(list) -> { [upper-cased item] = true }
function M.set(list)
  local s = {}
  for _, v in ipairs(list) do s[v:upper()] = true end
  return s
end

-- wait_closed(conn, ms) -> closed, extra. Waits up to ms for the server to close the
-- connection; extra holds any bytes that arrived meanwhile (not parsed as replies).
function M.wait_closed(conn, ms)
  local extra = {}
  local step = math.max(1, ms // 10)
  for _ = 1, 10 do
    if conn:closed() then break end
    local n, err = conn:poll(step)
    if not n then error("poll failed: " .. tostring(err), 2) end
    if n > 0 then
      extra[#extra + 1] = conn:recv_raw(n, 0) or ""
    end
  end
  return conn:closed(), table.concat(extra)
end

-- plain_connect(t [, opts]) -> conn. A connection without TLS for cases that negotiate
-- STARTTLS / STLS themselves; skips on implicit-TLS targets, where those commands do not apply.
function M.plain_connect(t, opts)
  if t.tls == "implicit" then
    t:skip("target uses implicit TLS; STARTTLS/STLS does not apply")
  end
  opts = opts or {}
  opts.tls = "none"
  return t:connect(opts)
end

return M
