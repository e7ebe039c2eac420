/* mutate_dict.c: what the mutator inserts: per-command argument templates (from the specs' syntax
   fields), built-in protocol tokens, and the AFL-format dictionary loader. */
#include "mutate_int.h"

#include <stdlib.h>
#include <string.h>

/* Template text: the command line without tag and CRLF; '\x1f' separates further client lines
   sent as their own writes (a literal's bytes, a SASL response, a message body, "DONE"). Each
   line gets CRLF; IMAP puts a fresh tag before the first. Several rows per command are
   variants. Credentials use the dialogue placeholders (dialogue.h) so real logins can work. */
struct mut_template {
	const char *cmd;
	const char *text;
};

static const struct mut_template smtp_templates[] = {
    {"EHLO", "EHLO fuzz.example"},
    {"EHLO", "EHLO [127.0.0.1]"},
    {"HELO", "HELO fuzz.example"},
    {"MAIL", "MAIL FROM:<fuzz@fuzz.example>"},
    {"MAIL", "MAIL FROM:<>"},
    {"MAIL", "MAIL FROM:<a@b> SIZE=100 BODY=8BITMIME"},
    {"RCPT", "RCPT TO:<postmaster>"},
    {"RCPT", "RCPT TO:<a@b>"},
    {"RCPT", "RCPT TO:<postmaster@localhost> NOTIFY=NEVER"},
    {"DATA", "DATA\x1fSubject: fuzz\r\n\r\nbody\r\n."},
    {"DATA", "DATA\x1f."},
    {"BDAT", "BDAT 6 LAST\x1f"
             "fuzz"},
    {"BDAT", "BDAT 0 LAST"},
    {"BDAT", "BDAT 4\x1f"
             "ab\x1f"
             "BDAT 0 LAST"},
    {"RSET", "RSET"},
    {"VRFY", "VRFY postmaster"},
    {"EXPN", "EXPN postmaster"},
    {"HELP", "HELP"},
    {"HELP", "HELP MAIL"},
    {"NOOP", "NOOP"},
    {"NOOP", "NOOP fuzz"},
    {"QUIT", "QUIT"},
    {"STARTTLS", "STARTTLS"},
    {"AUTH", "AUTH PLAIN ${SASL_PLAIN}"},
    {"AUTH", "AUTH PLAIN\x1f${SASL_PLAIN}"},
    {"AUTH", "AUTH LOGIN\x1f"
             "ZnV6eg==\x1f${PASSWORD_B64}"},
    {"AUTH", "AUTH CRAM-MD5\x1f*"},
};

