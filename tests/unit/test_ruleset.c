/* ag_ruleset_view is the gate a mapped file passes before anything reads
 * it: a good blob is accepted; anything short, misaligned, foreign,
 * damaged or forged (checksum recomputed after corrupting a table) is
 * refused with NULL, never read out of bounds. Then the store-and-map round
 * trip through a state directory. Run this under ASan. */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agentguard.h"
#include "blob.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

static const char policy[] =
    "{\"version\": 1, \"default\": \"audit\", \"rules\": ["
    "{\"id\": \"secrets\", \"ops\": [\"read\", \"write\"], \"paths\": [\"${HOME}/.ssh/id_*\", "
    "\"${HOME}/.aws/**\"], \"action\": \"deny\", \"errno\": \"EPERM\"},"
    "{\"id\": \"ws\", \"ops\": [\"write\", \"delete\", \"create\"], \"paths\": "
    "[\"${WORKSPACE}/**\"], "
    "\"action\": \"allow\"},"
    "{\"id\": \"etc\", \"ops\": [\"write\"], \"paths\": [\"/etc/passwd\", \"/etc/*.conf\"], "
    "\"action\": \"deny\"},"
    "{\"id\": \"out\", \"ops\": [\"delete\", \"rename\"], \"paths\": [\"/**\"], \"action\": "
    "\"deny\"}"
    "]}";

static const ag_vars_t vars = {
    .workspace = "/h/ws", .home = "/h", .tmpdir = "/t", .log = "/h/log.jsonl", .mode = "audit"};

struct blob {
	unsigned char *p;
	size_t len;
};

static struct blob good(void)
{
	struct blob b;
	ag_error_t err;
	void *p;
	int rc = ag_policy_compile(policy, strlen(policy), "p.json", &vars, &p, &b.len, &err);
	cr_assert_eq(rc, 0, "%s", err.text);
	b.p = p;
	return b;
}

/* A copy in a buffer of exactly len bytes (malloc aligns to 16), so any
 * read past len is caught. */
static unsigned char *copy(const void *src, size_t len)
{
	unsigned char *p = malloc(len ? len : 1);
	cr_assert_not_null(p);
	memcpy(p, src, len);
	return p;
}

static void reseal(unsigned char *p, size_t len)
{
	struct ag_blob_hdr h;
	memcpy(&h, p, sizeof(h));
	h.checksum = ag__checksum(p, len);
	memcpy(p, &h, sizeof(h));
}

static struct ag_blob_hdr *hdr(unsigned char *p)
{
	return (struct ag_blob_hdr *)p;
}

/* Decisions that exercise every table; run on whatever a view accepted. */
static void exercise(const ag_ruleset_t *rs)
{
	static const char *const paths[] = {"/h/.ssh/id_rsa", "/h/.aws/credentials",
					    "/h/ws/x",	      "/etc/passwd",
					    "/etc/x.conf",    "/",
					    "/a/b/c",	      ""};
	for (size_t i = 0; i < NELEM(paths); i++)
		for (ag_op_t op = 0; op < AG_OP__COUNT; op++) {
			ag_request_t req = {.op = op,
					    .path = paths[i],
					    .op2 = AG_OP_CREATE,
					    .path2 = paths[(i + 1) % NELEM(paths)]};
			ag_verdict_t v = ag_decide(rs, &req);
			cr_assert(v.rule >= -1 && v.rule < (int)ag_ruleset_nrules(rs));
			cr_assert(v.action <= AG_ASK);
			(void)strlen(ag_ruleset_rule_id(rs, v.rule));
		}
	static const char *const names[] = {"WORKSPACE", "HOME", "TMPDIR", "SOURCE", "LOG", "MODE"};
	for (size_t i = 0; i < NELEM(names); i++)
		(void)strlen(ag_ruleset_var(rs, names[i]));
}

static void expect_refused(const char *what, const unsigned char *p, size_t len)
{
	ag_error_t err;
	memset(&err, 0, sizeof(err));
	const ag_ruleset_t *rs = ag_ruleset_view(p, len, &err);
	cr_expect_null(rs, "%s: accepted", what);
	if (rs)
		exercise(rs);
	else
		cr_expect(err.text[0] != '\0', "%s: refused without a reason", what);
}

