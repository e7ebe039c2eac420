-- IMAP selected-state commands on messages the case appends to its own mailbox: FETCH, STORE,
-- COPY, EXPUNGE, CLOSE, SEARCH and UID (RFC 3501 2.3, 6.4, 7.4).
local imap = require("mh.imap")
local util = require("mh.util")

-- selected(t, prepare, body): a session, a fresh mailbox filled by prepare(conn, box) -> msgs,
-- SELECTed, then body(conn, box, msgs, select_reply); cleans up.
local function selected(t, prepare, body)
  local conn = imap.session(t)
  imap.with_mailbox(t, conn, function(box)
    local msgs = prepare(conn, box) or {}
    local s = imap.select(conn, box)
    local _, ok = t:expect(s, "OK", "SELECT of the test mailbox", { rfc = "RFC 3501 6.3.1" })
    if ok then body(conn, box, msgs, s) end
  end)
  imap.logout(conn)
end

-- n plain test messages
local function plain(t, n, flags)
  return function(conn, box) return imap.populate(t, conn, box, n, flags) end
end

local function flagstr(list)
  if type(list) ~= "table" or list == imap.NIL then return tostring(list) end
  return "(" .. table.concat(list, " ") .. ")"
end

local function list(nums)
  return table.concat(nums, ",")
end

-- fetch1(conn, seq, items) -> att of message seq (or {}), reply
local function fetch1(conn, seq, items)
  local r = imap.fetch(conn, tostring(seq), items)
  return imap.fetch_map(r)[seq] or {}, r
end

local function body_of(msg)
  local i = msg:find("\r\n\r\n", 1, true)
  return msg:sub(i + 4), msg:sub(1, i + 3)
end

local function messages(conn, box)
  return (imap.status(conn:imap("STATUS " .. imap.mailbox(box) .. " (MESSAGES)")) or {}).MESSAGES
end

-- ---- FETCH ----

