/* A hostile C host: every argument the ABI refuses, handles used after shutdown and shut down
 * twice, and threads racing record against shutdown. Each CHECK that fails prints its line
 * and the library's message; the program exits 0 only if all pass.
 *
 * usage: abuse <state-dir> */

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "candor.h"

static int failures = 0;
static int checks = 0;

#define S(literal) literal, (sizeof(literal) - 1)

#define CHECK(cond)                                                                         \
    do {                                                                                    \
        checks++;                                                                           \
        if (!(cond)) {                                                                      \
            char message_[512];                                                             \
            candor_last_error(message_, sizeof message_);                                   \
            fprintf(stderr, "abuse.c:%d: CHECK(%s) failed; last error: %s\n", __LINE__,     \
                    #cond, message_);                                                       \
            failures++;                                                                     \
        }                                                                                   \
    } while (0)

/* The code and that the last error names `needle`. */
static int refused(CandorCode code, CandorCode expected, const char *needle) {
    char message[1024];
    candor_last_error(message, sizeof message);
    if (code != expected) {
        fprintf(stderr, "got %s, wanted %s (%s)\n", candor_code_name(code),
                candor_code_name(expected), message);
        return 0;
    }
    if (needle != NULL && strstr(message, needle) == NULL) {
        fprintf(stderr, "the message \"%s\" does not mention \"%s\"\n", message, needle);
        return 0;
    }
    return 1;
}

static const char *state_dir;

static CandorHandle agent(void) {
    CandorBuilder b = 0;
    CandorHandle h = 0;
    char sink[4096];
    snprintf(sink, sizeof sink, "%s/events.jsonl", state_dir);
    if (candor_builder_new(S("contrast-dotnet-agent"), &b) != CANDOR_CODE_OK ||
        candor_builder_runtime(b, S("framework")) != CANDOR_CODE_OK ||
        candor_builder_version(b, S("21.5.1")) != CANDOR_CODE_OK ||
        candor_builder_state_dir(b, state_dir, strlen(state_dir)) != CANDOR_CODE_OK ||
        candor_builder_sink(b, CANDOR_SINK_FILE, sink, strlen(sink)) != CANDOR_CODE_OK ||
        candor_build(b, &h) != CANDOR_CODE_OK) {
        char message[512];
        candor_last_error(message, sizeof message);
        fprintf(stderr, "cannot build the agent: %s\n", message);
        exit(2);
    }
    return h;
}

static void arguments(void) {
    CandorBuilder b = 0;
    CHECK(candor_abi_version() == CANDOR_ABI_VERSION);
    CHECK(refused(candor_builder_new(NULL, 5, &b), CANDOR_CODE_NULL, "product"));
    CHECK(refused(candor_builder_new(S("no-such-product"), &b), CANDOR_CODE_BUILD,
                  "no-such-product"));
    CHECK(refused(candor_builder_new(S("contrast-dotnet-agent"), NULL), CANDOR_CODE_NULL, "out"));
    /* A length the caller could never have allocated is refused before anything is read. */
    CHECK(refused(candor_builder_new((const char *)1, SIZE_MAX, &b), CANDOR_CODE_TOO_LARGE,
                  "product"));

    CHECK(candor_builder_new(S("contrast-dotnet-agent"), &b) == CANDOR_CODE_OK && b != 0);
    CHECK(refused(candor_builder_version(b, S("21.\xff\xfe")), CANDOR_CODE_UTF8, "version"));
    size_t mb = 1024 * 1024;
    char *big = malloc(mb);
    memset(big, 'a', mb);
    CHECK(refused(candor_builder_version(b, big, mb), CANDOR_CODE_TOO_LARGE, "1048576 bytes"));
    CHECK(refused(candor_builder_sink(b, 99, S("http://127.0.0.1:1")), CANDOR_CODE_INVALID_ARGUMENT,
                  "99"));
    CHECK(refused(candor_builder_sink(b, CANDOR_SINK_OTLP_HTTP, NULL, 0), CANDOR_CODE_NULL,
                  "endpoint"));
    CHECK(refused(candor_builder_sink(b, CANDOR_SINK_JSON, NULL, 7), CANDOR_CODE_NULL, "target"));
    /* A NULL `out` refuses the build but leaves the builder usable. */
    CHECK(refused(candor_build(b, NULL), CANDOR_CODE_NULL, "out"));
    CHECK(candor_builder_runtime(b, S("framework")) == CANDOR_CODE_OK);
    /* No version: refused, and the builder is gone. */
    CandorHandle h = 0;
    CHECK(refused(candor_build(b, &h), CANDOR_CODE_BUILD, "version"));
    CHECK(h == 0);
    CHECK(refused(candor_builder_version(b, S("21.5.1")), CANDOR_CODE_CLOSED, "built or freed"));
    CHECK(refused(candor_builder_free(b), CANDOR_CODE_CLOSED, NULL));

    /* A builder freed twice. */
    CHECK(candor_builder_new(S("aspire-dashboard"), &b) == CANDOR_CODE_OK);
    CHECK(candor_builder_free(b) == CANDOR_CODE_OK);
    CHECK(refused(candor_builder_free(b), CANDOR_CODE_CLOSED, NULL));

    /* Made-up ids, and ids of the other kind. */
    CHECK(refused(candor_record_count(0, S("working_set"), 1), CANDOR_CODE_UNKNOWN_HANDLE, "0"));
    CHECK(refused(candor_record_count(1ull << 60, S("working_set"), 1),
                  CANDOR_CODE_UNKNOWN_HANDLE, "not a telemetry handle this library issued"));
    CHECK(candor_builder_new(S("aspire-dashboard"), &b) == CANDOR_CODE_OK);
    CHECK(refused(candor_flush(b, 10), CANDOR_CODE_UNKNOWN_HANDLE, "is a builder"));
    CHECK(refused(candor_builder_free(b + 1000000), CANDOR_CODE_UNKNOWN_HANDLE, NULL));
    CHECK(candor_builder_free(b) == CANDOR_CODE_OK);

    /* A catalogue of the host's own: 1 MB of garbage is refused by the loader, not crashed on. */
    CHECK(refused(candor_builder_from_toml(big, mb, &b), CANDOR_CODE_BUILD, NULL));
    CHECK(refused(candor_builder_from_toml(big, 5 * mb, &b), CANDOR_CODE_TOO_LARGE, NULL));

    h = agent();
    CHECK(refused(candor_record_text(h, S("os_version"), big, mb), CANDOR_CODE_TOO_LARGE,
                  "value"));
    CHECK(refused(candor_record_text(h, big, mb, S("x")), CANDOR_CODE_TOO_LARGE, "point"));
    CHECK(refused(candor_record_text(h, S("os_version"), NULL, 3), CANDOR_CODE_NULL, "value"));
    CHECK(refused(candor_record_count(h, NULL, 0, 1), CANDOR_CODE_NULL, "point"));
    CHECK(refused(candor_record_word(h, S("agent_version"), S("\xc3\x28")), CANDOR_CODE_UTF8,
                  "offset 0"));

    CandorStr names[3] = {{S("a")}, {S("b\xff")}, {S("c")}};
    CHECK(refused(candor_record_names(h, S("disabled_assess_rules"), names, 3), CANDOR_CODE_UTF8,
                  "names[1]"));
    CHECK(refused(candor_record_names(h, S("disabled_assess_rules"), NULL, 3), CANDOR_CODE_NULL,
                  "names"));
    CHECK(candor_record_names(h, S("disabled_assess_rules"), NULL, 0) == CANDOR_CODE_OK);
    CandorStr *many = calloc(CANDOR_MAX_ITEMS + 1, sizeof(CandorStr));
    for (size_t i = 0; i <= CANDOR_MAX_ITEMS; i++) {
        many[i].ptr = "n";
        many[i].len = 1;
    }
    CHECK(refused(candor_record_names(h, S("disabled_assess_rules"), many, CANDOR_MAX_ITEMS + 1),
                  CANDOR_CODE_TOO_LARGE, "4097 items"));
    CHECK(refused(candor_record_names(h, S("disabled_assess_rules"), many, SIZE_MAX),
                  CANDOR_CODE_TOO_LARGE, NULL));

    double samples[4] = {1.0, 2.0, 3.0, 4.0};
    const double *misaligned = (const double *)((const char *)samples + 1);
    CHECK(refused(candor_record_samples(h, S("iis_apps_per_pool"), misaligned, 2),
                  CANDOR_CODE_INVALID_ARGUMENT, "aligned"));
    CHECK(refused(candor_record_histogram(h, S("contrast_http_response_time"), misaligned, 2),
                  CANDOR_CODE_INVALID_ARGUMENT, "aligned"));
    CHECK(refused(candor_record_histogram(h, S("contrast_http_response_time"), NULL, 3),
                  CANDOR_CODE_NULL, "measurements"));
    CHECK(refused(candor_record_histogram(h, S("contrast_http_response_time"), samples,
                                          CANDOR_MAX_ITEMS + 1),
                  CANDOR_CODE_TOO_LARGE, "4097 items"));

    CandorStr labels[2] = {{S("200")}, {S("200")}};
    uint64_t counts[2] = {1, 2};
    CHECK(refused(candor_record_label_counts(h, S("contrast_http_status_codes"), labels, counts, 2),
                  CANDOR_CODE_INVALID_ARGUMENT, "twice"));
    CHECK(refused(candor_record_label_counts(h, S("contrast_http_status_codes"), labels, NULL, 2),
                  CANDOR_CODE_NULL, "counts"));

    CandorException e;
    memset(&e, 0, sizeof e);
    CHECK(refused(candor_record_exception(h, S("sensor_exceptions"), NULL), CANDOR_CODE_NULL,
                  "exception"));
    CHECK(refused(candor_record_exception(h, S("sensor_exceptions"), &e), CANDOR_CODE_NULL,
                  "type_name"));
    e.type_name.ptr = "System.Exception";
    e.type_name.len = strlen(e.type_name.ptr);
    e.message.len = 5; /* NULL with a length */
    CHECK(refused(candor_record_exception(h, S("sensor_exceptions"), &e), CANDOR_CODE_NULL,
                  "exception.message"));
    e.message.len = 0;
    CHECK(candor_record_exception(h, S("sensor_exceptions"), &e) == CANDOR_CODE_OK);

    /* Copying out: a buffer too small is left alone and told the length. */
    size_t len = 0;
    char tiny[4] = {'x', 'x', 'x', 'x'};
    CHECK(refused(candor_status_json(h, tiny, sizeof tiny, &len), CANDOR_CODE_BUFFER_TOO_SMALL,
                  "needed"));
    CHECK(len > 10 && tiny[0] == 'x');
    CHECK(refused(candor_status_json(h, NULL, 0, NULL), CANDOR_CODE_NULL, "out_len"));
    CHECK(candor_status_json(h, NULL, 0, &len) == CANDOR_CODE_BUFFER_TOO_SMALL);
    char *json = malloc(len + 1);
    size_t written = 0;
    CHECK(candor_status_json(h, json, len + 1, &written) == CANDOR_CODE_OK);
    CHECK(written == len && json[len] == '\0' && strstr(json, "\"recorded\"") != NULL);
    free(json);
    CHECK(refused(candor_status(h, NULL), CANDOR_CODE_NULL, "out"));

    /* The last error, cut to fit (snprintf's contract). */
    candor_record_count(0, S("working_set"), 1);
    char cut[8];
    size_t whole = candor_last_error(cut, sizeof cut);
    CHECK(whole > 7 && strlen(cut) == 7);
    CHECK(candor_last_error(NULL, 0) == whole);
    CHECK(strcmp(candor_code_name(CANDOR_CODE_TOO_LARGE), "CANDOR_CODE_TOO_LARGE") == 0);
    CHECK(strcmp(candor_code_name(1234), "CANDOR_CODE_UNKNOWN") == 0);
    CHECK(strcmp(candor_code_name(-1), "CANDOR_CODE_UNKNOWN") == 0);

    CandorStatus st;
    CHECK(candor_shutdown(h, 5000, &st) == CANDOR_CODE_OK);
    CHECK(st.mode == CANDOR_MODE_ON && st.recorded == 2);
    /* Use after shutdown, and shutdown twice. */
    CHECK(refused(candor_shutdown(h, 10, &st), CANDOR_CODE_CLOSED, "shut down"));
    CHECK(refused(candor_record_count(h, S("working_set"), 1), CANDOR_CODE_CLOSED, "shut down"));
    CHECK(refused(candor_status(h, &st), CANDOR_CODE_CLOSED, NULL));
    CHECK(refused(candor_flush(h, 10), CANDOR_CODE_CLOSED, NULL));
    CHECK(refused(candor_set_host_opted_out(h, 1, NULL), CANDOR_CODE_CLOSED, NULL));
    CHECK(refused(candor_record_system_snapshot(h, NULL), CANDOR_CODE_CLOSED, NULL));
    free(many);
    free(big);
}

/* Threads recording while another shuts the handle down. */
struct racer {
    CandorHandle handle;
    uint64_t ok;
    uint64_t closed;
    uint64_t other;
};

static void *record_until_closed(void *arg) {
    struct racer *r = arg;
    for (uint64_t i = 0; i < 50000000 && r->closed == 0; i++) {
        CandorCode code = candor_record_count(r->handle, S("working_set"), i);
        if (code == CANDOR_CODE_OK) {
            r->ok++;
        } else if (code == CANDOR_CODE_CLOSED) {
            r->closed++;
        } else {
            r->other++;
        }
    }
    /* Once closed, closed for good. */
    for (int i = 0; i < 1000; i++) {
        if (candor_record_count(r->handle, S("working_set"), 1) != CANDOR_CODE_CLOSED) {
            r->other++;
        }
    }
    return NULL;
}

static void *shut_down(void *arg) {
    struct racer *r = arg;
    CandorCode code = candor_shutdown(r->handle, 2000, NULL);
    if (code == CANDOR_CODE_OK) {
        r->ok++;
    } else if (code == CANDOR_CODE_CLOSED) {
        r->closed++;
    } else {
        r->other++;
    }
    return NULL;
}

/* A thread of its own: builds, records and shuts down its own handle; its last error is its
 * own, whatever the other threads get wrong meanwhile. */
static void *own_handle(void *arg) {
    struct racer *r = arg;
    char message[256];
    if (candor_last_error(message, sizeof message) != 0) {
        r->other++; /* another thread's message leaked into this one */
    }
    CandorHandle h = agent();
    for (int i = 0; i < 1000; i++) {
        if (candor_record_count(h, S("working_set"), (uint64_t)i) != CANDOR_CODE_OK) {
            r->other++;
        }
    }
    /* This thread's own failure, and only it, is in its last error. */
    candor_record_count(h, NULL, 0, 1);
    candor_last_error(message, sizeof message);
    if (strstr(message, "point is NULL") == NULL) {
        r->other++;
    }
    CandorStatus st;
    if (candor_shutdown(h, 5000, &st) == CANDOR_CODE_OK && st.recorded > 0) {
        r->ok++;
    } else {
        r->other++;
    }
    return NULL;
}

#define THREADS 8

static void races(void) {
    CandorHandle h = agent();
    pthread_t threads[THREADS];
    struct racer racers[THREADS];
    for (int i = 0; i < THREADS; i++) {
        racers[i] = (struct racer){h, 0, 0, 0};
        pthread_create(&threads[i], NULL, record_until_closed, &racers[i]);
    }
    struct timespec pause = {0, 30 * 1000 * 1000};
    nanosleep(&pause, NULL);
    CandorStatus st;
    CHECK(candor_shutdown(h, 5000, &st) == CANDOR_CODE_OK);
    uint64_t ok = 0;
    for (int i = 0; i < THREADS; i++) {
        pthread_join(threads[i], NULL);
        CHECK(racers[i].closed == 1 && racers[i].other == 0);
        ok += racers[i].ok;
    }
    /* Everything counted as recorded was accepted by a call that returned OK. */
    CHECK(st.recorded + st.dropped_queue_full <= ok && st.recorded > 0);

    /* Eight threads shut one handle down at once: exactly one succeeds. */
    h = agent();
    uint64_t shut = 0, closed = 0;
    for (int i = 0; i < THREADS; i++) {
        racers[i] = (struct racer){h, 0, 0, 0};
        pthread_create(&threads[i], NULL, shut_down, &racers[i]);
    }
    for (int i = 0; i < THREADS; i++) {
        pthread_join(threads[i], NULL);
        shut += racers[i].ok;
        closed += racers[i].closed;
        CHECK(racers[i].other == 0);
    }
    CHECK(shut == 1 && closed == THREADS - 1);

    /* Eight threads each with a handle of their own, built and shut down at the same time. */
    for (int i = 0; i < THREADS; i++) {
        racers[i] = (struct racer){0, 0, 0, 0};
        pthread_create(&threads[i], NULL, own_handle, &racers[i]);
    }
    for (int i = 0; i < THREADS; i++) {
        pthread_join(threads[i], NULL);
        CHECK(racers[i].ok == 1 && racers[i].other == 0);
    }
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: abuse <state-dir>\n");
        return 2;
    }
    state_dir = argv[1];
    arguments();
    races();
    printf("%d checks, %d failed\n", checks, failures);
    return failures == 0 ? 0 : 1;
}
