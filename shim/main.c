/* agentguard: launches programs under the guard and answers questions about
 * policies. One straight flow per command: parse the arguments, load the
 * policy with the very code the preload uses, set the environment, exec. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <libgen.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"

const char usage_text[] =
	"usage: agentguard run [--policy FILE] [--workspace DIR] [--log FILE] [--audit] -- CMD [ARG...]\n"
	"       agentguard check FILE...\n"
	"       agentguard shim install DIR\n"
	"       agentguard explain [--policy FILE] [--workspace DIR] OP PATH [PATH2]\n"
	"       agentguard --version\n"
	"\n"
	"run      runs CMD with libagentguard.so preloaded and exits with its status\n"
	"check    validates policy files (exit 0 valid, 2 invalid)\n"
	"explain  prints the decision for OP (read, write, create, delete, rename, link,\n"
	"         chmod, exec, connect) on PATH, and the rule that makes it\n"
	"shim     installs the shim directory (entries that put the guard back into\n"
	"         interpreters started by programs the preload cannot follow)\n";

int main(int argc, char **argv)
{
	const char *name = strrchr(argv[0], '/') ? strrchr(argv[0], '/') + 1 : argv[0];
	if (strcmp(name, "agentguard") != 0)
		for (const char *const *n = shim_names; *n; n++)
			if (strcmp(name, *n) == 0)
				return shim_main(name, argv);
	if (argc < 2)
		die_usage("no command given");
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		fputs(usage_text, stdout);
		return 0;
	}
	if (strcmp(argv[1], "--version") == 0) {
		puts("agentguard " AG_VERSION);
		return 0;
	}
	if (strcmp(argv[1], "run") == 0)
		return cmd_run(argc - 1, argv + 1);
	if (strcmp(argv[1], "check") == 0)
		return cmd_check(argc - 1, argv + 1);
	if (strcmp(argv[1], "explain") == 0)
		return cmd_explain(argc - 1, argv + 1);
	if (strcmp(argv[1], "shim") == 0)
		return cmd_shim(argc - 1, argv + 1);
	die_usage("unknown command \"%s\"", argv[1]);
}
