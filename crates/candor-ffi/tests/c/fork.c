/* A host that forks while its threads record: the child must get CANDOR_CODE_FORKED for every
 * handle and builder made before the fork, at once (never a wait on a lock a vanished thread
 * held), and must be able to build and use a handle of its own. The parent carries on.
 *
 * usage: fork <state-dir>
 * Each child that fails a check exits 1; one that hangs is killed by its alarm. The program
 * exits 0 only if every child and the parent passed. */

#define _POSIX_C_SOURCE 200809L

#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "candor.h"

#define S(literal) literal, (sizeof(literal) - 1)
#define CHILDREN 8
#define RECORDERS 4

static const char *state_dir;
static CandorHandle shared_handle;
static volatile int stop = 0;

static int fail(const char *what, CandorCode code) {
    char message[512];
    candor_last_error(message, sizeof message);
    fprintf(stderr, "[%d] %s: %s (%s)\n", (int)getpid(), what, candor_code_name(code), message);
    return 1;
}

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* The agent, writing JSON lines to `sink` and keeping its state in `dir`. */
static CandorCode agent(const char *dir, const char *sink, CandorHandle *out) {
    CandorBuilder b = 0;
    CandorCode c;
    if ((c = candor_builder_new(S("contrast-dotnet-agent"), &b)) != CANDOR_CODE_OK) return c;
    if ((c = candor_builder_runtime(b, S("framework"))) != CANDOR_CODE_OK) return c;
    if ((c = candor_builder_version(b, S("21.5.1"))) != CANDOR_CODE_OK) return c;
    if ((c = candor_builder_state_dir(b, dir, strlen(dir))) != CANDOR_CODE_OK) return c;
    if ((c = candor_builder_sink(b, CANDOR_SINK_FILE, sink, strlen(sink))) != CANDOR_CODE_OK)
        return c;
    return candor_build(b, out);
}

static void *record_until_stopped(void *unused) {
    (void)unused;
    while (!stop) {
        candor_record_count(shared_handle, S("iis_app_count"), 1);
        candor_status(shared_handle, &(CandorStatus){0});
    }
    return NULL;
}

/* Everything the child checks; returns the number of failures. */
static int child(int n, CandorBuilder parents_builder) {
    int failures = 0;
    CandorCode c;
    CandorStatus status;
    double started = now();

    /* The parent's handle and builder: refused, with a message saying why. */
    if ((c = candor_record_count(shared_handle, S("iis_app_count"), 77)) != CANDOR_CODE_FORKED)
        failures += fail("record on the parent's handle", c);
    char message[512];
    candor_last_error(message, sizeof message);
    if (strstr(message, "fork") == NULL) failures += fail("the message names fork()", c);
    if ((c = candor_flush(shared_handle, 2000)) != CANDOR_CODE_FORKED)
        failures += fail("flush of the parent's handle", c);
    if ((c = candor_status(shared_handle, &status)) != CANDOR_CODE_FORKED)
        failures += fail("status of the parent's handle", c);
    if ((c = candor_set_host_opted_out(shared_handle, 0, NULL)) != CANDOR_CODE_FORKED)
        failures += fail("host switch of the parent's handle", c);
    if ((c = candor_shutdown(shared_handle, 2000, &status)) != CANDOR_CODE_FORKED)
        failures += fail("shutdown of the parent's handle", c);
    if ((c = candor_builder_version(parents_builder, S("21.5.1"))) != CANDOR_CODE_FORKED)
        failures += fail("the parent's builder", c);
    if ((c = candor_builder_free(parents_builder)) != CANDOR_CODE_FORKED)
        failures += fail("freeing the parent's builder", c);
    /* Refused at once: nothing waited for the parent's threads or locks. */
    if (now() - started > 1.0) {
        fprintf(stderr, "[%d] the refusals took %.2f s\n", (int)getpid(), now() - started);
        failures++;
    }

    /* A handle of the child's own works end to end. In a folder of its own, so that what it
     * delivers is its own: processes sharing a folder share its spool, and a child's shutdown
     * would deliver (or wait for) what the parent's threads keep writing there. */
    char dir[4096], sink[4096];
    snprintf(dir, sizeof dir, "%s/child-%d", state_dir, n);
    snprintf(sink, sizeof sink, "%s/child-%d.jsonl", state_dir, n);
    mkdir(dir, 0700);
    CandorHandle own = 0;
    if ((c = agent(dir, sink, &own)) != CANDOR_CODE_OK) return failures + fail("child build", c);
    if (own == shared_handle) failures += fail("the child's id is new", CANDOR_CODE_OK);
    if ((c = candor_record_count(own, S("iis_app_count"), 1000 + n)) != CANDOR_CODE_OK)
        failures += fail("child record", c);
    if ((c = candor_shutdown(own, 10000, &status)) != CANDOR_CODE_OK)
        failures += fail("child shutdown", c);
    if (status.recorded != 1 || status.delivered != 1) {
        fprintf(stderr, "[%d] child recorded %llu, delivered %llu\n", (int)getpid(),
                (unsigned long long)status.recorded, (unsigned long long)status.delivered);
        failures++;
    }
    return failures;
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: fork <state-dir>\n");
        return 2;
    }
    state_dir = argv[1];
    char sink[4096];
    snprintf(sink, sizeof sink, "%s/parent.jsonl", state_dir);
    CandorCode c = agent(state_dir, sink, &shared_handle);
    if (c != CANDOR_CODE_OK) return fail("parent build", c) + 1;
    CandorBuilder pending = 0;
    if ((c = candor_builder_new(S("aspire-dashboard"), &pending)) != CANDOR_CODE_OK)
        return fail("parent builder", c) + 1;

    pthread_t threads[RECORDERS];
    for (int i = 0; i < RECORDERS; i++) pthread_create(&threads[i], NULL, record_until_stopped, NULL);

    int failures = 0;
    for (int n = 0; n < CHILDREN; n++) {
        struct timespec pause = {0, 20 * 1000 * 1000};
        nanosleep(&pause, NULL); /* the recorders are inside calls when the fork comes */
        fflush(NULL);
        pid_t pid = fork();
        if (pid == 0) {
            alarm(30); /* a child that hangs is killed, and counted as failed */
            _exit(child(n, pending) == 0 ? 0 : 1);
        }
        int status = 0;
        waitpid(pid, &status, 0);
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
            fprintf(stderr, "child %d: %s %d\n", n,
                    WIFEXITED(status) ? "exited with" : "killed by signal",
                    WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
            failures++;
        }
    }
    stop = 1;
    for (int i = 0; i < RECORDERS; i++) pthread_join(threads[i], NULL);

    /* The parent kept its handle and builder through all of it. */
    if ((c = candor_builder_free(pending)) != CANDOR_CODE_OK) failures += fail("parent free", c);
    CandorStatus status;
    if ((c = candor_shutdown(shared_handle, 10000, &status)) != CANDOR_CODE_OK)
        failures += fail("parent shutdown", c);
    if (status.recorded == 0) failures += fail("the parent recorded", CANDOR_CODE_OK);
    printf("%d children, %d failed; the parent recorded %llu\n", CHILDREN, failures,
           (unsigned long long)status.recorded);
    return failures == 0 ? 0 : 1;
}
