/* The contract's finer points, each as a C host meets it: an opt-out the catalogue does not
 * follow is refused rather than accepted silently; secrets in an endpoint and control
 * characters in the caller's text never reach a message; a bad output pointer is refused
 * before the call acts; withdrawn events are counted once; measurements that are not finite
 * or are negative are refused; handles and builders are bounded per process.
 *
 * usage: contract <state-dir>
 * Each CHECK that fails prints its line and the library's message; exits 0 only if all pass. */

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "candor.h"

static int failures = 0;
static int checks = 0;
static const char *state_dir;

#define S(literal) literal, (sizeof(literal) - 1)

#define CHECK(cond)                                                                         \
    do {                                                                                    \
        checks++;                                                                           \
        if (!(cond)) {                                                                      \
            char message_[2048];                                                            \
            candor_last_error(message_, sizeof message_);                                   \
            fprintf(stderr, "contract.c:%d: CHECK(%s) failed; last error: %s\n", __LINE__,  \
                    #cond, message_);                                                       \
            failures++;                                                                     \
        }                                                                                   \
    } while (0)

static CandorBuilder builder(const char *product, size_t len) {
    CandorBuilder b = 0;
    if (candor_builder_new(product, len, &b) != CANDOR_CODE_OK ||
        candor_builder_state_dir(b, state_dir, strlen(state_dir)) != CANDOR_CODE_OK) {
        fprintf(stderr, "cannot start a builder for %s\n", product);
        exit(2);
    }
    return b;
}

static CandorHandle build(CandorBuilder b) {
    CandorHandle h = 0;
    if (candor_build(b, &h) != CANDOR_CODE_OK) {
        char message[1024];
        candor_last_error(message, sizeof message);
        fprintf(stderr, "cannot build: %s\n", message);
        exit(2);
    }
    return h;
}

static CandorHandle agent(void) {
    char sink[4096];
    snprintf(sink, sizeof sink, "%s/agent.jsonl", state_dir);
    CandorBuilder b = builder(S("contrast-dotnet-agent"));
    candor_builder_runtime(b, S("framework"));
    candor_builder_version(b, S("21.5.1"));
    candor_builder_sink(b, CANDOR_SINK_FILE, sink, strlen(sink));
    return build(b);
}

/* The dashboard launched from Visual Studio with the browser open: collecting, and following
 * its host's opt-out. */
static CandorBuilder dashboard_builder(const char *sink_url, size_t len) {
    CandorBuilder b = builder(S("aspire-dashboard"));
    candor_builder_version(b, S("9.3"));
    candor_builder_host(b, S("visual-studio"), S("17.14"));
    candor_builder_condition(b, S("browser-open"));
    if (sink_url != NULL) {
        candor_builder_sink(b, CANDOR_SINK_JSON, sink_url, len);
    } else {
        char sink[4096];
        snprintf(sink, sizeof sink, "%s/dashboard.jsonl", state_dir);
        candor_builder_sink(b, CANDOR_SINK_FILE, sink, strlen(sink));
    }
    return b;
}

static CandorStatus status_of(CandorHandle h) {
    CandorStatus status;
    memset(&status, 0, sizeof status);
    CHECK(candor_status(h, &status) == CANDOR_CODE_OK);
    return status;
}

/* The last error, and that it is one line whose length is what candor_last_error says. */
static int one_line_message(char *message, size_t cap) {
    size_t whole = candor_last_error(message, cap);
    return whole < cap && strlen(message) == whole && strchr(message, '\n') == NULL &&
           strchr(message, '\r') == NULL && strchr(message, '\x1b') == NULL &&
           strchr(message, '\x07') == NULL;
}

/* 5: a host opt-out is refused where the catalogue does not follow it, accepted where it does. */
static void host_opt_out(void) {
    CandorBuilder b = builder(S("contrast-dotnet-agent"));
    CHECK(candor_builder_host_opted_out(b, 1) == CANDOR_CODE_NOT_HONOURED);
    char message[1024];
    candor_last_error(message, sizeof message);
    CHECK(strstr(message, "contrast-dotnet-agent") != NULL && strstr(message, "opt-out") != NULL);
    CHECK(candor_builder_host_opted_out(b, 0) == CANDOR_CODE_OK);
    CHECK(candor_builder_free(b) == CANDOR_CODE_OK);

    CandorHandle h = agent();
    int32_t changed = -1;
    CHECK(candor_set_host_opted_out(h, 1, &changed) == CANDOR_CODE_NOT_HONOURED);
    CHECK(changed == -1);
    CHECK(candor_set_host_opted_out(h, 0, &changed) == CANDOR_CODE_OK && changed == 0);
    CHECK(status_of(h).mode == CANDOR_MODE_ON);
    CHECK(candor_shutdown(h, 5000, NULL) == CANDOR_CODE_OK);

    /* The dashboard honours it, from the builder on. */
    b = dashboard_builder(NULL, 0);
    CHECK(candor_builder_host_opted_out(b, 1) == CANDOR_CODE_OK);
    h = build(b);
    CHECK(status_of(h).mode == CANDOR_MODE_OFF);
    CHECK(candor_set_host_opted_out(h, 0, &changed) == CANDOR_CODE_OK && changed == 1);
    CHECK(status_of(h).mode == CANDOR_MODE_ON);
    CHECK(candor_shutdown(h, 5000, NULL) == CANDOR_CODE_OK);
}

/* 6: neither the user-info nor the query of an endpoint appears in a message. */
static void endpoint_secrets(void) {
    static const char *urls[] = {
        "http://user:pa55word@127.0.0.1:1/v1/logs?token=QSECRET",
        "https://user:pa55word@example.com/v1/logs",
        "http://user:pa/55word@127.0.0.1:1/",
    };
    for (size_t i = 0; i < sizeof urls / sizeof urls[0]; i++) {
        CandorBuilder b = builder(S("contrast-dotnet-agent"));
        candor_builder_runtime(b, S("framework"));
        candor_builder_version(b, S("21.5.1"));
        CHECK(candor_builder_sink(b, CANDOR_SINK_OTLP_HTTP, urls[i], strlen(urls[i])) ==
              CANDOR_CODE_OK);
        CandorHandle h = 0;
        CHECK(candor_build(b, &h) == CANDOR_CODE_BUILD);
        char message[2048];
        CHECK(one_line_message(message, sizeof message));
        CHECK(strstr(message, "pa55word") == NULL && strstr(message, "55word") == NULL);
        CHECK(strstr(message, "user") == NULL);
        CHECK(strstr(message, "QSECRET") == NULL);
        /* The first two parse, and are refused for their credentials. */
        CHECK(i == 2 || strstr(message, "credentials") != NULL);
    }
}

/* 7: the caller's text in a message is escaped: one line, no terminal control, no NUL. */
static void messages(void) {
    CandorBuilder b = 0;
    char message[2048];
    CHECK(candor_builder_new(S("evil\nsecond line\x1b[31mred\r\x07"), &b) == CANDOR_CODE_BUILD);
    CHECK(one_line_message(message, sizeof message));
    CHECK(strstr(message, "evil\\u{a}second line\\u{1b}[31mred\\u{d}\\u{7}") != NULL);

    b = builder(S("contrast-dotnet-agent"));
    candor_builder_runtime(b, S("framework"));
    CHECK(candor_builder_version(b, S("21.5.1\nINJECTED: all clear")) == CANDOR_CODE_OK);
    CandorHandle h = 0;
    CHECK(candor_build(b, &h) == CANDOR_CODE_BUILD);
    CHECK(one_line_message(message, sizeof message));

    /* A folder with a NUL in it: the message's length is its strlen. */
    char dir[4096];
    int n = snprintf(dir, sizeof dir, "%s/a", state_dir);
    memcpy(dir + n, "\0b/\n", 4);
    b = builder(S("contrast-dotnet-agent"));
    candor_builder_runtime(b, S("framework"));
    candor_builder_version(b, S("21.5.1"));
    CHECK(candor_builder_state_dir(b, dir, (size_t)n + 4) == CANDOR_CODE_OK);
    CHECK(candor_build(b, &h) == CANDOR_CODE_BUILD);
    CHECK(one_line_message(message, sizeof message));
    CHECK(strstr(message, "\\u{0}") != NULL);
}

/* 8: a misaligned output pointer is refused before the call does anything. */
static void output_pointers(void) {
    _Alignas(8) char raw[256];
    int32_t *changed = (int32_t *)(void *)(raw + 1);
    CandorStatus *status = (CandorStatus *)(void *)(raw + 1);
    uint32_t *unavailable = (uint32_t *)(void *)(raw + 1);
    CandorHandle *handle = (CandorHandle *)(void *)(raw + 3);

    CandorBuilder b = dashboard_builder(NULL, 0);
    CHECK(candor_build(b, handle) == CANDOR_CODE_INVALID_ARGUMENT);
    /* The builder was not consumed. */
    CandorHandle h = build(b);

    CHECK(candor_set_host_opted_out(h, 1, changed) == CANDOR_CODE_INVALID_ARGUMENT);
    CHECK(status_of(h).mode == CANDOR_MODE_ON);
    CHECK(candor_status(h, status) == CANDOR_CODE_INVALID_ARGUMENT);
    CHECK(candor_shutdown(h, 1000, status) == CANDOR_CODE_INVALID_ARGUMENT);
    /* Still running. */
    CHECK(candor_record_word(h, S("request_language"), S("en-GB")) == CANDOR_CODE_OK);
    CHECK(status_of(h).recorded == 1);
    CHECK(candor_shutdown(h, 5000, NULL) == CANDOR_CODE_OK);

    CandorBuilder *misaligned_builder = (CandorBuilder *)(void *)(raw + 5);
    CHECK(candor_builder_new(S("aspire-dashboard"), misaligned_builder) ==
          CANDOR_CODE_INVALID_ARGUMENT);
    size_t *misaligned_len = (size_t *)(void *)(raw + 2);
    h = agent();
    CHECK(candor_status_json(h, NULL, 0, misaligned_len) == CANDOR_CODE_INVALID_ARGUMENT);
    /* The agent's snapshot reads the machine: not when its output cannot be written. */
    CHECK(candor_record_system_snapshot(h, unavailable) == CANDOR_CODE_INVALID_ARGUMENT);
    CHECK(status_of(h).recorded == 0);
    CHECK(candor_record_system_snapshot(h, NULL) == CANDOR_CODE_OK);
    CHECK(status_of(h).recorded > 0);
    CHECK(candor_shutdown(h, 5000, NULL) == CANDOR_CODE_OK);
}

/* 9: events withdrawn by an opt-out are counted once, as discarded by consent. */
static void withdrawn_once(void) {
    /* Nothing listens on port 1: the events wait in the pipeline. */
    CandorHandle h = build(dashboard_builder(S("http://127.0.0.1:1/ingest")));
    for (int i = 0; i < 5; i++) {
        CHECK(candor_record_word(h, S("request_language"), S("en-GB")) == CANDOR_CODE_OK);
    }
    CHECK(candor_flush(h, 300) == CANDOR_CODE_OK);
    CandorStatus before = status_of(h);
    CHECK(before.delivered == 0 && before.dropped == 0);
    int32_t changed = 0;
    CHECK(candor_set_host_opted_out(h, 1, &changed) == CANDOR_CODE_OK && changed == 1);
    CandorStatus after = status_of(h);
    CHECK(after.discarded_by_consent == 5);
    CHECK(after.dropped == 0);
    CHECK(after.pending == 0 && after.delivered == 0);
    if (after.discarded_by_consent + after.dropped != 5) {
        fprintf(stderr, "5 events counted as %llu discarded and %llu dropped\n",
                (unsigned long long)after.discarded_by_consent,
                (unsigned long long)after.dropped);
    }
    CHECK(candor_shutdown(h, 500, NULL) == CANDOR_CODE_OK);
}

/* 10: measurements that are NaN, infinite or negative are refused, nothing recorded. */
static void samples(void) {
    CandorHandle h = agent();
    const double bad[][2] = {{1.0, NAN}, {INFINITY, 2.0}, {-INFINITY, 1.0}, {3.0, -5.0}};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        CHECK(candor_record_samples(h, S("contrast_http_response_time"), bad[i], 2) ==
              CANDOR_CODE_INVALID_ARGUMENT);
        char message[1024];
        candor_last_error(message, sizeof message);
        CHECK(strstr(message, "samples[") != NULL);
    }
    CHECK(status_of(h).recorded == 0);
    const double good[] = {0.0, 12.5, 250.0};
    CHECK(candor_record_samples(h, S("contrast_http_response_time"), good, 3) == CANDOR_CODE_OK);
    CHECK(status_of(h).recorded == 1);
    CHECK(candor_shutdown(h, 5000, NULL) == CANDOR_CODE_OK);
}

