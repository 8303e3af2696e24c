/* Starts, restarts and stops a private swtpm for a test program, on free loopback ports. */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <tss2/tss2_esys.h>
#include <tss2/tss2_tctildr.h>

#include "harness/swtpm.h"

/*
 * Binds 127.0.0.1:port as a listener would (SO_REUSEADDR, as swtpm does, so connections in
 * TIME_WAIT do not count as use). Returns the port, or -1 if something listens there.
 */
static int bind_loopback(int port)
{
    struct sockaddr_in a = { .sin_family = AF_INET };
    int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1, got = -1;

    if (fd < 0)
        return -1;
    a.sin_port = htons((uint16_t)port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(fd, (struct sockaddr *)&a, sizeof a) == 0)
        got = port;
    close(fd);
    return got;
}

/* The low end of the kernel's ephemeral ports: the TCTI's connections use those. */
static int ephemeral_low(void)
{
    FILE *fp = fopen("/proc/sys/net/ipv4/ip_local_port_range", "r");
    int low = 32768, high;

    if (fp != NULL) {
        if (fscanf(fp, "%d %d", &low, &high) != 2)
            low = 32768;
        fclose(fp);
    }
    return low;
}

/*
 * tss2's swtpm TCTI finds the control channel at the server port + 1, so both must be free.
 * The TCTI opens a connection per command and leaves thousands of ephemeral ports in
 * TIME_WAIT, so the pair is picked below the ephemeral range, where only listeners live.
 */
static int free_port_pair(void)
{
    int low = 10000, high = ephemeral_low() - 2;
    unsigned seed = (unsigned)getpid() ^ (unsigned)time(NULL);

    if (high <= low + 100)
        high = 65000;
    for (int i = 0; i < 200; i++) {
        int port = low + (int)(rand_r(&seed) % (unsigned)(high - low));
        if (bind_loopback(port) == port && bind_loopback(port + 1) == port + 1)
            return port;
    }
    return -1;
}

static int port_answers(int port)
{
    struct sockaddr_in a = { .sin_family = AF_INET };
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    int ok;

    if (fd < 0)
        return 0;
    a.sin_port = htons((uint16_t)port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ok = connect(fd, (struct sockaddr *)&a, sizeof a) == 0;
    close(fd);
    return ok;
}

static void sleep_ms(long ms)
{
    struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
    nanosleep(&ts, NULL);
}

static pid_t spawn(struct swtpm *s)
{
    char server[96], ctrl[96], state[PATH_MAX + 16];
    pid_t parent = getpid();
    pid_t pid;

    snprintf(server, sizeof server, "type=tcp,port=%d,bindaddr=127.0.0.1", s->port);
    snprintf(ctrl, sizeof ctrl, "type=tcp,port=%d,bindaddr=127.0.0.1", s->ctrl_port);
    snprintf(state, sizeof state, "dir=%s/state", s->dir);
    pid = fork();
    if (pid != 0)
        return pid;
    /* swtpm must not outlive a test that crashes. */
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent)
        _exit(127);
    int devnull = open("/dev/null", O_RDWR);
    if (devnull >= 0) {
        dup2(devnull, STDIN_FILENO);
        dup2(devnull, STDOUT_FILENO);
    }
    execlp("swtpm", "swtpm", "socket", "--tpm2", "--server", server, "--ctrl", ctrl,
           "--tpmstate", state, "--flags", "not-need-init,startup-clear", (char *)NULL);
    fprintf(stderr, "harness: cannot run swtpm: %s\n", strerror(errno));
    _exit(127);
}

/* Starts swtpm on s->port/ctrl_port and waits until it accepts connections. */
static int launch(struct swtpm *s)
{
    int status;

    s->pid = spawn(s);
    if (s->pid < 0)
        return -1;
    for (int i = 0; i < 500; i++) {
        if (waitpid(s->pid, &status, WNOHANG) == s->pid) {
            s->pid = 0;
            return -1;
        }
        if (port_answers(s->port))
            return 0;
        sleep_ms(10);
    }
    kill(s->pid, SIGKILL);
    waitpid(s->pid, &status, 0);
    s->pid = 0;
    return -1;
}

static int with_esys(struct swtpm *s, ESYS_CONTEXT **esys, TSS2_TCTI_CONTEXT **tcti)
{
    if (Tss2_TctiLdr_Initialize(s->tcti, tcti) != TSS2_RC_SUCCESS)
        return -1;
    if (Esys_Initialize(esys, *tcti, NULL) != TSS2_RC_SUCCESS) {
        Tss2_TctiLdr_Finalize(tcti);
        return -1;
    }
    return 0;
}

