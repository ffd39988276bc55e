/* The "ask" action: a question on the controlling terminal, and the
 * answers the session remembers. Everything here may run in a hook, in a
 * vfork child included: no allocation, no locks, no stdio. */
#ifndef AG_ASK_H
#define AG_ASK_H

#include <stdbool.h>

#include "agentguard.h"

enum { AG_ANS_NONE, AG_ANS_YES, AG_ANS_ALWAYS, AG_ANS_NO, AG_ANS_TIMEOUT, AG_ANS_NOTTY };

/* At load: the session's shared answer table beside the created-files map
 * (NULL or "": this process keeps its own), and the wait in seconds. */
void ag__ask_init(const char *created_map, unsigned timeout_s);
/* An answer given earlier for this scope: AG_ANS_YES when it may go on (an
 * "always" for the session, or a "yes" to this process or its parent, for
 * the scope or a directory above it when prefixes is set), AG_ANS_NO when
 * this process was refused it already, else AG_ANS_NONE. */
int ag__ask_recall(ag_op_t op, const char *scope, bool prefixes);
/* Asks "allow PROG to WHAT? [y/N/always]" on /dev/tty and remembers the
 * answer for (op, scope). Returns one of AG_ANS_*. */
int ag__ask(ag_op_t op, const char *scope, const char *prog, const char *what);
bool ag__ask_allowed(int answer);
const char *ag__ask_name(int answer); /* for the log's "answer" field */
/* Asks about a verdict of an "ask" rule (the hooks' ag__answer does so
 * itself): logs the answer and returns 0 to go on, -1 refused (errno set).
 * prog names the program the question is about (NULL: this one); files,
 * when not -1, is how much a recursive delete takes. */
int ag__answer_ask(const ag_request_t *req, const ag_verdict_t *v, const char *const *argv,
		   const char *note, const char *prog, long files);
/* Entries in the tree at path, directories included, stopping at limit;
 * -1 when it cannot be read. Raw system calls and the stack only. */
long ag__count_tree(const char *path, long limit);
/* "3,204" into buf. */
void ag__thousands(char *buf, size_t sz, long n);

#endif
