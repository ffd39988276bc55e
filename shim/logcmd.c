/* agentguard log: the guard's log for a person (a table), for a script
 * (--json: the matching lines as they are) and in sum (--summary). */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"

static const char log_help[] =
	"usage: agentguard log [--follow] [--since TIME] [--rule ID] [--json | --summary] [FILE]\n"
	"\n"
	"Shows the guard's log: FILE, else the session's log (AGENTGUARD_LOG, else\n"
	"$XDG_STATE_HOME/agentguard/log.jsonl or ~/.local/state/agentguard/log.jsonl).\n"
	"A table of time, pid, program, operation, action, path or address, and rule.\n"
	"\n"
	"  -f, --follow     keep reading as lines are added (until interrupted)\n"
	"  --since TIME     only lines at or after TIME: RFC 3339 (2026-01-31T12:00:00Z,\n"
	"                   2026-01-31) or a span back from now (90s, 10m, 2h, 1d)\n"
	"  --rule ID        only lines of that rule\n"
	"  --json           the matching lines as they are, one JSON object a line\n"
	"  --summary        counts per rule, per program, per top directory and per\n"
	"                   network destination (with --json: one JSON object)\n"
	"\n"
	"Exit status: 0 some line matched, 1 none did, 2 usage error or an\n"
	"unreadable log.\n";

struct logq {
	int64_t since_ms; /* INT64_MIN: no bound */
	const char *rule;
	bool json, summary, follow;
	json_t *counts[4]; /* rules, programs, directories, destinations */
	char workspace[PATH_MAX], home[PATH_MAX]; /* the session's, for --summary */
	long matched, bad;
};

static const char *const count_names[4] = {"rules", "programs", "directories", "destinations"};
static const char *const count_titles[4] = {"rule", "program", "top directory", "destination"};

/* "10m" back from now, or an RFC 3339 time; ms since the epoch. */
int64_t parse_when(const char *s)
{
	char *end;
	long n = strtol(s, &end, 10);
	if (end != s && n >= 0 && end[0] && !end[1] && strchr("smhd", end[0])) {
		long mul = end[0] == 's' ? 1 : end[0] == 'm' ? 60 : end[0] == 'h' ? 3600 : 86400;
		return ((int64_t)time(NULL) - (int64_t)n * mul) * 1000;
	}
	return parse_rfc3339(s);
}

/* 2026-01-31, 2026-01-31T12:00:00[.123](Z|+01:00); INT64_MIN if not one. */
int64_t parse_rfc3339(const char *s)
{
	struct tm tm = {0};
	int ms = 0, off = 0, used = 0;
	const char *p = strptime(s, "%Y-%m-%d", &tm);

	if (!p)
		return INT64_MIN;
	if (*p == 'T' || *p == 't' || *p == ' ') {
		if (!(p = strptime(p + 1, "%H:%M:%S", &tm)))
			return INT64_MIN;
		if (*p == '.' && sscanf(p, ".%3d%n", &ms, &used) == 1)
			for (p += used; *p >= '0' && *p <= '9'; p++)
				;
		int hh, mm;
		if ((*p == '+' || *p == '-') && sscanf(p + 1, "%2d:%2d", &hh, &mm) == 2) {
			off = (hh * 60 + mm) * 60 * (*p == '-' ? -1 : 1);
			p += 6;
		} else if (*p == 'Z' || *p == 'z') {
			p++;
		}
	}
	if (*p)
		return INT64_MIN;
	return ((int64_t)timegm(&tm) - off) * 1000 + ms;
}

static const char *str(json_t *o, const char *k)
{
	const char *v = json_string_value(json_object_get(o, k));
	return v ? v : "";
}

static const char *base(const char *p)
{
	const char *s = strrchr(p, '/');
	return s && s[1] ? s + 1 : p;
}

/* Where a line points: the path (and the second one) or the address. */
void log_target(json_t *o, char *buf, size_t sz)
{
	json_t *port = json_object_get(o, "port");
	if (json_is_string(json_object_get(o, "addr")))
		snprintf(buf, sz, "%s port %lld%s%s%s", str(o, "addr"),
			 (long long)json_integer_value(port), *str(o, "host") ? " (" : "",
			 str(o, "host"), *str(o, "host") ? ")" : "");
	else if (*str(o, "path2"))
		snprintf(buf, sz, "%s -> %s", str(o, "path"), str(o, "path2"));
	else
		snprintf(buf, sz, "%s", str(o, "path"));
}

