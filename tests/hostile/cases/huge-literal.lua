-- huge-literal: CAPABILITY answered by "* 1 FETCH (BODY[] {4294967295}" and data; the harness
-- refuses the literal at its reply cap (ERROR).
-- Served by tests/hostile/hostile_server.c --mode huge-literal; see tests/hostile/run_hostile.sh.
case {
  id = "hostile.huge_literal",
  title = "a literal announced as 4294967295 octets",
  rfc = "RFC 3501 4.3",
  level = "MUST",
  proto = "imap",
  run = function(t)
    local c = t:connect() -- reads the greeting
    -- a failed read ends the case: the script cannot go on (ERROR, docs/SCRIPTING.md)
    t:expect(assert(c:imap("CAPABILITY")), "OK", "CAPABILITY completes")
    t:expect(assert(c:imap("LOGOUT")), "OK", "LOGOUT completes")
    c:close()
  end,
}
