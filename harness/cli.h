/* cli.h: command-line front-ends that live in mh_core (cli_*.c) and print to stdout/stderr,
   registered in main.c's command table. Each takes argv with argv[0] = the command name and
   returns the process exit status (0 ok, 1 conformance failures, 2 usage or infrastructure error,
   3 a crash, hang, disconnect or violation reproduced). */
#ifndef MH_CLI_H
#define MH_CLI_H

#include <stdbool.h>
#include <stddef.h>

/* mailharness replay FILE --target URL [...] | replay FILE --to-lua */
int mh_cli_replay(int argc, char **argv);
/* mailharness minimize FILE --target URL --oracle hang|disconnect|violation|crash [-o OUT] */
int mh_cli_minimize(int argc, char **argv);

/* mailharness fuzz --target URL --out DIR [...] (cli_fuzz.c): 0, 3 a crash or hang found, 2 */
int mh_cli_fuzz(int argc, char **argv);

/* mailharness compare [--markdown] [--only-differences] A.json [B.json ...] (cli_compare.c) */
int mh_cli_compare(int argc, char **argv);
struct mh_spec;
/* The coverage matrix of spec with the cases of the given JSON reports (none: allowed / refused
   only), text or Markdown, on stdout; `spec PROTO --matrix` (cli_spec.c). Returns 0, or 2 when a
   report cannot be read (message on stderr). */
int mh_cli_spec_matrix(const struct mh_spec *spec, const char *const *reports, size_t nreports,
                       bool markdown);

/* Shared by the cli_*.c front-ends. Where scripts/ and specs/ are, as main.c finds them:
   $MAILHARNESS_DATADIR, <exe>/../share/mailharness, the source tree, the configured path.
   Returns a static string. */
const char *mh_cli_datadir(void);
/* The password from file (first line), or from $MAILHARNESS_PASSWORD when file is NULL. A new
   string (free it), or NULL: none given (*failed_r false) or the file is unreadable (*failed_r
   true, message on stderr). */
char *mh_cli_read_password(const char *file, bool *failed_r);
/* cmd with every "{port}" replaced by port (the --exec commands of fuzz, replay, minimize). A
   new string (free it). */
char *mh_cli_port_subst(const char *cmd, int port);

#endif
