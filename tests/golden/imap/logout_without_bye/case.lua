-- Golden: LOGOUT completes OK but the untagged BYE is missing. The spec table's LOGOUT outcome
-- requires BYE (RFC 3501 6.1.3).
case {
  id = "imap.golden.logout_without_bye",
  title = "LOGOUT sends an untagged BYE before the tagged OK",
  rfc = "RFC 3501 6.1.3",
  level = "MUST",
  proto = "imap",
  run = function(t)
    local c = t:connect()
    assert(c:imap("LOGOUT")) -- judged by the engine
    c:close()
  end,
}
