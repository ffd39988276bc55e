/* Small string helpers for the paths that run in a child about to exec.
 * libc's versions are each on a page of libc's text the child has not
 * touched yet (a page fault apiece); these are inlined into the guard's
 * own code, which the child is running anyway. For short strings only. */
#ifndef AG_STR_H
#define AG_STR_H

#include <stdbool.h>
#include <stddef.h>

/* The functions every guarded start and every guarded exec run, placed
 * together (GCC puts "hot" functions in .text.hot, which the linker
 * gathers): a new process faults in the text it runs window by window,
 * and scattered, this code spans three 64 KB windows of the library. */
#define AG_HOT_TEXT __attribute__((hot))

static inline size_t ag_strlen(const char *s)
{
	size_t n = 0;
	while (s[n]) {
		n++;
		__asm__("" : "+r"(n)); /* keeps GCC from making the loop a strlen call */
	}
	return n;
}

static inline const char *ag_strrchr(const char *s, char c)
{
	const char *last = NULL;
	for (; *s; s++)
		if (*s == c)
			last = s;
	return last;
}

/* n bytes from src to dst, which do not overlap */
static inline void ag_copy(char *dst, const char *src, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		dst[i] = src[i];
		__asm__("" ::: "memory"); /* a loop, not a memcpy call */
	}
}

/* n bytes from src to dst, which may overlap */
static inline void ag_move(char *dst, const char *src, size_t n)
{
	if (dst < src) {
		ag_copy(dst, src, n);
		return;
	}
	for (size_t i = n; i > 0; i--) {
		dst[i - 1] = src[i - 1];
		__asm__("" ::: "memory");
	}
}

/* s begins with prefix */
static inline bool ag_starts(const char *s, const char *prefix)
{
	while (*prefix)
		if (*s++ != *prefix++)
			return false;
	return true;
}

static inline bool ag_memeq(const void *a, const void *b, size_t n)
{
	const unsigned char *x = a, *y = b;
	for (size_t i = 0; i < n; i++)
		if (x[i] != y[i])
			return false;
	return true;
}

static inline bool ag_streq(const char *a, const char *b)
{
	while (*a && *a == *b)
		a++, b++;
	return *a == *b;
}

/* The length of the leading run of s without any of the bytes in reject. */
static inline size_t ag_strcspn(const char *s, const char *reject)
{
	size_t n = 0;
	for (; s[n]; n++)
		for (const char *r = reject; *r; r++)
			if (s[n] == *r)
				return n;
	return n;
}

#endif