Test(view, accepts_a_good_blob)
{
	struct blob b = good();
	unsigned char *p = copy(b.p, b.len);
	ag_error_t err;
	const ag_ruleset_t *rs = ag_ruleset_view(p, b.len, &err);

	cr_assert_not_null(rs, "%s", err.text);
	cr_expect_eq(ag_ruleset_nrules(rs), 4);
	cr_expect_eq(ag_ruleset_default(rs), AG_AUDIT);
	cr_expect_str_eq(ag_ruleset_rule_id(rs, 0), "secrets");
	cr_expect_str_eq(ag_ruleset_rule_id(rs, 3), "out");
	cr_expect_str_eq(ag_ruleset_var(rs, "WORKSPACE"), "/h/ws");
	cr_expect_str_eq(ag_ruleset_var(rs, "LOG"), "/h/log.jsonl");
	cr_expect_str_eq(ag_ruleset_var(rs, "MODE"), "audit");
	cr_expect_str_eq(ag_ruleset_var(rs, "SOURCE"), "p.json");
	cr_expect_eq(b.len % 8, 0);
	cr_expect_eq(hdr(p)->total_len, b.len);

	ag_request_t req = {.op = AG_OP_READ, .path = "/h/.ssh/id_ed25519"};
	ag_verdict_t v = ag_decide(rs, &req);
	cr_expect(v.action == AG_DENY && v.rule == 0 && v.err == EPERM);
	req = (ag_request_t){.op = AG_OP_DELETE, .path = "/h/ws/build"};
	cr_expect_eq(ag_decide(rs, &req).action, AG_ALLOW);
	req = (ag_request_t){.op = AG_OP_DELETE, .path = "/h/notes"};
	cr_expect_eq(ag_decide(rs, &req).rule, 3);
	req = (ag_request_t){.op = AG_OP_CHMOD, .path = "/h/notes"};
	v = ag_decide(rs, &req);
	cr_expect(v.action == AG_AUDIT && v.rule == -1);
	exercise(rs);
	free(p);
	free(b.p);
}

Test(view, refuses_truncated)
{
	struct blob b = good();
	for (size_t n = 0; n < b.len; n++) {
		unsigned char *p = copy(b.p, n);
		char what[48];
		snprintf(what, sizeof(what), "first %zu bytes", n);
		expect_refused(what, p, n);
		free(p);
	}
	/* The whole blob with a shorter length claimed. */
	unsigned char *p = copy(b.p, b.len);
	expect_refused("length 8 short", p, b.len - 8);
	expect_refused("length 0", p, 0);
	free(p);
	/* Longer than it says. */
	p = malloc(b.len + 8);
	cr_assert_not_null(p);
	memcpy(p, b.p, b.len);
	memset(p + b.len, 0, 8);
	expect_refused("8 bytes extra", p, b.len + 8);
	free(p);
	free(b.p);
}

Test(view, refuses_misaligned)
{
	struct blob b = good();
	unsigned char *mem = malloc(b.len + 8);
	cr_assert_not_null(mem);
	for (size_t shift = 1; shift < 8; shift++) {
		memcpy(mem + shift, b.p, b.len);
		char what[32];
		snprintf(what, sizeof(what), "at offset %zu", shift);
		expect_refused(what, mem + shift, b.len);
	}
	free(mem);
	free(b.p);
}

Test(view, refuses_foreign)
{
	struct blob b = good();
	unsigned char *p = copy(b.p, b.len);

	memcpy(p, "AGRULEZ\0", 8);
	expect_refused("bad magic", p, b.len);
	memcpy(p, b.p, 8);
	hdr(p)->version = AG_BLOB_VERSION + 1;
	expect_refused("next version", p, b.len);
	hdr(p)->version = AG_BLOB_VERSION - 1;
	expect_refused("previous version", p, b.len);
	hdr(p)->version = AG_BLOB_VERSION;
	hdr(p)->total_len = (uint32_t)b.len - 8;
	expect_refused("total_len short", p, b.len);
	memcpy(p, b.p, b.len);
	memset(p, 0, sizeof(struct ag_blob_hdr));
	expect_refused("zero header", p, b.len);
	memset(p, 0, b.len);
	expect_refused("all zero", p, b.len);
	memset(p, 0xff, b.len);
	expect_refused("all ones", p, b.len);
	free(p);
	free(b.p);
}

