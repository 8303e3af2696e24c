/* Runs a command with a private swtpm: `with-swtpm CMD ARGS...` (TPMTOK_TCTI/TPMTOK_STORE set). */
#include "config.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness/swtpm.h"

int main(int argc, char **argv)
{
    struct swtpm tpm;
    int status = 0;
    pid_t pid;

    if (argc < 2) {
        fprintf(stderr, "usage: with-swtpm COMMAND [ARGS...]\n");
        return 2;
    }
    if (swtpm_start(&tpm) != 0)
        return 99;   /* automake's "hard error" */
    setenv("TPMTOK_TEST_DIR", tpm.dir, 1);
    pid = fork();
    if (pid == 0) {
        execvp(argv[1], argv + 1);
        perror(argv[1]);
        _exit(127);
    }
    if (pid < 0 || waitpid(pid, &status, 0) < 0)
        status = 99 << 8;
    swtpm_stop(&tpm);
    if (WIFSIGNALED(status))
        return 128 + WTERMSIG(status);
    return WEXITSTATUS(status);
}
