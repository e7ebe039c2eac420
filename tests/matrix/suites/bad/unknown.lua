case { id = "bad.unknown", title = "an IMAP profile on an SMTP case", rfc = "RFC 5321 4.1.1.1",
       level = "MUST", proto = "smtp", profile = "rev2", run = function(t) end }