/* Every byte after the header is under the checksum. */
Test(view, refuses_flipped_body_bytes)
{
	struct blob b = good();
	unsigned char *p = copy(b.p, b.len);
	for (size_t i = sizeof(struct ag_blob_hdr); i < b.len; i++) {
		static const unsigned char masks[] = {0x01, 0x80, 0xff};
		for (size_t m = 0; m < NELEM(masks); m++) {
			char what[48];
			p[i] ^= masks[m];
			snprintf(what, sizeof(what), "byte %zu ^ %#x", i, masks[m]);
			expect_refused(what, p, b.len);
			p[i] ^= masks[m];
		}
	}
	free(p);
	free(b.p);
}

static const struct field {
	size_t off, size;
	const char *name;
} fields[] = {
#define F(x)                                                                                       \
	{                                                                                          \
		offsetof(struct ag_blob_hdr, x), sizeof(((struct ag_blob_hdr *)0)->x), #x          \
	}
    F(magic),	    F(version),	    F(total_len),      F(checksum),    F(nrules),
    F(npats),	    F(nbuckets),    F(default_action), F(guarded_ops), F(rules_off),
    F(pats_off),    F(buckets_off), F(strings_off),    F(strings_len), F(workspace_off),
    F(home_off),    F(tmpdir_off),  F(source_off),     F(log_off),     F(mode_off),
    F(policy_hash), F(filter_off),  F(filter_words),
#undef F
};

static size_t field_at(size_t off)
{
	for (size_t i = 0; i < NELEM(fields); i++)
		if (off >= fields[i].off && off < fields[i].off + fields[i].size)
			return i;
	return NELEM(fields); /* padding */
}

/* The header's fields decide as much as the tables do (the default, the
 * ops the hooks skip, where each table lies), so a damaged header must be
 * refused as well: flipping any one bit of it. Reports, per field, how many
 * of its bits could be flipped unnoticed. */
Test(view, refuses_flipped_header_bits)
{
	struct blob b = good();
	unsigned char *p = copy(b.p, b.len);
	unsigned count[NELEM(fields) + 1] = {0};
	for (size_t i = 0; i < sizeof(struct ag_blob_hdr); i++) {
		for (int bit = 0; bit < 8; bit++) {
			ag_error_t err;
			p[i] ^= (unsigned char)(1u << bit);
			const ag_ruleset_t *rs = ag_ruleset_view(p, b.len, &err);
			if (rs) {
				exercise(rs);
				count[field_at(i)]++;
			}
			p[i] ^= (unsigned char)(1u << bit);
		}
	}
	char accepted[1024] = "";
	size_t o = 0;
	for (size_t f = 0; f <= NELEM(fields); f++)
		if (count[f])
			o += (size_t)snprintf(accepted + o, sizeof(accepted) - o, " %s:%u/%zu",
					      f < NELEM(fields) ? fields[f].name : "padding",
					      count[f], f < NELEM(fields) ? fields[f].size * 8 : 0);
	cr_expect_str_eq(accepted, "", "bits accepted flipped (field:count/bits):%s", accepted);
	free(p);
	free(b.p);
}

/* Forgeries: a table entry or header field pointed out of bounds, with the
 * checksum recomputed so that only the bounds checks stand in the way. */
typedef void (*forge_fn)(unsigned char *p, size_t len);

#define TABLE(p, off, type) ((type *)((p) + hdr(p)->off))