/* 11: at most CANDOR_MAX_HANDLES running handles and CANDOR_MAX_BUILDERS pending builders. */
static void limits(void) {
    CandorHandle handles[CANDOR_MAX_HANDLES];
    for (int i = 0; i < CANDOR_MAX_HANDLES; i++) handles[i] = agent();
    CandorBuilder b = builder(S("contrast-dotnet-agent"));
    candor_builder_runtime(b, S("framework"));
    candor_builder_version(b, S("21.5.1"));
    CandorHandle extra = 0;
    CHECK(candor_build(b, &extra) == CANDOR_CODE_LIMIT);
    char message[1024];
    candor_last_error(message, sizeof message);
    CHECK(strstr(message, "CANDOR_MAX_HANDLES") != NULL);
    /* The builder waits; one handle shut down makes room. */
    CHECK(candor_shutdown(handles[0], 5000, NULL) == CANDOR_CODE_OK);
    CHECK(candor_build(b, &extra) == CANDOR_CODE_OK);
    handles[0] = extra;
    for (int i = 0; i < CANDOR_MAX_HANDLES; i++) {
        CHECK(candor_shutdown(handles[i], 5000, NULL) == CANDOR_CODE_OK);
    }

    CandorBuilder builders[CANDOR_MAX_BUILDERS];
    for (int i = 0; i < CANDOR_MAX_BUILDERS; i++) {
        CHECK(candor_builder_new(S("aspire-dashboard"), &builders[i]) == CANDOR_CODE_OK);
    }
    CHECK(candor_builder_new(S("aspire-dashboard"), &b) == CANDOR_CODE_LIMIT);
    candor_last_error(message, sizeof message);
    CHECK(strstr(message, "CANDOR_MAX_BUILDERS") != NULL);
    CHECK(candor_builder_free(builders[0]) == CANDOR_CODE_OK);
    CHECK(candor_builder_new(S("aspire-dashboard"), &builders[0]) == CANDOR_CODE_OK);
    for (int i = 0; i < CANDOR_MAX_BUILDERS; i++) {
        CHECK(candor_builder_free(builders[i]) == CANDOR_CODE_OK);
    }
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: contract <state-dir>\n");
        return 2;
    }
    state_dir = argv[1];
    host_opt_out();
    endpoint_secrets();
    messages();
    withdrawn_once();
    samples();
    limits();
    output_pointers();
    printf("%d checks, %d failed\n", checks, failures);
    return failures == 0 ? 0 : 1;
}