static const struct mut_template imap_templates[] = {
    {"CAPABILITY", "CAPABILITY"},
    {"NOOP", "NOOP"},
    {"LOGOUT", "LOGOUT"},
    {"ID", "ID NIL"},
    {"ID", "ID (\"name\" \"fuzz\" \"version\" \"1\")"},
    {"STARTTLS", "STARTTLS"},
    {"AUTHENTICATE", "AUTHENTICATE PLAIN\x1f${SASL_PLAIN}"},
    {"AUTHENTICATE", "AUTHENTICATE PLAIN ${SASL_PLAIN}"},
    {"AUTHENTICATE", "AUTHENTICATE LOGIN\x1f"
                     "ZnV6eg==\x1f*"},
    {"LOGIN", "LOGIN ${USER} ${PASSWORD}"},
    {"LOGIN", "LOGIN \"fuzz\" {4}\x1f"
              "fuzz"},
    {"ENABLE", "ENABLE CONDSTORE"},
    {"ENABLE", "ENABLE UTF8=ACCEPT IMAP4rev2 QRESYNC"},
    {"SELECT", "SELECT INBOX"},
    {"SELECT", "SELECT INBOX (CONDSTORE)"},
    {"EXAMINE", "EXAMINE INBOX"},
    {"CREATE", "CREATE fuzz"},
    {"DELETE", "DELETE fuzz"},
    {"RENAME", "RENAME fuzz fuzz2"},
    {"SUBSCRIBE", "SUBSCRIBE INBOX"},
    {"UNSUBSCRIBE", "UNSUBSCRIBE INBOX"},
    {"LIST", "LIST \"\" \"*\""},
    {"LIST", "LIST \"\" %"},
    {"LSUB", "LSUB \"\" \"*\""},
    {"STATUS", "STATUS INBOX (MESSAGES UIDNEXT UIDVALIDITY UNSEEN)"},
    {"APPEND", "APPEND INBOX {24}\x1fSubject: fuzz\r\n\r\nbody\r\n"},
    {"APPEND", "APPEND INBOX (\\Seen) {4+}\r\nbody"},
    {"IDLE", "IDLE\x1f"
             "DONE"},
    {"NAMESPACE", "NAMESPACE"},
    {"CHECK", "CHECK"},
    {"CLOSE", "CLOSE"},
    {"UNSELECT", "UNSELECT"},
    {"EXPUNGE", "EXPUNGE"},
    {"SEARCH", "SEARCH ALL"},
    {"SEARCH", "SEARCH CHARSET UTF-8 SUBJECT fuzz"},
    {"FETCH", "FETCH 1:* (FLAGS)"},
    {"FETCH", "FETCH 1 BODY.PEEK[HEADER.FIELDS (SUBJECT)]"},
    {"STORE", "STORE 1 +FLAGS (\\Seen)"},
    {"COPY", "COPY 1 INBOX"},
    {"MOVE", "MOVE 1 INBOX"},
    {"UID", "UID FETCH 1:* (UID FLAGS)"},
    {"UID", "UID STORE 1 -FLAGS.SILENT (\\Deleted)"},
    {"UID", "UID COPY 1:* INBOX"},
    {"UID", "UID SEARCH ALL"},
    {"UID", "UID EXPUNGE 1"},
    {"UID", "UID MOVE 1 INBOX"},
};

static const struct mut_template pop3_templates[] = {
    {"USER", "USER ${USER}"},
    {"USER", "USER fuzz"},
    {"PASS", "PASS ${PASSWORD}"},
    {"APOP", "APOP fuzz c4c9334bac560ecc979e58001b3e22fb"},
    {"AUTH", "AUTH PLAIN\x1f${SASL_PLAIN}"},
    {"AUTH", "AUTH PLAIN ${SASL_PLAIN}"},
    {"AUTH", "AUTH"},
    {"STLS", "STLS"},
    {"CAPA", "CAPA"},
    {"STAT", "STAT"},
    {"LIST", "LIST"},
    {"LIST", "LIST 1"},
    {"RETR", "RETR 1"},
    {"DELE", "DELE 1"},
    {"NOOP", "NOOP"},
    {"RSET", "RSET"},
    {"TOP", "TOP 1 0"},
    {"UIDL", "UIDL"},
    {"UIDL", "UIDL 1"},
    {"QUIT", "QUIT"},
};

static const struct {
	const struct mut_template *t;
	size_t n;
} templates[MH_PROTO_COUNT] = {
    [MH_PROTO_SMTP] = {smtp_templates, MH_ARRAY_SIZE(smtp_templates)},
    [MH_PROTO_IMAP] = {imap_templates, MH_ARRAY_SIZE(imap_templates)},
    [MH_PROTO_POP3] = {pop3_templates, MH_ARRAY_SIZE(pop3_templates)},
};
_Static_assert(MH_ARRAY_SIZE(templates) == MH_PROTO_COUNT, "a template table per protocol");

const char *mut_template_for(enum mh_proto_id proto, const char *cmd, struct mh_rng *r)
{
	const struct mut_template *t = templates[proto].t;
	size_t n = templates[proto].n, first = n, count = 0;
	for (size_t i = 0; i < n; i++) {
		if (!mh_strcaseeq(t[i].cmd, cmd))
			continue;
		if (count == 0)
			first = i;
		count++;
	}
	return count == 0 ? NULL : t[first + mh_rng_below(r, count)].text;
}

