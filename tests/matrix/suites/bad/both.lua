case { id = "bad.both", title = "profile and profiles", rfc = "RFC 5321 4.1.1.1",
       level = "MUST", proto = "smtp", profile = "mx", profiles = { "submission" },
       run = function(t) end }