static void rule_id_far(unsigned char *p, size_t len)
{
	(void)len;
	TABLE(p, rules_off, struct ag_brule)[1].id_off = hdr(p)->strings_len;
}
static void rule_id_huge(unsigned char *p, size_t len)
{
	(void)len;
	TABLE(p, rules_off, struct ag_brule)[0].id_off = UINT32_MAX;
}
static void rule_action_bad(unsigned char *p, size_t len)
{
	(void)len;
	TABLE(p, rules_off, struct ag_brule)[2].action = AG_ASK + 1;
}
static void pat_rule_bad(unsigned char *p, size_t len)
{
	(void)len;
	TABLE(p, pats_off, struct ag_bpat)[0].rule = hdr(p)->nrules;
}
static void pat_rest_far(unsigned char *p, size_t len)
{
	(void)len;
	TABLE(p, pats_off, struct ag_bpat)[0].rest_off = hdr(p)->strings_len - 1;
	TABLE(p, pats_off, struct ag_bpat)[0].rest_len = 5;
}
static void pat_rest_len_huge(unsigned char *p, size_t len)
{
	(void)len;
	TABLE(p, pats_off, struct ag_bpat)[1].rest_len = UINT32_MAX;
}
static void pat_rest_wraps(unsigned char *p, size_t len)
{
	(void)len;
	TABLE(p, pats_off, struct ag_bpat)[1].rest_off = UINT32_MAX - 2;
	TABLE(p, pats_off, struct ag_bpat)[1].rest_len = 4;
}
static void pat_rest_unterminated(unsigned char *p, size_t len)
{
	(void)len;
	struct ag_bpat *pat = &TABLE(p, pats_off, struct ag_bpat)[0];
	pat->rest_len += 1; /* the NUL it ends in is no longer at rest_len */
}
static void pat_tail_longer_than_glob(unsigned char *p, size_t len)
{
	(void)len;
	struct ag_bpat *pat = &TABLE(p, pats_off, struct ag_bpat)[0];
	pat->tail = pat->rest_len + 1; /* would compare bytes before the glob */
}
static struct ag_bbucket *first_bucket(unsigned char *p)
{
	struct ag_bbucket *b = TABLE(p, buckets_off, struct ag_bbucket);
	for (uint32_t i = 0; i < hdr(p)->nbuckets; i++)
		if (b[i].count)
			return &b[i];
	cr_assert_fail("no bucket in use");
	return NULL;
}
static void bucket_count_far(unsigned char *p, size_t len)
{
	(void)len;
	first_bucket(p)->count = hdr(p)->npats + 1;
}
static void bucket_first_wraps(unsigned char *p, size_t len)
{
	(void)len;
	first_bucket(p)->first = UINT32_MAX;
	first_bucket(p)->count = 2;
}
static void bucket_prefix_far(unsigned char *p, size_t len)
{
	(void)len;
	first_bucket(p)->prefix_off = hdr(p)->strings_len + 100;
}
static void bucket_prefix_len_huge(unsigned char *p, size_t len)
{
	(void)len;
	first_bucket(p)->prefix_len = UINT32_MAX;
}
static void nrules_huge(unsigned char *p, size_t len)
{
	(void)len;
	hdr(p)->nrules = UINT32_MAX;
}
static void npats_huge(unsigned char *p, size_t len)
{
	(void)len;
	hdr(p)->npats = 0x10000000;
}
static void nbuckets_not_pow2(unsigned char *p, size_t len)
{
	(void)len;
	hdr(p)->nbuckets = 63;
}
static void nbuckets_zero(unsigned char *p, size_t len)
{
	(void)len;
	hdr(p)->nbuckets = 0;
}
static void nbuckets_huge(unsigned char *p, size_t len)
{
	(void)len;
	hdr(p)->nbuckets = 0x80000000u;
}
static void rules_off_misaligned(unsigned char *p, size_t len)
{
	(void)len;
	hdr(p)->rules_off += 4;
}
static void rules_off_past_end(unsigned char *p, size_t len)
{
	hdr(p)->rules_off = (uint32_t)len;
}
static void pats_off_past_end(unsigned char *p, size_t len)
{
	hdr(p)->pats_off = (uint32_t)len - 8;
}
static void buckets_off_huge(unsigned char *p, size_t len)
{
	(void)len;
	hdr(p)->buckets_off = UINT32_MAX - 7;
}
static void strings_len_zero(unsigned char *p, size_t len)
{
	(void)len;
	hdr(p)->strings_len = 0;
}
static void strings_past_end(unsigned char *p, size_t len)
{
	hdr(p)->strings_len = (uint32_t)len;
}
static void strings_off_wraps(unsigned char *p, size_t len)
{
	(void)len;
	hdr(p)->strings_off = UINT32_MAX - 7;
}
static void filter_words_zero(unsigned char *p, size_t len)
{
	(void)len;
	hdr(p)->filter_words = 0;
}
static void filter_words_not_pow2(unsigned char *p, size_t len)
{
	(void)len;
	hdr(p)->filter_words = 3;
}
static void filter_words_huge(unsigned char *p, size_t len)
{
	(void)len;
	hdr(p)->filter_words = 0x40000000;
}
static void filter_off_past_end(unsigned char *p, size_t len)
{
	hdr(p)->filter_off = (uint32_t)len;
}
static void filter_off_misaligned(unsigned char *p, size_t len)
{
	(void)len;
	hdr(p)->filter_off += 1;
}
static void default_bad(unsigned char *p, size_t len)
{
	(void)len;
	hdr(p)->default_action = 3;
}
static void var_off_far(unsigned char *p, size_t len)
{
	(void)len;
	hdr(p)->mode_off = hdr(p)->strings_len;
}
static void var_off_huge(unsigned char *p, size_t len)
{
	(void)len;
	hdr(p)->workspace_off = UINT32_MAX;
}
static void strings_unterminated(unsigned char *p, size_t len)
{
	(void)len;
	/* The last string loses its NUL; nothing after it in the table. */
	p[hdr(p)->strings_off + hdr(p)->strings_len - 1] = 'x';
}