const char *mut_template_pick(struct mh_mutator *m, struct mh_rng *r, const char **cmd_r)
{
	if (m->nguide > 0) {
		/* a state, then a command whose rules include it */
		size_t g = mh_rng_below(r, m->nguide);
		int c = m->guide_cmd[m->guide_off[g] + mh_rng_below(r, m->guide_n[g])];
		const char *name = m->spec->commands[c].name;
		const char *text = mut_template_for(m->proto, name, r);
		*cmd_r = name;
		return text != NULL ? text : name;
	}
	const struct mut_template *t =
	    &templates[m->proto].t[mh_rng_below(r, templates[m->proto].n)];
	*cmd_r = t->cmd;
	return t->text;
}

/* ---- tokens ---- */

static const char *const smtp_tokens[] = {
    "EHLO",
    "HELO",
    "MAIL FROM:",
    "RCPT TO:",
    "<>",
    "<postmaster>",
    "DATA",
    "BDAT",
    "LAST",
    "AUTH",
    "PLAIN",
    "LOGIN",
    "CRAM-MD5",
    "XOAUTH2",
    "STARTTLS",
    "SIZE=",
    "BODY=8BITMIME",
    "BODY=BINARYMIME",
    "SMTPUTF8",
    "NOTIFY=SUCCESS,FAILURE",
    "ORCPT=rfc822;a@b",
    "RET=HDRS",
    "ENVID=",
    "AUTH=<>",
    "\r\n.\r\n",
    "\r\n",
    "@",
    "[127.0.0.1]",
    "[IPv6:::1]",
    "%",
    ":",
    ",",
    "\"",
    "\\",
    "RSET",
    "QUIT",
    "VRFY",
    "EXPN",
    "=",
    "*",
};
static const char *const imap_tokens[] = {
    "INBOX",
    "BODY[]",
    "BODY.PEEK[HEADER.FIELDS (FROM)]",
    "(FLAGS)",
    "\\Seen",
    "\\Deleted",
    "UID",
    "1:*",
    "*",
    "NIL",
    "{0}",
    "{1+}",
    "~{1}",
    "CHARSET",
    "UTF-8",
    "RFC822",
    "ENVELOPE",
    "BODYSTRUCTURE",
    "BINARY[1]",
    "MODSEQ",
    "CONDSTORE",
    "QRESYNC",
    "(UIDNEXT MESSAGES)",
    "\"\"",
    "\"*\"",
    "%",
    "()",
    "(",
    ")",
    "[",
    "]",
    "<0.1>",
    "+FLAGS",
    "-FLAGS.SILENT",
    "DONE",
    "LITERAL+",
};
static const char *const pop3_tokens[] = {
    "1",     "0", "-1", "USER", "PASS", "TOP",  "UIDL", "CAPA", "STLS",       "SASL",
    "PLAIN", "=", "*",  "RETR", "DELE", "LIST", "STAT", "APOP", "<1.2@fuzz>",
};

static void dict_add(struct mh_mutator *m, const void *p, size_t n)
{
	if (m->ndict == m->dictcap) {
		m->dictcap = m->dictcap ? m->dictcap * 2 : 64;
		m->dict = mh_realloc(m->dict, m->dictcap * sizeof(*m->dict));
	}
	m->dict[m->ndict].data = mh_malloc(n > 0 ? n : 1);
	memcpy(m->dict[m->ndict].data, p, n);
	m->dict[m->ndict].len = n;
	m->ndict++;
}

void mut_dict_builtin(struct mh_mutator *m)
{
	static const struct {
		const char *const *t;
		size_t n;
	} lists[MH_PROTO_COUNT] = {
	    [MH_PROTO_SMTP] = {smtp_tokens, MH_ARRAY_SIZE(smtp_tokens)},
	    [MH_PROTO_IMAP] = {imap_tokens, MH_ARRAY_SIZE(imap_tokens)},
	    [MH_PROTO_POP3] = {pop3_tokens, MH_ARRAY_SIZE(pop3_tokens)},
	};
	for (size_t i = 0; i < lists[m->proto].n; i++)
		dict_add(m, lists[m->proto].t[i], strlen(lists[m->proto].t[i]));
	const struct mh_spec *s = m->spec;
	if (s != NULL && s->proto == m->proto)
		for (size_t c = 0; c < s->ncommands; c++) {
			if (!s->commands[c].pseudo)
				dict_add(m, s->commands[c].name, strlen(s->commands[c].name));
			if (s->commands[c].capability != NULL)
				dict_add(m, s->commands[c].capability,
				         strlen(s->commands[c].capability));
		}
	m->nbuiltin = m->ndict;
}

