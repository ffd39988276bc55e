/* Log lines, formatted into a caller's buffer: the hooks format on the
 * stack and hand the line to one write(2). */
#include <stdio.h>
#include <string.h>

#include "agentguard.h"

struct out {
	char *buf;
	size_t sz, len; /* len < sz always; buf[len] == '\0' */
	bool full;
};

static void raw(struct out *o, const char *s, size_t n)
{
	if (o->full)
		return;
	if (o->len + n >= o->sz) {
		n = o->sz - 1 - o->len;
		o->full = true;
	}
	memcpy(o->buf + o->len, s, n);
	o->len += n;
	o->buf[o->len] = '\0';
}

static void lit(struct out *o, const char *s)
{
	raw(o, s, strlen(s));
}

/* Length of a valid UTF-8 sequence at p (overlongs, surrogates and values
 * past U+10FFFF are not valid), or 0. */
static size_t utf8_len(const unsigned char *p)
{
	if (p[0] < 0x80)
		return 1;
	size_t n = p[0] >= 0xf0 ? 4 : p[0] >= 0xe0 ? 3 : p[0] >= 0xc2 ? 2 : 0;
	if (n == 0 || p[0] > 0xf4)
		return 0;
	for (size_t i = 1; i < n; i++)
		if ((p[i] & 0xc0) != 0x80)
			return 0;
	if ((p[0] == 0xe0 && p[1] < 0xa0) || (p[0] == 0xed && p[1] >= 0xa0) ||
	    (p[0] == 0xf0 && p[1] < 0x90) || (p[0] == 0xf4 && p[1] >= 0x90))
		return 0;
	return n;
}

/* A JSON string. Paths are bytes but JSON is UTF-8: valid sequences pass as
 * they are, control bytes are escaped, and a byte that is not UTF-8 is
 * written as the code point of the same number (\u00e9 for 0xe9), so the
 * line stays valid for every reader and a Latin-1 name still reads right.
 * A string that would not fit is cut, leaving room to close the line. */
static void jstr(struct out *o, const char *s, size_t reserve)
{
	static const char hex[] = "0123456789abcdef";
	size_t limit = o->sz > reserve + 8 ? o->sz - reserve - 8 : 0;

	if (!s) {
		lit(o, "null");
		return;
	}
	raw(o, "\"", 1);
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		char e[7];
		size_t n = 1, u = utf8_len(p);
		e[0] = (char)*p;
		if (u > 1) {
			memcpy(e, p, u);
			n = u;
			p += u - 1;
		} else if (*p == '"' || *p == '\\') {
			e[0] = '\\';
			e[1] = (char)*p;
			n = 2;
		} else if (u == 0 || *p < 0x20 || *p == 0x7f) {
			memcpy(e, "\\u00", 4);
			e[4] = hex[*p >> 4];
			e[5] = hex[*p & 15];
			n = 6;
		}
		if (o->len + n > limit) {
			lit(o, "...");
			break;
		}
		raw(o, e, n);
	}
	raw(o, "\"", 1);
}

static void num(struct out *o, long long v)
{
	char b[24];
	int n = snprintf(b, sizeof(b), "%lld", v);
	raw(o, b, (size_t)n);
}

static void key(struct out *o, const char *k)
{
	lit(o, ",\"");
	lit(o, k);
	lit(o, "\":");
}

/* Days since 1970-01-01 to a civil date (proleptic Gregorian). By
 * arithmetic: gmtime_r takes glibc's tz lock and reads the environment on
 * first use, and a child forked while another thread held that lock would
 * hang on its first refusal. */
static void civil(int64_t days, int *y, int *m, int *d)
{
	days += 719468;
	int64_t era = (days >= 0 ? days : days - 146096) / 146097;
	int64_t doe = days - era * 146097;
	int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	int64_t mp = (5 * doy + 2) / 153;
	*d = (int)(doy - (153 * mp + 2) / 5 + 1);
	*m = (int)(mp < 10 ? mp + 3 : mp - 9);
	*y = (int)(yoe + era * 400 + (*m <= 2));
}

static void timestamp(struct out *o, int64_t ms)
{
	int64_t secs = ms / 1000, days = secs / 86400, rem = secs % 86400;
	int y, m, d;
	char b[40];

	if (rem < 0) {
		rem += 86400;
		days--;
	}
	civil(days, &y, &m, &d);
	int n = snprintf(b, sizeof(b), "\"%04d-%02d-%02dT%02d:%02d:%02d.%03dZ\"", y, m, d,
			 (int)(rem / 3600), (int)(rem / 60 % 60), (int)(rem % 60), (int)(ms % 1000));
	raw(o, b, (size_t)n);
}

