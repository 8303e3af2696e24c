/* Test harness: tpm2-abrmd on a private D-Bus bus in front of a test's swtpm (a resource manager). */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <tss2/tss2_tctildr.h>

#include "harness/abrmd.h"

#define TABRMD_TCTI "tabrmd:bus_type=session"

static void sleep_ms(long ms)
{
    struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

    nanosleep(&ts, NULL);
}

static int on_path(const char *prog)
{
    const char *path = getenv("PATH");
    char buf[4096];

    if (path == NULL)
        path = "/usr/bin:/bin";
    for (const char *p = path; *p != '\0';) {
        size_t n = strcspn(p, ":");
        snprintf(buf, sizeof buf, "%.*s/%s", (int)n, p, prog);
        if (access(buf, X_OK) == 0)
            return 1;
        p += n + (p[n] == ':');
    }
    /* Debian puts tpm2-abrmd in sbin, which a user's PATH may lack. */
    snprintf(buf, sizeof buf, "/usr/sbin/%s", prog);
    return access(buf, X_OK) == 0;
}

/* In a child: dies with the test, quiet on stdout. */
static void child_prepare(pid_t parent)
{
    int devnull;

    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent)
        _exit(127);
    if ((devnull = open("/dev/null", O_RDWR)) >= 0) {
        dup2(devnull, STDIN_FILENO);
        dup2(devnull, STDOUT_FILENO);
        close(devnull);
    }
}

/* dbus-daemon --session on a private socket; its address comes back through a pipe. */
static int dbus_start(struct abrmd *a)
{
    pid_t parent = getpid();
    char fdarg[32];
    int fds[2];
    ssize_t n;

    if (pipe(fds) != 0)
        return -1;
    if ((a->dbus_pid = fork()) < 0)
        return -1;
    if (a->dbus_pid == 0) {
        close(fds[0]);
        child_prepare(parent);
        snprintf(fdarg, sizeof fdarg, "--print-address=%d", fds[1]);
        execlp("dbus-daemon", "dbus-daemon", "--session", "--nofork", "--nopidfile", fdarg,
               (char *)NULL);
        _exit(127);
    }
    close(fds[1]);
    n = read(fds[0], a->address, sizeof a->address - 1);
    close(fds[0]);
    if (n <= 0)
        return -1;
    a->address[n] = '\0';
    a->address[strcspn(a->address, "\n")] = '\0';
    return 0;
}

static int abrmd_spawn(struct abrmd *a, const struct swtpm *tpm)
{
    pid_t parent = getpid();
    char tcti[160];

    snprintf(tcti, sizeof tcti, "--tcti=%s", tpm->tcti);
    if ((a->pid = fork()) < 0)
        return -1;
    if (a->pid == 0) {
        child_prepare(parent);
        execlp("tpm2-abrmd", "tpm2-abrmd", "--session", "--allow-root", "--flush-all", tcti,
               (char *)NULL);
        execl("/usr/sbin/tpm2-abrmd", "tpm2-abrmd", "--session", "--allow-root", "--flush-all",
              tcti, (char *)NULL);
        _exit(127);
    }
    return 0;
}

/*
 * Whether the tabrmd TCTI connects, tried in a child: GLib's D-Bus connection, which that TCTI
 * keeps for the process, would not survive the test's later forks.
 */
static int tabrmd_answers(void)
{
    TSS2_TCTI_CONTEXT *tcti = NULL;
    int status;
    pid_t pid = fork();

    if (pid < 0)
        return 0;
    if (pid == 0) {
        if (Tss2_TctiLdr_Initialize(TABRMD_TCTI, &tcti) != TSS2_RC_SUCCESS)
            _exit(1);
        Tss2_TctiLdr_Finalize(&tcti);
        _exit(0);
    }
    return waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

/* abrmd claims its bus name a while after it starts; until then the TCTI cannot connect. */
static int abrmd_wait(struct abrmd *a)
{
    int status;

    for (int i = 0; i < 100; i++) {
        if (waitpid(a->pid, &status, WNOHANG) == a->pid) {
            a->pid = 0;
            return -1;
        }
        if (tabrmd_answers())
            return 0;
        sleep_ms(50);
    }
    return -1;
}

int abrmd_start(struct abrmd *a, const struct swtpm *tpm)
{
    void *probe;

    memset(a, 0, sizeof a[0]);
    if (!on_path("tpm2-abrmd") || !on_path("dbus-daemon"))
        return 1;
    /* The TCTI library tctildr would load for "tabrmd". */
    if ((probe = fopen("/usr/lib/x86_64-linux-gnu/libtss2-tcti-tabrmd.so.0", "r")) == NULL &&
        system("ldconfig -p 2>/dev/null | grep -q libtss2-tcti-tabrmd") != 0)
        return 1;
    if (probe != NULL)
        fclose(probe);
    if (dbus_start(a) != 0) {
        fprintf(stderr, "harness: cannot start dbus-daemon\n");
        abrmd_stop(a, tpm);
        return -1;
    }
    setenv("DBUS_SESSION_BUS_ADDRESS", a->address, 1);
    if (abrmd_spawn(a, tpm) != 0 || abrmd_wait(a) != 0) {
        fprintf(stderr, "harness: tpm2-abrmd did not come up on %s\n", a->address);
        abrmd_stop(a, tpm);
        return -1;
    }
    setenv("TPMTOK_TCTI", TABRMD_TCTI, 1);
    return 0;
}

static void reap(pid_t *pid)
{
    int status;

    if (*pid > 0) {
        kill(*pid, SIGTERM);
        waitpid(*pid, &status, 0);
        *pid = 0;
    }
}

void abrmd_stop(struct abrmd *a, const struct swtpm *tpm)
{
    reap(&a->pid);
    reap(&a->dbus_pid);
    unsetenv("DBUS_SESSION_BUS_ADDRESS");
    setenv("TPMTOK_TCTI", tpm->tcti, 1);
}