static void bump(json_t *map, const char *key)
{
	json_t *v = json_object_get(map, key);
	json_object_set_new(map, key, json_integer(v ? json_integer_value(v) + 1 : 1));
}

/* Under the workspace or the home directory, the first directory below
 * it (~/.ssh, ~/old-project); elsewhere the file's own directory. */
static void top_dir(const struct logq *q, const char *path, char *out, size_t sz)
{
	const char *anchors[] = {q->workspace, q->home};
	for (int i = 0; i < 2; i++) {
		size_t n = strlen(anchors[i]);
		if (n <= 1 || !ag_path_within(path, anchors[i]) || !path[n])
			continue;
		size_t k = strcspn(path + n + 1, "/");
		if (path[n + 1 + k]) { /* a directory below the anchor */
			snprintf(out, sz, "%.*s", (int)(n + 1 + k), path);
			return;
		}
		snprintf(out, sz, "%s", anchors[i]);
		return;
	}
	const char *slash = strrchr(path, '/');
	snprintf(out, sz, "%.*s", slash && slash != path ? (int)(slash - path) : 1, path);
}

static void count(struct logq *q, json_t *o)
{
	char dir[PATH_MAX], dest[300];
	bump(q->counts[0], str(o, "rule"));
	bump(q->counts[1], base(str(o, "exe")));
	if (json_is_string(json_object_get(o, "addr"))) {
		log_target(o, dest, sizeof(dest));
		bump(q->counts[3], dest);
	} else if (str(o, "path")[0] == '/') {
		top_dir(q, str(o, "path"), dir, sizeof(dir));
		bump(q->counts[2], dir);
	}
}

static void print_row(json_t *o)
{
	char when[32] = "?", target[2 * PATH_MAX + 8];
	int64_t ms = parse_rfc3339(str(o, "ts"));
	if (ms != INT64_MIN) {
		time_t t = (time_t)(ms / 1000);
		struct tm tm;
		strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", localtime_r(&t, &tm));
	}
	log_target(o, target, sizeof(target));
	const char *action = str(o, "action");
	char act[40];
	snprintf(act, sizeof(act), "%s%s%s%s", action, !strcmp(str(o, "mode"), "audit") ? "(audit)" : "",
		 *str(o, "answer") ? ":" : "", str(o, "answer"));
	printf("%-19s %7lld %-14.14s %-7s %-14s %s  [%s]\n", when,
	       (long long)json_integer_value(json_object_get(o, "pid")), base(str(o, "exe")),
	       str(o, "op"), act, target, str(o, "rule"));
}

static void one_line(struct logq *q, const char *line)
{
	json_error_t jerr;
	json_t *o = json_loads(line, 0, &jerr);
	if (!json_is_object(o)) {
		q->bad++;
		json_decref(o);
		return;
	}
	int64_t ms = parse_rfc3339(str(o, "ts"));
	if ((q->since_ms == INT64_MIN || ms >= q->since_ms) &&
	    (!q->rule || !strcmp(q->rule, str(o, "rule")))) {
		q->matched++;
		if (q->summary)
			count(q, o);
		else if (q->json)
			printf("%.*s\n", (int)strcspn(line, "\n"), line);
		else
			print_row(o);
	}
	json_decref(o);
}

static int by_count(const void *a, const void *b)
{
	json_t *x = json_array_get(*(json_t *const *)a, 1), *y = json_array_get(*(json_t *const *)b, 1);
	json_int_t d = json_integer_value(y) - json_integer_value(x);
	return d > 0 ? 1 : d < 0 ? -1 : 0;
}

/* A count map as [key, n] pairs, most first. */
static json_t *sorted(json_t *map)
{
	size_t n = json_object_size(map), i = 0;
	json_t **pairs = calloc(n ? n : 1, sizeof(*pairs)), *v, *out = json_array();
	const char *k;
	json_object_foreach(map, k, v)
		pairs[i++] = json_pack("[s, O]", k, v);
	qsort(pairs, n, sizeof(*pairs), by_count);
	for (i = 0; i < n; i++)
		json_array_append_new(out, pairs[i]);
	free(pairs);
	return out;
}

