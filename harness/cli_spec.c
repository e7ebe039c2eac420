/* cli_spec.c: `mailharness spec PROTO --matrix [--report R.json ...] [--markdown]`: the state x
   command coverage matrix of a spec (matrix.c), with the cases of the reports that covered each
   cell. main.c's cmd_spec parses the options and loads the spec, then calls this. */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "matrix.h"
#include "report_read.h"

int mh_cli_spec_matrix(const struct mh_spec *spec, const char *const *reports, size_t nreports,
                       bool markdown)
{
	struct mh_matrix_view v;
	mh_matrix_view_init(&v, spec);
	const char *proto = mh_proto_name(spec->proto);
	int status = 0;
	for (size_t i = 0; i < nreports && status == 0; i++) {
		struct mh_report_read r;
		struct mh_error err;
		mh_error_init(&err);
		if (mh_report_read_file(reports[i], &r, &err) != 0) {
			fprintf(stderr, "mailharness spec: %s\n", err.msg);
			status = 2;
		} else {
			mh_matrix_view_add_source(&v, reports[i]);
			for (size_t k = 0; k < r.ncells; k++)
				if (strcmp(r.cells[k].protocol, proto) == 0)
					mh_matrix_view_add(&v, r.cells[k].state, r.cells[k].command,
					                   (const char *const *)r.cells[k].cases,
					                   r.cells[k].ncases);
		}
		mh_report_read_deinit(&r);
	}
	if (status == 0) {
		struct mh_buf out;
		mh_buf_init(&out);
		mh_matrix_view_render(&v, markdown, &out);
		fwrite(out.data, 1, out.len, stdout);
		mh_buf_deinit(&out);
	}
	mh_matrix_view_deinit(&v);
	return status;
}
