/* The Contrast agent's native profiler as a C host: the first-load snapshot of this machine,
 * then a few values through the typed recorders generated from the catalogue, delivered as
 * gzip JSON to a receiver. Prints the final status as JSON on stdout.
 *
 * usage: agent_host <endpoint> <state-dir> */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "candor.h"
#include "candor_contrast_dotnet_agent.h"

#define S(literal) literal, (sizeof(literal) - 1)

static void must(CandorCode code, const char *what) {
    if (code != CANDOR_CODE_OK) {
        char message[1024];
        candor_last_error(message, sizeof message);
        fprintf(stderr, "%s: %s: %s\n", what, candor_code_name(code), message);
        exit(1);
    }
}

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: agent_host <endpoint> <state-dir>\n");
        return 2;
    }
    CandorBuilder b;
    CandorHandle h;
    must(candor_builder_new(S("contrast-dotnet-agent"), &b), "builder");
    must(candor_builder_runtime(b, S("framework")), "runtime");
    must(candor_builder_version(b, S("21.5.1")), "version");
    must(candor_builder_state_dir(b, argv[2], strlen(argv[2])), "state dir");
    must(candor_builder_sink(b, CANDOR_SINK_JSON, argv[1], strlen(argv[1])), "sink");
    must(candor_build(b, &h), "build");

    uint32_t unavailable = 0;
    must(candor_record_system_snapshot(h, &unavailable), "snapshot");

    must(candor_contrast_dotnet_agent_agent_version(h, S("21.5.1")), "agent_version");
    must(candor_contrast_dotnet_agent_assess_enabled(h, true), "assess_enabled");
    must(candor_contrast_dotnet_agent_contrast_instance(h, S("hosted")), "contrast_instance");
    must(candor_contrast_dotnet_agent_application_framework(h, S("a-framework-of-our-own")),
         "application_framework");
    must(candor_contrast_dotnet_agent_profiler_init_time(h, 1500ull * 1000 * 1000),
         "profiler_init_time");
    must(candor_contrast_dotnet_agent_iis_app_count(h, 7), "iis_app_count");

    CandorStr settings[2] = {{S("AgentEnabled")}, {S("LogLevel")}};
    must(candor_contrast_dotnet_agent_non_default_setting_names(h, settings, 2),
         "non_default_setting_names");
    CandorStr statuses[2] = {{S("200")}, {S("503")}};
    uint64_t counts[2] = {40, 2};
    must(candor_contrast_dotnet_agent_contrast_http_status_codes(h, statuses, counts, 2),
         "contrast_http_status_codes");
    double times[5] = {12.5, 20.0, 18.0, 250.0, 15.5};
    must(candor_contrast_dotnet_agent_contrast_http_response_time(h, times, 5),
         "contrast_http_response_time");
    CandorStr rules[2] = {{S("sql-injection")}, {S("xss")}};
    CandorStr modes[2] = {{S("block")}, {S("monitor")}};
    must(candor_contrast_dotnet_agent_protect_rule_modes(h, rules, modes, 2), "protect_rule_modes");

    CandorException e = {
        {S("System.InvalidOperationException")},
        {S("sensor failed for alice@example.com at C:\\Users\\alice\\app")},
        {S("   at Contrast.Agent.Sensors.Sql.Run(String query)\n"
           "   at Customer.Secret.Billing.Charge(Card card)\n"
           "   at System.Data.SqlClient.SqlCommand.ExecuteReader()")},
        {S("while instrumenting /home/alice/site")},
    };
    must(candor_contrast_dotnet_agent_sensor_exceptions(h, &e), "sensor_exceptions");

    /* Refused where any host's values are: undeclared, and the wrong kind. */
    must(candor_record_count(h, S("screen_resolution"), 1080), "undeclared");
    must(candor_record_text(h, S("working_set"), S("lots")), "wrong kind");

    CandorStatus st;
    must(candor_shutdown(h, 10000, &st), "shutdown");
    printf("{\"unavailable\": %u, \"recorded\": %llu, \"delivered\": %llu, \"refused\": %llu, "
           "\"mode\": %d}\n",
           unavailable, (unsigned long long)st.recorded, (unsigned long long)st.delivered,
           (unsigned long long)st.refused, st.mode);
    return 0;
}
