//! No secret in the facade's `Debug` output: the hashing key, the relay token and an endpoint's
//! query string are redacted; and a CA given to the builder reaches the HTTPS sink.

use std::time::Duration;

use candor::{Environment, Input, SinkSpec, Telemetry};
use candor_testkit::HttpReceiver;

#[test]
fn the_builders_debug_output_holds_no_secret() {
    let builder = Telemetry::builder(candor::builtin("contrast-dotnet-agent").expect("built in"))
        .version("21.1.2")
        .hash_key(b"KEY-BYTES-SECRET".to_vec())
        .sink(SinkSpec::Relay {
            endpoint: "http://127.0.0.1:9/relay?token=QUERY-SECRET".into(),
            token: "BEARER-SECRET".into(),
        });
    let debug = format!("{builder:?}");
    for secret in [
        "KEY-BYTES-SECRET",
        "75, 69, 89",
        "QUERY-SECRET",
        "BEARER-SECRET",
    ] {
        assert!(!debug.contains(secret), "{secret} in {debug}");
    }
    assert!(debug.contains("127.0.0.1:9/relay"), "{debug}");
}

#[test]
fn a_ca_given_to_the_builder_is_trusted() {
    let state = tempfile::tempdir().expect("tmp");
    let receiver = HttpReceiver::start_tls();
    let ca = receiver.ca().expect("ca").path().to_owned();
    for by_variable in [false, true] {
        let mut env = Environment::from_pairs([("CONTRAST_DOTNET_TELEMETRY_OPTOUT", "false")]);
        if by_variable {
            env.set("CANDOR_CA_FILE", &ca);
        }
        let mut builder =
            Telemetry::builder(candor::builtin("contrast-dotnet-agent").expect("built in"))
                .runtime("framework")
                .version("21.1.2")
                .state_dir(state.path())
                .environment(env)
                .sink(SinkSpec::OtlpHttp {
                    endpoint: receiver.url(""),
                })
                .batch_wait(Duration::from_millis(20));
        if !by_variable {
            builder = builder.ca_file(&ca);
        }
        let telemetry = builder.build().expect("telemetry");
        telemetry.record("working_set", Input::Count(1 << 20));
        telemetry.shutdown(Duration::from_secs(5));
    }
    assert_eq!(receiver.events().len(), 2);
}