Test(view, refuses_forgeries)
{
	static const struct {
		const char *name;
		forge_fn fn;
	} forgeries[] = {
#define X(f) {#f, f}
	    X(rule_id_far),	      X(rule_id_huge),
	    X(rule_action_bad),	      X(pat_rule_bad),
	    X(pat_rest_far),	      X(pat_rest_len_huge),
	    X(pat_rest_wraps),	      X(pat_rest_unterminated), X(pat_tail_longer_than_glob),
	    X(bucket_count_far),      X(bucket_first_wraps),
	    X(bucket_prefix_far),     X(bucket_prefix_len_huge),
	    X(nrules_huge),	      X(npats_huge),
	    X(nbuckets_not_pow2),     X(nbuckets_zero),
	    X(nbuckets_huge),	      X(rules_off_misaligned),
	    X(rules_off_past_end),    X(pats_off_past_end),
	    X(buckets_off_huge),      X(strings_len_zero),
	    X(strings_past_end),      X(strings_off_wraps),
	    X(filter_words_zero),     X(filter_words_not_pow2),
	    X(filter_words_huge),     X(filter_off_past_end),
	    X(filter_off_misaligned), X(default_bad),
	    X(var_off_far),	      X(var_off_huge),
	    X(strings_unterminated),
#undef X
	};
	struct blob b = good();
	for (size_t i = 0; i < NELEM(forgeries); i++) {
		unsigned char *p = copy(b.p, b.len);
		forgeries[i].fn(p, b.len);
		reseal(p, b.len);
		expect_refused(forgeries[i].name, p, b.len);
		free(p);
	}
	/* The sealing itself is right: an untouched blob resealed is fine. */
	unsigned char *p = copy(b.p, b.len);
	reseal(p, b.len);
	ag_error_t err;
	cr_expect_not_null(ag_ruleset_view(p, b.len, &err), "%s", err.text);
	free(p);
	free(b.p);
}

/* Random damage, resealed: whatever the view accepts must be safe to
 * decide against (ASan watches). Deterministic. */
Test(view, random_resealed_damage_is_safe)
{
	struct blob b = good();
	uint64_t s = 0x9e3779b97f4a7c15ull;
	size_t accepted = 0;
	for (int round = 0; round < 20000; round++) {
		unsigned char *p = copy(b.p, b.len);
		int edits = 1 + (int)(s % 4);
		for (int e = 0; e < edits; e++) {
			s ^= s << 13;
			s ^= s >> 7;
			s ^= s << 17;
			size_t at =
			    16 + (size_t)(s % (b.len - 16)); /* keep magic, version, length */
			p[at] = (unsigned char)(s >> 32);
		}
		reseal(p, b.len);
		ag_error_t err;
		const ag_ruleset_t *rs = ag_ruleset_view(p, b.len, &err);
		if (rs) {
			accepted++;
			exercise(rs);
		}
		free(p);
	}
	cr_log_info("%zu of 20000 damaged blobs accepted and decided safely", accepted);
	free(b.p);
}

