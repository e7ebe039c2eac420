-- lying-literal-small: "{10}" followed by 3 octets, then silence; the harness times out (ERROR).
-- Served by tests/hostile/hostile_server.c --mode lying-literal-small; see
-- tests/hostile/run_hostile.sh.
case {
  id = "hostile.lying_literal_small",
  title = "a literal that promises 10 octets and sends 3",
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
