-- A suite file with a Lua syntax error: loading it must fail with a message naming the file.
case {
  id = "it.broken",
  title = "never loads"
  rfc = "RFC 5321 4.2",
}
