-- Golden: every script runs protected with a time and a memory limit (STYLE rule 15). Each
-- runaway script is an ERROR of its own case; the run goes on.
case {
  id = "smtp.golden.limits.endless_loop",
  title = "an endless loop hits the time limit",
  rfc = "RFC 5321 4.3.1",
  level = "MUST",
  proto = "smtp",
  run = function(t)
    while true do end
  end,
}

case {
  id = "smtp.golden.limits.pcall_loop",
  title = "swallowing the time limit error with pcall does not help",
  rfc = "RFC 5321 4.3.1",
  level = "MUST",
  proto = "smtp",
  run = function(t)
    while true do
      pcall(function() while true do end end)
    end
  end,
}

case {
  id = "smtp.golden.limits.memory",
  title = "a memory bomb hits the memory limit",
  rfc = "RFC 5321 4.3.1",
  level = "MUST",
  proto = "smtp",
  run = function(t)
    local keep, s = {}, string.rep("x", 1024 * 1024)
    for i = 1, 100000 do
      keep[i] = s .. i -- a fresh 1 MiB string each time
    end
  end,
}

case {
  id = "smtp.golden.limits.after",
  title = "the next case still runs",
  rfc = "RFC 5321 4.3.2",
  level = "MUST",
  proto = "smtp",
  run = function(t)
    local c = t:connect()
    t:expect(c:cmd("EHLO golden.test"), "250", "EHLO is accepted")
    t:expect(c:cmd("QUIT"), "221", "QUIT is answered with 221")
    c:close()
  end,
}