static void print_summary(struct logq *q)
{
	if (q->json) {
		json_t *o = json_pack("{s:I}", "lines", (json_int_t)q->matched);
		for (int i = 0; i < 4; i++)
			json_object_set(o, count_names[i], q->counts[i]);
		json_dumpf(o, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_SORT_KEYS);
		putchar('\n');
		json_decref(o);
		return;
	}
	printf("%ld line%s\n", q->matched, q->matched == 1 ? "" : "s");
	for (int i = 0; i < 4; i++) {
		json_t *s = sorted(q->counts[i]), *p;
		size_t k;
		if (json_array_size(s))
			printf("\nper %s:\n", count_titles[i]);
		json_array_foreach(s, k, p)
			printf("%8lld  %s\n", (long long)json_integer_value(json_array_get(p, 1)),
			       json_string_value(json_array_get(p, 0)));
		json_decref(s);
	}
}

/* Lines are whole when the guard writes them (one write(2) each); a line
 * still without its newline is read again once it has one. */
static void read_lines(struct logq *q, FILE *f)
{
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	for (;;) {
		long at = ftell(f);
		while ((n = getline(&line, &cap, f)) > 0) {
			if (line[n - 1] != '\n' && q->follow) {
				fseek(f, at, SEEK_SET);
				break;
			}
			one_line(q, line);
			at = ftell(f);
		}
		if (!q->follow)
			break;
		fflush(stdout);
		struct timespec ts = {0, 200 * 1000000};
		nanosleep(&ts, NULL);
		clearerr(f);
	}
	free(line);
}

static const char *parse_log_opts(int argc, char **argv, struct logq *q)
{
	static const struct option longopts[] = {
		{"follow", no_argument, NULL, 'f'}, {"since", required_argument, NULL, 's'},
		{"rule", required_argument, NULL, 'r'}, {"json", no_argument, NULL, 'j'},
		{"summary", no_argument, NULL, 'S'}, {"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	int c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "fh", longopts, NULL)) != -1) {
		switch (c) {
		case 'f': q->follow = true; break;
		case 's':
			if ((q->since_ms = parse_when(optarg)) == INT64_MIN)
				die_usage("log --since: \"%s\" is neither RFC 3339 (2026-01-31T12:00:00Z) "
					  "nor a span (10m, 2h, 1d)", optarg);
			break;
		case 'r': q->rule = optarg; break;
		case 'j': q->json = true; break;
		case 'S': q->summary = true; break;
		case 'h': fputs(log_help, stdout); exit(0);
		default: die_usage("log: bad option; see agentguard log --help");
		}
	}
	if (q->follow && q->summary)
		die_usage("log: --follow and --summary do not go together");
	if (argc - optind > 1)
		die_usage("log takes one log file at most");
	return optind < argc ? argv[optind] : NULL;
}

/* The session's log when no file is named: where the guard writes. */
static int session_dirs(struct logq *q, char *log, size_t sz)
{
	ag_session_t s;
	ag_error_t err;
	if (ag_session_from_env(&s, &err) != 0)
		return policy_error(&err);
	snprintf(log, sz, "%s", s.log);
	snprintf(q->workspace, sizeof(q->workspace), "%s", s.workspace);
	snprintf(q->home, sizeof(q->home), "%s", s.home);
	return 0;
}

int cmd_log(int argc, char **argv)
{
	struct logq q = {.since_ms = INT64_MIN};
	char path[PATH_MAX];
	const char *file = parse_log_opts(argc, argv, &q);

	if (session_dirs(&q, path, sizeof(path)) != 0)
		return EXIT_USAGE;
	if (!file)
		file = path;
	FILE *f = strcmp(file, "-") ? fopen(file, "re") : stdin;
	if (!f) {
		fprintf(stderr, "agentguard: cannot read the log %s: %s\n", file, strerror(errno));
		if (errno == ENOENT)
			fprintf(stderr, "Hint: nothing has been refused yet, or the session logs "
					"elsewhere (AGENTGUARD_LOG, agentguard run --log)\n");
		return EXIT_USAGE;
	}
	for (int i = 0; i < 4; i++)
		q.counts[i] = json_object();
	if (!q.json && !q.summary)
		printf("%-19s %7s %-14s %-7s %-14s %s  [%s]\n", "TIME", "PID", "PROGRAM", "OP",
		       "ACTION", "PATH OR ADDRESS", "RULE");
	read_lines(&q, f);
	if (q.summary)
		print_summary(&q);
	if (q.bad)
		fprintf(stderr, "agentguard: %s: %ld line%s not JSON, skipped\n", file, q.bad,
			q.bad == 1 ? "" : "s");
	if (f != stdin)
		fclose(f);
	for (int i = 0; i < 4; i++)
		json_decref(q.counts[i]);
	return q.matched ? 0 : 1;
}