static void without_esys(ESYS_CONTEXT **esys, TSS2_TCTI_CONTEXT **tcti)
{
    Esys_Finalize(esys);
    Tss2_TctiLdr_Finalize(tcti);
}

int swtpm_da_setup(struct swtpm *s, unsigned max_tries, unsigned recovery_s)
{
    ESYS_CONTEXT *esys;
    TSS2_TCTI_CONTEXT *tcti;
    TSS2_RC rc;

    if (with_esys(s, &esys, &tcti) != 0)
        return -1;
    rc = Esys_DictionaryAttackParameters(esys, ESYS_TR_RH_LOCKOUT, ESYS_TR_PASSWORD,
                                         ESYS_TR_NONE, ESYS_TR_NONE, max_tries, recovery_s,
                                         recovery_s);
    if (rc == TSS2_RC_SUCCESS)
        rc = Esys_DictionaryAttackLockReset(esys, ESYS_TR_RH_LOCKOUT, ESYS_TR_PASSWORD,
                                            ESYS_TR_NONE, ESYS_TR_NONE);
    without_esys(&esys, &tcti);
    return rc == TSS2_RC_SUCCESS ? 0 : -1;
}

int swtpm_da_reset(struct swtpm *s)
{
    ESYS_CONTEXT *esys;
    TSS2_TCTI_CONTEXT *tcti;
    TSS2_RC rc;

    if (with_esys(s, &esys, &tcti) != 0)
        return -1;
    rc = Esys_DictionaryAttackLockReset(esys, ESYS_TR_RH_LOCKOUT, ESYS_TR_PASSWORD,
                                        ESYS_TR_NONE, ESYS_TR_NONE);
    without_esys(&esys, &tcti);
    return rc == TSS2_RC_SUCCESS ? 0 : -1;
}

int swtpm_pcr_extend(struct swtpm *s, unsigned pcr, const char *data)
{
    ESYS_CONTEXT *esys;
    TSS2_TCTI_CONTEXT *tcti;
    TPML_DIGEST_VALUES v = { .count = 1 };
    unsigned n = 32;
    TSS2_RC rc;

    v.digests[0].hashAlg = TPM2_ALG_SHA256;
    if (EVP_Digest(data, strlen(data), (unsigned char *)&v.digests[0].digest, &n, EVP_sha256(),
                   NULL) != 1 ||
        with_esys(s, &esys, &tcti) != 0)
        return -1;
    rc = Esys_PCR_Extend(esys, ESYS_TR_PCR0 + pcr, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE, &v);
    without_esys(&esys, &tcti);
    return rc == TSS2_RC_SUCCESS ? 0 : -1;
}

int swtpm_transient_count(struct swtpm *s)
{
    ESYS_CONTEXT *esys;
    TSS2_TCTI_CONTEXT *tcti;
    TPMS_CAPABILITY_DATA *data = NULL;
    int n = -1;

    if (with_esys(s, &esys, &tcti) != 0)
        return -1;
    /* 0x80000000 is TPM2_TRANSIENT_FIRST, whose macro shifts an int into the sign bit. */
    if (Esys_GetCapability(esys, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, TPM2_CAP_HANDLES,
                           0x80000000u, TPM2_MAX_CAP_HANDLES, NULL, &data) ==
        TSS2_RC_SUCCESS) {
        n = (int)data->data.handles.count;
        Esys_Free(data);
    }
    without_esys(&esys, &tcti);
    return n;
}

/* TPM2_FlushContext(h) sent as bytes. 0, or -1 if the TPM refused or did not answer. */
static int tpm_flush_raw(TSS2_TCTI_CONTEXT *tcti, uint32_t h)
{
    uint8_t cmd[14] = { 0x80, 0x01, 0, 0, 0, 14, 0, 0, 0x01, 0x65,
                        (uint8_t)(h >> 24), (uint8_t)(h >> 16), (uint8_t)(h >> 8), (uint8_t)h };
    uint8_t resp[64];
    size_t len = sizeof resp;

    if (Tss2_Tcti_Transmit(tcti, sizeof cmd, cmd) != TSS2_RC_SUCCESS ||
        Tss2_Tcti_Receive(tcti, &len, resp, TSS2_TCTI_TIMEOUT_BLOCK) != TSS2_RC_SUCCESS ||
        len < 10)
        return -1;
    return resp[6] == 0 && resp[7] == 0 && resp[8] == 0 && resp[9] == 0 ? 0 : -1;
}