case {
  id = "imap.fetch.items",
  title = "FETCH FLAGS, UID, INTERNALDATE, RFC822.SIZE: well-formed values, size in octets",
  rfc = "RFC 3501 6.4.5",
  level = "MUST",
  run = function(t)
    selected(t, plain(t, 1), function(conn, box, msgs)
      local f, r = fetch1(conn, 1, "(FLAGS UID INTERNALDATE RFC822.SIZE)")
      t:expect(r, "OK", "FETCH completes with OK")
      -- 9: msg-att-dynamic = "FLAGS" SP "(" [flag-fetch *(SP flag-fetch)] ")"; msg-att-static
      -- = ... "INTERNALDATE" SP date-time / "RFC822.SIZE" SP number / "UID" SP uniqueid
      t:check(type(f.FLAGS) == "table" and f.FLAGS ~= imap.NIL, "FLAGS is a parenthesized list",
        { received = r and r.raw })
      t:check(type(f.UID) == "string" and f.UID:match("^[1-9]%d*$") ~= nil, "UID is a non-zero number",
        { received = tostring(f.UID) })
      t:check(imap.date_time(f.INTERNALDATE) ~= nil, "INTERNALDATE is a date-time \"dd-Mon-yyyy hh:mm:ss +zzzz\"",
        { received = tostring(f.INTERNALDATE) })
      -- 2.3.4: "The number of octets in the message, as expressed in [RFC-2822] format."
      t:check(tonumber(f["RFC822.SIZE"]) == #msgs[1], "RFC822.SIZE is the octet count of the appended message",
        { rfc = "RFC 3501 2.3.4", received = tostring(f["RFC822.SIZE"]), expected = tostring(#msgs[1]) })
    end)
  end,
}

case {
  id = "imap.fetch.header-text",
  title = "BODY[HEADER] + BODY[TEXT] = BODY[] = the appended message",
  rfc = "RFC 3501 6.4.5",
  level = "MUST",
  run = function(t)
    selected(t, plain(t, 1), function(conn, box, msgs)
      local f, r = fetch1(conn, 1, "(BODY.PEEK[HEADER] BODY.PEEK[TEXT] BODY.PEEK[])")
      t:expect(r, "OK", "FETCH completes with OK")
      local text, header = body_of(msgs[1])
      -- "An empty section specification refers to the entire message, including the header."
      -- "the blank line is included in all header fetches" ... "The TEXT part specifier refers to
      -- the text body of the message, omitting the [RFC-2822] header."
      t:check(f["BODY[]"] == msgs[1], "BODY[] is the message octet for octet", { received = f["BODY[]"], expected = msgs[1] })
      t:check(f["BODY[HEADER]"] == header, "BODY[HEADER] is the header with the blank line",
        { received = f["BODY[HEADER]"], expected = header })
      t:check(f["BODY[TEXT]"] == text, "BODY[TEXT] is the body without the header",
        { received = f["BODY[TEXT]"], expected = text })
    end)
  end,
}

case {
  id = "imap.fetch.header-fields",
  title = "BODY[HEADER.FIELDS (...)] and .NOT select header lines case-insensitively",
  rfc = "RFC 3501 6.4.5",
  level = "MUST",
  run = function(t)
    selected(t, plain(t, 1), function(conn, box, msgs)
      local _, header = body_of(msgs[1])
      local subject = header:match("\r\n(Subject: [^\r]*\r\n)")
      local marker = header:match("\r\n(X%-Mailharness%-Marker: [^\r]*\r\n)")
      -- "The subset returned by HEADER.FIELDS contains only those header fields with a field-name
      -- that matches one of the names in the list; similarly, the subset returned by
      -- HEADER.FIELDS.NOT contains only the header fields with a non-matching field-name. The
      -- field-matching is case-insensitive but otherwise exact. Subsetting does not exclude the
      -- [RFC-2822] delimiting blank line between the header and the body"
      local f, r = fetch1(conn, 1, "(BODY.PEEK[HEADER.FIELDS (subject x-mailharness-marker)])")
      t:expect(r, "OK", "FETCH of HEADER.FIELDS completes with OK")
      local got
      for k, v in pairs(f) do
        if k:match("^BODY%[HEADER%.FIELDS ") then got = v end
      end
      t:check(got == subject .. marker .. "\r\n", "HEADER.FIELDS returns exactly Subject and the marker line plus the blank line",
        { received = got, expected = subject .. marker .. "\r\n" })
      local fn, rn = fetch1(conn, 1, "(BODY.PEEK[HEADER.FIELDS.NOT (SUBJECT)])")
      t:expect(rn, "OK", "FETCH of HEADER.FIELDS.NOT completes with OK")
      local gotn
      for k, v in pairs(fn) do
        if k:match("^BODY%[HEADER%.FIELDS%.NOT ") then gotn = v end
      end
      t:check(gotn == header:gsub("\r\nSubject: [^\r]*\r\n", "\r\n", 1), "HEADER.FIELDS.NOT returns the header without Subject",
        { received = gotn, expected = (header:gsub("\r\nSubject: [^\r]*\r\n", "\r\n", 1)) })
    end)
  end,
}

case {
  id = "imap.fetch.envelope",
  title = "ENVELOPE: date, subject, addresses (Sender and Reply-To default to From), ids",
  rfc = "RFC 3501 7.4.2",
  level = "MUST",
  run = function(t)
    local date = "Sun, 02 Feb 2020 10:20:30 +0100"
    local msg = util.crlf(table.concat({
      "Date: " .. date,
      'From: "Alice Example" <alice@example.test>',
      "To: bob@example.test, Carol <carol@example.test>",
      "Cc: dave@example.test",
      "Subject: mailharness envelope test",
      "Message-ID: <envelope." .. t:random_hex(4) .. "@mailharness.example>",
      "In-Reply-To: <parent@mailharness.example>",
      "",
      "Body.",
      "" }, "\n"))
    local mid = msg:match("Message%-ID: (<[^>]*>)")
    selected(t, function(conn, box) return imap.populate(t, conn, box, { msg }) end, function(conn)
      local f, r = fetch1(conn, 1, "(ENVELOPE)")
      t:expect(r, "OK", "FETCH ENVELOPE completes with OK", { rfc = "RFC 3501 6.4.5" })
      local e = f.ENVELOPE
      if type(e) ~= "table" or #e < 10 then
        t:fail("ENVELOPE is not a list of ten fields", { received = r and r.raw })
      end
      -- "The fields of the envelope structure are in the following order: date, subject, from,
      -- sender, reply-to, to, cc, bcc, in-reply-to, and message-id." "The fields of an address
      -- structure are in the following order: personal name, [SMTP] at-domain-list (source
      -- route), mailbox name, and host name."
      local function addr(a)
        if type(a) ~= "table" then return tostring(a) end
        local out = {}
        for i = 1, 4 do out[i] = tostring(a[i]) end
        return table.concat(out, "|")
      end
      local function addrs(l)
        if type(l) ~= "table" or l == imap.NIL then return tostring(l) end
        local out = {}
        for i, a in ipairs(l) do out[i] = addr(a) end
        return table.concat(out, " ")
      end
      local from = "Alice Example|NIL|alice|example.test"
      t:check(e[1] == date, "date is the Date header", { received = tostring(e[1]), expected = date })
      t:check(e[2] == "mailharness envelope test", "subject is the Subject header", { received = tostring(e[2]) })
      t:check(addrs(e[3]) == from, "from is (\"Alice Example\" NIL \"alice\" \"example.test\")",
        { received = addrs(e[3]), expected = from })
      -- "If the Sender or Reply-To lines are absent in the [RFC-2822] header, ... the server sets
      -- the corresponding member of the envelope to be the same value as the from member"
      t:check(addrs(e[4]) == from, "sender defaults to from", { received = addrs(e[4]), expected = from })
      t:check(addrs(e[5]) == from, "reply-to defaults to from", { received = addrs(e[5]), expected = from })
      local to = "NIL|NIL|bob|example.test Carol|NIL|carol|example.test"
      t:check(addrs(e[6]) == to, "to lists both addresses", { received = addrs(e[6]), expected = to })
      t:check(addrs(e[7]) == "NIL|NIL|dave|example.test", "cc lists dave", { received = addrs(e[7]) })
      -- "If the From, To, cc, and bcc header lines are absent ... the corresponding member of the
      -- envelope is NIL."
      t:check(e[8] == imap.NIL, "bcc is NIL (no Bcc header)", { received = addrs(e[8]), expected = "NIL" })
      t:check(e[9] == "<parent@mailharness.example>", "in-reply-to is the In-Reply-To header", { received = tostring(e[9]) })
      t:check(e[10] == mid, "message-id is the Message-ID header", { received = tostring(e[10]), expected = mid })
    end)
  end,
}

case {
  id = "imap.fetch.bodystructure-text",
  title = "BODYSTRUCTURE of a text/plain message: type, subtype, charset, encoding, size, lines",
  rfc = "RFC 3501 7.4.2",
  level = "MUST",
  run = function(t)
    local msg = util.message {
      subject = "mailharness bodystructure",
      headers = { "MIME-Version: 1.0", "Content-Type: text/plain; charset=us-ascii",
        "Content-Transfer-Encoding: 7bit" },
      body = "Line one.\nLine two.\nLine three.\n",
    }
    selected(t, function(conn, box) return imap.populate(t, conn, box, { msg }) end, function(conn)
      local f, r = fetch1(conn, 1, "(BODYSTRUCTURE BODY BODY.PEEK[TEXT])")
      t:expect(r, "OK", "FETCH BODYSTRUCTURE completes with OK", { rfc = "RFC 3501 6.4.5" })
      local b = f.BODYSTRUCTURE
      if type(b) ~= "table" or #b < 8 then t:fail("BODYSTRUCTURE is not a body-type-1part list", { received = r and r.raw }) end
      -- "For example, a simple text message of 48 lines and 2279 octets can have a body structure
      -- of: ("TEXT" "PLAIN" ("CHARSET" "US-ASCII") NIL NIL "7BIT" 2279 48)"; "body size: A
      -- number giving the size of the body in octets." "A body type of type TEXT contains,
      -- immediately after the basic fields, the size of the body in text lines."
      local text = f["BODY[TEXT]"] or body_of(msg)
      t:check(tostring(b[1]):upper() == "TEXT" and tostring(b[2]):upper() == "PLAIN", "type TEXT, subtype PLAIN",
        { received = tostring(b[1]) .. "/" .. tostring(b[2]) })
      local params = {}
      if type(b[3]) == "table" then
        for i = 1, #b[3] - 1, 2 do params[tostring(b[3][i]):upper()] = tostring(b[3][i + 1]):upper() end
      end
      t:check(params.CHARSET == "US-ASCII", "parameters carry CHARSET us-ascii", { received = r and r.raw })
      t:check(tostring(b[6]):upper() == "7BIT", "encoding 7BIT", { received = tostring(b[6]) })
      t:check(tonumber(b[7]) == #text, "size is the octet count of the body", { received = tostring(b[7]), expected = tostring(#text) })
      local _, lf = text:gsub("\n", "")
      t:check(tonumber(b[8]) == lf, "lines is the number of body lines", { received = tostring(b[8]), expected = tostring(lf) })
      -- 7.4.2 BODY: "A form of BODYSTRUCTURE without extension data."
      local nb = f.BODY
      t:check(type(nb) == "table" and #nb == 8 and tostring(nb[1]):upper() == "TEXT" and nb[7] == b[7],
        "BODY is the same structure without extension data", { received = r and r.raw })
    end)
  end,
}

case {
  id = "imap.fetch.bodystructure-multipart",
  title = "multipart/mixed: BODYSTRUCTURE lists both parts; BODY[1], BODY[2], BODY[2.MIME] return them",
  rfc = "RFC 3501 6.4.5",
  level = "MUST",
  run = function(t)
    local boundary = "mh-" .. t:random_hex(6)
    local part2 = t.base64(string.rep("mailharness binary part ", 4))
    local msg = util.message {
      subject = "mailharness multipart",
      headers = { "MIME-Version: 1.0", 'Content-Type: multipart/mixed; boundary="' .. boundary .. '"' },
      body = table.concat({
        "preamble",
        "--" .. boundary,
        "Content-Type: text/plain; charset=us-ascii",
        "",
        "Hello part one.",
        "--" .. boundary,
        "Content-Type: application/octet-stream",
        "Content-Transfer-Encoding: base64",
        "",
        part2,
        "--" .. boundary .. "--",
        "" }, "\n"),
    }
    selected(t, function(conn, box) return imap.populate(t, conn, box, { msg }) end, function(conn)
      local f, r = fetch1(conn, 1, "(BODYSTRUCTURE BODY.PEEK[1] BODY.PEEK[2] BODY.PEEK[2.MIME])")
      t:expect(r, "OK", "FETCH completes with OK")
      local b = f.BODYSTRUCTURE
      -- 7.4.2: "Multiple parts are indicated by parenthesis nesting. Instead of a body type as the
      -- first element of the parenthesized list, there is a sequence of one or more nested body
      -- structures. The second element of the parenthesized list is the multipart subtype"
      local ok = type(b) == "table" and type(b[1]) == "table" and type(b[2]) == "table" and b[1] ~= imap.NIL
        and tostring(b[3]):upper() == "MIXED"
      t:check(ok, "BODYSTRUCTURE is ((part 1)(part 2) \"MIXED\" ...)", { rfc = "RFC 3501 7.4.2", received = r and r.raw })
      if ok then
        t:check(tostring(b[1][1]):upper() == "TEXT" and tostring(b[1][2]):upper() == "PLAIN", "part 1 is TEXT/PLAIN",
          { rfc = "RFC 3501 7.4.2", received = tostring(b[1][1]) .. "/" .. tostring(b[1][2]) })
        t:check(tostring(b[2][1]):upper() == "APPLICATION" and tostring(b[2][2]):upper() == "OCTET-STREAM"
          and tostring(b[2][6]):upper() == "BASE64", "part 2 is APPLICATION/OCTET-STREAM, BASE64",
          { rfc = "RFC 3501 7.4.2", received = tostring(b[2][1]) .. "/" .. tostring(b[2][2]) .. " " .. tostring(b[2][6]) })
        t:check(tonumber(b[1][7]) == #(f["BODY[1]"] or ""), "part 1's size equals the octets of BODY[1]",
          { rfc = "RFC 3501 7.4.2", received = tostring(b[1][7]), expected = tostring(#(f["BODY[1]"] or "")) })
      end
      -- "Multipart messages are assigned consecutive part numbers, as they occur in the message."
      -- (RFC 2046 5.1.1: the CRLF before a boundary delimiter belongs to the delimiter.)
      t:check(f["BODY[1]"] == "Hello part one.", "BODY[1] is the text of part 1", { received = f["BODY[1]"], expected = "Hello part one." })
      t:check(f["BODY[2]"] == part2, "BODY[2] is the base64 text of part 2 (not decoded)", { received = f["BODY[2]"], expected = part2 })
      -- "The MIME part specifier refers to the [MIME-IMB] header for this part."
      local mime = f["BODY[2.MIME]"] or ""
      t:check(mime:match("^Content%-Type: application/octet%-stream\r\n") and mime:match("\r\nContent%-Transfer%-Encoding: base64\r\n\r\n$"),
        "BODY[2.MIME] is part 2's header with the blank line", { received = mime })
    end)
  end,
}

case {
  id = "imap.fetch.body-sets-seen",
  title = "FETCH BODY[] sets \\Seen and reports the new FLAGS",
  rfc = "RFC 3501 6.4.5",
  level = "MUST",
  run = function(t)
    selected(t, plain(t, 1), function(conn)
      local f0 = fetch1(conn, 1, "(FLAGS)")
      t:check(not imap.flags(f0.FLAGS)["\\SEEN"], "the new message is not \\Seen", { received = flagstr(f0.FLAGS) })
      -- "The \Seen flag is implicitly set; if this causes the flags to change, they SHOULD be
      -- included as part of the FETCH responses."
      local f1, r = fetch1(conn, 1, "(BODY[])")
      t:expect(r, "OK", "FETCH BODY[] completes with OK")
      t:check(imap.flags(f1.FLAGS)["\\SEEN"], "the FETCH response includes FLAGS with \\Seen",
        { level = "SHOULD", received = r and r.raw, expected = "* 1 FETCH (... FLAGS (\\Seen ...) ...)" })
      local f2 = fetch1(conn, 1, "(FLAGS)")
      t:check(imap.flags(f2.FLAGS)["\\SEEN"], "afterwards the message has \\Seen", { received = flagstr(f2.FLAGS) })
    end)
  end,
}

case {
  id = "imap.fetch.peek-keeps-unseen",
  title = "FETCH BODY.PEEK[] does not set \\Seen",
  rfc = "RFC 3501 6.4.5",
  level = "MUST",
  run = function(t)
    selected(t, plain(t, 1), function(conn)
      -- "BODY.PEEK[<section>]<<partial>> An alternate form of BODY[<section>] that does not
      -- implicitly set the \Seen flag."
      local _, r = fetch1(conn, 1, "(BODY.PEEK[] BODY.PEEK[TEXT])")
      t:expect(r, "OK", "FETCH BODY.PEEK[] completes with OK")
      local f = fetch1(conn, 1, "(FLAGS)")
      t:check(f.FLAGS ~= nil and not imap.flags(f.FLAGS)["\\SEEN"], "the message still lacks \\Seen",
        { received = flagstr(f.FLAGS), expected = "no \\Seen" })
    end)
  end,
}

case {
  id = "imap.fetch.partial",
  title = "BODY[]<o.n>: the octets o..o+n-1 as BODY[]<o>; truncated at the end; empty past it",
  rfc = "RFC 3501 6.4.5",
  level = "MUST",
  run = function(t)
    selected(t, plain(t, 1), function(conn, box, msgs)
      local m = msgs[1]
      -- "It is possible to fetch a substring of the designated text. This is done by appending an
      -- open angle bracket ("<"), the octet position of the first desired octet, a period, the
      -- maximum number of octets desired, and a close angle bracket (">") to the part specifier.
      -- If the starting octet is beyond the end of the text, an empty string is returned."
      -- "Any partial fetch that attempts to read beyond the end of the text is truncated as
      -- appropriate. A partial fetch that starts at octet 0 is returned as a partial fetch, even if
      -- this truncation happened."
      local cases = {
        { 0, 10, m:sub(1, 10) },
        { 10, 20, m:sub(11, 30) },
        { #m - 5, 100, m:sub(#m - 4) },
        { 0, #m + 100, m },
        { #m + 50, 10, "" },
      }
      for _, c in ipairs(cases) do
        local f, r = fetch1(conn, 1, "(BODY.PEEK[]<" .. c[1] .. "." .. c[2] .. ">)")
        t:expect(r, "OK", "FETCH BODY.PEEK[]<" .. c[1] .. "." .. c[2] .. "> completes with OK")
        local key = "BODY[]<" .. c[1] .. ">"
        t:check(f[key] == c[3], key .. " holds the " .. #c[3] .. " octets from offset " .. c[1],
          { received = r and r.raw, expected = key .. " {" .. #c[3] .. "} ..." })
      end
    end)
  end,
}

case {
  id = "imap.fetch.macros",
  title = "FETCH ALL, FAST and FULL return the items they stand for",
  rfc = "RFC 3501 6.4.5",
  level = "MUST",
  run = function(t)
    selected(t, plain(t, 1), function(conn)
      -- "ALL Macro equivalent to: (FLAGS INTERNALDATE RFC822.SIZE ENVELOPE) FAST Macro equivalent
      -- to: (FLAGS INTERNALDATE RFC822.SIZE) FULL Macro equivalent to: (FLAGS INTERNALDATE
      -- RFC822.SIZE ENVELOPE BODY)"
      local want = {
        FAST = { "FLAGS", "INTERNALDATE", "RFC822.SIZE" },
        ALL = { "FLAGS", "INTERNALDATE", "RFC822.SIZE", "ENVELOPE" },
        FULL = { "FLAGS", "INTERNALDATE", "RFC822.SIZE", "ENVELOPE", "BODY" },
      }
      for _, macro in ipairs({ "FAST", "ALL", "FULL" }) do
        local f, r = fetch1(conn, 1, macro)
        t:expect(r, "OK", "FETCH 1 " .. macro .. " completes with OK")
        local missing = {}
        for _, item in ipairs(want[macro]) do
          if f[item] == nil then missing[#missing + 1] = item end
        end
        t:check(#missing == 0, "FETCH " .. macro .. " returns " .. table.concat(want[macro], " "),
          { received = r and r.raw, expected = "missing: none (now: " .. table.concat(missing, " ") .. ")" })
      end
    end)
  end,
}

case {
  id = "imap.fetch.rfc822-items",
  title = "RFC822, RFC822.HEADER, RFC822.TEXT equal BODY[], BODY[HEADER], BODY[TEXT]; only HEADER keeps \\Seen off",
  rfc = "RFC 3501 6.4.5",
  level = "MUST",
  run = function(t)
    if imap.is_rev2(t) then
      t:skip("IMAP4rev2 deprecated the RFC822 fetch items (RFC 9051 appendix E)")
    end
    selected(t, plain(t, 1), function(conn, box, msgs)
      local text, header = body_of(msgs[1])
      -- "RFC822.HEADER Functionally equivalent to BODY.PEEK[HEADER]"
      local h, r1 = fetch1(conn, 1, "(RFC822.HEADER)")
      t:expect(r1, "OK", "FETCH RFC822.HEADER completes with OK")
      t:check(h["RFC822.HEADER"] == header, "RFC822.HEADER is the header", { received = h["RFC822.HEADER"], expected = header })
      t:check(not imap.flags(fetch1(conn, 1, "(FLAGS)").FLAGS)["\\SEEN"], "RFC822.HEADER did not set \\Seen")
      -- "RFC822.TEXT Functionally equivalent to BODY[TEXT]" (which sets \Seen)
      local x, r2 = fetch1(conn, 1, "(RFC822.TEXT)")
      t:expect(r2, "OK", "FETCH RFC822.TEXT completes with OK")
      t:check(x["RFC822.TEXT"] == text, "RFC822.TEXT is the body", { received = x["RFC822.TEXT"], expected = text })
      t:check(imap.flags(fetch1(conn, 1, "(FLAGS)").FLAGS)["\\SEEN"], "RFC822.TEXT set \\Seen")
      -- "RFC822 Functionally equivalent to BODY[]"
      local a, r3 = fetch1(conn, 1, "(RFC822)")
      t:expect(r3, "OK", "FETCH RFC822 completes with OK")
      t:check(a.RFC822 == msgs[1], "RFC822 is the whole message", { received = a.RFC822, expected = msgs[1] })
    end)
  end,
}

case {
  id = "imap.fetch.invalid-sequence",
  title = "FETCH of message 0 or of a number above EXISTS gets BAD",
  rfc = "RFC 3501 9",
  level = "SHOULD",
  run = function(t)
    selected(t, plain(t, 2), function(conn)
      -- 9: seq-number = nz-number / "*" ... "The server should respond with a tagged BAD response
      -- to a command that uses a message sequence number greater than the number of messages in
      -- the selected mailbox."
      t:expect(imap.fetch(conn, "3", "(FLAGS)"), "BAD", "FETCH 3 in a mailbox of 2 messages gets BAD")
      -- 2.2.2: "Any client command with a protocol syntax error ... SHOULD be rejected, and the
      -- client given a BAD server completion response."
      t:expect(imap.fetch(conn, "0", "(FLAGS)"), "BAD", "FETCH 0 (not an nz-number) gets BAD", { rfc = "RFC 3501 2.2.2" })
    end)
  end,
}

-- ---- STORE ----

case {
  id = "imap.store.flags",
  title = "STORE +FLAGS, -FLAGS and FLAGS change the flags and return the new value",
  rfc = "RFC 3501 6.4.6",
  level = "MUST",
  run = function(t)
    selected(t, plain(t, 1), function(conn)
      local function step(cmd, want, unwanted)
        -- "Normally, STORE will return the updated value of the data with an untagged FETCH
        -- response." "+FLAGS <flag list> Add the argument to the flags for the message. The new
        -- value of the flags is returned as if a FETCH of those flags was done."
        local r = conn:imap("STORE 1 " .. cmd)
        t:expect(r, "OK", "STORE 1 " .. cmd .. " completes with OK")
        local fr = imap.fetch_map(r)[1]
        local ok = fr and fr.FLAGS
        if ok then
          local set = imap.flags(fr.FLAGS)
          for _, w in ipairs(want) do ok = ok and set[w:upper()] end
          for _, u in ipairs(unwanted) do ok = ok and not set[u:upper()] end
        end
        t:check(ok, "the untagged FETCH after " .. cmd .. " shows the new flags",
          { level = "SHOULD", received = r and r.raw, expected = "* 1 FETCH (FLAGS (...))" })
        local set = imap.flags(fetch1(conn, 1, "(FLAGS)").FLAGS)
        local good = true
        for _, w in ipairs(want) do good = good and set[w:upper()] end
        for _, u in ipairs(unwanted) do good = good and not set[u:upper()] end
        t:check(good, "FETCH FLAGS after " .. cmd .. " has " .. table.concat(want, " ") .. " and not " .. table.concat(unwanted, " "),
          { received = flagstr(fetch1(conn, 1, "(FLAGS)").FLAGS) })
      end
      step("+FLAGS (\\Flagged \\Answered)", { "\\Flagged", "\\Answered" }, {})
      -- "-FLAGS <flag list> Remove the argument from the flags for the message."
      step("-FLAGS (\\Answered)", { "\\Flagged" }, { "\\Answered" })
      -- "FLAGS <flag list> Replace the flags for the message (other than \Recent) with the
      -- argument."
      step("FLAGS (\\Draft \\Seen)", { "\\Draft", "\\Seen" }, { "\\Flagged", "\\Answered" })
    end)
  end,
}

case {
  id = "imap.store.silent",
  title = "STORE +FLAGS.SILENT changes the flags without an untagged FETCH",
  rfc = "RFC 3501 6.4.6",
  level = "MUST",
  run = function(t)
    selected(t, plain(t, 2), function(conn)
      -- "A suffix of ".SILENT" in the data item name prevents the untagged FETCH" ...
      -- "+FLAGS.SILENT <flag list> Equivalent to +FLAGS, but without returning a new value."
      -- Nobody else uses this mailbox, so no external flag change could justify a FETCH.
      local r = conn:imap("STORE 1:2 +FLAGS.SILENT (\\Flagged)")
      t:expect(r, "OK", "STORE +FLAGS.SILENT completes with OK")
      t:check(#imap.fetches(r) == 0, "no untagged FETCH in the reply", { received = r and r.raw, expected = "only the tagged OK" })
      local r2 = conn:imap("STORE 2 -FLAGS.SILENT (\\Flagged)")
      t:check(#imap.fetches(r2) == 0, "no untagged FETCH for -FLAGS.SILENT either", { received = r2 and r2.raw })
      local m = imap.fetch_map(imap.fetch(conn, "1:2", "(FLAGS)"))
      t:check(m[1] and imap.flags(m[1].FLAGS)["\\FLAGGED"] and m[2] and not imap.flags(m[2].FLAGS)["\\FLAGGED"],
        "the flags changed all the same (1 \\Flagged, 2 not)", { received = flagstr(m[1] and m[1].FLAGS) .. " " .. flagstr(m[2] and m[2].FLAGS) })
    end)
  end,
}

case {
  id = "imap.store.keyword",
  title = "With \\* in PERMANENTFLAGS a new keyword can be stored, fetched and searched",
  rfc = "RFC 3501 7.1",
  level = "MUST",
  run = function(t)
    selected(t, plain(t, 2), function(conn, box, msgs, s)
      local pf = imap.resp_code(s, "PERMANENTFLAGS") or ""
      if not pf:find("\\*", 1, true) then t:skip("PERMANENTFLAGS has no \\*: new keywords are not allowed") end
      -- 7.1 PERMANENTFLAGS: "The PERMANENTFLAGS list can also include the special flag \*, which
      -- indicates that it is possible to create new keywords by attempting to store those flags
      -- in the mailbox."
      local kw = "mhkw" .. t:random_hex(3)
      t:expect(conn:imap("STORE 2 +FLAGS (" .. kw .. ")"), "OK", "STORE of the keyword " .. kw .. " completes with OK",
        { rfc = "RFC 3501 6.4.6" })
      local f = fetch1(conn, 2, "(FLAGS)")
      t:check(imap.flags(f.FLAGS)[kw:upper()], "FETCH FLAGS shows the keyword", { received = flagstr(f.FLAGS), expected = kw })
      -- 6.4.4: "KEYWORD <flag> Messages with the specified keyword flag set."
      local found = imap.search(conn:imap("SEARCH KEYWORD " .. kw))
      t:check(list(found) == "2", "SEARCH KEYWORD finds message 2", { rfc = "RFC 3501 6.4.4", received = list(found), expected = "2" })
      local un = imap.search(conn:imap("SEARCH UNKEYWORD " .. kw))
      t:check(list(un) == "1", "SEARCH UNKEYWORD finds message 1", { rfc = "RFC 3501 6.4.4", received = list(un), expected = "1" })
    end)
  end,
}

-- ---- COPY ----

case {
  id = "imap.copy.basic",
  title = "COPY copies messages with their flags and internal date; the source is unchanged",
  rfc = "RFC 3501 6.4.7",
  level = "MUST",
  run = function(t)
    selected(t, function(conn, box)
      local msgs = imap.populate(t, conn, box, 1, "\\Flagged")
      local more = imap.populate(t, conn, box, 1)
      msgs[2] = more[1]
      t:expect(conn:imap("CREATE " .. box .. "-dest"), "OK", "CREATE the destination", { rfc = "RFC 3501 6.3.3" })
      return msgs
    end, function(conn, box, msgs)
      local src = imap.fetch_map(imap.fetch(conn, "1:2", "(FLAGS INTERNALDATE)"))
      -- "The COPY command copies the specified message(s) to the end of the specified destination
      -- mailbox. The flags and internal date of the message(s) SHOULD be preserved, and the Recent
      -- flag SHOULD be set, in the copy."
      t:expect(conn:imap("COPY 1:2 " .. box .. "-dest"), "OK", "COPY 1:2 completes with OK")
      local f = imap.fetch_map(imap.fetch(conn, "1:2", "(BODY.PEEK[])"))
      t:check(f[1] and f[1]["BODY[]"] == msgs[1] and f[2] and f[2]["BODY[]"] == msgs[2], "the source still holds both messages",
        { received = tostring(f[1] and #f[1]["BODY[]"]) })
      t:expect(imap.examine(conn, box .. "-dest"), "OK", "EXAMINE the destination", { rfc = "RFC 3501 6.3.2" })
      local d = imap.fetch_map(imap.fetch(conn, "1:2", "(FLAGS INTERNALDATE BODY.PEEK[])"))
      t:check(d[1] and d[1]["BODY[]"] == msgs[1] and d[2] and d[2]["BODY[]"] == msgs[2],
        "the destination holds copies of both messages, in order", { received = tostring(d[1] and d[1]["BODY[]"]) })
      t:check(d[1] and imap.flags(d[1].FLAGS)["\\FLAGGED"] and d[2] and not imap.flags(d[2].FLAGS)["\\FLAGGED"],
        "the flags are preserved", { level = "SHOULD", received = flagstr(d[1] and d[1].FLAGS) .. " " .. flagstr(d[2] and d[2].FLAGS) })
      t:check(d[1] and src[1] and imap.date_time(d[1].INTERNALDATE) == imap.date_time(src[1].INTERNALDATE),
        "the internal date is preserved", { level = "SHOULD", received = tostring(d[1] and d[1].INTERNALDATE),
          expected = tostring(src[1] and src[1].INTERNALDATE) })
    end)
  end,
}

case {
  id = "imap.copy.trycreate",
  title = "COPY to a missing mailbox gets NO [TRYCREATE]",
  rfc = "RFC 3501 6.4.7",
  level = "MUST",
  run = function(t)
    selected(t, plain(t, 1), function(conn, box)
      local missing = box .. "-missing"
      -- "If the destination mailbox does not exist, a server SHOULD return an error. It SHOULD
      -- NOT automatically create the mailbox. Unless it is certain that the destination mailbox
      -- can not be created, the server MUST send the response code "[TRYCREATE]" as the prefix of
      -- the text of the tagged NO response."
      local r = conn:imap("COPY 1 " .. missing)
      t:expect(r, "NO", "COPY to a missing mailbox gets NO", { level = "SHOULD" })
      if r and r.status == "NO" then
        t:check(imap.tagged_code(r, "TRYCREATE") ~= nil, "the NO carries [TRYCREATE]",
          { received = r.raw, expected = "tag NO [TRYCREATE] ..." })
      end
      local l = conn:imap('LIST "" ' .. missing)
      t:check(not imap.listed(l, missing), "the mailbox was not created", { level = "SHOULD", received = l and l.raw })
    end)
  end,
}

-- ---- EXPUNGE, CLOSE ----

case {
  id = "imap.expunge.responses",
  title = "EXPUNGE: one untagged EXPUNGE per removed message, numbered after each removal",
  rfc = "RFC 3501 7.4.1",
  level = "MUST",
  run = function(t)
    selected(t, plain(t, 5), function(conn)
      local uids = imap.uids(conn)
      t:expect(conn:imap("STORE 2,4:5 +FLAGS.SILENT (\\Deleted)"), "OK", "STORE \\Deleted on 2, 4, 5", { rfc = "RFC 3501 6.4.6" })
      -- 6.4.3: "Before returning an OK to the client, an untagged EXPUNGE response is sent for
      -- each message that is removed." 7.4.1: "The message sequence number for each successive
      -- message in the mailbox is immediately decremented by 1, and this decrement is reflected
      -- in message sequence numbers in subsequent responses (including other untagged EXPUNGE
      -- responses)."
      local r = conn:imap("EXPUNGE")
      t:expect(r, "OK", "EXPUNGE completes with OK", { rfc = "RFC 3501 6.4.3" })
      local n = #imap.untagged(r, "EXPUNGE")
      t:check(n == 3, "three untagged EXPUNGE responses", { rfc = "RFC 3501 6.4.3", received = r and r.raw, expected = "3" })
      local left, err = imap.apply_expunges(uids, r)
      t:check(left and list(left) == list({ uids[1], uids[3] }), "applied in order, they remove exactly messages 2, 4 and 5",
        { received = left and ("UIDs left " .. list(left)) or err, expected = "UIDs left " .. list({ uids[1], uids[3] }) })
      local now = imap.uids(conn)
      t:check(list(now) == list({ uids[1], uids[3] }), "FETCH afterwards agrees: two messages, 1 and 3 of before",
        { received = list(now), expected = list({ uids[1], uids[3] }) })
    end)
  end,
}

case {
  id = "imap.expunge.nothing-deleted",
  title = "EXPUNGE without \\Deleted messages removes nothing and sends no EXPUNGE",
  rfc = "RFC 3501 6.4.3",
  level = "MUST",
  run = function(t)
    selected(t, plain(t, 2), function(conn, box)
      -- "The EXPUNGE command permanently removes all messages that have the \Deleted flag set"
      local r = conn:imap("EXPUNGE")
      t:expect(r, "OK", "EXPUNGE completes with OK")
      t:check(#imap.untagged(r, "EXPUNGE") == 0, "no untagged EXPUNGE", { received = r and r.raw })
      t:check(#imap.uids(conn) == 2, "both messages remain", { received = tostring(#imap.uids(conn)) })
    end)
  end,
}

case {
  id = "imap.close.expunges",
  title = "CLOSE after SELECT removes \\Deleted messages silently and leaves the selected state",
  rfc = "RFC 3501 6.4.2",
  level = "MUST",
  run = function(t)
    selected(t, plain(t, 3), function(conn, box)
      t:expect(conn:imap("STORE 2 +FLAGS (\\Deleted)"), "OK", "STORE \\Deleted on message 2", { rfc = "RFC 3501 6.4.6" })
      -- "The CLOSE command permanently removes all messages that have the \Deleted flag set from
      -- the currently selected mailbox, and returns to the authenticated state from the selected
      -- state. No untagged EXPUNGE responses are sent."
      local r = conn:imap("CLOSE")
      t:expect(r, "OK", "CLOSE completes with OK")
      t:check(#imap.untagged(r, "EXPUNGE") == 0, "no untagged EXPUNGE", { received = r and r.raw })
      t:expect(conn:imap("CHECK"), { "BAD", "NO" }, "CHECK afterwards is refused: back in the authenticated state",
        { rfc = "RFC 3501 3" })
      t:check(messages(conn, box) == 2, "two messages remain", { received = tostring(messages(conn, box)), expected = "2" })
    end)
  end,
}

case {
  id = "imap.close.examine-keeps",
  title = "CLOSE after EXAMINE removes nothing and gives no error",
  rfc = "RFC 3501 6.4.2",
  level = "MUST",
  run = function(t)
    local conn = imap.session(t)
    imap.with_mailbox(t, conn, function(box)
      imap.populate(t, conn, box, 2, "\\Deleted")
      t:expect(imap.examine(conn, box), "OK", "EXAMINE of the mailbox", { rfc = "RFC 3501 6.3.2" })
      -- "No messages are removed, and no error is given, if the mailbox is selected by an EXAMINE
      -- command or is otherwise selected read-only."
      t:expect(conn:imap("CLOSE"), "OK", "CLOSE completes with OK")
      t:check(messages(conn, box) == 2, "both \\Deleted messages remain", { received = tostring(messages(conn, box)), expected = "2" })
    end)
    imap.logout(conn)
  end,
}

case {
  id = "imap.logout.no-expunge",
  title = "LOGOUT with a mailbox selected does not expunge \\Deleted messages",
  rfc = "RFC 3501 6.4.2",
  level = "MUST",
  run = function(t)
    local conn = imap.session(t)
    imap.with_mailbox(t, conn, function(box)
      imap.populate(t, conn, box, 2)
      local other = imap.session(t)
      t:expect(imap.select(other, box), "OK", "a second session selects the mailbox", { rfc = "RFC 3501 6.3.1" })
      t:expect(other:imap("STORE 1:2 +FLAGS (\\Deleted)"), "OK", "it marks both messages \\Deleted", { rfc = "RFC 3501 6.4.6" })
      -- "The SELECT, EXAMINE, and LOGOUT commands implicitly close the currently selected mailbox
      -- without doing an expunge."
      t:expect(imap.logout(other), "OK", "it logs out", { rfc = "RFC 3501 6.1.3" })
      t:check(messages(conn, box) == 2, "both messages remain", { received = tostring(messages(conn, box)), expected = "2" })
    end)
    imap.logout(conn)
  end,
}

-- ---- SEARCH ----

-- four messages: 1 \Seen, 2 \Flagged, 3 \Deleted \Seen, 4 \Answered
local function flagged_four(t)
  return function(conn, box)
    local out = {}
    for i, fl in ipairs({ "\\Seen", "\\Flagged", "\\Deleted \\Seen", "\\Answered" }) do
      out[i] = imap.populate(t, conn, box, { imap.test_message(t, { subject = "mailharness search " .. i }) }, fl)[1]
    end
    return out
  end
end

local function search(t, conn, keys, want, rfc)
  local r = conn:imap("SEARCH " .. keys)
  t:expect(r, "OK", "SEARCH " .. keys .. " completes with OK", { rfc = rfc })
  local got = imap.search(r)
  t:check(list(got) == list(want), "SEARCH " .. keys .. " finds " .. (#want > 0 and list(want) or "nothing"),
    { rfc = rfc, received = r and r.raw, expected = "* SEARCH " .. table.concat(want, " ") })
  return got, r
end

case {
  id = "imap.search.flags",
  title = "SEARCH ALL, SEEN, UNSEEN, FLAGGED, DELETED, ANSWERED and their UN- forms",
  rfc = "RFC 3501 6.4.4",
  level = "MUST",
  run = function(t)
    selected(t, flagged_four(t), function(conn)
      -- "ALL All messages in the mailbox" "SEEN Messages that have the \Seen flag set." "UNSEEN
      -- Messages that do not have the \Seen flag set." (and likewise FLAGGED, DELETED, ANSWERED)
      search(t, conn, "ALL", { 1, 2, 3, 4 })
      search(t, conn, "SEEN", { 1, 3 })
      search(t, conn, "UNSEEN", { 2, 4 })
      search(t, conn, "FLAGGED", { 2 })
      search(t, conn, "UNFLAGGED", { 1, 3, 4 })
      search(t, conn, "DELETED", { 3 })
      search(t, conn, "UNDELETED", { 1, 2, 4 })
      search(t, conn, "ANSWERED", { 4 })
      search(t, conn, "UNANSWERED", { 1, 2, 3 })
    end)
  end,
}

case {
  id = "imap.search.text-keys",
  title = "SEARCH FROM, TO, SUBJECT, HEADER, BODY, TEXT: case-insensitive substrings; empty result",
  rfc = "RFC 3501 6.4.4",
  level = "MUST",
  run = function(t)
    local m = t:random_hex(4)
    local msgs = {
      util.message { from = "Zed One <zed." .. m .. "@example.test>", to = "<first@example.test>",
        subject = "Alpha " .. m, headers = { "X-Mailharness-Kind: apple-" .. m }, body = "The walrus " .. m .. " sings.\n" },
      util.message { from = "<yan@example.test>", to = "Second <second." .. m .. "@example.test>",
        subject = "Beta " .. m, headers = { "X-Mailharness-Kind: pear-" .. m }, body = "Nothing to see.\n" },
    }
    selected(t, function(conn, box) return imap.populate(t, conn, box, msgs) end, function(conn)
      -- "In all search keys that use strings, a message matches the key if the string is a
      -- substring of the field. The matching is case-insensitive."
      search(t, conn, "FROM ZED." .. m:upper(), { 1 })
      search(t, conn, "TO second." .. m, { 2 })
      search(t, conn, "SUBJECT beta", { 2 })
      search(t, conn, "HEADER X-Mailharness-Kind APPLE-" .. m, { 1 })
      -- "If the string to search is zero-length, this matches all messages that have a header
      -- line with the specified field-name regardless of the contents."
      search(t, conn, 'HEADER X-Mailharness-Kind ""', { 1, 2 })
      search(t, conn, "BODY walrus", { 1 })
      -- "TEXT <string> Messages that contain the specified string in the header or body"
      search(t, conn, "TEXT pear-" .. m, { 2 })
      search(t, conn, "TEXT WALRUS", { 1 })
      -- "Responses: REQUIRED untagged response: SEARCH" also when nothing matches (6.4.4 example
      -- "S: * SEARCH")
      local _, r = search(t, conn, "SUBJECT mailharness-absent-" .. m, {})
      t:check(#imap.untagged(r, "SEARCH") == 1, "an empty result still comes as an untagged SEARCH",
        { received = r and r.raw, expected = "* SEARCH" })
    end)
  end,
}

case {
  id = "imap.search.logic",
  title = "SEARCH combines keys with AND, OR, NOT and parentheses",
  rfc = "RFC 3501 6.4.4",
  level = "MUST",
  run = function(t)
    selected(t, flagged_four(t), function(conn)
      -- "When multiple keys are specified, the result is the intersection (AND function) of all
      -- the messages that match those keys." "OR <search-key1> <search-key2> Messages that match
      -- either search key." "NOT <search-key> Messages that do not match the specified search
      -- key." "A search key can also be a parenthesized list of one or more search keys"
      search(t, conn, "SEEN DELETED", { 3 })
      search(t, conn, "OR FLAGGED ANSWERED", { 2, 4 })
      search(t, conn, "NOT SEEN", { 2, 4 })
      search(t, conn, "NOT (SEEN DELETED)", { 1, 2, 4 })
      search(t, conn, "OR (SEEN DELETED) FLAGGED", { 2, 3 })
      search(t, conn, "UNDELETED OR SEEN ANSWERED", { 1, 4 })
    end)
  end,
}

case {
  id = "imap.search.sets",
  title = "SEARCH by sequence sets (ranges either way, \"*\", lists) and by UID set",
  rfc = "RFC 3501 6.4.4",
  level = "MUST",
  run = function(t)
    selected(t, plain(t, 5), function(conn)
      local uids = imap.uids(conn)
      -- "<sequence set> Messages with message sequence numbers corresponding to the specified
      -- message sequence number set." 9: seq-range: "Example: 2:4 and 4:2 are equivalent and
      -- indicate values 2, 3, and 4." "*" "is the number of messages in a non-empty mailbox".
      search(t, conn, "2:4", { 2, 3, 4 })
      search(t, conn, "4:2", { 2, 3, 4 })
      search(t, conn, "1,3,5", { 1, 3, 5 })
      search(t, conn, "*", { 5 })
      search(t, conn, "4:*", { 4, 5 })
      search(t, conn, "1:2,5", { 1, 2, 5 })
      -- "UID <sequence set> Messages with unique identifiers corresponding to the specified unique
      -- identifier set."
      search(t, conn, "UID " .. uids[2] .. "," .. uids[4], { 2, 4 })
      search(t, conn, "UID " .. uids[4] .. ":*", { 4, 5 })
      search(t, conn, "2:4 UID " .. uids[3] .. ":" .. uids[5], { 3, 4 })
    end)
  end,
}

case {
  id = "imap.search.size-date",
  title = "SEARCH LARGER, SMALLER, SENTBEFORE, SENTON, SENTSINCE, BEFORE, SINCE",
  rfc = "RFC 3501 6.4.4",
  level = "MUST",
  run = function(t)
    local small = util.message { subject = "small", date = "Mon, 03 Feb 2020 12:00:00 +0000", body = "x\n" }
    local big = util.message { subject = "big", date = "Wed, 05 Feb 2020 12:00:00 +0000", body = string.rep("bulk line\n", 200) }
    selected(t, function(conn, box) return imap.populate(t, conn, box, { small, big }) end, function(conn)
      -- "LARGER <n> Messages with an [RFC-2822] size larger than the specified number of octets."
      -- "SMALLER <n> Messages with an [RFC-2822] size smaller than the specified number of octets."
      search(t, conn, "LARGER " .. #small, { 2 })
      search(t, conn, "SMALLER " .. #big, { 1 })
      search(t, conn, "LARGER " .. #big, {})
      -- "SENTBEFORE <date> Messages whose [RFC-2822] Date: header (disregarding time and timezone)
      -- is earlier than the specified date." SENTON "is within", SENTSINCE "is within or later"
      search(t, conn, "SENTBEFORE 4-Feb-2020", { 1 })
      search(t, conn, "SENTON 5-Feb-2020", { 2 })
      search(t, conn, "SENTSINCE 4-Feb-2020", { 2 })
      search(t, conn, "SENTSINCE 3-Feb-2020", { 1, 2 })
      -- "BEFORE <date> Messages whose internal date ... is earlier than the specified date."
      -- "SINCE <date> ... is within or later than the specified date." (appended just now)
      search(t, conn, "BEFORE 1-Jan-2000", {})
      search(t, conn, "SINCE 1-Jan-2000", { 1, 2 })
    end)
  end,
}

case {
  id = "imap.search.charset-utf8",
  title = "SEARCH CHARSET UTF-8 with an 8-bit literal finds an encoded-word subject, or gets NO",
  rfc = "RFC 3501 6.4.4",
  level = "MUST",
  run = function(t)
    local m = t:random_hex(4)
    local msg = util.message { subject = "=?UTF-8?Q?caf=C3=A9_" .. m .. "?=", body = "UTF-8 subject.\n" }
    selected(t, function(conn, box) return imap.populate(t, conn, box, { msg, (imap.test_message(t)) }) end, function(conn)
      -- "[MIME-IMB] content transfer encodings, and [MIME-HDRS] strings in [RFC-2822]/[MIME-IMB]
      -- headers, MUST be decoded before comparing text in a [CHARSET] other than US-ASCII.
      -- US-ASCII MUST be supported; other [CHARSET]s MAY be supported. If the server does not
      -- support the specified [CHARSET], it MUST return a tagged NO response (not a BAD)."
      local r, cont = imap.command_with_literal(conn, "SEARCH CHARSET UTF-8 SUBJECT", "caf\195\169 " .. m)
      t:expect(r, { "OK", "NO" }, "SEARCH CHARSET UTF-8 gets OK (supported) or NO (not supported)")
      if r and r.status == "OK" then
        t:expect(cont, "+", "the literal got a \"+\" continuation", { rfc = "RFC 3501 7.5" })
        t:check(list(imap.search(r)) == "1", "the decoded subject matches: * SEARCH 1",
          { received = r.raw, expected = "* SEARCH 1" })
      elseif r and r.status == "NO" then
        t:check(imap.tagged_code(r, "BADCHARSET") ~= nil, "the NO carries [BADCHARSET]",
          { level = "SHOULD", received = r.raw, expected = "tag NO [BADCHARSET ...] ..." })
      end
      -- US-ASCII MUST be supported
      search(t, conn, "CHARSET US-ASCII SUBJECT " .. m, { 1 })
    end)
  end,
}

case {
  id = "imap.search.charset-unknown",
  title = "SEARCH with an unknown CHARSET gets NO (not BAD), with [BADCHARSET]",
  rfc = "RFC 3501 6.4.4",
  level = "MUST",
  run = function(t)
    selected(t, plain(t, 1), function(conn)
      -- "If the server does not support the specified [CHARSET], it MUST return a tagged NO
      -- response (not a BAD). This response SHOULD contain the BADCHARSET response code, which
      -- MAY list the [CHARSET]s supported by the server."
      local r = conn:imap("SEARCH CHARSET X-MAILHARNESS-UNKNOWN ALL")
      t:expect(r, "NO", "SEARCH CHARSET X-MAILHARNESS-UNKNOWN gets NO")
      t:check(imap.tagged_code(r, "BADCHARSET") ~= nil, "the NO carries [BADCHARSET]",
        { level = "SHOULD", received = r and r.raw, expected = "tag NO [BADCHARSET ...] ..." })
    end)
  end,
}

-- ---- UID ----

case {
  id = "imap.uid.fetch",
  title = "UID FETCH addresses messages by UID and always returns the UID item",
  rfc = "RFC 3501 6.4.8",
  level = "MUST",
  run = function(t)
    selected(t, plain(t, 3), function(conn)
      local uids = imap.uids(conn)
      -- "server implementations MUST implicitly include the UID message data item as part of any
      -- FETCH response caused by a UID command, regardless of whether a UID was specified as a
      -- message data item to the FETCH." "The number after the "*" in an untagged FETCH response
      -- is always a message sequence number, not a unique identifier"
      local r = conn:imap("UID FETCH " .. uids[2] .. ":" .. uids[3] .. " (FLAGS)")
      t:expect(r, "OK", "UID FETCH completes with OK")
      local m = imap.fetch_map(r)
      t:check(m[2] and m[3] and not m[1], "the responses are for sequence numbers 2 and 3", { received = r and r.raw })
      t:check(m[2] and tonumber(m[2].UID) == uids[2] and m[3] and tonumber(m[3].UID) == uids[3],
        "each response carries its UID without being asked", { received = r and r.raw,
          expected = "* 2 FETCH (... UID " .. uids[2] .. " ...)" })
    end)
  end,
}

case {
  id = "imap.uid.store",
  title = "UID STORE changes the message with that UID; the FETCH response carries the UID",
  rfc = "RFC 3501 6.4.8",
  level = "MUST",
  run = function(t)
    selected(t, plain(t, 3), function(conn)
      local uids = imap.uids(conn)
      local r = conn:imap("UID STORE " .. uids[3] .. " +FLAGS (\\Flagged)")
      t:expect(r, "OK", "UID STORE completes with OK")
      -- "Note: The rule about including the UID message data item as part of a FETCH response
      -- primarily applies to the UID FETCH and UID STORE commands"
      local m = imap.fetch_map(r)
      if m[3] then
        t:check(tonumber(m[3].UID) == uids[3], "the untagged FETCH carries UID " .. uids[3], { received = r.raw })
      end
      local set = imap.search(conn:imap("SEARCH FLAGGED"))
      t:check(list(set) == "3", "only message 3 (UID " .. uids[3] .. ") is \\Flagged", { received = list(set), expected = "3" })
    end)
  end,
}

case {
  id = "imap.uid.search",
  title = "UID SEARCH returns UIDs, not sequence numbers",
  rfc = "RFC 3501 6.4.8",
  level = "MUST",
  run = function(t)
    selected(t, plain(t, 3), function(conn)
      local uids = imap.uids(conn)
      -- "the numbers returned in a SEARCH response for a UID SEARCH command are unique identifiers
      -- instead of message sequence numbers. For example, the command UID SEARCH 1:100 UID
      -- 443:557 returns the unique identifiers corresponding to the intersection of two sequence
      -- sets"
      local r = conn:imap("UID SEARCH ALL")
      t:expect(r, "OK", "UID SEARCH ALL completes with OK")
      t:check(list(imap.search(r)) == list(uids), "UID SEARCH ALL returns the three UIDs", { received = r and r.raw, expected = list(uids) })
      local r2 = conn:imap("UID SEARCH 2:3 UID " .. uids[1] .. ":" .. uids[2])
      t:check(list(imap.search(r2)) == tostring(uids[2]), "UID SEARCH 2:3 UID <u1>:<u2> returns UID " .. uids[2],
        { received = r2 and r2.raw, expected = "* SEARCH " .. uids[2] })
    end)
  end,
}

case {
  id = "imap.uid.copy",
  title = "UID COPY copies the message with that UID",
  rfc = "RFC 3501 6.4.8",
  level = "MUST",
  run = function(t)
    selected(t, function(conn, box)
      local msgs = imap.populate(t, conn, box, 3)
      t:expect(conn:imap("CREATE " .. box .. "-dest"), "OK", "CREATE the destination", { rfc = "RFC 3501 6.3.3" })
      return msgs
    end, function(conn, box, msgs)
      local uids = imap.uids(conn)
      t:expect(conn:imap("UID COPY " .. uids[2] .. " " .. box .. "-dest"), "OK", "UID COPY completes with OK")
      t:expect(imap.examine(conn, box .. "-dest"), "OK", "EXAMINE the destination", { rfc = "RFC 3501 6.3.2" })
      local f = imap.fetch_map(imap.fetch(conn, "1:*", "(BODY.PEEK[])"))
      t:check(f[1] and f[1]["BODY[]"] == msgs[2] and not f[2], "the destination holds exactly message 2",
        { received = f[1] and f[1]["BODY[]"], expected = msgs[2] })
    end)
  end,
}

case {
  id = "imap.uid.nonexistent",
  title = "UID FETCH, STORE and COPY of UIDs that do not exist succeed without data",
  rfc = "RFC 3501 6.4.8",
  level = "MUST",
  run = function(t)
    selected(t, function(conn, box)
      local msgs = imap.populate(t, conn, box, 2)
      t:expect(conn:imap("CREATE " .. box .. "-dest"), "OK", "CREATE the destination", { rfc = "RFC 3501 6.3.3" })
      return msgs
    end, function(conn, box, msgs, s)
      local next = tonumber(imap.resp_code(s, "UIDNEXT")) or 1000
      local gone = (next + 100) .. ":" .. (next + 200)
      -- "A non-existent unique identifier is ignored without any error message generated. Thus,
      -- it is possible for a UID FETCH command to return an OK without any data or a UID COPY or
      -- UID STORE to return an OK without performing any operations."
      local f = conn:imap("UID FETCH " .. gone .. " (FLAGS)")
      t:expect(f, "OK", "UID FETCH of absent UIDs completes with OK")
      t:check(#imap.fetches(f) == 0, "and returns no FETCH data", { received = f and f.raw })
      t:expect(conn:imap("UID STORE " .. gone .. " +FLAGS (\\Flagged)"), "OK", "UID STORE of absent UIDs completes with OK")
      t:check(#imap.search(conn:imap("SEARCH FLAGGED")) == 0, "no message was flagged")
      t:expect(conn:imap("UID COPY " .. gone .. " " .. box .. "-dest"), "OK", "UID COPY of absent UIDs completes with OK")
      t:check(messages(conn, box .. "-dest") == 0, "nothing was copied", { received = tostring(messages(conn, box .. "-dest")) })
    end)
  end,
}

case {
  id = "imap.uid.star-range",
  title = "A UID range n:* with n above every UID still includes the last message",
  rfc = "RFC 3501 6.4.8",
  level = "MUST",
  run = function(t)
    selected(t, plain(t, 2), function(conn, box, msgs, s)
      local uids = imap.uids(conn)
      local high = (tonumber(imap.resp_code(s, "UIDNEXT")) or uids[2]) + 100
      -- "Also note that a UID range of 559:* always includes the UID of the last message in the
      -- mailbox, even if 559 is higher than any assigned UID value."
      local r = conn:imap("UID FETCH " .. high .. ":* (UID)")
      t:expect(r, "OK", "UID FETCH " .. high .. ":* completes with OK")
      local m = imap.fetch_map(r)
      t:check(m[2] and tonumber(m[2].UID) == uids[2] and not m[1], "it returns the last message (2) only",
        { received = r and r.raw, expected = "* 2 FETCH (UID " .. uids[2] .. ")" })
    end)
  end,
}

case {
  id = "imap.uid.unknown-subcommand",
  title = "UID with an unknown command gets BAD",
  rfc = "RFC 3501 6.4.8",
  level = "MUST",
  run = function(t)
    selected(t, plain(t, 1), function(conn)
      -- 6.4.8 "BAD - command unknown or arguments invalid"; 9: uid = "UID" SP (copy / fetch /
      -- search / store)
      t:expect(conn:imap("UID MAILHARNESS 1"), "BAD", "UID MAILHARNESS 1 gets BAD")
      t:expect(conn:imap("NOOP"), "OK", "the session goes on", { rfc = "RFC 3501 6.1.2" })
    end)
  end,
}

case {
  id = "imap.uid.ascending",
  title = "UIDs ascend with sequence numbers; a new message gets a UID above all, also expunged ones",
  rfc = "RFC 3501 2.3.1.1",
  level = "MUST",
  run = function(t)
    selected(t, plain(t, 3), function(conn, box)
      local uids = imap.uids(conn)
      -- "Unique identifiers are assigned in a strictly ascending fashion in the mailbox; as each
      -- message is added to the mailbox it is assigned a higher UID than the message(s) which
      -- were added previously." 2.3.1.2: "This position MUST be ordered by ascending unique
      -- identifier."
      t:check(#uids == 3 and uids[1] < uids[2] and uids[2] < uids[3], "UIDs ascend with the sequence numbers",
        { received = list(uids) })
      t:expect(conn:imap("STORE 3 +FLAGS.SILENT (\\Deleted)"), "OK", "STORE \\Deleted on the last message", { rfc = "RFC 3501 6.4.6" })
      t:expect(conn:imap("EXPUNGE"), "OK", "EXPUNGE", { rfc = "RFC 3501 6.4.3" })
      imap.populate(t, conn, box, 1)
      conn:imap("NOOP")
      local n = imap.uids(conn)
      t:check(#n == 3 and n[3] > uids[3], "the new message's UID is above the expunged one's",
        { received = list(n), expected = "third UID > " .. tostring(uids[3]) })
    end)
  end,
}

case {
  id = "imap.uid.uidnext",
  title = "UIDNEXT changes when a message is added and not when flags change",
  rfc = "RFC 3501 2.3.1.1",
  level = "MUST",
  run = function(t)
    local conn = imap.session(t)
    imap.with_mailbox(t, conn, function(box)
      local function uidnext()
        return (imap.status(conn:imap("STATUS " .. box .. " (UIDNEXT)")) or {}).UIDNEXT
      end
      imap.populate(t, conn, box, 1)
      local u1 = uidnext()
      -- "First, the next unique identifier value MUST NOT change unless new messages are added to
      -- the mailbox; and second, the next unique identifier value MUST change whenever new
      -- messages are added to the mailbox, even if those new messages are subsequently expunged."
      t:expect(imap.select(conn, box), "OK", "SELECT", { rfc = "RFC 3501 6.3.1" })
      t:expect(conn:imap("STORE 1 +FLAGS (\\Flagged)"), "OK", "STORE \\Flagged", { rfc = "RFC 3501 6.4.6" })
      t:expect(conn:imap("CLOSE"), "OK", "CLOSE", { rfc = "RFC 3501 6.4.2" })
      local u2 = uidnext()
      t:check(u1 ~= nil and u1 == u2, "UIDNEXT unchanged by a flag change", { received = tostring(u2), expected = tostring(u1) })
      imap.populate(t, conn, box, 1)
      local u3 = uidnext()
      t:check(u3 ~= nil and u2 ~= nil and u3 > u2, "UIDNEXT grew when a message was added", { received = tostring(u3), expected = "> " .. tostring(u2) })
    end)
    imap.logout(conn)
  end,
}

case {
  id = "imap.uid.recreated-mailbox",
  title = "A mailbox deleted and created again reuses no UID unless UIDVALIDITY changed",
  rfc = "RFC 3501 6.3.3",
  level = "MUST",
  run = function(t)
    local conn = imap.session(t)
    imap.with_mailbox(t, conn, function(box)
      local name = box .. "-again"
      local function state()
        local s = imap.select(conn, name)
        local uids = imap.uids(conn)
        local v = imap.resp_code(s, "UIDVALIDITY")
        conn:imap("CLOSE")
        return v, uids[#uids]
      end
      t:expect(conn:imap("CREATE " .. name), "OK", "CREATE " .. name)
      imap.populate(t, conn, name, 2)
      local v1, last1 = state()
      t:expect(conn:imap("DELETE " .. name), "OK", "DELETE " .. name, { rfc = "RFC 3501 6.3.4" })
      t:expect(conn:imap("CREATE " .. name), "OK", "CREATE " .. name .. " again")
      imap.populate(t, conn, name, 1)
      local v2, first2 = state()
      -- "If a new mailbox is created with the same name as a mailbox which was deleted, its unique
      -- identifiers MUST be greater than any unique identifiers used in the previous incarnation
      -- of the mailbox UNLESS the new incarnation has a different unique identifier validity
      -- value."
      t:check(v1 ~= nil and v2 ~= nil and (v1 ~= v2 or (first2 and last1 and first2 > last1)),
        "a new UIDVALIDITY, or UIDs above the old ones",
        { received = "UIDVALIDITY " .. tostring(v1) .. " -> " .. tostring(v2) .. ", UID " .. tostring(last1) .. " -> " .. tostring(first2) })
    end)
    imap.logout(conn)
  end,
}