/* What the fields after argv need at most: addr, port, rule, action, errno,
 * mode, repeat and the closing brace. */
#define TAIL_ROOM 320

size_t ag_log_format(char *buf, size_t bufsz, const ag_logrec_t *r)
{
	struct out o = {.buf = buf, .sz = bufsz};
	const char *en = ag_errno_to_string(r->err);

	if (bufsz < 3) {
		if (bufsz)
			buf[0] = '\0';
		return 0;
	}
	buf[0] = '\0';
	lit(&o, "{\"ts\":");
	timestamp(&o, r->ts_ms);
	key(&o, "pid");
	num(&o, r->pid);
	key(&o, "ppid");
	num(&o, r->ppid);
	key(&o, "exe");
	jstr(&o, r->exe, 600);
	key(&o, "op");
	jstr(&o, ag_op_to_string(r->op), 0);
	key(&o, "path");
	jstr(&o, r->path, 500);
	key(&o, "path2");
	jstr(&o, r->path2, 400);
	key(&o, "argv");
	if (r->argv) {
		lit(&o, "[");
		for (size_t i = 0; r->argv[i]; i++) {
			/* Keep room for the fields after argv: a long command line
			 * is cut, the line stays whole. */
			if (o.len + TAIL_ROOM + 16 > o.sz) {
				lit(&o, i ? ",\"...\"" : "\"...\"");
				break;
			}
			if (i)
				lit(&o, ",");
			jstr(&o, r->argv[i], TAIL_ROOM);
		}
		lit(&o, "]");
	} else {
		lit(&o, "null");
	}
	key(&o, "addr");
	jstr(&o, r->addr, 200);
	key(&o, "port");
	if (r->port >= 0)
		num(&o, r->port);
	else
		lit(&o, "null");
	key(&o, "rule");
	jstr(&o, r->rule, 120);
	key(&o, "action");
	jstr(&o, ag_action_to_string(r->action), 0);
	key(&o, "errno");
	if (en)
		jstr(&o, en, 0);
	else
		num(&o, r->err);
	key(&o, "mode");
	jstr(&o, r->audit_mode ? "audit" : "enforce", 0);
	if (r->repeat > 1) {
		key(&o, "repeat");
		num(&o, r->repeat);
	}
	if (r->host) {
		key(&o, "host");
		jstr(&o, r->host, 8);
	}
	if (r->answer) {
		key(&o, "answer");
		jstr(&o, r->answer, 8);
	}
	if (r->note) {
		key(&o, "note");
		jstr(&o, r->note, 8);
	}
	if (o.len + 3 > o.sz) /* keep the line valid JSON when cut */
		o.len = o.sz - 3;
	memcpy(o.buf + o.len, "}\n", 3);
	return o.len + 2;
}

size_t ag_log_format_human(char *buf, size_t bufsz, const ag_logrec_t *r)
{
	const char *verb = r->action == AG_DENY && !r->audit_mode ? "denied" : "would deny";
	int n;

	if (bufsz <= 1) {
		if (bufsz)
			buf[0] = '\0';
		return 0;
	}
	if (r->action == AG_AUDIT)
		verb = "audited";
	/* An asked operation is refused unless the answer let it through. */
	if (r->action == AG_ASK)
		verb = r->answer && (!strcmp(r->answer, "yes") || !strcmp(r->answer, "always"))
			       ? "allowed"
		       : r->audit_mode ? "would ask about"
				       : "denied";
	if (r->addr)
		n = snprintf(buf, bufsz, "agentguard: %s %s %s port %d%s%s%s (rule %s)%s%s\n", verb,
			     ag_op_to_string(r->op), r->addr, r->port, r->host ? " (" : "",
			     r->host ? r->host : "", r->host ? ")" : "", r->rule, r->note ? ": " : "",
			     r->note ? r->note : "");
	else if (r->path2)
		n = snprintf(buf, bufsz, "agentguard: %s %s %s -> %s (rule %s)%s%s\n", verb,
			     ag_op_to_string(r->op), r->path ? r->path : "?", r->path2, r->rule,
			     r->note ? ": " : "", r->note ? r->note : "");
	else
		n = snprintf(buf, bufsz, "agentguard: %s %s %s (rule %s)%s%s\n", verb,
			     ag_op_to_string(r->op), r->path ? r->path : "?", r->rule,
			     r->note ? ": " : "", r->note ? r->note : "");
	if (n < 0)
		return 0;
	if ((size_t)n >= bufsz) {
		buf[bufsz - 2] = '\n';
		return bufsz - 1;
	}
	return (size_t)n;
}