void mut_dict_free(struct mh_mutator *m)
{
	for (size_t i = 0; i < m->ndict; i++)
		free(m->dict[i].data);
	free(m->dict);
	m->dict = NULL;
	m->ndict = m->dictcap = 0;
}

#define DICT_MAX_TOKENS 65536
#define DICT_MAX_TOKEN  4096

static int hexval(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* One dictionary line: [name[@level]=]"value" with \\ \" \xNN escapes; trailing blanks ok. */
static int dict_line(struct mh_mutator *m, const unsigned char *p, size_t n, struct mh_buf *val,
                     const char **why)
{
	size_t i = 0;
	while (i < n && p[i] != '"' && p[i] != '=') {
		if (!((p[i] >= 'A' && p[i] <= 'Z') || (p[i] >= 'a' && p[i] <= 'z') ||
		      (p[i] >= '0' && p[i] <= '9') || p[i] == '_' || p[i] == '@' || p[i] == '-')) {
			*why = "bad character in the name (want name=\"value\")";
			return -1;
		}
		i++;
	}
	if (i < n && p[i] == '=')
		i++;
	if (i >= n || p[i] != '"') {
		*why = "missing opening quote";
		return -1;
	}
	i++;
	mh_buf_reset(val);
	for (;; i++) {
		if (i >= n) {
			*why = "missing closing quote";
			return -1;
		}
		unsigned char c = p[i];
		if (c == '"')
			break;
		if (c < 0x20 || c >= 0x7f) {
			*why = "non-printable byte (write it as \\xNN)";
			return -1;
		}
		if (c == '\\') {
			if (i + 1 < n && (p[i + 1] == '\\' || p[i + 1] == '"')) {
				c = p[++i];
			} else if (i + 3 < n && p[i + 1] == 'x' && hexval(p[i + 2]) >= 0 &&
			           hexval(p[i + 3]) >= 0) {
				c = (unsigned char)(hexval(p[i + 2]) * 16 + hexval(p[i + 3]));
				i += 3;
			} else {
				*why = "bad escape (want \\\\, \\\" or \\xNN)";
				return -1;
			}
		}
		mh_buf_append(val, &c, 1);
		if (val->len > DICT_MAX_TOKEN) {
			*why = "value longer than 4096 bytes";
			return -1;
		}
	}
	for (i++; i < n; i++)
		if (p[i] != ' ' && p[i] != '\t' && p[i] != '\r') {
			*why = "text after the closing quote";
			return -1;
		}
	if (val->len == 0) {
		*why = "empty value";
		return -1;
	}
	if (m->ndict >= DICT_MAX_TOKENS) {
		*why = "more than 65536 tokens";
		return -1;
	}
	dict_add(m, val->data, val->len);
	return 0;
}

int mut_dict_parse(struct mh_mutator *m, const char *text, size_t len, const char *name,
                   struct mh_error *err)
{
	const unsigned char *p = (const unsigned char *)text;
	struct mh_buf val;
	mh_buf_init(&val);
	size_t lineno = 0, i = 0;
	int rc = 0;
	while (i < len && rc == 0) {
		const unsigned char *nl = memchr(p + i, '\n', len - i);
		size_t end = nl != NULL ? (size_t)(nl - p) : len;
		lineno++;
		size_t s = i;
		while (s < end && (p[s] == ' ' || p[s] == '\t'))
			s++;
		if (s < end && p[s] != '#' && !(end - s == 1 && p[s] == '\r')) {
			const char *why = NULL;
			if (dict_line(m, p + s, end - s, &val, &why) != 0) {
				mh_error_set(err, "%s:%zu: %s", name, lineno, why);
				rc = -1;
			}
		}
		i = end + 1;
	}
	mh_buf_deinit(&val);
	return rc;
}
