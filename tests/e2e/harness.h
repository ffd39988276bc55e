/* End-to-end harness: real programs run under `agentguard run` against
 * throwaway trees. The trees live away from every temp directory the
 * default policy allows, and HOME and TMPDIR point into them, so "outside
 * the workspace" really is outside. The test runner itself is never
 * preloaded: every guarded program is a child started through the launcher. */
#ifndef AGT_HARNESS_H
#define AGT_HARNESS_H

#include <jansson.h>
#include <limits.h>
#include <stdbool.h>
#include <stddef.h>

struct agt {
	char root[PATH_MAX]; /* this test's tree; removed by agt_teardown */
	char home[PATH_MAX]; /* HOME for guarded programs */
	char ws[PATH_MAX];   /* the workspace (a git repository), also the cwd */
	char out[PATH_MAX];  /* an outside directory: not workspace, not temp, not home */
	char tmp[PATH_MAX];  /* TMPDIR for guarded programs */
	char log[PATH_MAX];  /* the guard's log for this test */
	char policy[PATH_MAX]; /* "" for the embedded default; agt_policy() sets it */
	bool audit;
	bool no_floor; /* agentguard run --no-floor: the preload alone */
};

struct agt_result {
	int status; /* exit status, or 128+signal */
	char out[65536];
	char err[65536];
	char floor[1024]; /* the launcher's "kernel floor:" line, taken out of err */
};

/* Fresh trees under a root chosen away from /tmp, /var/tmp and /dev/shm. */
void agt_setup(struct agt *t, const char *name);
void agt_teardown(struct agt *t);
/* Writes a policy file into the tree and uses it for later runs. */
void agt_policy(struct agt *t, const char *json);

/* Runs argv guarded: agentguard run --workspace WS --log LOG [--policy P]
 * [--audit] -- argv..., in WS, with HOME and TMPDIR set, PATH kept, and the
 * NULL-terminated "NAME=value" strings of env added. Returns the status. */
int agt_run(struct agt *t, struct agt_result *r, const char *const *argv, const char *const *env);
/* bash -c with a printf-style script. */
int agt_sh(struct agt *t, struct agt_result *r, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* The same without the guard, for set-up and comparison. */
int agt_sh_unguarded(struct agt *t, struct agt_result *r, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Every line of a log, parsed: a JSON array (empty when there is no log),
 * or NULL, said on stderr, when a line is not exactly one JSON object
 * ending in a newline: a torn or interleaved write. The caller frees it. */
json_t *agt_log_load(const char *path);
/* Log lines (parsed with jansson) matching every non-NULL field. */
int agt_log_count(struct agt *t, const char *op, const char *path, const char *rule);
int agt_log_lines(struct agt *t);

/* printf into one of a ring of 48 buffers, so a test can hold a few paths. */
const char *agt_pathf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Writes a file, making its directories first. Set-up only, unguarded. */
void agt_put(const char *path, const char *content);
/* A file's text, or the log's, for failure messages (a static buffer). */
const char *agt_dump(const char *path);
const char *agt_logtext(struct agt *t);

/* Small file helpers; paths may be printf-style relative to nothing. */
void agt_write(const char *path, const char *content);
char *agt_read(const char *path); /* malloc'd, NULL if missing */
bool agt_exists(const char *path);
void agt_mkdirs(const char *path);

#endif
