case { id = "bad.type", title = "profiles is not a list of names", rfc = "RFC 5321 4.1.1.1",
       level = "MUST", proto = "smtp", profiles = { 1 }, run = function(t) end }
