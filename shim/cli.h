/* The agentguard program's internal interface between its commands. */
#ifndef AG_CLI_H
#define AG_CLI_H

#include <stdbool.h>
#include <stddef.h>

#include "agentguard.h"

#define EXIT_USAGE 2

extern const char usage_text[];
extern const char *const shim_names[];

struct opts {
	const char *policy, *workspace, *log;
	bool audit;
	bool no_floor;
};

__attribute__((noreturn, format(printf, 1, 2))) void die_usage(const char *fmt, ...);
int policy_error(const ag_error_t *err);
int self_exe(char *out, size_t sz);
int beside_me(const char *rel, char *out, size_t sz);
int find_library(char *out, size_t sz);
int shim_dir(char *out, size_t sz);
int find_real(const char *name, char *out, size_t sz);
int set_preload(const char *lib);
int mkdir_parents(const char *path);
void apply_opts(const struct opts *o);
int parse_opts(int argc, char **argv, struct opts *o, bool allow_audit);
int load_session(ag_session_t *s, void **blob, size_t *len, bool launch);

int cmd_run(int argc, char **argv);
int cmd_shim(int argc, char **argv);
int shim_main(const char *name, char **argv);
int cmd_check(int argc, char **argv);
int cmd_explain(int argc, char **argv);
int cmd_log(int argc, char **argv);
int cmd_learn(int argc, char **argv);
int cmd_replay(int argc, char **argv);
/* logcmd.c: times as the log writes them ("2026-01-31T12:00:00.123Z") or as a
 * person types them ("10m" ago); ms since the epoch, INT64_MIN if neither */
int64_t parse_rfc3339(const char *s);
int64_t parse_when(const char *s);
struct json_t;
void log_target(struct json_t *o, char *buf, size_t sz);
/* learn.c: a policy file (NULL: the embedded default) as JSON, after the
 * loader accepted it; a log file as an array of its lines' objects */
struct json_t *load_policy_json(const ag_session_t *s, const char *file);
struct json_t *read_log(const char *file, long *bad);
/* check's warning about rules earlier rules cover; returns how many */
int warn_shadowed(const char *file);

/* One note on stderr per gap the preload leaves in the program cmd runs
 * (raw system calls, io_uring); floor_active words it for a kernel floor. */
void report_gaps(const char *cmd, bool floor_active);

#endif