/* ---- store and map ---------------------------------------------------------- */

static char dir[64];

static void make_dir(void)
{
	char tmpl[] = "/tmp/agt-ruleset-XXXXXX";
	cr_assert_not_null(mkdtemp(tmpl));
	snprintf(dir, sizeof(dir), "%s", tmpl);
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static void remove_dir(void)
{
	nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

TestSuite(store, .init = make_dir, .fini = remove_dir);

static ag_session_t session(void)
{
	ag_session_t s;
	memset(&s, 0, sizeof(s));
	snprintf(s.workspace, sizeof(s.workspace), "/h/ws");
	snprintf(s.home, sizeof(s.home), "/h");
	snprintf(s.tmpdir, sizeof(s.tmpdir), "/t");
	snprintf(s.log, sizeof(s.log), "%s/log.jsonl", dir);
	snprintf(s.statedir, sizeof(s.statedir), "%s/state/agentguard", dir);
	return s;
}

static void unmap(const ag_ruleset_t *rs)
{
	munmap((void *)rs, ((const struct ag_blob_hdr *)rs)->total_len);
}

Test(store, round_trip)
{
	ag_session_t s = session();
	struct blob b = good();
	char path[PATH_MAX];
	struct stat st;
	ag_error_t err;

	cr_assert_eq(ag_session_store(&s, b.p, b.len, path, sizeof(path)), 0, "%s",
		     strerror(errno));
	char want[PATH_MAX + 64];
	snprintf(want, sizeof(want), "%s/rules-%016llx.agc", s.statedir,
		 (unsigned long long)ag_ruleset_hash((const ag_ruleset_t *)b.p));
	cr_expect_str_eq(path, want);
	cr_assert_eq(stat(path, &st), 0);
	cr_expect(S_ISREG(st.st_mode) && (size_t)st.st_size == b.len);
	cr_expect_eq(st.st_mode & 0222, 0, "stored writable: %o", st.st_mode & 0777);
	cr_assert_eq(stat(s.statedir, &st), 0);
	cr_expect_eq(st.st_mode & 077, 0, "state dir open to others: %o", st.st_mode & 0777);

	const ag_ruleset_t *rs = ag_ruleset_map(path, &err);
	cr_assert_not_null(rs, "%s", err.text);
	const ag_ruleset_t *mem = ag_ruleset_view(b.p, b.len, &err);
	cr_assert_not_null(mem);
	cr_expect_eq(ag_ruleset_hash(rs), ag_ruleset_hash(mem));
	cr_expect_eq(ag_ruleset_nrules(rs), ag_ruleset_nrules(mem));
	for (size_t i = 0; i < ag_ruleset_nrules(rs); i++)
		cr_expect_str_eq(ag_ruleset_rule_id(rs, (int)i), ag_ruleset_rule_id(mem, (int)i));
	cr_expect_str_eq(ag_ruleset_var(rs, "LOG"), "/h/log.jsonl");
	static const char *const paths[] = {"/h/.ssh/id_rsa", "/h/ws/a", "/etc/passwd", "/x"};
	for (size_t i = 0; i < NELEM(paths); i++)
		for (ag_op_t op = 0; op < AG_OP__COUNT; op++) {
			ag_request_t req = {.op = op, .path = paths[i]};
			ag_verdict_t a = ag_decide(rs, &req), c = ag_decide(mem, &req);
			cr_expect(memcmp(&a, &c, sizeof(a)) == 0, "%s %s", ag_op_to_string(op),
				  paths[i]);
		}
	unmap(rs);

	/* Storing again finds it there and leaves it be. */
	cr_assert_eq(stat(path, &st), 0);
	ino_t ino = st.st_ino;
	char again[PATH_MAX];
	cr_expect_eq(ag_session_store(&s, b.p, b.len, again, sizeof(again)), 0);
	cr_expect_str_eq(again, path);
	cr_assert_eq(stat(path, &st), 0);
	cr_expect_eq(st.st_ino, ino, "rewritten though it was sound");
	free(b.p);
}

/* A stored file that went bad is replaced on the next store. */
Test(store, replaces_a_damaged_file)
{
	ag_session_t s = session();
	struct blob b = good();
	char path[PATH_MAX];
	ag_error_t err;

	cr_assert_eq(ag_session_store(&s, b.p, b.len, path, sizeof(path)), 0);
	cr_assert_eq(chmod(path, 0600), 0);
	int fd = open(path, O_WRONLY);
	cr_assert(fd >= 0);
	cr_assert_eq(pwrite(fd, "garbage!", 8, (off_t)b.len - 8), 8);
	close(fd);
	cr_expect_null(ag_ruleset_map(path, &err));
	cr_expect(strstr(err.text, "checksum") != NULL, "%s", err.text);

	cr_assert_eq(ag_session_store(&s, b.p, b.len, path, sizeof(path)), 0);
	const ag_ruleset_t *rs = ag_ruleset_map(path, &err);
	cr_expect_not_null(rs, "%s", err.text);
	if (rs)
		unmap(rs);
	free(b.p);
}

Test(store, map_refuses)
{
	char path[PATH_MAX + 32], target[PATH_MAX + 32];
	ag_error_t err;
	struct blob b = good();

	snprintf(path, sizeof(path), "%s/none.agc", dir);
	cr_expect_null(ag_ruleset_map(path, &err));
	cr_expect(strstr(err.text, "cannot open") != NULL, "%s", err.text);
	cr_expect_str_eq(err.source, path);

	/* a directory */
	cr_expect_null(ag_ruleset_map(dir, &err));

	/* an empty file */
	snprintf(path, sizeof(path), "%s/empty.agc", dir);
	int fd = open(path, O_WRONLY | O_CREAT, 0600);
	cr_assert(fd >= 0);
	close(fd);
	cr_expect_null(ag_ruleset_map(path, &err));

	/* a good blob, but through a symlink */
	snprintf(target, sizeof(target), "%s/good.agc", dir);
	fd = open(target, O_WRONLY | O_CREAT, 0400);
	cr_assert(fd >= 0);
	cr_assert_eq(write(fd, b.p, b.len), (ssize_t)b.len);
	close(fd);
	const ag_ruleset_t *rs = ag_ruleset_map(target, &err);
	cr_expect_not_null(rs, "%s", err.text);
	if (rs)
		unmap(rs);
	snprintf(path, sizeof(path), "%s/link.agc", dir);
	cr_assert_eq(symlink(target, path), 0);
	cr_expect_null(ag_ruleset_map(path, &err), "followed a symlink");

	/* truncated on disk */
	snprintf(path, sizeof(path), "%s/short.agc", dir);
	fd = open(path, O_WRONLY | O_CREAT, 0400);
	cr_assert(fd >= 0);
	cr_assert_eq(write(fd, b.p, b.len / 2), (ssize_t)(b.len / 2));
	close(fd);
	cr_expect_null(ag_ruleset_map(path, &err));
	free(b.p);
}

/* A state directory that cannot be made: an error, not a crash. */
Test(store, unwritable_state_dir)
{
	ag_session_t s = session();
	struct blob b = good();
	char path[PATH_MAX], file[128];

	snprintf(file, sizeof(file), "%s/file", dir);
	int fd = open(file, O_WRONLY | O_CREAT, 0600);
	cr_assert(fd >= 0);
	close(fd);
	snprintf(s.statedir, sizeof(s.statedir), "%s/sub", file);
	cr_expect_eq(ag_session_store(&s, b.p, b.len, path, sizeof(path)), -1);
	/* a path buffer too small for the name */
	s = session();
	char tiny[16];
	cr_expect_eq(ag_session_store(&s, b.p, b.len, tiny, sizeof(tiny)), -1);
	free(b.p);
}
