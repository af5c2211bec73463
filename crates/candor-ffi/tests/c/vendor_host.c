/* A vendor's own product as a C host: its catalogue given as TOML text, one value of every
 * kind recorded through the header `candor codegen --lang c` wrote for that catalogue.
 * Prints the final status as JSON on stdout.
 *
 * usage: vendor_host <catalogue.toml> <endpoint> <state-dir> */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "candor.h"
#include "candor_acme_widget.h"

#define S(literal) literal, (sizeof(literal) - 1)

static void must(CandorCode code, const char *what) {
    if (code != CANDOR_CODE_OK) {
        char message[1024];
        candor_last_error(message, sizeof message);
        fprintf(stderr, "%s: %s: %s\n", what, candor_code_name(code), message);
        exit(1);
    }
}

static char *slurp(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        perror(path);
        exit(2);
    }
    size_t cap = 1 << 20;
    char *text = malloc(cap);
    *len = fread(text, 1, cap, f);
    fclose(f);
    return text;
}

int main(int argc, char **argv) {
    if (argc != 4) {
        fprintf(stderr, "usage: vendor_host <catalogue.toml> <endpoint> <state-dir>\n");
        return 2;
    }
    size_t toml_len = 0;
    char *toml = slurp(argv[1], &toml_len);
    CandorBuilder b;
    CandorHandle h;
    must(candor_builder_from_toml(toml, toml_len, &b), "catalogue");
    free(toml);
    must(candor_builder_version(b, S("1.2.0")), "version");
    must(candor_builder_state_dir(b, argv[3], strlen(argv[3])), "state dir");
    must(candor_builder_sink(b, CANDOR_SINK_JSON, argv[2], strlen(argv[2])), "sink");
    must(candor_build(b, &h), "build");

    must(candor_acme_widget_enabled(h, true), "enabled");
    must(candor_acme_widget_edition(h, S("enterprise")), "edition");
    must(candor_acme_widget_widget_version(h, S("1.2.0")), "widget_version");
    must(candor_acme_widget_last_error(h, S("cannot open /home/dave/report.docx for dave@example.com")),
         "last_error");
    must(candor_acme_widget_open_files(h, 12), "open_files");
    must(candor_acme_widget_uptime(h, 90ull * 1000 * 1000 * 1000), "uptime");
    double saves[4] = {120.0, 80.0, 95.5, 300.0};
    must(candor_acme_widget_save_time(h, saves, 4), "save_time");
    double loads[3] = {0.2, 42.0, 43.5};
    must(candor_acme_widget_load_time(h, loads, 3), "load_time");
    must(candor_acme_widget_workspace(h, S("/home/dave/projects/secret-plan")), "workspace");
    CandorStr plugins[2] = {{S("spellcheck")}, {S("git")}};
    must(candor_acme_widget_plugins(h, plugins, 2), "plugins");
    CandorStr codes[2] = {{S("200")}, {S("404")}};
    uint64_t counts[2] = {10, 1};
    must(candor_acme_widget_status_codes(h, codes, counts, 2), "status_codes");
    CandorStr rules[1] = {{S("autosave")}};
    CandorStr modes[1] = {{S("on")}};
    must(candor_acme_widget_rule_modes(h, rules, modes, 1), "rule_modes");
    CandorStr keys[2] = {{S("layout")}, {S("owner")}};
    CandorStr values[2] = {{S("two columns")}, {S("dave")}};
    must(candor_acme_widget_view(h, keys, values, 2), "view");
    must(candor_acme_widget_locale(h, S("fr-CA")), "locale");
    must(candor_acme_widget_browser(h, S("Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 "
                                         "Firefox/128.0")),
         "browser");
    CandorException crash = {
        {S("Acme.WidgetCrash")},
        {S("out of memory while saving for dave@example.com")},
        {S("   at Acme.Widget.Save()\n   at ThirdParty.Zip.Compress()")},
        {NULL, 0},
    };
    must(candor_acme_widget_type(h, &crash), "type");
    must(candor_acme_widget_new(h, 3), "new");

    CandorStatus st;
    must(candor_shutdown(h, 10000, &st), "shutdown");
    printf("{\"recorded\": %llu, \"delivered\": %llu, \"refused\": %llu}\n",
           (unsigned long long)st.recorded, (unsigned long long)st.delivered,
           (unsigned long long)st.refused);
    return 0;
}
