/* String forms of the enums: the policy, the log and the CLI share them. */
#include <errno.h>
#include <string.h>

#include "agentguard.h"

static const char *const op_names[AG_OP__COUNT] = {
	[AG_OP_READ] = "read",	   [AG_OP_WRITE] = "write", [AG_OP_CREATE] = "create",
	[AG_OP_DELETE] = "delete", [AG_OP_RENAME] = "rename", [AG_OP_LINK] = "link",
	[AG_OP_CHMOD] = "chmod",   [AG_OP_EXEC] = "exec",	   [AG_OP_CONNECT] = "connect",
};

static const char *const action_names[] = {
	[AG_ALLOW] = "allow",
	[AG_AUDIT] = "audit",
	[AG_DENY] = "deny",
	[AG_ASK] = "ask",
};

/* The errnos a rule may choose: the ones a careful program already handles
 * for a file operation. */
static const struct {
	int value;
	const char *name;
} errnos[] = {
	{EACCES, "EACCES"}, {EPERM, "EPERM"},   {EROFS, "EROFS"},   {ENOENT, "ENOENT"},
	{EEXIST, "EEXIST"}, {EXDEV, "EXDEV"},   {EBUSY, "EBUSY"},   {ENOSPC, "ENOSPC"},
	{EIO, "EIO"},	    {ENOTDIR, "ENOTDIR"}, {EISDIR, "EISDIR"}, {ENAMETOOLONG, "ENAMETOOLONG"},
	{ELOOP, "ELOOP"},   {ECONNREFUSED, "ECONNREFUSED"}, {ENETUNREACH, "ENETUNREACH"},
};

const char *ag_op_to_string(ag_op_t op)
{
	return (unsigned)op < AG_OP__COUNT ? op_names[op] : "?";
}

int ag_op_from_string(const char *s)
{
	for (int i = 0; i < AG_OP__COUNT; i++)
		if (strcmp(s, op_names[i]) == 0)
			return i;
	return -1;
}

const char *ag_action_to_string(ag_action_t a)
{
	return (unsigned)a <= AG_ASK ? action_names[a] : "?";
}

int ag_action_from_string(const char *s)
{
	for (int i = 0; i <= AG_ASK; i++)
		if (strcmp(s, action_names[i]) == 0)
			return i;
	return -1;
}

bool ag_action_stricter(ag_action_t a, ag_action_t b)
{
	static const int rank[] = {[AG_ALLOW] = 0, [AG_AUDIT] = 1, [AG_ASK] = 2, [AG_DENY] = 3};
	return rank[a <= AG_ASK ? a : AG_DENY] > rank[b <= AG_ASK ? b : AG_DENY];
}

const char *ag_errno_to_string(int e)
{
	for (size_t i = 0; i < sizeof(errnos) / sizeof(errnos[0]); i++)
		if (errnos[i].value == e)
			return errnos[i].name;
	return NULL;
}

int ag_errno_from_string(const char *s)
{
	for (size_t i = 0; i < sizeof(errnos) / sizeof(errnos[0]); i++)
		if (strcmp(s, errnos[i].name) == 0)
			return errnos[i].value;
	return 0;
}