/* Flushes every handle of one kind (the first byte of its handles). Handles flushed, or -1. */
static int flush_range(ESYS_CONTEXT *esys, TSS2_TCTI_CONTEXT *tcti, uint32_t first)
{
    TPMS_CAPABILITY_DATA *data = NULL;
    int n = 0;

    if (Esys_GetCapability(esys, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, TPM2_CAP_HANDLES,
                           first, TPM2_MAX_CAP_HANDLES, NULL, &data) != TSS2_RC_SUCCESS)
        return -1;
    /* Through SAPI: ESAPI would want an ESYS_TR, which a dead process's handle does not have. */
    for (uint32_t i = 0; i < data->data.handles.count; i++) {
        TPM2_HANDLE h = data->data.handles.handle[i];
        if ((h & 0xff000000u) != (first & 0xff000000u))
            continue;
        if (tpm_flush_raw(tcti, h) == 0)
            n++;
    }
    Esys_Free(data);
    return n;
}

int swtpm_flush_leftovers(struct swtpm *s)
{
    ESYS_CONTEXT *esys;
    TSS2_TCTI_CONTEXT *tcti;
    int a, b, c;

    if (with_esys(s, &esys, &tcti) != 0)
        return -1;
    a = flush_range(esys, tcti, 0x80000000u);
    b = flush_range(esys, tcti, 0x02000000u);
    c = flush_range(esys, tcti, 0x03000000u);
    without_esys(&esys, &tcti);
    return a < 0 || b < 0 || c < 0 ? -1 : a + b + c;
}

void swtpm_kill(struct swtpm *s)
{
    int status;

    if (s->pid > 0) {
        kill(s->pid, SIGKILL);
        waitpid(s->pid, &status, 0);
        s->pid = 0;
    }
}

int swtpm_start(struct swtpm *s)
{
    const char *tmp = getenv("TMPDIR");
    char state[PATH_MAX + 8];

    memset(s, 0, sizeof *s);
    snprintf(s->dir, sizeof s->dir, "%s/tpmtok-test-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (mkdtemp(s->dir) == NULL) {
        fprintf(stderr, "harness: mkdtemp: %s\n", strerror(errno));
        return -1;
    }
    snprintf(state, sizeof state, "%s/state", s->dir);
    if (mkdir(state, 0700) != 0)
        return -1;
    /* Another program may take a port between our probe and swtpm's bind: try again. */
    for (int attempt = 0; attempt < 10; attempt++) {
        s->port = free_port_pair();
        s->ctrl_port = s->port + 1;
        if (s->port <= 0)
            continue;
        if (launch(s) == 0)
            break;
    }
    if (s->pid <= 0) {
        fprintf(stderr, "harness: swtpm did not start (is it installed?)\n");
        return -1;
    }
    snprintf(s->tcti, sizeof s->tcti, "swtpm:host=127.0.0.1,port=%d", s->port);
    setenv("TPMTOK_TCTI", s->tcti, 1);
    swtpm_new_store(s);
    if (swtpm_da_setup(s, 1000, 1) != 0) {
        fprintf(stderr, "harness: cannot set dictionary-attack parameters\n");
        swtpm_stop(s);
        return -1;
    }
    return 0;
}

int swtpm_restart(struct swtpm *s)
{
    int status;

    if (s->pid > 0) {
        kill(s->pid, SIGKILL);
        waitpid(s->pid, &status, 0);
        s->pid = 0;
    }
    /* The kernel may hold the port briefly; keep trying it. */
    for (int i = 0; i < 100; i++) {
        if (launch(s) == 0)
            return 0;
        sleep_ms(20);
    }
    return -1;
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

void swtpm_stop(struct swtpm *s)
{
    int status;

    if (s->pid > 0) {
        kill(s->pid, SIGTERM);
        waitpid(s->pid, &status, 0);
        s->pid = 0;
    }
    if (s->dir[0] != '\0') {
        nftw(s->dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
        s->dir[0] = '\0';
    }
}

const char *swtpm_new_store(struct swtpm *s)
{
    static int counter;
    static char path[PATH_MAX + 64];

    snprintf(path, sizeof path, "%s/store-%d-%d.sqlite3", s->dir, (int)getpid(), ++counter);
    setenv("TPMTOK_STORE", path, 1);
    return path;
}
