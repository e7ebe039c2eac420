case { id = "bad.pop3", title = "POP3 has no profiles", rfc = "RFC 1939 3", level = "MUST",
       proto = "pop3", profiles = { "mx" }, run = function(t) end }
